/**
 * Before anything is written: every key id the values' headers name must be
 * configured, and its key must open a value under it (one row per key id
 * is decrypted). A key id no configured key opens is invalid input: the
 * run stops with exit 2, naming the key id and how many rows it holds.
 */
import { InvalidInputError } from '../../errors.js';
import { SecretValueError } from '../errors.js';
import { decryptValue } from '../value.js';
import type { StoreCrypto } from './crypto.js';
import type { PrimaryKeyValue } from './dialect.js';
import { evidenceCounts, type KeyCheckSql, selectRow } from '../../dialects/store-sql.js';
import { compareText } from '../../util/compare.js';
import type { MasterKeySet } from '../keys.js';
import {
  headerWindow,
  type KeyPattern,
  keyPattern,
  readEvidence,
  type RowEvidence,
  rowEvidence,
} from '../evidence.js';
import { readRow } from './rows.js';
import type { TargetSession } from './session.js';
import { KEY_ID_COLUMN, type SecretTable, tableLabel } from './tables.js';

/** Rows of one table that share their key-id column and what each value's header says. */
export interface EvidenceGroup {
  readonly keyIdColumn: string | null;
  readonly evidence: RowEvidence;
  readonly rows: number;
  /** The group's first row. */
  readonly firstPrimaryKey: PrimaryKeyValue | null;
}

/** Rows with a value under a key (by the values' headers): how many, and the first. */
export interface KeyUse {
  readonly keyId: string;
  readonly rows: number;
  readonly firstPrimaryKey: PrimaryKeyValue | null;
}

/** Whether the table has its key-id column yet (001_key_columns ran on it). */
export async function hasKeyColumn(session: TargetSession, table: SecretTable): Promise<boolean> {
  const facts = await session.guard(`read the columns of ${tableLabel(table)}`, () =>
    session.dialect.readColumns(session.db, table),
  );
  return facts?.has(KEY_ID_COLUMN) ?? false;
}

/** A key's cheap check on one table's columns, for store-sql.ts. */
export function keyCheck(session: TargetSession, table: SecretTable, pattern: KeyPattern): KeyCheckSql {
  return {
    evidence: pattern.evidence,
    under: (column) =>
      session.dialect.valueUnder(column, table.primaryKey, headerWindow(table.table, column, pattern)),
  };
}

/** One scan of the table on the server: rows grouped by key-id column and by what each value's header says. */
export async function evidenceGroups(
  session: TargetSession,
  table: SecretTable,
  keys: MasterKeySet | undefined,
): Promise<EvidenceGroup[]> {
  const checks = (keys === undefined ? [] : [keys.current, ...keys.previous]).map((key) =>
    keyCheck(session, table, keyPattern(key)),
  );
  const quote = session.dialect.quoteIdent;
  const read = async (other: (column: string) => string, onlyOthers: boolean) =>
    (
      await session.select(
        `count the rows of ${tableLabel(table)} per key`,
        evidenceCounts(quote, { table, keys: checks, other, onlyOthers }),
      )
    ).map((r) => ({ raw: r, values: table.columns.map((_, i) => r[`e${i}`]) }));
  // The cheap checks alone first; the full header reading (much slower on PostgreSQL, even where it
  // is not reached) only over the rows some value of which no configured key matched.
  const cheap = await read(() => `'o'`, false);
  const others = cheap.some((g) => g.values.includes('o'))
    ? await read((c) => session.dialect.keyEvidence(c), true)
    : [];
  return [...cheap.filter((g) => !g.values.includes('o')), ...others].map(({ raw, values }) => ({
    keyIdColumn: raw.key_id === null || raw.key_id === undefined ? null : String(raw.key_id),
    evidence: rowEvidence(values.map((v) => readEvidence(v, keys))),
    rows: Number(raw.n),
    firstPrimaryKey: (raw.first_pk ?? null) as PrimaryKeyValue | null,
  }));
}

/** Per key id found in the values' headers: the rows with a value under it (a row of mixed keys counts under each). */
export function keyUses(groups: readonly EvidenceGroup[]): KeyUse[] {
  const uses = new Map<string, { rows: number; firstPrimaryKey: PrimaryKeyValue | null }>();
  for (const group of groups) {
    const { evidence } = group;
    const ids = evidence.kind === 'key' ? [evidence.keyId] : 'keyIds' in evidence ? evidence.keyIds : [];
    for (const keyId of ids) {
      const use = uses.get(keyId) ?? { rows: 0, firstPrimaryKey: group.firstPrimaryKey };
      use.rows += group.rows;
      uses.set(keyId, use);
    }
  }
  return [...uses].map(([keyId, use]) => ({ keyId, ...use })).sort((a, b) => compareText(a.keyId, b.keyId));
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
    for (const use of keyUses(await evidenceGroups(session, table, crypto.keys))) {
      const where = `target ${session.name}, table ${tableLabel(table)}`;
      if (!crypto.keyIds.includes(use.keyId)) {
        problems.push(
          `${where}: ${use.rows} ${use.rows === 1 ? 'row has a value' : 'rows have values'} under key id "${use.keyId}", which no configured master key has`,
        );
        continue;
      }
      if (use.firstPrimaryKey === null) continue;
      const problem = await firstRowProblem(session, table, use.firstPrimaryKey, crypto);
      if (problem !== undefined)
        problems.push(`${where}: ${problem} (${use.rows} rows under "${use.keyId}")`);
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
