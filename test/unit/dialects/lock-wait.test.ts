/** Waiting for a lock without going silent (issue 15, point 9): the schedule and the messages. */
import { describe, expect, it } from 'vitest';
import { lockWaitMessage, waitForLock, waitPieces } from '../../../src/dialects/lock-wait.js';

describe('waitPieces', () => {
  it('cuts a wait into pieces of 30 s that add up to it', () => {
    expect(waitPieces(300)).toEqual(Array(10).fill(30));
    expect(waitPieces(75)).toEqual([30, 30, 15]);
    expect(waitPieces(2)).toEqual([2]);
  });
});

describe('waitForLock', () => {
  const attempt = (takenAt: number | undefined) => {
    const tries: number[] = [];
    const messages: string[] = [];
    const wait = waitForLock({
      target: 'main',
      lock: 'run lock',
      waitSeconds: 75,
      tryFor: (seconds) => {
        tries.push(seconds);
        return Promise.resolve(tries.length === takenAt);
      },
      holder: () => Promise.resolve('pid 42 (application dbwarden)'),
      notify: (m) => messages.push(m),
    });
    return { wait, tries, messages };
  };

  it('a free lock is taken at once, with nothing said', async () => {
    const { wait, tries, messages } = attempt(1);
    expect(await wait).toBe(true);
    expect(tries).toEqual([0]);
    expect(messages).toEqual([]);
  });

  it('a held lock: said when the wait starts and before each later piece; false at the end', async () => {
    const { wait, tries, messages } = attempt(undefined);
    expect(await wait).toBe(false);
    expect(tries).toEqual([0, 30, 30, 15]);
    expect(messages).toEqual([
      'waiting for the run lock on target main, held by pid 42 (application dbwarden); waited 0 s, giving up after 75 s',
      'still waiting for the run lock on target main, held by pid 42 (application dbwarden); waited 30 s, giving up after 75 s',
      'still waiting for the run lock on target main, held by pid 42 (application dbwarden); waited 60 s, giving up after 75 s',
    ]);
  });

  it('a holder the server does not name, or a failed lookup, still says it waits', async () => {
    const messages: string[] = [];
    const taken = await waitForLock({
      target: 'main',
      lock: 'target lock',
      waitSeconds: 5,
      tryFor: (seconds) => Promise.resolve(seconds > 0),
      holder: () => Promise.reject(new Error('permission denied')),
      notify: (m) => messages.push(m),
    });
    expect(taken).toBe(true);
    expect(messages).toEqual([
      'waiting for the target lock on target main, held by another session (the server does not say which); waited 0 s, giving up after 5 s',
    ]);
    expect(
      lockWaitMessage({ target: 't', lock: 'run lock', holder: undefined, waitedSeconds: 0, waitSeconds: 1 }),
    ).toContain('another session');
  });
});
