/**
 * The re-encryption engine: one phase (encrypt, reencrypt, decrypt) over
 * one table.
 *
 * - Keyset pagination on the primary key (pipeline.ts): each read starts
 *   after the last key of the previous batch; the next batch is read while
 *   this one is in the crypto pool, and earlier ones are being written.
 * - Crypto on the worker pool (every core); at most a few batches are held
 *   at once, so memory does not grow with the table.
 * - Each batch is written in its own transaction, each row by a conditional
 *   update that sets all of the row's columns, key id and blind indexes in
 *   one statement, and only if the row still holds what was read. A row an
 *   application wrote meanwhile is skipped, and the phase runs again over
 *   what is still pending: nothing the application wrote is lost.
 * - Killed at any moment, every row is either as it was or fully done, and
 *   the key id says which: a rerun continues where this one stopped.
 */
import type { SecretValueError } from '../errors.js';
import type { StoreCrypto } from './crypto.js';
import type { UpdateShape } from './dialect.js';
import { SecretStoreError } from './errors.js';
import { countPending, pendingCondition, selectBatch } from '../../dialects/store-sql.js';
import { columnAgrees, describeEvidence, keyPattern, rowEvidence, storedEvidence } from '../evidence.js';
import { keyCheck } from './preflight.js';
import { keysetBatches, pipeline } from './pipeline.js';
import { type ReadRow, transformBatch } from './rows.js';
import type { TargetSession } from './session.js';
import { KEY_ID_COLUMN, type SecretTable, tableLabel, updateShape } from './tables.js';
import type { RepairedRow, SecretFailure, StorePhase, StoreProgress } from './types.js';

/** Passes over the rows still pending before rows that keep changing under us are an error. */
const MAX_PASSES = 20;
/** Failures kept for the report (all are counted). */
const FAILURES_KEPT = 100;

export interface PassContext {
  readonly session: TargetSession;
  readonly crypto: StoreCrypto;
  readonly batchSize: number;
  readonly progress: (p: StoreProgress) => void;
  readonly failures: FailureLog;
  /** One line per row whose key-id column did not match its values (repaired), never a value. */
  readonly log: (message: string) => void;
  /** Rows already named, shared by every pass over a target, so a row retried later is named and counted once. */
  readonly repaired: RepairLog;
}

/** Repaired rows kept for the summary (all are counted). */
export const REPAIRED_ROWS_KEPT = 20;

/** Rows whose key-id column did not say what their values do, each once: counted, the first few kept. */
export class RepairLog {
  readonly #seen = new Set<string>();
  readonly #kept: RepairedRow[] = [];

  /** False when the row was already named. */
  add(row: RepairedRow): boolean {
    const key = JSON.stringify([row.table, row.primaryKey]);
    if (this.#seen.has(key)) return false;
    this.#seen.add(key);
    if (this.#kept.length < REPAIRED_ROWS_KEPT) this.#kept.push(row);
    return true;
  }

  get count(): number {
    return this.#seen.size;
  }

  get rows(): RepairedRow[] {
    return [...this.#kept];
  }
}

export interface PhaseResult {
  /** Rows written. */
  readonly written: number;
  /** Rows skipped because they changed between read and write (and read again by the next pass). */
  readonly retried: number;
}

/** Values that failed, once each however many passes met them. */
export class FailureLog {
  readonly #kept = new Map<string, SecretFailure>();
  #count = 0;

  add(target: string, table: SecretTable, error: SecretValueError): void {
    const failure: SecretFailure = {
      target,
      table: tableLabel(table),
      column: error.place.column,
      primaryKey: error.place.primaryKey,
      problem: error.problem,
      message: error.message,
    };
    const key = JSON.stringify([target, failure.table, failure.column, failure.primaryKey]);
    if (this.#kept.has(key)) return;
    this.#count++;
    if (this.#kept.size < FAILURES_KEPT) this.#kept.set(key, failure);
  }

  get count(): number {
    return this.#count;
  }

  get failures(): SecretFailure[] {
    return [...this.#kept.values()];
  }
}

/** Runs a phase over a table until no row is pending (or only failing rows are). */
export async function runPhase(
  ctx: PassContext,
  table: SecretTable,
  phase: StorePhase,
): Promise<PhaseResult> {
  const shape = await shapeOf(ctx.session, table);
  let written = 0;
  let retried = 0;
  for (let pass = 1; ; pass++) {
    const result = await onePass(ctx, table, shape, phase);
    written += result.written;
    retried += result.skipped;
    if (result.skipped === 0) return { written, retried };
    if (pass >= MAX_PASSES) {
      throw new SecretStoreError(
        ctx.session.name,
        `${tableLabel(table)}: rows kept changing under ${MAX_PASSES} passes (${result.skipped} skipped in the last)`,
        { hint: 'something rewrites these rows continuously; rerun when it is quieter' },
      );
    }
  }
}

async function shapeOf(session: TargetSession, table: SecretTable): Promise<UpdateShape> {
  const facts = await session.guard(`read the columns of ${tableLabel(table)}`, () =>
    session.dialect.readColumns(session.db, table),
  );
  const pk = facts?.get(table.primaryKey);
  if (pk === undefined)
    throw new SecretStoreError(
      session.name,
      `${tableLabel(table)} has no primary key column ${table.primaryKey}`,
    );
  return updateShape(table, pk.sqlType);
}

interface PassCounts {
  written: number;
  skipped: number;
}

/** One keyset walk over the pending rows, batches pipelined through read, crypto and write. */
async function onePass(
  ctx: PassContext,
  table: SecretTable,
  shape: UpdateShape,
  phase: StorePhase,
): Promise<PassCounts> {
  const { session, crypto } = ctx;
  const current = keyCheck(session, table, keyPattern(crypto.keys.current));
  const pending = pendingCondition(session.dialect.quoteIdent, {
    table,
    phase,
    currentKeyId: crypto.currentKeyId,
    current,
  });
  const [row] = await session.select(
    `count the rows of ${tableLabel(table)} to ${phase}`,
    countPending(session.dialect.quoteIdent, table, pending),
  );
  const total = Number(row?.n ?? 0);
  const counts: PassCounts = { written: 0, skipped: 0 };
  if (total === 0) return counts;
  let done = 0;
  const report = (rows: number) => {
    done += rows;
    ctx.progress({ target: session.name, table: tableLabel(table), phase, done, total });
  };
  // Batches between read and written: the pool's slots, and one more being written.
  const limit = (await crypto.maxInFlight()) + 1;
  const batches = keysetBatches(session, table, {
    batchSize: ctx.batchSize,
    render: (after) => selectBatch(session.dialect.quoteIdent, table, pending, after, ctx.batchSize),
  });
  await pipeline(batches, limit, async (rows) => {
    const result = await processBatch(ctx, { table, shape, phase }, rows);
    counts.written += result.written;
    counts.skipped += result.skipped;
    report(rows.length);
  });
  return counts;
}

async function processBatch(
  ctx: PassContext,
  pass: { readonly table: SecretTable; readonly shape: UpdateShape; readonly phase: StorePhase },
  rows: readonly ReadRow[],
): Promise<PassCounts> {
  const { table, shape, phase } = pass;
  const { session, crypto } = ctx;
  const outcome = await transformBatch(phase, table, rows, {
    run: (op, items) => crypto.run(op, items),
    blindIndexOf: (t, column, plaintext) => crypto.blindIndex(t, column, plaintext),
    currentKeyId: crypto.currentKeyId,
  });
  for (const error of outcome.failures) ctx.failures.add(session.name, table, error);
  if (phase !== 'decrypt') reportMismatches(ctx, table, rows);
  if (outcome.updates.length === 0) return { written: 0, skipped: 0 };
  try {
    const written = await session.db.transaction((trx) =>
      session.dialect.conditionalUpdate(trx, shape, outcome.updates),
    );
    return { written, skipped: outcome.updates.length - written };
  } catch (err) {
    // A deadlock with an application's transaction: the batch is rolled back; its rows go to the next pass.
    if (session.dialect.isTransient(err)) return { written: 0, skipped: outcome.updates.length };
    throw session.dialect.databaseError(
      err,
      `target ${session.name}: could not write a batch of ${tableLabel(table)}`,
    );
  }
}

/**
 * Rows whose key-id column does not say what their values' headers do (a
 * key id changed by hand, a plaintext written under a key id, a value that
 * only looks encrypted): the batch writes each of them whole under the
 * current key, and each is named here once, with what the column said and
 * what the values are (never a value).
 */
function reportMismatches(ctx: PassContext, table: SecretTable, rows: readonly ReadRow[]): void {
  const { session, crypto } = ctx;
  for (const row of rows) {
    const values = row.values.map((v) => (v === null ? null : storedEvidence(v, crypto.keys)));
    const evidence = rowEvidence(values);
    if (columnAgrees(row.keyId, evidence)) continue;
    if (!ctx.repaired.add({ table: tableLabel(table), primaryKey: row.primaryKeyText })) continue;
    const said = row.keyId === null ? 'no key id' : `key id "${row.keyId}"`;
    ctx.log(
      `target ${session.name}: ${tableLabel(table)} row ${row.primaryKeyText}: ${KEY_ID_COLUMN} says ${said}, ` +
        `but the row holds ${describeEvidence(evidence)}: written again under "${crypto.currentKeyId}"`,
    );
  }
}
