/**
 * The two halves of a pipelined walk over a table: batches read by keyset
 * pagination (the next read already running while a batch is worked on),
 * and a bounded number of batches in work at once.
 */
import type { BoundSql, PrimaryKeyValue } from './dialect.js';
import { type ReadRow, readRow } from './rows.js';
import type { TargetSession } from './session.js';
import { type SecretTable, tableLabel } from './tables.js';

/** How a keyset walk reads its batches. */
export interface KeysetRead {
  readonly batchSize: number;
  /** The select of the batch after primary key `after` (undefined: the first batch). */
  readonly render: (after: PrimaryKeyValue | undefined) => BoundSql;
  /** False: read before 001_key_columns (no key id, no blind indexes); see readRow. */
  readonly keyColumns?: boolean;
}

/**
 * Rows a batch at a time, each read starting after the last primary key of
 * the one before (`render(after)`); ends on a short batch.
 */
export async function* keysetBatches(
  session: TargetSession,
  table: SecretTable,
  { batchSize, render, keyColumns }: KeysetRead,
): AsyncGenerator<ReadRow[], void, undefined> {
  const options = keyColumns === undefined ? {} : { keyColumns };
  const read = async (after: PrimaryKeyValue | undefined): Promise<ReadRow[]> => {
    const raw = await session.select(`read a batch of ${tableLabel(table)}`, render(after));
    return raw.map((r) => readRow(session.name, table, r, options));
  };
  let next = read(undefined);
  for (;;) {
    const rows = await next;
    const last = rows[rows.length - 1];
    if (last === undefined) return;
    next = rows.length < batchSize ? Promise.resolve([]) : read(last.primaryKey);
    // Awaited on the next turn; if the caller stops first, its failure must not go unhandled.
    next.catch(() => undefined);
    yield rows;
  }
}

/**
 * Runs `work` on each batch as it arrives, at most `limit` at once. At the
 * first failure it stops reading, lets the batches in work finish (none is
 * left writing behind the caller's back), and rethrows that failure.
 */
export async function pipeline<T>(
  source: AsyncIterable<T>,
  limit: number,
  work: (batch: T) => Promise<void>,
): Promise<void> {
  const running = new Set<Promise<void>>();
  let failed: { error: unknown } | undefined;
  try {
    for await (const batch of source) {
      const job = work(batch).catch((error: unknown) => {
        failed ??= { error };
      });
      running.add(job);
      void job.then(() => running.delete(job));
      while (running.size >= limit) await Promise.race(running);
      if (failed !== undefined) break;
    }
  } finally {
    await Promise.allSettled(running);
  }
  if (failed !== undefined) throw failed.error;
}
