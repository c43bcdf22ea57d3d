/** Progress lines for logs (no terminal): throttled, complete at the end, never a value. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { progressReporter } from '../../../src/cli/progress.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('progress without a terminal', () => {
  it('writes a line at most every 5 seconds per table, and one when the table is done', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const lines: string[] = [];
    const reporter = progressReporter((t) => lines.push(t), undefined);
    const at = (done: number) => ({
      target: 'main1',
      table: 'users',
      phase: 'reencrypt' as const,
      done,
      total: 20000,
    });
    reporter.update(at(500));
    vi.advanceTimersByTime(1000);
    reporter.update(at(1000));
    expect(lines).toEqual([]);
    vi.advanceTimersByTime(4500);
    reporter.update(at(5000));
    expect(lines).toEqual([
      'progress target=main1 table=users phase=reencrypt done=5000 total=20000 rate=909/s eta=17s\n',
    ]);
    vi.advanceTimersByTime(100);
    reporter.update(at(20000));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      /^progress target=main1 table=users phase=reencrypt done=20000 total=20000 rate=\d+\/s eta=0s\n$/,
    );
  });

  it('leaves out a rate measured over too short a time', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const lines: string[] = [];
    const reporter = progressReporter((t) => lines.push(t), undefined);
    reporter.update({ target: 't', table: 'users', phase: 'encrypt', done: 3, total: 3 });
    expect(lines).toEqual(['progress target=t table=users phase=encrypt done=3 total=3\n']);
  });
});
