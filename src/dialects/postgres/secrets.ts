/**
 * The encrypted store's PostgreSQL SQL (src/secrets/store/dialect.ts): the
 * store lock (a session advisory lock), column introspection from
 * pg_attribute, widening secret columns to text and restoring them, and the
 * conditional batch update (the batch's rows locked and checked, then one
 * UPDATE ... FROM unnest(...) per batch, binding no old value).
 */
import type { Knex } from 'knex';
import { DatabaseError } from '../../errors.js';
import type {
  BoundSql,
  ColumnFacts,
  OriginalColumn,
  RowUpdate,
  SchemaChange,
  SecretsDialect,
  StoreLockRelease,
  TableRef,
  UpdateShape,
} from '../../secrets/store/dialect.js';
import type { HeaderWindow } from '../../secrets/evidence.js';
import { CONNECT_TIMEOUT_MS } from '../connection.js';
import { base64Literal, base64Start, lockRows, stillAsRead } from '../store-sql.js';
import type { LockOptions } from '../dialect.js';
import { lockTimeoutError, waitForLock } from '../lock-wait.js';
import { databaseError, sqlState } from './errors.js';
import { advisoryLockHolder } from './lock-holder.js';
import { qualified, quoteIdent } from './sql.js';

/** pg_advisory_lock(key1, key2) of the encrypted store: "dbwa" and "rd" + 3 (apply's locks use + 1 and + 2). */
const STORE_LOCK_KEYS = [0x64627761, 0x72640003] as const;
/** Deadlock, serialization failure: another writer got in the way; the batch's rows are retried. */
const TRANSIENT_STATES = new Set(['40P01', '40001']);

/** What `down` restores: the type with its modifier, a column collation other than the type's, the default. */
interface PgDefinition {
  readonly type: string;
  readonly collation: string | null;
  readonly default: string | null;
}

export function knexConfig(url: string, poolSize: number): Knex.Config {
  return {
    client: 'pg',
    connection: {
      connectionString: url,
      application_name: 'dbwarden',
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    },
    pool: { min: 0, max: poolSize },
  };
}

export async function defaultSchema(db: Knex): Promise<string> {
  const { rows } = await db.raw<{ rows: { s: string | null }[] }>('select current_schema() as s');
  const schema = rows[0]?.s;
  if (!schema) throw new DatabaseError('no current schema: the search_path names no existing schema');
  return schema;
}

/**
 * A session advisory lock on a connection taken out of the pool for the
 * run: released explicitly, or by the server when the process dies. While
 * it waits, lock.notify is told who holds the lock (lock-wait.ts), as for
 * apply's locks.
 */
export async function lockStore(db: Knex, target: string, lock: LockOptions): Promise<StoreLockRelease> {
  const connection: unknown = await db.client.acquireConnection();
  const on = (sql: string, bindings: readonly Knex.RawBinding[] = []) =>
    db.raw(sql, [...bindings]).connection(connection);
  const waitSeconds = Math.max(1, Math.round(lock.waitSeconds));
  let taken: boolean;
  try {
    taken = await waitForLock({
      target,
      lock: "encrypted store's lock",
      waitSeconds,
      tryFor: (seconds) => tryStoreLock(on, seconds),
      holder: () =>
        advisoryLockHolder(async (sql) => (await on(sql)).rows as Record<string, unknown>[], STORE_LOCK_KEYS),
      notify: lock.notify,
    });
  } catch (err) {
    await db.client.releaseConnection(connection);
    throw databaseError(err, { target, action: "take the encrypted store's lock" });
  }
  if (!taken) {
    await db.client.releaseConnection(connection);
    throw lockTimeoutError({
      target,
      lock: "the encrypted store's lock",
      waitSeconds,
      action: "take the encrypted store's lock",
      code: '55P03',
      sqlState: '55P03',
    });
  }
  return async () => {
    try {
      await on('select pg_advisory_unlock(?, ?)', [...STORE_LOCK_KEYS]);
    } finally {
      await db.client.releaseConnection(connection);
    }
  };
}

/**
 * One try on the lock's own connection, outside any transaction: without
 * waiting (pg_try_advisory_lock), or waiting up to `seconds` (lock_timeout,
 * reset to none after, so the held connection never times out on it).
 */
async function tryStoreLock(
  on: (sql: string, bindings?: readonly Knex.RawBinding[]) => Knex.Raw<{ rows: { taken?: boolean }[] }>,
  seconds: number,
): Promise<boolean> {
  if (seconds === 0) {
    const { rows } = await on('select pg_try_advisory_lock(?, ?) as taken', [...STORE_LOCK_KEYS]);
    return rows[0]?.taken === true;
  }
  await on('select set_config(?, ?, false)', ['lock_timeout', `${seconds}s`]);
  try {
    await on('select pg_advisory_lock(?, ?)', [...STORE_LOCK_KEYS]);
    return true;
  } catch (err) {
    if (sqlState(err) !== '55P03') throw err;
    return false;
  } finally {
    await on('select set_config(?, ?, false)', ['lock_timeout', '0']);
  }
}

interface ColumnRow {
  name: string;
  type: string;
  category: string;
  typname: string;
  collation: string | null;
  default_expr: string | null;
  max_chars: number | null;
  indexed: boolean;
  not_null: boolean;
}

export async function readColumns(
  db: Knex,
  table: TableRef,
): Promise<ReadonlyMap<string, ColumnFacts> | undefined> {
  const name = qualified(table.schema, table.table);
  const exists = await db.raw<{ rows: { oid: string | null }[] }>('select to_regclass(?)::oid as oid', [
    name,
  ]);
  if (!exists.rows[0]?.oid) return undefined;
  const { rows } = await db.raw<{ rows: ColumnRow[] }>(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
            t.typcategory as category, t.typname,
            case when a.attcollation <> t.typcollation
                 then quote_ident(cn.nspname) || '.' || quote_ident(co.collname) end as collation,
            pg_get_expr(d.adbin, d.adrelid) as default_expr,
            case when t.typname in ('varchar', 'bpchar') and a.atttypmod > 4 then a.atttypmod - 4 end as max_chars,
            exists (select 1 from pg_index i where i.indrelid = a.attrelid and a.attnum = any (i.indkey)) as indexed,
            a.attnotnull as not_null
       from pg_attribute a
       join pg_type t on t.oid = a.atttypid
       left join pg_collation co on co.oid = a.attcollation
       left join pg_namespace cn on cn.oid = co.collnamespace
       left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where a.attrelid = to_regclass(?) and a.attnum > 0 and not a.attisdropped`,
    [name],
  );
  return new Map(rows.map((row) => [row.name, columnFacts(row)]));
}

function columnFacts(row: ColumnRow): ColumnFacts {
  const definition: PgDefinition = { type: row.type, collation: row.collation, default: row.default_expr };
  return {
    name: row.name,
    current: {
      definition: JSON.stringify(definition),
      maxChars: row.max_chars === null ? null : Number(row.max_chars),
      maxOctets: null,
      charset: null,
    },
    sqlType: row.type,
    isText: row.category === 'S',
    // What widenColumn makes: plain text, the default collation, no default.
    isWide: row.type === 'text' && row.collation === null && row.default_expr === null,
    indexed: row.indexed,
    nullable: !row.not_null,
  };
}

export async function createRecordsTable(db: Knex, name: string): Promise<void> {
  await db.raw(
    `create table if not exists ${quoteIdent(name)} (
       table_schema text not null,
       table_name text not null,
       column_name text not null,
       primary_key text not null,
       is_lookup smallint not null,
       position integer not null,
       original_definition text not null,
       max_chars bigint,
       max_octets bigint,
       charset text,
       primary key (table_schema, table_name, column_name))`,
  );
}

/** Every change of one table in one ALTER TABLE (one rewrite), then the new columns' indexes. */
export async function alterTable(db: Knex, table: TableRef, change: SchemaChange): Promise<void> {
  for (const statement of renderAlterTable(table, change)) await db.raw(statement);
}

export function renderAlterTable(table: TableRef, change: SchemaChange): string[] {
  const actions = [
    ...change.add.map((c) => `add column if not exists ${quoteIdent(c.name)} varchar(64)`),
    ...change.widen.flatMap((c) => [
      // A default would store plaintext in a column meant for ciphertext; down restores it.
      `alter column ${quoteIdent(c.name)} drop default`,
      `alter column ${quoteIdent(c.name)} type text`,
    ]),
    ...change.restore.flatMap(({ column, original }) => restoreActions(column, original)),
    ...change.drop.map((name) => `drop column if exists ${quoteIdent(name)}`),
  ];
  const name = qualified(table.schema, table.table);
  const statements = actions.length > 0 ? [`alter table ${name} ${actions.join(', ')}`] : [];
  for (const c of change.add) {
    statements.push(`create index if not exists ${quoteIdent(c.index)} on ${name} (${quoteIdent(c.name)})`);
  }
  return statements;
}

/**
 * Back to the recorded type: without USING, so PostgreSQL's assignment cast
 * refuses a value that does not fit instead of truncating it.
 */
function restoreActions(column: string, original: OriginalColumn): string[] {
  const definition = JSON.parse(original.definition) as PgDefinition;
  const collate = definition.collation === null ? '' : ` collate ${definition.collation}`;
  const actions = [`alter column ${quoteIdent(column)} type ${definition.type}${collate}`];
  if (definition.default !== null)
    actions.push(`alter column ${quoteIdent(column)} set default ${definition.default}`);
  return actions;
}

export async function valuesNotFitting(
  db: Knex,
  table: TableRef,
  primaryKey: string,
  column: string,
  original: OriginalColumn,
  limit: number,
): Promise<{ count: number; primaryKeys: string[] }> {
  // PostgreSQL limits string types in characters only; text and unbounded varchar hold anything.
  if (original.maxChars === null) return { count: 0, primaryKeys: [] };
  const pk = quoteIdent(primaryKey);
  const { rows } = await db.raw<{ rows: { pk: string; n: string }[] }>(
    `select ${pk}::text as pk, count(*) over () as n from ${qualified(table.schema, table.table)}
      where char_length(${quoteIdent(column)}) > ? order by ${pk} limit ?`,
    [original.maxChars, limit],
  );
  return { count: Number(rows[0]?.n ?? 0), primaryKeys: rows.map((r) => r.pk) };
}

/**
 * Writes the rows of a batch that still hold what was read: they are locked
 * and read back first (lockRows), compared here, and only those unchanged
 * are written, by primary key. Neither statement carries an old value.
 */
export async function conditionalUpdate(
  trx: Knex.Transaction,
  shape: UpdateShape,
  rows: readonly RowUpdate[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const lock = lockRows(
    quoteIdent,
    shape,
    rows.map((r) => r.primaryKey),
  );
  const current = await trx.raw<{ rows: Record<string, unknown>[] }>(lock.sql, [...lock.bindings]);
  const unchanged = stillAsRead(shape, current.rows, rows);
  if (unchanged.length === 0) return 0;
  const { sql, bindings } = renderConditionalUpdate(shape, unchanged);
  await trx.raw(sql, [...bindings]);
  return unchanged.length;
}

/**
 * One statement for the whole batch: the rows arrive as parallel text
 * arrays (primary key, new values, key id, blind indexes) and each is
 * written where its primary key matches. The caller's transaction holds
 * the rows' locks since they were checked (conditionalUpdate).
 */
export function renderConditionalUpdate(shape: UpdateShape, rows: readonly RowUpdate[]): BoundSql {
  const { columns, blindIndexColumns } = shape;
  const after = columns.map((_, i) => `n${i}`);
  const indexes = blindIndexColumns.map((_, i) => `b${i}`);
  const names = ['pk', ...after, 'nk', ...indexes];
  const sets = [
    ...columns.map((c, i) => `${quoteIdent(c)} = v.${after[i]}`),
    `${quoteIdent(shape.keyIdColumn)} = v.nk`,
    ...blindIndexColumns.map((c, i) => `${quoteIdent(c)} = v.${indexes[i]}`),
  ];
  const sql =
    `update ${qualified(shape.table.schema, shape.table.table)} as t set ${sets.join(', ')}` +
    ` from unnest(${names.map(() => '?::text[]').join(', ')}) as v(${names.join(', ')})` +
    ` where t.${quoteIdent(shape.primaryKey)} = v.pk::${shape.primaryKeyType}`;
  const bindings = [
    rows.map((r) => r.primaryKeyText),
    ...columns.map((_, i) => rows.map((r) => r.after[i] ?? null)),
    rows.map((r) => r.afterKeyId),
    ...blindIndexColumns.map((_, i) => rows.map((r) => r.blindIndexes[i] ?? null)),
  ].map(textArray);
  return { sql, bindings };
}

/** node-pg sends a JS array as a PostgreSQL array literal, null elements as NULL (knex's types know no nullable arrays). */
function textArray(values: readonly (string | null)[]): Knex.RawBinding {
  return values as string[];
}

/**
 * A stored value in dbwarden's text form: prefix, then padded standard
 * base64 (what decode() takes without error). No `?` in it: knex reads
 * that as a placeholder.
 */
const STORED_FORM = String.raw`^dbwarden:1:([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|)$`;

/**
 * What a stored value's message header says, read by the server without
 * decrypting (store-sql.ts, keyEvidence): NULL for NULL, 'p' plaintext,
 * 'r:<hex of the key name>' under a raw AES key, 'a:<hex of the ARN>'
 * under a KMS key, 'm' for anything else with the reserved prefix. Offsets
 * as in docs/encryption.md: version 2 and suite 0x0478 in bytes 0 to 2,
 * the context's length in bytes 35 and 36, then the context, then exactly
 * one data key: provider id, provider info (a raw AES key name is followed
 * by 20 bytes: tag length, IV length, IV). One decode per value (the
 * subqueries), and get_byte only where the length was checked.
 */
export function keyEvidence(column: string): string {
  const c = quoteIdent(column);
  const raw = `decode('00010008' || encode(convert_to('dbwarden', 'UTF8'), 'hex'), 'hex')`;
  const kms = `decode('00010007' || encode(convert_to('aws-kms', 'UTF8'), 'hex'), 'hex')`;
  const info = (kind: string, at: number, tail: number) =>
    `(select case when il > ${tail} and octet_length(m) >= a + ${at + 2} + il` +
    ` then '${kind}:' || encode(substring(m from a + ${at + 3} for il - ${tail}), 'hex') else 'm' end` +
    ` from (select get_byte(m, a + ${at}) * 256 + get_byte(m, a + ${at + 1}) as il) i)`;
  const header =
    `(select case when a is null then 'm'` +
    ` when octet_length(m) >= a + 14 and substring(m from a + 1 for 12) = ${raw} then ${info('r', 12, 20)}` +
    ` when octet_length(m) >= a + 13 and substring(m from a + 1 for 11) = ${kms} then ${info('a', 11, 0)}` +
    ` else 'm' end from (select m, case when octet_length(m) >= 37 and substring(m from 1 for 3) = decode('020478', 'hex')` +
    ` then 37 + get_byte(m, 35) * 256 + get_byte(m, 36) end as a` +
    ` from (select decode(substr(${c}, 12), 'base64') as m) d) h)`;
  return (
    `(case when ${c} is null then null when left(${c}, 9) <> 'dbwarden:' then 'p'` +
    ` when ${c} !~ '${STORED_FORM}' then 'm' else ${header} end)`
  );
}

/**
 * Whether a value is a dbwarden message whose one data key is the key of a
 * header window (evidence.ts, headerWindow): its text starts as every
 * message does, and at the character the primary key's length puts the
 * data key at, it holds the key's expected base64. Nothing is decoded: a
 * few substring comparisons per value, cheap enough to run on every value
 * (status, the rotation's choice of rows). keyEvidence reads any key, for
 * what this does not match.
 */
export function valueUnder(column: string, primaryKey: string, window: HeaderWindow): string {
  const c = quoteIdent(column);
  const at = `(${window.offset} + octet_length(${quoteIdent(primaryKey)}::text))`;
  const [e0, e1, e2] = window.expected.map(base64Literal) as [string, string, string];
  const text = (expected: string) =>
    `substr(${c}, 12 + (${at} / 3) * 4, ${expected.length - 2}) = ${expected}`;
  return (
    `coalesce(left(${c}, ${window.start.length}) = ${base64Start(window.start)} and case ${at} % 3` +
    ` when 0 then ${text(e0)} when 1 then ${text(e1)} else ${text(e2)} end, false)`
  );
}

export const postgresSecrets: SecretsDialect = {
  engine: 'postgres',
  transactionalDdl: true,
  widensIndexedColumns: true,
  maxIdentifierLength: 63,
  knexConfig,
  databaseError: (err, context) => databaseError(err, context),
  isTransient: (err) => TRANSIENT_STATES.has(sqlState(err) ?? ''),
  defaultSchema,
  lockStore,
  readColumns,
  createRecordsTable,
  alterTable,
  valuesNotFitting,
  conditionalUpdate,
  keyEvidence,
  valueUnder,
  randomOrder: 'random()',
  quoteIdent,
  select: async (db, query) =>
    (await db.raw<{ rows: Record<string, unknown>[] }>(query.sql, [...query.bindings])).rows,
};
