/**
 * Progress for operators: throttled lines for logs (no terminal), and on a
 * terminal, bars that log lines never overwrite. Time is injected.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { progressReporter } from '../../../src/cli/progress.js';
import type { StoreProgress } from '../../../src/secrets/store/index.js';
import { screenLines } from './screen.js';

afterEach(() => {
  vi.useRealTimers();
});

/** A clock the test moves by hand. */
function manualClock() {
  let t = 0;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

const at = (done: number, total = 20000, table = 'users'): StoreProgress => ({
  target: 'main1',
  table,
  phase: 'reencrypt',
  done,
  total,
});

describe('progress without a terminal', () => {
  it('writes a line at most every 5 seconds per table, and one when the table is done', () => {
    const clock = manualClock();
    const lines: string[] = [];
    const reporter = progressReporter({ stderr: (t) => lines.push(t), tty: undefined, now: clock.now });
    reporter.update(at(500));
    clock.advance(1000);
    reporter.update(at(1000));
    expect(lines).toEqual([]);
    clock.advance(4500);
    reporter.update(at(5000));
    expect(lines).toEqual([
      'progress target=main1 table=users phase=reencrypt done=5000 total=20000 rate=909/s eta=17s\n',
    ]);
    clock.advance(100);
    reporter.update(at(20000));
    expect(lines).toEqual([
      'progress target=main1 table=users phase=reencrypt done=5000 total=20000 rate=909/s eta=17s\n',
      'progress target=main1 table=users phase=reencrypt done=20000 total=20000 rate=3571/s eta=0s\n',
    ]);
  });

  it('leaves out a rate measured over too short a time', () => {
    const lines: string[] = [];
    const reporter = progressReporter({ stderr: (t) => lines.push(t), tty: undefined, now: () => 0 });
    reporter.update({ target: 't', table: 'users', phase: 'encrypt', done: 3, total: 3 });
    expect(lines).toEqual(['progress target=t table=users phase=encrypt done=3 total=3\n']);
  });

  it('a thousand batches over 10 s of verify --secrets: two lines, not a thousand', () => {
    const clock = manualClock();
    const lines: string[] = [];
    const reporter = progressReporter({ stderr: (t) => lines.push(t), tty: undefined, now: clock.now });
    for (let batch = 1; batch <= 1000; batch++) {
      reporter.update({ target: 'main1', table: 'users', phase: 'decrypt', done: batch * 50, total: 50000 });
      clock.advance(10);
    }
    expect(lines).toEqual([
      expect.stringMatching(
        /^progress target=main1 table=users phase=decrypt done=25050 total=50000 rate=\d+\/s eta=5s\n$/,
      ),
      expect.stringMatching(
        /^progress target=main1 table=users phase=decrypt done=50000 total=50000 rate=\d+\/s eta=0s\n$/,
      ),
    ]);
  });

  it('updates whose total is always their done (a source that cannot count) are still throttled by time', () => {
    const clock = manualClock();
    const lines: string[] = [];
    const reporter = progressReporter({ stderr: (t) => lines.push(t), tty: undefined, now: clock.now });
    for (let batch = 1; batch <= 1000; batch++) {
      reporter.update({
        target: 'main1',
        table: 'users',
        phase: 'decrypt',
        done: batch * 50,
        total: batch * 50,
      });
      clock.advance(10);
    }
    // The first looks finished and is shown; then one every 5 s (at 5 s), not one per batch.
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('progress target=main1 table=users phase=decrypt done=50 total=50\n');
    expect(lines[1]).toMatch(/ done=25050 total=25050 /);
  });

  it('another pass over the same table (fewer rows done than before) shows its own end', () => {
    const clock = manualClock();
    const lines: string[] = [];
    const reporter = progressReporter({ stderr: (t) => lines.push(t), tty: undefined, now: clock.now });
    reporter.update(at(100, 100));
    clock.advance(10);
    reporter.update(at(3, 3));
    expect(lines.map((l) => / done=\d+ total=\d+/.exec(l)?.[0])).toEqual([
      ' done=100 total=100',
      ' done=3 total=3',
    ]);
  });

  it('log lines go to stderr as they are', () => {
    const lines: string[] = [];
    const reporter = progressReporter({ stderr: (t) => lines.push(t), tty: undefined });
    reporter.log('target main1: verifying users\n');
    expect(lines).toEqual(['target main1: verifying users\n']);
  });
});

/** A writable that says it is a terminal, keeping everything written. */
function fakeTerminal(): Writable & { isTTY: true; columns: number; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return Object.assign(stream, { isTTY: true as const, columns: 100, text: () => chunks.join('') });
}

describe('progress on a terminal', () => {
  it('log lines written while bars are drawn each end up intact on a line of their own, above the bars', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const terminal = fakeTerminal();
    const clock = manualClock();
    const reporter = progressReporter({
      stderr: () => {
        throw new Error('a terminal reporter writes on its terminal');
      },
      tty: terminal,
      now: clock.now,
    });
    const step = (ms: number) => {
      clock.advance(ms);
      vi.advanceTimersByTime(ms);
    };
    reporter.log('target main1: verifying users\n');
    reporter.update({ target: 'main1', table: 'users', phase: 'decrypt', done: 500, total: 2000 });
    step(1000);
    reporter.log('target main1: still verifying users');
    reporter.update({ target: 'main1', table: 'users', phase: 'decrypt', done: 2000, total: 2000 });
    step(150);
    reporter.log('target main1: verifying keys\n');
    reporter.update({ target: 'main1', table: 'keys', phase: 'decrypt', done: 10, total: 40 });
    step(150);
    reporter.log('target main2: verifying users\n');
    reporter.stop();

    const raw = terminal.text();
    // The bars were drawn before the log lines came, with cursor moves and clears.
    expect(raw.indexOf('decrypt main1/users [')).toBeLessThan(raw.indexOf('still verifying'));
    expect(raw).toContain('\u001b[');
    expect(screenLines(raw)).toEqual([
      'target main1: verifying users',
      'target main1: still verifying users',
      'target main1: verifying keys',
      'target main2: verifying users',
      expect.stringMatching(/^decrypt main1\/users \[█+\] 2000\/2000 rows \| \d+ rows\/s \| ETA 0s$/),
      expect.stringMatching(/^decrypt main1\/keys \[█+░+\] 10\/40 rows \| - rows\/s \| ETA \d+s$/),
    ]);
  });

  it('stopping before any bar was drawn writes nothing', () => {
    const terminal = fakeTerminal();
    const reporter = progressReporter({ stderr: () => undefined, tty: terminal });
    reporter.log('target main1: nothing to verify\n');
    reporter.stop();
    expect(terminal.text()).toBe('target main1: nothing to verify\n');
  });
});
