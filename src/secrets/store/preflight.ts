/**
 * Before anything is written: every key id present in the data must be
 * configured, and its key must open a value under it (one row per key id
 * is decrypted). A key id no configured key opens is invalid input: the
 * run stops with exit 2, naming the key id and how many rows it holds.
 */
import { InvalidInputError } from '../../errors.js';
import { SecretValueError } from '../errors.js';
import { decryptValue } from '../value.js';
import type { StoreCrypto } from './crypto.js';
import type { PrimaryKeyValue } from './dialect.js';
import { keyIdCounts, selectRow } from '../../dialects/store-sql.js';
import { readRow } from './rows.js';
import type { TargetSession } from './session.js';
import { KEY_ID_COLUMN, type SecretTable, tableLabel } from './tables.js';

/** Rows per key id in one table (only rows holding at least one value). */
export interface KeyIdCount {
  readonly keyId: string | null;
  readonly rows: number;
  /** Rows of this key id with at least one value. */
  readonly withValues: number;
  /** The first row holding a value, or null. */
  readonly firstPrimaryKey: PrimaryKeyValue | null;
}

/** Whether the table has its key-id column yet (001_key_columns ran on it). */
export async function hasKeyColumn(session: TargetSession, table: SecretTable): Promise<boolean> {
  const facts = await session.guard(`read the columns of ${tableLabel(table)}`, () =>
    session.dialect.readColumns(session.db, table),
  );
  return facts?.has(KEY_ID_COLUMN) ?? false;
}

export async function countByKeyId(session: TargetSession, table: SecretTable): Promise<KeyIdCount[]> {
  const rows = await session.select(
    `count the rows of ${tableLabel(table)} per key id`,
    keyIdCounts(session.dialect.quoteIdent, table),
  );
  return rows.map((r) => ({
    keyId: r.key_id === null || r.key_id === undefined ? null : String(r.key_id),
    rows: Number(r.n),
    withValues: Number(r.with_values ?? 0),
    firstPrimaryKey: (r.first_pk ?? null) as PrimaryKeyValue | null,
  }));
}

/** Key problems found on one target's tables, as lines for one InvalidInputError. */
export async function keyProblems(
  session: TargetSession,
  tables: readonly SecretTable[],
  crypto: StoreCrypto,
): Promise<string[]> {
  const problems: string[] = [];
  for (const table of tables) {
    if (!(await hasKeyColumn(session, table))) continue;
    for (const count of await countByKeyId(session, table)) {
      if (count.keyId === null || count.withValues === 0 || count.firstPrimaryKey === null) continue;
      const where = `target ${session.name}, table ${tableLabel(table)}`;
      if (!crypto.keyIds.includes(count.keyId)) {
        problems.push(
          `${where}: ${count.withValues} ${count.withValues === 1 ? 'row is' : 'rows are'} under key id "${count.keyId}", which no configured master key has`,
        );
        continue;
      }
      const problem = await firstRowProblem(session, table, count.firstPrimaryKey, crypto);
      if (problem !== undefined)
        problems.push(`${where}: ${problem} (${count.withValues} rows under "${count.keyId}")`);
    }
  }
  return problems;
}

/** Decrypts the first row under a key id: a key problem is reported; any other problem is that row's, for the pass to report. */
async function firstRowProblem(
  session: TargetSession,
  table: SecretTable,
  primaryKey: PrimaryKeyValue,
  crypto: StoreCrypto,
): Promise<string | undefined> {
  const [raw] = await session.select(
    `read a row of ${tableLabel(table)}`,
    selectRow(session.dialect.quoteIdent, table, primaryKey),
  );
  if (raw === undefined) return undefined;
  const row = readRow(session.name, table, raw);
  for (const [i, value] of row.values.entries()) {
    if (value === null) continue;
    const place = { table: table.table, column: table.columns[i] as string, primaryKey: row.primaryKeyText };
    try {
      await decryptValue(crypto.keyrings(), value, place);
    } catch (error) {
      if (!(error instanceof SecretValueError)) throw error;
      if (error.problem === 'unknown-key' || error.problem === 'wrong-key') return error.message;
    }
  }
  return undefined;
}

export function keyError(problems: readonly string[]): InvalidInputError {
  return new InvalidInputError(problems.join('\n'), {
    hint:
      'configure the master key these values are under (masterKey.current or masterKey.previous), ' +
      'with the key material it had when they were encrypted; nothing was written',
  });
}
