/**
 * Waiting for one of dbwarden's locks without going silent: the wait is cut
 * into pieces of about half a minute, and before each piece the operator is
 * told who holds the lock (as the server tells it) and for how long this run
 * will still wait. Engine-neutral: each dialect says how to try the lock and
 * how to describe its holder.
 */
import { DatabaseError } from '../errors.js';

/**
 * How long a run waits for another dbwarden run's lock when not told (`--lock-wait`, and the
 * store's calls without lockWaitSeconds): one value for the CLI and the store, as docs/cli.md says.
 */
export const DEFAULT_LOCK_WAIT_SECONDS = 300;

/** How often a waiting run says it is still waiting. */
export const LOCK_REPORT_INTERVAL_SECONDS = 30;

/** The pieces a wait of `totalSeconds` is cut into: [30, 30, ..., the rest]; they add up to the total. */
export function waitPieces(totalSeconds: number, intervalSeconds = LOCK_REPORT_INTERVAL_SECONDS): number[] {
  const pieces: number[] = [];
  for (let left = totalSeconds; left > 0; left -= intervalSeconds)
    pieces.push(Math.min(left, intervalSeconds));
  return pieces;
}

export interface LockWait {
  readonly target: string;
  /** The lock in words: "run lock", "target lock". */
  readonly lock: string;
  readonly waitSeconds: number;
  /** Tries to take the lock, waiting at most `seconds` (0: not at all); true when taken. */
  readonly tryFor: (seconds: number) => Promise<boolean>;
  /** Who holds the lock, in words, as far as the server tells; undefined when it does not say. */
  readonly holder: () => Promise<string | undefined>;
  readonly notify: ((message: string) => void) | undefined;
}

/** Takes the lock, telling `notify` when it has to wait; false when waitSeconds passed without it. */
export async function waitForLock(w: LockWait): Promise<boolean> {
  if (await w.tryFor(0)) return true;
  let waited = 0;
  for (const piece of waitPieces(w.waitSeconds)) {
    if (w.notify) {
      // Who holds it is for the operator only: a failed lookup must not end the wait.
      const holder = await w.holder().catch(() => undefined);
      w.notify(lockWaitMessage({ ...w, holder, waitedSeconds: waited }));
    }
    if (await w.tryFor(piece)) return true;
    waited += piece;
  }
  return false;
}

export function lockWaitMessage(m: {
  readonly target: string;
  readonly lock: string;
  readonly holder: string | undefined;
  readonly waitedSeconds: number;
  readonly waitSeconds: number;
}): string {
  const holder = m.holder ?? 'another session (the server does not say which)';
  return `${m.waitedSeconds === 0 ? 'waiting' : 'still waiting'} for the ${m.lock} on target ${m.target}, held by ${holder}; waited ${m.waitedSeconds} s, giving up after ${m.waitSeconds} s`;
}

/**
 * The error of a wait that ran out: the same words for every lock of every engine, with the
 * engine's own code (PostgreSQL 55P03, lock_not_available; MySQL has none, so LOCK_TIMEOUT).
 */
export function lockTimeoutError(t: {
  readonly target: string;
  /** The lock in words, after "held": "the lock", "the encrypted store's lock". */
  readonly lock: string;
  readonly waitSeconds: number;
  readonly action: string;
  readonly code: string;
  readonly sqlState?: string;
}): DatabaseError {
  return new DatabaseError(
    `target ${t.target}: another dbwarden run held ${t.lock} for more than ${t.waitSeconds}s`,
    {
      hint: 'wait for it to finish and run again, or give --lock-wait more seconds',
      target: t.target,
      action: t.action,
      code: t.code,
      ...(t.sqlState === undefined ? {} : { sqlState: t.sqlState }),
    },
  );
}
