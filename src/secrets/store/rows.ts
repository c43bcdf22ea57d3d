/**
 * Pure: one batch of rows through a phase. Rows are read whole (every
 * secret column, key id, blind indexes); values go through the crypto pool
 * as one list; each row comes out as one conditional update that sets all
 * of its columns, its key id and its blind indexes at once, or as failures
 * (that row is left as it is). Crypto is passed in, so this has no I/O.
 */
import type { BatchItem, BatchOp, ItemResult } from '../batch.js';
import type { SecretValueError } from '../errors.js';
import { encodePrimaryKey } from '../place.js';
import { isLookalike, RESERVED_PREFIX } from '../value.js';
import type { PrimaryKeyValue, RowUpdate } from './dialect.js';
import { SecretStoreError } from './errors.js';
import { blindIndexColumn, KEY_ID_COLUMN, type SecretTable } from './tables.js';
import type { StorePhase } from './types.js';

export interface ReadRow {
  readonly primaryKey: PrimaryKeyValue;
  readonly primaryKeyText: string;
  /** One per secret column, in the table's column order. */
  readonly values: readonly (string | null)[];
  readonly keyId: string | null;
  /** One per lookup column. */
  readonly blindIndexes: readonly (string | null)[];
}

/** [row][column] */
export type Cells = readonly (readonly (string | null)[])[];

export type RunCrypto = (op: BatchOp, items: readonly BatchItem[]) => Promise<ItemResult[]>;
/** The blind index of a lookup column's plaintext under the current key. */
export type BlindIndexOf = (table: string, column: string, plaintext: string) => string;

/** The crypto a batch goes through: the pool, the blind index function, and the current key's id. */
export interface BatchCrypto {
  readonly run: RunCrypto;
  readonly blindIndexOf: BlindIndexOf;
  readonly currentKeyId: string;
}

export interface BatchOutcome {
  readonly updates: RowUpdate[];
  /** Each value that failed; its row is not written. */
  readonly failures: SecretValueError[];
}

/**
 * A row as the driver returned it, typed; anything but text in a secret
 * column is refused. keyColumns false: read before 001_key_columns (no key id, no blind indexes).
 */
export function readRow(
  target: string,
  table: SecretTable,
  raw: Record<string, unknown>,
  options: { readonly keyColumns?: boolean } = {},
): ReadRow {
  const keyColumns = options.keyColumns ?? true;
  const primaryKey = primaryKeyOf(target, table, raw[table.primaryKey]);
  const text = (column: string): string | null => {
    const value = raw[column];
    if (value === null || value === undefined) return null;
    if (typeof value === 'string') return value;
    throw new SecretStoreError(
      target,
      `${table.table}.${column}, primary key ${String(primaryKey)}: the driver returned a ${typeof value}, not text`,
      { hint: 'secret columns must be text columns (char, varchar, text)' },
    );
  };
  return {
    primaryKey,
    primaryKeyText: encodePrimaryKey(primaryKey),
    values: table.columns.map(text),
    keyId: keyColumns ? text(KEY_ID_COLUMN) : null,
    blindIndexes: table.lookup.map((c) => (keyColumns ? text(blindIndexColumn(c)) : null)),
  };
}

function primaryKeyOf(target: string, table: SecretTable, value: unknown): PrimaryKeyValue {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'bigint') return value.toString(10);
  throw new SecretStoreError(
    target,
    `${table.table}.${table.primaryKey}: primary key values must be integers or text, found ${typeof value}`,
    { hint: 'name an integer or text primary key in the secrets entry (primaryKey:)' },
  );
}

/** Which cells a step works on (NULL never is). */
export type CellFilter = (value: string, row: number) => boolean;

/** The non-NULL cells `take` accepts, as crypto items, and where each came from. */
export function cellItems(
  table: SecretTable,
  rows: readonly ReadRow[],
  cells: Cells,
  take: CellFilter = () => true,
): { items: BatchItem[]; at: [number, number][] } {
  const items: BatchItem[] = [];
  const at: [number, number][] = [];
  cells.forEach((row, r) =>
    row.forEach((value, c) => {
      if (value === null || !take(value, r)) return;
      const place = {
        table: table.table,
        column: table.columns[c] as string,
        primaryKey: (rows[r] as ReadRow).primaryKeyText,
      };
      items.push({ place, value });
      at.push([r, c]);
    }),
  );
  return { items, at };
}

/** Cells with each result in its place; a failed value is recorded against its row. */
export function mergeResults(
  cells: Cells,
  at: readonly (readonly [number, number])[],
  results: readonly ItemResult[],
  failed: Map<number, SecretValueError[]>,
): (string | null)[][] {
  const out = cells.map((row) => [...row]);
  results.forEach((result, k) => {
    const [r, c] = at[k] as readonly [number, number];
    if (result.ok) {
      (out[r] as (string | null)[])[c] = result.value;
    } else {
      failed.set(r, [...(failed.get(r) ?? []), result.error]);
    }
  });
  return out;
}

/** What one step of a batch works on: its rows, the crypto pool, and the failures so far (by row). */
interface BatchStep {
  readonly table: SecretTable;
  readonly rows: readonly ReadRow[];
  readonly run: RunCrypto;
  readonly failed: Map<number, SecretValueError[]>;
}

/** `op` on the cells `take` accepts; failures are recorded against their rows. */
async function step(
  batch: BatchStep,
  cells: Cells,
  op: BatchOp,
  take: CellFilter,
): Promise<(string | null)[][]> {
  const { items, at } = cellItems(batch.table, batch.rows, cells, take);
  const results = items.length === 0 ? [] : await batch.run(op, items);
  return mergeResults(cells, at, results, batch.failed);
}

/**
 * A value with the reserved prefix is (or claims to be) a ciphertext and is
 * decrypted; the rest is plaintext, and so is a value that only looks like
 * the format (isLookalike: not a message at all), so that it is encrypted
 * as it is instead of stopping every upgrade (docs/encryption.md).
 */
function looksEncrypted(value: string): boolean {
  return value.startsWith(RESERVED_PREFIX) && !isLookalike(value);
}

/**
 * What a phase writes for each row of a batch. The key id chose the rows;
 * each value is classified on top of it, so a row holding a mix (written by
 * hand, or by another tool) is made whole and nothing is encrypted twice:
 *
 * 1. every value is brought to plaintext: a ciphertext is decrypted (any
 *    configured key, checked against its place), a plaintext taken as it is;
 * 2. encrypt and reencrypt: every plaintext encrypted under the current key,
 *    blind indexes computed from it (the plaintext passes through this
 *    thread only for that); decrypt: written as plaintext, key id and blind
 *    indexes cleared.
 */
export async function transformBatch(
  phase: StorePhase,
  table: SecretTable,
  rows: readonly ReadRow[],
  crypto: BatchCrypto,
): Promise<BatchOutcome> {
  const batch: BatchStep = { table, rows, run: crypto.run, failed: new Map() };
  const stored = rows.map((r) => r.values);
  const plaintext = await step(batch, stored, 'decrypt', looksEncrypted);
  const written =
    phase === 'decrypt' ? plaintext : await step(batch, plaintext, 'encrypt', (_, r) => !batch.failed.has(r));
  const updates: RowUpdate[] = [];
  rows.forEach((row, r) => {
    if (batch.failed.has(r)) return;
    const plain = plaintext[r] as readonly (string | null)[];
    updates.push({
      primaryKey: row.primaryKey,
      primaryKeyText: row.primaryKeyText,
      before: row.values,
      beforeKeyId: row.keyId,
      after: written[r] as readonly (string | null)[],
      afterKeyId: phase === 'decrypt' || plain.every((v) => v === null) ? null : crypto.currentKeyId,
      blindIndexes:
        phase === 'decrypt' ? table.lookup.map(() => null) : blindIndexes(table, plain, crypto.blindIndexOf),
    });
  });
  return { updates, failures: [...batch.failed.values()].flat() };
}

/** One blind index per lookup column, of that column's plaintext (NULL stays NULL). */
function blindIndexes(
  table: SecretTable,
  plain: readonly (string | null)[],
  blindIndexOf: BlindIndexOf,
): (string | null)[] {
  return table.lookup.map((column) => {
    const value = plain[table.columns.indexOf(column)];
    return value === null || value === undefined ? null : blindIndexOf(table.table, column, value);
  });
}
