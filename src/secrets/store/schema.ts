/**
 * The key columns of migration 001_key_columns: checks before anything is
 * written, adding the key-id and blind index columns and widening the secret
 * columns (their original definitions recorded first), and the way back.
 *
 * Every step is idempotent and recorded before it is taken, so a run killed
 * between two steps (MySQL DDL commits statement by statement) is finished
 * by the next one; on PostgreSQL the whole migration is one transaction.
 */
import type { Knex } from 'knex';
import { InvalidInputError } from '../../errors.js';
import type { ColumnFacts, OriginalColumn, SecretsDialect, TableRef } from './dialect.js';
import { ROWS_NAMED, SecretStoreError, ValuesDoNotFitError } from './errors.js';
import {
  countEncrypted,
  countRecords,
  deleteRecords,
  dropRecords,
  insertRecordsSql,
  selectRecordedColumns,
  selectRecords,
} from '../../dialects/store-sql.js';
import type { TargetSession } from './session.js';
import {
  blindIndexColumn,
  indexName,
  KEY_ID_COLUMN,
  RECORDS_TABLE,
  type SecretTable,
  tableLabel,
} from './tables.js';

/** A table as recorded by 001_key_columns: what is encrypted there, and what to restore. */
export interface RecordedTable extends SecretTable {
  readonly originals: ReadonlyMap<string, OriginalColumn>;
}

async function columnsOf(
  db: Knex,
  dialect: SecretsDialect,
  table: TableRef,
): Promise<ReadonlyMap<string, ColumnFacts> | undefined> {
  return dialect.readColumns(db, table);
}

/**
 * Problems with the secrets entries on this target, before anything is
 * written: missing tables and columns, columns that hold no text, names the
 * store cannot use, and entries that no longer match what was encrypted.
 */
export async function tableProblems(
  session: TargetSession,
  tables: readonly SecretTable[],
  recorded: readonly RecordedTable[],
): Promise<string[]> {
  const problems: string[] = [];
  for (const table of tables) {
    const label = `target ${session.name}: secrets table ${tableLabel(table)}`;
    const facts = await session.guard(`read the columns of ${tableLabel(table)}`, () =>
      columnsOf(session.db, session.dialect, table),
    );
    if (facts === undefined) {
      problems.push(`${label} does not exist`);
      continue;
    }
    const record = recorded.find((r) => r.schema === table.schema && r.table === table.table);
    problems.push(...columnProblems(session.dialect, table, facts, record).map((p) => `${label}: ${p}`));
  }
  for (const record of recorded) {
    if (!tables.some((t) => t.schema === record.schema && t.table === record.table)) {
      problems.push(
        `target ${session.name}: table ${tableLabel(record)} holds encrypted values but is no longer in secrets:` +
          ' put its entry back, or run `dbwarden downgrade --to base` with the old config first',
      );
    }
  }
  return problems;
}

function columnProblems(
  dialect: SecretsDialect,
  table: SecretTable,
  facts: ReadonlyMap<string, ColumnFacts>,
  record: RecordedTable | undefined,
): string[] {
  const problems: string[] = [];
  const names = [table.table, table.primaryKey, ...table.columns];
  // knex reads `?` in SQL text as a placeholder, even inside a quoted name.
  for (const name of names.filter((n) => n.includes('?')))
    problems.push(`the name "${name}" holds "?", which the encrypted store cannot use`);
  if (!facts.has(table.primaryKey)) problems.push(`has no primary key column ${table.primaryKey}`);
  for (const column of table.columns) {
    const fact = facts.get(column);
    if (fact === undefined) problems.push(`has no column ${column}`);
    else if (!fact.isText) problems.push(`column ${column} is not a text column (char, varchar, text)`);
    else if (!dialect.widensIndexedColumns && fact.indexed && !fact.isWide && !record?.originals.has(column))
      problems.push(
        `column ${column} is indexed, and ${dialect.engine} cannot widen an indexed column to hold ciphertext:` +
          ' drop that index (encrypted values cannot be searched; list the column under lookup: for a blind index)',
      );
  }
  for (const column of table.lookup) {
    const name = blindIndexColumn(column);
    if (name.length > dialect.maxIdentifierLength)
      problems.push(
        `the blind index column ${name} would be longer than ${dialect.maxIdentifierLength} characters`,
      );
  }
  if (record !== undefined) problems.push(...recordProblems(table, record));
  return problems;
}

/** The entry must still say what was encrypted: other columns would be left under an old key. */
function recordProblems(table: SecretTable, record: RecordedTable): string[] {
  const same = (a: readonly string[], b: readonly string[]) =>
    a.length === b.length && a.every((x) => b.includes(x));
  if (
    same(table.columns, record.columns) &&
    same(table.lookup, record.lookup) &&
    table.primaryKey === record.primaryKey
  ) {
    return [];
  }
  return [
    `the entry (primaryKey ${table.primaryKey}; columns ${table.columns.join(', ')}; lookup ${table.lookup.join(', ') || 'none'})` +
      ` differs from what was encrypted (primaryKey ${record.primaryKey}; columns ${record.columns.join(', ')};` +
      ` lookup ${record.lookup.join(', ') || 'none'}): run \`dbwarden downgrade --to base\` with the old entry, then upgrade with the new one`,
  ];
}

/** 001 up for one table: record the original definitions, add the key columns, widen. */
export async function addKeyColumns(db: Knex, session: TargetSession, table: SecretTable): Promise<void> {
  const { dialect } = session;
  const facts = await columnsOf(db, dialect, table);
  if (facts === undefined)
    throw new SecretStoreError(session.name, `secrets table ${tableLabel(table)} does not exist`);
  await dialect.createRecordsTable(db, RECORDS_TABLE);
  const recorded = await recordsOf(db, session, table);
  // Recorded before the first change (a rerun after a kill never takes a widened column for the
  // original), all of a table's columns in one statement (never some without the others).
  const missing = table.columns.flatMap((column, position) => {
    const fact = facts.get(column);
    return fact === undefined || recorded.has(column) ? [] : [{ column, position, original: fact.current }];
  });
  await insertRecords(db, session, table, missing);
  const add = [KEY_ID_COLUMN, ...table.lookup.map(blindIndexColumn)]
    .filter((name) => !facts.has(name))
    .map((name) => ({
      name,
      kind: name === KEY_ID_COLUMN ? ('key-id' as const) : ('blind-index' as const),
      index: indexName(table, name),
    }));
  const widen = table.columns.flatMap((c) => {
    const fact = facts.get(c);
    return fact === undefined || fact.isWide ? [] : [fact];
  });
  await dialect.alterTable(db, table, { add, widen, restore: [], drop: [] });
}

/** Refuses (before changing anything) when a table cannot go back to its original column types. */
export async function assertRestorable(
  db: Knex,
  session: TargetSession,
  table: RecordedTable,
): Promise<void> {
  const { dialect } = session;
  const facts = await columnsOf(db, dialect, table);
  if (facts === undefined) return;
  if (facts.has(KEY_ID_COLUMN)) {
    const quote = dialect.quoteIdent;
    const [row] = await dialect.select(db, countEncrypted(quote, table));
    const encrypted = Number(row?.n ?? 0);
    if (encrypted > 0) {
      throw new SecretStoreError(
        session.name,
        `${encrypted} rows of ${tableLabel(table)} are still encrypted; their columns cannot be narrowed`,
        { hint: 'run `dbwarden downgrade --to 001_key_columns` first (it decrypts them), then again' },
      );
    }
  }
  for (const [column, original] of table.originals) {
    const fact = facts.get(column);
    if (fact === undefined || fact.current.definition === original.definition) continue;
    const { count, primaryKeys } = await dialect.valuesNotFitting(
      db,
      table,
      table.primaryKey,
      column,
      original,
      ROWS_NAMED,
    );
    if (count > 0)
      throw new ValuesDoNotFitError({
        target: session.name,
        table: tableLabel(table),
        column,
        count,
        primaryKeys,
      });
  }
}

/** 001 down for one table: original definitions back, key columns dropped, then the record. */
export async function removeKeyColumns(
  db: Knex,
  session: TargetSession,
  table: RecordedTable,
): Promise<void> {
  const { dialect } = session;
  const facts = await columnsOf(db, dialect, table);
  if (facts !== undefined) {
    const restore = [...table.originals]
      .filter(([column, original]) => {
        const fact = facts.get(column);
        return fact !== undefined && fact.current.definition !== original.definition;
      })
      .map(([column, original]) => ({ column, original }));
    const drop = [KEY_ID_COLUMN, ...table.lookup.map(blindIndexColumn)].filter((c) => facts.has(c));
    await dialect.alterTable(db, table, { add: [], widen: [], restore, drop });
  }
  const quote = dialect.quoteIdent;
  const remove = deleteRecords(quote, table);
  await db.raw(remove.sql, [...remove.bindings]);
  const [left] = await dialect.select(db, countRecords(quote));
  if (Number(left?.n ?? 0) === 0) await db.raw(dropRecords(quote));
}

interface RecordRow {
  table_schema: string;
  table_name: string;
  column_name: string;
  primary_key: string;
  is_lookup: number | string;
  position: number | string;
  original_definition: string;
  max_chars: number | string | null;
  max_octets: number | string | null;
  charset: string | null;
}

/** Every table 001_key_columns recorded on this target (none when the record table is gone). */
export async function recordedTables(db: Knex, session: TargetSession): Promise<RecordedTable[]> {
  if (!(await db.schema.hasTable(RECORDS_TABLE))) return [];
  const quote = session.dialect.quoteIdent;
  const rows = (await session.dialect.select(db, selectRecords(quote))) as unknown as RecordRow[];
  const defaultSchema = await session.defaultSchema();
  const tables = new Map<string, RecordRow[]>();
  for (const row of rows) {
    const key = JSON.stringify([row.table_schema, row.table_name]);
    tables.set(key, [...(tables.get(key) ?? []), row]);
  }
  return [...tables.values()].map((group) => recordedTable(group, defaultSchema));
}

function recordedTable(group: readonly RecordRow[], defaultSchema: string): RecordedTable {
  const first = group[0] as RecordRow;
  const originals = new Map(group.map((r) => [r.column_name, originalOf(r)]));
  return {
    schema: first.table_schema,
    configuredSchema: first.table_schema === defaultSchema ? undefined : first.table_schema,
    table: first.table_name,
    primaryKey: first.primary_key,
    columns: group.map((r) => r.column_name),
    lookup: group.filter((r) => Number(r.is_lookup) === 1).map((r) => r.column_name),
    originals,
  };
}

function originalOf(row: RecordRow): OriginalColumn {
  return {
    definition: row.original_definition,
    maxChars: row.max_chars === null ? null : Number(row.max_chars),
    maxOctets: row.max_octets === null ? null : Number(row.max_octets),
    charset: row.charset,
  };
}

async function recordsOf(db: Knex, session: TargetSession, table: TableRef): Promise<Set<string>> {
  const rows = await session.dialect.select(db, selectRecordedColumns(session.dialect.quoteIdent, table));
  return new Set(rows.map((r) => String(r.column_name)));
}

async function insertRecords(
  db: Knex,
  session: TargetSession,
  table: SecretTable,
  columns: readonly { column: string; position: number; original: OriginalColumn }[],
): Promise<void> {
  if (columns.length === 0) return;
  const values = columns.map(({ column, position, original }) => [
    table.schema,
    table.table,
    column,
    table.primaryKey,
    table.lookup.includes(column) ? 1 : 0,
    position,
    original.definition,
    original.maxChars,
    original.maxOctets,
    original.charset,
  ]);
  const insert = insertRecordsSql(session.dialect.quoteIdent, values);
  await db.raw(insert.sql, [...insert.bindings]);
}

/** What tableProblems found, as one error: the config or the tables need fixing (exit 2, nothing written). */
export function schemaError(problems: readonly string[]): InvalidInputError {
  return new InvalidInputError(problems.join('\n'), {
    hint: 'fix the secrets: entries in the config (or the tables), then rerun; nothing was written',
  });
}
