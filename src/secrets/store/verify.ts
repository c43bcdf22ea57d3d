/**
 * `verify --secrets`: decrypts every stored value where it is (or a random
 * sample of N rows per table) and reports each one that fails: plaintext,
 * a value copied from another place, an unknown or wrong key, a key-id
 * column that names another key than the value, a wrong blind index. Reads only.
 */
import type { SecretColumns } from '../../policy/model.js';
import type { BatchItem } from '../batch.js';
import { BlindIndexer } from '../blind-index.js';
import type { MasterKeySet } from '../keys.js';
import { formatPlace, type Place } from '../place.js';
import { classify } from '../value.js';
import { StoreCrypto } from './crypto.js';
import { keysetBatches, pipeline } from './pipeline.js';
import { countPending, selectAll, selectSample } from '../../dialects/store-sql.js';
import type { ReadRow } from './rows.js';
import { readRow } from './rows.js';
import { schemaError } from './schema.js';
import { closeSessions, openSessions, type TargetSession } from './session.js';
import { KEY_ID_COLUMN, type SecretTable, tableLabel, tablesFor } from './tables.js';
import type { SecretFailure, SecretFailureProblem, StoreOptions, StoreTarget } from './types.js';

export type VerifyOptions = { readonly sample?: number } & StoreOptions;

interface VerifyRun {
  readonly session: TargetSession;
  readonly table: SecretTable;
  readonly crypto: StoreCrypto;
  /** Undefined when a key is KMS: blind indexes are then not checked. */
  readonly indexer: BlindIndexer | undefined;
  readonly failures: SecretFailure[];
}

export async function verifySecrets(
  secrets: readonly SecretColumns[],
  keys: MasterKeySet,
  targets: readonly StoreTarget[],
  options: VerifyOptions,
): Promise<SecretFailure[]> {
  if (options.sample !== undefined && (!Number.isInteger(options.sample) || options.sample < 1))
    throw new TypeError('sample must be a positive integer');
  const sessions = await openSessions(targets, undefined);
  const crypto = new StoreCrypto(keys, { threads: options.threads });
  const all = [keys.current, ...keys.previous];
  const indexer = all.every((k) => k.kind === 'raw') ? new BlindIndexer(keys) : undefined;
  const failures: SecretFailure[] = [];
  try {
    for (const session of sessions) {
      for (const table of tablesFor(secrets, session.target, await session.defaultSchema())) {
        options.log(`target ${session.name}: verifying ${tableLabel(table)}`);
        const found: SecretFailure[] = [];
        await verifyTable({ session, table, crypto, indexer, failures: found }, options);
        // Batches finish in any order: report in row order, columns as configured.
        failures.push(
          ...found.sort((a, b) => comparePrimaryKeys(a.primaryKey, b.primaryKey) || columnOrder(table, a, b)),
        );
      }
    }
  } finally {
    await crypto.close();
    await closeSessions(sessions);
  }
  return failures;
}

async function verifyTable(run: VerifyRun, options: VerifyOptions): Promise<void> {
  const { session, table } = run;
  const facts = await session.guard(`read the columns of ${tableLabel(table)}`, () =>
    session.dialect.readColumns(session.db, table),
  );
  if (facts === undefined)
    throw schemaError([`target ${session.name}: secrets table ${tableLabel(table)} does not exist`]);
  // Before 001_key_columns there is no key id to read: every value found is plaintext.
  const keyColumns = facts.has(KEY_ID_COLUMN);
  const quote = session.dialect.quoteIdent;
  const { batchSize, sample } = options;
  const batches =
    sample === undefined
      ? keysetBatches(session, table, {
          batchSize,
          render: (after) => selectAll(quote, table, after, batchSize, keyColumns),
          keyColumns,
        })
      : sampleBatch(run, sample, keyColumns);
  // A sample is one batch: its size is its total. Rows inserted meanwhile may pass a count made before.
  const counted = sample === undefined ? await countRows(session, table) : 0;
  let done = 0;
  const limit = (await run.crypto.maxInFlight()) + 1;
  await pipeline(batches, limit, async (rows) => {
    await verifyRows(run, rows);
    done += rows.length;
    options.progress({
      target: session.name,
      table: tableLabel(table),
      phase: 'decrypt',
      done,
      total: Math.max(counted, done),
    });
  });
}

/** The rows a full verify will read, for its progress total. */
async function countRows(session: TargetSession, table: SecretTable): Promise<number> {
  const [row] = await session.select(
    `count the rows of ${tableLabel(table)}`,
    countPending(session.dialect.quoteIdent, table, { sql: '1 = 1', bindings: [] }),
  );
  return Number(row?.n ?? 0);
}

async function* sampleBatch(run: VerifyRun, sample: number, keyColumns: boolean): AsyncGenerator<ReadRow[]> {
  const { session, table } = run;
  const raw = await session.select(
    `read a sample of ${tableLabel(table)}`,
    selectSample(session.dialect.quoteIdent, table, session.dialect.randomOrder, sample, keyColumns),
  );
  yield raw.map((r) => readRow(session.name, table, r, { keyColumns }));
}

/** Each value of a batch: plaintext is a failure as it is; the rest is decrypted on the pool, then checked. */
async function verifyRows(run: VerifyRun, rows: readonly ReadRow[]): Promise<void> {
  const { table } = run;
  const items: BatchItem[] = [];
  const owners: { row: ReadRow; column: number }[] = [];
  for (const row of rows) {
    row.values.forEach((value, column) => {
      if (value === null) return;
      const place = {
        table: table.table,
        column: table.columns[column] as string,
        primaryKey: row.primaryKeyText,
      };
      if (classify(value).kind === 'plaintext') {
        fail(run, place, 'not-encrypted', 'holds plaintext: run `dbwarden upgrade` to encrypt it');
        return;
      }
      items.push({ place, value });
      owners.push({ row, column });
    });
  }
  const results = await run.crypto.run('decrypt', items);
  results.forEach((result, k) => {
    const { row, column } = owners[k] as { row: ReadRow; column: number };
    const { place, value } = items[k] as BatchItem;
    if (!result.ok) {
      run.failures.push(failureOf(run, place, result.error.problem, result.error.message));
      return;
    }
    // A blind index is under the row's key: with the wrong key id, its check would only repeat the problem.
    if (checkKeyId(run, row, place, value as string))
      checkBlindIndex(run, { row, column, place, plaintext: result.value as string });
  });
}

/** The key-id column must name the key the value is under: rotation selects rows by it. */
function checkKeyId(run: VerifyRun, row: ReadRow, place: Place, stored: string): boolean {
  const found = classify(stored);
  if (found.kind !== 'ciphertext') return false;
  const key = run.crypto.keyrings().keyFor({ provider: found.provider, name: found.keyId });
  const keyId = key?.id ?? found.keyId;
  if (row.keyId !== keyId) {
    const column = row.keyId === null ? 'no key id' : `key id "${row.keyId}"`;
    fail(
      run,
      place,
      'key-id-mismatch',
      `encrypted under key "${keyId}", but the row's ${KEY_ID_COLUMN} says ${column}`,
    );
    return false;
  }
  return true;
}

/** A lookup column's blind index must be the value's, under the key of the row. */
function checkBlindIndex(
  run: VerifyRun,
  { row, column, place, plaintext }: { row: ReadRow; column: number; place: Place; plaintext: string },
): void {
  const { table, indexer } = run;
  const name = table.columns[column] as string;
  const lookup = table.lookup.indexOf(name);
  if (lookup < 0 || indexer === undefined) return;
  const expected = indexer.candidates(table.table, name, plaintext).find((c) => c.keyId === row.keyId)?.index;
  if (expected !== undefined && row.blindIndexes[lookup] !== expected)
    fail(
      run,
      place,
      'wrong-blind-index',
      'its blind index does not match the value: lookups by it would miss this row',
    );
}

function fail(run: VerifyRun, place: Place, problem: SecretFailureProblem, detail: string): void {
  run.failures.push(failureOf(run, place, problem, `${formatPlace(place)}: ${detail}`));
}

function failureOf(
  run: VerifyRun,
  place: Place,
  problem: SecretFailureProblem,
  message: string,
): SecretFailure {
  return {
    target: run.session.name,
    table: tableLabel(run.table),
    column: place.column,
    primaryKey: place.primaryKey,
    problem,
    message,
  };
}

/** Integer keys by value, others as text. */
function comparePrimaryKeys(a: string, b: string): number {
  const integer = /^-?[0-9]+$/;
  if (integer.test(a) && integer.test(b)) {
    const d = BigInt(a) - BigInt(b);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function columnOrder(table: SecretTable, a: SecretFailure, b: SecretFailure): number {
  return table.columns.indexOf(a.column) - table.columns.indexOf(b.column);
}
