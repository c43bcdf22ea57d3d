/**
 * The encrypted store's MySQL/MariaDB SQL (src/secrets/store/dialect.ts):
 * the store lock (GET_LOCK), column introspection from information_schema
 * and SHOW CREATE TABLE, widening secret columns to utf8mb4_bin text and
 * restoring their exact original definition, and the conditional batch
 * update (the batch's rows locked and checked, then one UPDATE per batch,
 * joined to the batch's rows as a JSON_TABLE, binding no old value).
 */
import { createHash } from 'node:crypto';
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
import { base64Literal, base64Start, lockRows, stillAsRead } from '../store-sql.js';
import { CONNECT_TIMEOUT_MS } from '../connection.js';
import type { LockOptions } from '../dialect.js';
import { lockTimeoutError, waitForLock } from '../lock-wait.js';
import { databaseError, errorCode } from './errors.js';
import { namedLockHolder } from './lock-holder.js';
import { connectionOptions, SESSION_SQL_MODE } from './session.js';
import { qualified, quoteIdent } from './sql.js';

const TRANSIENT_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);
const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);
const WIDE_TYPES = new Set(['text', 'mediumtext', 'longtext']);
/** Binary collation: ciphertexts and blind indexes compare byte for byte. */
const WIDE_CHARSET = 'CHARACTER SET utf8mb4 COLLATE utf8mb4_bin';

/** The raw mysql2 connection knex hands to pool hooks and transactions. */
interface RawConnection {
  query(sql: string, callback: (err: Error | null) => void): void;
  execute(sql: string, values: unknown[], callback: (err: Error | null, result: unknown) => void): void;
}

export function knexConfig(url: string, poolSize: number): Knex.Config {
  return {
    client: 'mysql2',
    connection: {
      ...(connectionOptions(url) as Record<string, unknown>),
      connectTimeout: CONNECT_TIMEOUT_MS,
      // knex also uses it as the default character set of the tables it creates (its migration tables).
      charset: 'utf8mb4',
      supportBigNumbers: true,
      dateStrings: true,
    },
    pool: {
      min: 0,
      max: poolSize,
      afterCreate: (conn: RawConnection, done: (err: Error | null, conn: RawConnection) => void) => {
        conn.query(`SET SESSION sql_mode = '${SESSION_SQL_MODE}'`, (err) => done(err, conn));
      },
    },
  };
}

async function rows<R>(db: Knex, sql: string, bindings: readonly Knex.RawBinding[] = []): Promise<R[]> {
  const [result] = (await db.raw(sql, [...bindings])) as [R[]];
  return result;
}

export async function defaultSchema(db: Knex): Promise<string> {
  const [row] = await rows<{ s: string | null }>(db, 'SELECT DATABASE() AS s');
  if (!row?.s) throw new DatabaseError('the URL names no database', { hint: 'end the URL with /<database>' });
  return row.s;
}

/** Lock names are at most 64 characters: a hash of the database name keeps them short and exact. */
export function storeLockName(database: string): string {
  return `dbwarden-store-${createHash('sha256').update(database, 'utf8').digest('hex').slice(0, 40)}`;
}

/**
 * GET_LOCK on a connection taken out of the pool for the run; the server
 * releases it if the process dies. While it waits, lock.notify is told who
 * holds the lock (lock-wait.ts), as for apply's locks.
 */
export async function lockStore(db: Knex, target: string, lock: LockOptions): Promise<StoreLockRelease> {
  const connection: unknown = await db.client.acquireConnection();
  const on = async (sql: string, bindings: readonly unknown[]) => {
    const [result] = (await db.raw(sql, [...(bindings as Knex.RawBinding[])]).connection(connection)) as [
      Record<string, unknown>[],
    ];
    return result;
  };
  const waitSeconds = Math.max(1, Math.round(lock.waitSeconds));
  let name = '';
  let taken: boolean;
  try {
    name = storeLockName(String((await on('SELECT DATABASE() AS d', []))[0]?.d));
    taken = await waitForLock({
      target,
      lock: "encrypted store's lock",
      waitSeconds,
      tryFor: async (seconds) =>
        Number((await on('SELECT GET_LOCK(?, ?) AS got', [name, seconds]))[0]?.got) === 1,
      holder: () => namedLockHolder(on, name),
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
      code: 'LOCK_TIMEOUT',
    });
  }
  return async () => {
    try {
      await on('SELECT RELEASE_LOCK(?)', [name]);
    } finally {
      await db.client.releaseConnection(connection);
    }
  };
}

interface ColumnRow {
  name: string;
  data_type: string;
  column_type: string;
  max_chars: number | string | null;
  max_octets: number | string | null;
  charset: string | null;
  collation: string | null;
  default_value: string | null;
  nullable: string;
  indexed: number | string;
}

export async function readColumns(
  db: Knex,
  table: TableRef,
): Promise<ReadonlyMap<string, ColumnFacts> | undefined> {
  const found = await rows<ColumnRow>(
    db,
    `SELECT c.COLUMN_NAME AS name, LOWER(c.DATA_TYPE) AS data_type, c.COLUMN_TYPE AS column_type,
            c.CHARACTER_MAXIMUM_LENGTH AS max_chars, c.CHARACTER_OCTET_LENGTH AS max_octets,
            c.CHARACTER_SET_NAME AS charset, c.COLLATION_NAME AS collation,
            c.COLUMN_DEFAULT AS default_value, c.IS_NULLABLE AS nullable,
            EXISTS (SELECT 1 FROM information_schema.STATISTICS s
                     WHERE s.TABLE_SCHEMA = c.TABLE_SCHEMA AND s.TABLE_NAME = c.TABLE_NAME
                       AND s.COLUMN_NAME = c.COLUMN_NAME) AS indexed
       FROM information_schema.COLUMNS c
      WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ?`,
    [table.schema, table.table],
  );
  if (found.length === 0) return undefined;
  const lines = await columnLines(db, table);
  return new Map(found.map((row) => [row.name, columnFacts(row, lines.get(row.name))]));
}

/** Each column's line of SHOW CREATE TABLE, without the trailing comma: its exact, restorable definition. */
async function columnLines(db: Knex, table: TableRef): Promise<Map<string, string>> {
  const [row] = await rows<Record<string, string>>(
    db,
    `SHOW CREATE TABLE ${qualified(table.schema, table.table)}`,
  );
  const text = row?.['Create Table'] ?? '';
  const lines = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^ {2}`((?:[^`]|``)+)` (.*?),?$/.exec(line);
    if (match?.[1] !== undefined) lines.set(match[1].replaceAll('``', '`'), line.trim().replace(/,$/, ''));
  }
  return lines;
}

/**
 * The column's type as a JSON_TABLE column declares it: a text primary key keeps its character
 * set and collation, so the batch's keys compare as the table's do and the join uses the index.
 */
function jsonTableType(row: ColumnRow): string {
  const charset = row.charset !== null && CHARSET_NAME.test(row.charset) ? row.charset : undefined;
  const collation = row.collation !== null && CHARSET_NAME.test(row.collation) ? row.collation : undefined;
  if (!TEXT_TYPES.has(row.data_type) || charset === undefined || collation === undefined)
    return row.column_type;
  return `${row.column_type} CHARACTER SET ${charset} COLLATE ${collation}`;
}

function columnFacts(row: ColumnRow, line: string | undefined): ColumnFacts {
  // MariaDB reports a nullable column without a default as the text NULL.
  const hasDefault = row.default_value !== null && row.default_value !== 'NULL';
  return {
    name: row.name,
    current: {
      definition: line ?? '',
      maxChars: row.max_chars === null ? null : Number(row.max_chars),
      maxOctets: row.max_octets === null ? null : Number(row.max_octets),
      charset: row.charset,
    },
    sqlType: jsonTableType(row),
    isText: TEXT_TYPES.has(row.data_type),
    isWide: WIDE_TYPES.has(row.data_type) && row.collation === 'utf8mb4_bin' && !hasDefault,
    indexed: Number(row.indexed) === 1,
    nullable: row.nullable === 'YES',
  };
}

export async function createRecordsTable(db: Knex, name: string): Promise<void> {
  await db.raw(
    `CREATE TABLE IF NOT EXISTS ${quoteIdent(name)} (
       table_schema VARCHAR(64) NOT NULL,
       table_name VARCHAR(64) NOT NULL,
       column_name VARCHAR(64) NOT NULL,
       primary_key VARCHAR(64) NOT NULL,
       is_lookup SMALLINT NOT NULL,
       position INT NOT NULL,
       original_definition TEXT NOT NULL,
       max_chars BIGINT NULL,
       max_octets BIGINT NULL,
       charset VARCHAR(64) NULL,
       PRIMARY KEY (table_schema, table_name, column_name)
     ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  );
}

/** Every change of one table in one ALTER TABLE: MySQL DDL commits on its own, and one statement is all or nothing. */
export async function alterTable(db: Knex, table: TableRef, change: SchemaChange): Promise<void> {
  const statement = renderAlterTable(table, change);
  if (statement !== undefined) await db.raw(statement);
}

export function renderAlterTable(table: TableRef, change: SchemaChange): string | undefined {
  const actions = [
    ...change.add.flatMap((c) => [
      `ADD COLUMN ${quoteIdent(c.name)} VARCHAR(64) ${c.kind === 'key-id' ? WIDE_CHARSET : 'CHARACTER SET ascii COLLATE ascii_bin'} NULL`,
      `ADD INDEX ${quoteIdent(c.index)} (${quoteIdent(c.name)})`,
    ]),
    // No DEFAULT: a default would store plaintext in a column meant for ciphertext; down restores it.
    ...change.widen.map(
      (c) =>
        `MODIFY COLUMN ${quoteIdent(c.name)} ${widenedType(c.current.maxOctets)} ${WIDE_CHARSET} ${c.nullable ? 'NULL' : 'NOT NULL'}`,
    ),
    ...change.restore.map(({ original }) => `MODIFY COLUMN ${original.definition}`),
    ...change.drop.map((name) => `DROP COLUMN ${quoteIdent(name)}`),
  ];
  return actions.length === 0
    ? undefined
    : `ALTER TABLE ${qualified(table.schema, table.table)} ${actions.join(', ')}`;
}

/** A type whose byte limit holds the ciphertext of the longest value the original column can hold. */
export function widenedType(maxOctets: number | null): string {
  if (maxOctets !== null && maxOctets <= 32_768) return 'TEXT';
  if (maxOctets !== null && maxOctets <= 8_000_000) return 'MEDIUMTEXT';
  return 'LONGTEXT';
}

const CHARSET_NAME = /^[A-Za-z0-9_]+$/;

export async function valuesNotFitting(
  db: Knex,
  table: TableRef,
  primaryKey: string,
  column: string,
  original: OriginalColumn,
  limit: number,
): Promise<{ count: number; primaryKeys: string[] }> {
  const c = quoteIdent(column);
  const tests: string[] = [];
  const bindings: Knex.RawBinding[] = [];
  if (original.maxChars !== null) {
    tests.push(`CHAR_LENGTH(${c}) > ?`);
    bindings.push(original.maxChars);
  }
  if (original.charset !== null && CHARSET_NAME.test(original.charset)) {
    const converted = `CONVERT(${c} USING ${original.charset})`;
    if (original.maxOctets !== null) {
      tests.push(`OCTET_LENGTH(${converted}) > ?`);
      bindings.push(original.maxOctets);
    }
    // Characters the original character set cannot hold would come back as '?'.
    tests.push(`CAST(CONVERT(${converted} USING utf8mb4) AS BINARY) <> CAST(${c} AS BINARY)`);
  }
  if (tests.length === 0) return { count: 0, primaryKeys: [] };
  const pk = quoteIdent(primaryKey);
  const found = await rows<{ pk: string; n: number | string }>(
    db,
    `SELECT CAST(${pk} AS CHAR) AS pk, COUNT(*) OVER () AS n FROM ${qualified(table.schema, table.table)}
      WHERE ${c} IS NOT NULL AND (${tests.join(' OR ')}) ORDER BY ${pk} LIMIT ?`,
    [...bindings, limit],
  );
  return { count: Number(found[0]?.n ?? 0), primaryKeys: found.map((r) => String(r.pk)) };
}

/**
 * Writes the rows of a batch that still hold what was read: they are locked
 * and read back first (lockRows), compared here byte for byte, and only
 * those unchanged are written, by primary key. Neither statement carries an
 * old value, so the general log never holds a plaintext that was encrypted.
 *
 * The write is sent as a prepared statement on the transaction's own
 * connection (knex has no way to): the binary protocol carries the batch's
 * document as bytes, neither hex-encoded nor escaped into the statement
 * text, and the statement is prepared once per connection and table.
 */
export async function conditionalUpdate(
  trx: Knex.Transaction,
  shape: UpdateShape,
  rowsToWrite: readonly RowUpdate[],
): Promise<number> {
  if (rowsToWrite.length === 0) return 0;
  const lock = lockRows(
    quoteIdent,
    shape,
    rowsToWrite.map((r) => r.primaryKey),
  );
  const unchanged = stillAsRead(shape, await rows(trx, lock.sql, lock.bindings), rowsToWrite);
  if (unchanged.length === 0) return 0;
  const { sql, bindings } = renderConditionalUpdate(shape, unchanged);
  const connection = (await trx.client.acquireConnection()) as RawConnection;
  await new Promise<unknown>((resolve, reject) =>
    connection.execute(sql, [...bindings], (err, res) => (err ? reject(err) : resolve(res))),
  );
  return unchanged.length;
}

/**
 * One UPDATE for the whole batch: the rows arrive as one JSON document
 * (primary key, new values, key id, blind indexes), bound as bytes and read
 * back as a table by JSON_TABLE; each row is written where its primary key
 * matches. A NULL is a key left out of its row's object (NULL ON EMPTY, the
 * default). The caller's transaction holds the rows' locks since they were
 * checked (conditionalUpdate).
 *
 * One statement instead of one per row, with the values out of its text:
 * building and escaping half a megabyte of SQL per batch was most of this
 * process's CPU per row on MySQL, and parsing it a good part of the server's
 * (docs/performance.md).
 */
export function renderConditionalUpdate(shape: UpdateShape, rowsToWrite: readonly RowUpdate[]): BoundSql {
  const { columns, blindIndexColumns } = shape;
  const after = columns.map((_, i) => `n${i}`);
  const indexes = blindIndexColumns.map((_, i) => `b${i}`);
  const jsonColumns = [
    `p ${shape.primaryKeyType} PATH '$.p'`,
    ...after.map((name) => `${name} LONGTEXT PATH '$.${name}'`),
    ...['nk', ...indexes].map((name) => `${name} VARCHAR(64) PATH '$.${name}'`),
  ];
  const sets = [
    ...columns.map((c, i) => `t.${quoteIdent(c)} = v.${after[i]}`),
    `t.${quoteIdent(shape.keyIdColumn)} = v.nk`,
    ...blindIndexColumns.map((c, i) => `t.${quoteIdent(c)} = v.${indexes[i]}`),
  ];
  const sql =
    `UPDATE ${qualified(shape.table.schema, shape.table.table)} AS t` +
    ` JOIN JSON_TABLE(CONVERT(? USING utf8mb4), '$[*]' COLUMNS (${jsonColumns.join(', ')})) AS v` +
    ` ON t.${quoteIdent(shape.primaryKey)} = v.p` +
    ` SET ${sets.join(', ')}`;
  const document = rowsToWrite.map((r) => {
    const row: Record<string, string | number> = { p: r.primaryKey };
    const put = (name: string, value: string | null | undefined) => {
      if (value !== null && value !== undefined) row[name] = value;
    };
    columns.forEach((_, i) => put(after[i] as string, r.after[i]));
    put('nk', r.afterKeyId);
    indexes.forEach((name, i) => put(name, r.blindIndexes[i]));
    return row;
  });
  return { sql, bindings: [Buffer.from(JSON.stringify(document), 'utf8')] };
}

/**
 * What a stored value's message header says, read by the server without
 * decrypting (store-sql.ts, keyEvidence): NULL for NULL, 'p' plaintext,
 * 'r:<hex of the key name>' under a raw AES key, 'a:<hex of the ARN>'
 * under a KMS key, 'm' for anything else with the reserved prefix. Offsets
 * as in docs/encryption.md (and postgres/secrets.ts). MariaDB has no
 * correlated derived tables, so the decoded header is an expression used
 * several times; only a prefix is decoded (FROM_BASE64 of 4n characters is
 * exact), long enough for the context and the data key's provider info
 * (decoding the whole value is what costs).
 */
export function keyEvidence(column: string): string {
  const c = quoteIdent(column);
  // 4,096 characters: 3,072 bytes, more than any dbwarden header (context and key id) takes.
  const m = `FROM_BASE64(SUBSTRING(${c}, 12, 4096))`;
  const byte = (at: string) => `ASCII(SUBSTRING(${m}, ${at}, 1))`;
  const a = `(37 + ${byte('36')} * 256 + ${byte('37')})`;
  const il = (at: number) => `(${byte(`${a} + ${at + 1}`)} * 256 + ${byte(`${a} + ${at + 2}`)})`;
  const info = (kind: string, at: number, tail: number) =>
    `CASE WHEN ${il(at)} > ${tail} AND LENGTH(${m}) >= ${a} + ${at + 2} + ${il(at)}` +
    ` THEN CONCAT('${kind}:', LOWER(HEX(SUBSTRING(${m}, ${a} + ${at + 3}, ${il(at)} - ${tail})))) ELSE 'm' END`;
  return (
    `(CASE WHEN ${c} IS NULL THEN NULL` +
    ` WHEN CAST(LEFT(${c}, 9) AS BINARY) <> CAST('dbwarden:' AS BINARY) THEN 'p'` +
    ` WHEN CAST(LEFT(${c}, 11) AS BINARY) <> CAST('dbwarden:1:' AS BINARY) OR ${m} IS NULL` +
    ` OR LENGTH(${m}) < 37 OR LEFT(${m}, 3) <> X'020478' THEN 'm'` +
    ` WHEN SUBSTRING(${m}, ${a} + 1, 12) = X'00010008${Buffer.from('dbwarden').toString('hex')}' THEN ${info('r', 12, 20)}` +
    ` WHEN SUBSTRING(${m}, ${a} + 1, 11) = X'00010007${Buffer.from('aws-kms').toString('hex')}' THEN ${info('a', 11, 0)}` +
    ` ELSE 'm' END)`
  );
}

/**
 * Whether a value is a dbwarden message whose one data key is the key of a
 * header window (evidence.ts, headerWindow): its text starts as every
 * message does, and at the character the primary key's length (in UTF-8,
 * as the context holds it) puts the data key at, it holds the key's
 * expected base64, compared byte for byte. Nothing is decoded: cheap
 * enough to run on every value. keyEvidence reads any key, for what this
 * does not match.
 */
export function valueUnder(column: string, primaryKey: string, window: HeaderWindow): string {
  const c = quoteIdent(column);
  const pk = `OCTET_LENGTH(CONVERT(CAST(${quoteIdent(primaryKey)} AS CHAR) USING utf8mb4))`;
  const at = `(${window.offset} + ${pk})`;
  const [e0, e1, e2] = window.expected.map(base64Literal) as [string, string, string];
  const text = (expected: string) =>
    `CAST(SUBSTRING(${c}, 12 + FLOOR(${at} / 3) * 4, ${expected.length - 2}) AS BINARY) = CAST(${expected} AS BINARY)`;
  return (
    `COALESCE(CAST(LEFT(${c}, ${window.start.length}) AS BINARY) = CAST(${base64Start(window.start)} AS BINARY)` +
    ` AND CASE MOD(${at}, 3) WHEN 0 THEN ${text(e0)} WHEN 1 THEN ${text(e1)} ELSE ${text(e2)} END, FALSE)`
  );
}

export const mysqlSecrets: SecretsDialect = {
  engine: 'mysql',
  transactionalDdl: false,
  widensIndexedColumns: false,
  maxIdentifierLength: 64,
  knexConfig,
  databaseError,
  isTransient: (err) => TRANSIENT_CODES.has(errorCode(err) ?? ''),
  defaultSchema,
  lockStore,
  readColumns,
  createRecordsTable,
  alterTable,
  valuesNotFitting,
  conditionalUpdate,
  keyEvidence,
  valueUnder,
  randomOrder: 'RAND()',
  quoteIdent,
  select: (db, query) => rows<Record<string, unknown>>(db, query.sql, query.bindings),
};
