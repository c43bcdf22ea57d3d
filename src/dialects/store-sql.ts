/**
 * The encrypted store's SQL that PostgreSQL and MySQL/MariaDB take alike
 * (SELECT, WHERE, GROUP BY, ORDER BY, LIMIT, plain INSERT/DELETE/DROP on
 * dbwarden's own tables), identifiers quoted by the engine's own quoteIdent,
 * values always bound. Whatever differs between engines (locks, DDL, the
 * conditional update) is in postgres/secrets.ts and mysql/secrets.ts. With
 * those, this is the only place the store's SQL text is built.
 */
import type {
  BoundSql,
  PrimaryKeyValue,
  RowUpdate,
  TableRef,
  UpdateShape,
} from '../secrets/store/dialect.js';
import {
  blindIndexColumn,
  KEY_ID_COLUMN,
  MIGRATIONS_TABLE,
  RECORDS_TABLE,
  type SecretTable,
} from '../secrets/store/tables.js';
import type { StorePhase } from '../secrets/store/types.js';

export type QuoteIdent = (name: string) => string;

export function tableName(quote: QuoteIdent, table: TableRef): string {
  return `${quote(table.schema)}.${quote(table.table)}`;
}

/**
 * Primary key, secret columns, key id, blind indexes: what every read of a
 * secrets table returns (without the last two before 001_key_columns).
 */
function columnList(quote: QuoteIdent, table: SecretTable, keyColumns = true): string {
  const keys = keyColumns ? [KEY_ID_COLUMN, ...table.lookup.map(blindIndexColumn)] : [];
  return [table.primaryKey, ...table.columns, ...keys].map(quote).join(', ');
}

function anyValue(quote: QuoteIdent, table: SecretTable): string {
  return table.columns.map((c) => `${quote(c)} IS NOT NULL`).join(' OR ');
}

/**
 * One key's cheap check on one table (SecretsDialect.valueUnder, built by
 * the store for the table's columns): no bindings, the expected text is
 * inlined (base64 and hex only).
 */
export interface KeyCheckSql {
  /** keyEvidence's text for the key: `r:` or `a:` and hex. */
  readonly evidence: string;
  /** Boolean SQL: the value in the column is under the key. */
  readonly under: (column: string) => string;
}

/**
 * The rows a phase still has to do. The key id chooses rows quickly (it is
 * indexed): NULL is plaintext (rows with no value at all have nothing to
 * encrypt), anything else the key its values are said to be under. A
 * rotation does not take the column's word for the rows it says are done:
 * those are checked against each value's own header (evidence), so a row
 * whose key id was changed by hand, or that holds a plaintext under a key
 * id, is done again. A downgrade also takes rows with no key id whose values
 * are ciphertexts.
 */
export function pendingCondition(
  quote: QuoteIdent,
  {
    table,
    phase,
    currentKeyId,
    current,
  }: {
    readonly table: SecretTable;
    readonly phase: StorePhase;
    readonly currentKeyId: string;
    /** The current key's cheap header check. */
    readonly current: KeyCheckSql;
  },
): BoundSql {
  const keyId = quote(KEY_ID_COLUMN);
  switch (phase) {
    case 'encrypt':
      return { sql: `${keyId} IS NULL AND (${anyValue(quote, table)})`, bindings: [] };
    case 'reencrypt': {
      const notCurrent = table.columns.map((c) => `(${quote(c)} IS NOT NULL AND NOT ${current.under(c)})`);
      return {
        sql: `(${keyId} IS NOT NULL AND ${keyId} <> ?) OR (${keyId} = ? AND (${notCurrent.join(' OR ')}))`,
        bindings: [currentKeyId, currentKeyId],
      };
    }
    case 'decrypt': {
      const encrypted = table.columns.map((c) => `${quote(c)} LIKE 'dbwarden:1:%'`);
      return { sql: `${keyId} IS NOT NULL OR ${encrypted.join(' OR ')}`, bindings: [] };
    }
  }
}

/** The next batch after `after` (keyset pagination on the primary key: no OFFSET, no snapshot to hold). */
export function selectBatch(
  quote: QuoteIdent,
  table: SecretTable,
  pending: BoundSql,
  after: PrimaryKeyValue | undefined,
  limit: number,
  keyColumns = true,
): BoundSql {
  const pk = quote(table.primaryKey);
  const from = after === undefined ? '' : `${pk} > ? AND `;
  return {
    sql: `SELECT ${columnList(quote, table, keyColumns)} FROM ${tableName(quote, table)} WHERE ${from}(${pending.sql}) ORDER BY ${pk} LIMIT ?`,
    bindings: [...(after === undefined ? [] : [after]), ...pending.bindings, limit],
  };
}

export function countPending(quote: QuoteIdent, table: SecretTable, pending: BoundSql): BoundSql {
  return {
    sql: `SELECT COUNT(*) AS n FROM ${tableName(quote, table)} WHERE ${pending.sql}`,
    bindings: pending.bindings,
  };
}

/**
 * Rows grouped by their key-id column and what each value's header says
 * (`e0`, `e1`, ... per secret column; SecretsDialect.keyEvidence), with the
 * first primary key of each group: what preflight, status and the
 * missing-key check count by. One scan of the table, on the server; only
 * the groups come back.
 */
export function evidenceCounts(
  quote: QuoteIdent,
  {
    table,
    keys,
    other,
    onlyOthers = false,
  }: {
    readonly table: SecretTable;
    /** The configured keys' cheap header checks. */
    readonly keys: readonly KeyCheckSql[];
    /** The evidence of a value no key check matched (a full header reading, or a placeholder). */
    readonly other: (column: string) => string;
    /** Only the rows some value of which no key check matched. */
    readonly onlyOthers?: boolean;
  },
): BoundSql {
  const columns = table.columns.map((c, i) => {
    // The configured keys' cheap checks first, then plaintext; `other` only for what is left.
    const known = keys.map((key) => ` WHEN ${key.under(c)} THEN '${evidenceLiteral(key.evidence)}'`);
    const plain = ` WHEN ${notPrefixed(quote, c)} THEN 'p'`;
    return `CASE WHEN ${quote(c)} IS NULL THEN NULL${known.join('')}${plain} ELSE ${other(c)} END AS e${i}`;
  });
  const left = table.columns.map(
    (c) =>
      `(${quote(c)} IS NOT NULL AND NOT ${notPrefixed(quote, c)}${keys.map((key) => ` AND NOT ${key.under(c)}`).join('')})`,
  );
  const where = onlyOthers ? ` WHERE ${left.join(' OR ')}` : '';
  const groups = Array.from({ length: table.columns.length + 1 }, (_, i) => String(i + 1));
  return {
    sql:
      `SELECT ${quote(KEY_ID_COLUMN)} AS key_id, ${columns.join(', ')}, COUNT(*) AS n,` +
      ` MIN(${quote(table.primaryKey)}) AS first_pk FROM ${tableName(quote, table)}${where} GROUP BY ${groups.join(', ')}`,
    bindings: [],
  };
}

/** A value without the reserved prefix: plaintext (secret columns are binary-collated text once widened). */
function notPrefixed(quote: QuoteIdent, column: string): string {
  return `LEFT(${quote(column)}, 9) <> 'dbwarden:'`;
}

/** Base64 text as a SQL string literal (its alphabet needs no escaping; anything else is a bug). */
export function base64Literal(text: string): string {
  if (!/^[A-Za-z0-9+/]+$/.test(text)) throw new TypeError('not unpadded base64');
  return `'${text}'`;
}

/** The text every stored message starts with, as a SQL string literal. */
export function base64Start(text: string): string {
  if (!/^dbwarden:1:[A-Za-z0-9+/]+$/.test(text)) throw new TypeError('not the start of a stored message');
  return `'${text}'`;
}

/** Evidence texts are `r:`/`a:` and hex: safe to inline; anything else is a bug. */
function evidenceLiteral(text: string): string {
  if (!/^[ra]:[0-9a-f]+$/.test(text)) throw new TypeError(`not an evidence text: ${text}`);
  return text;
}

/** Rows with a value under one key (SecretsDialect.valueUnder), whatever their key-id column says. */
export function countUnder(quote: QuoteIdent, table: SecretTable, key: KeyCheckSql): BoundSql {
  const under = table.columns.map((c) => key.under(c)).join(' OR ');
  return { sql: `SELECT COUNT(*) AS n FROM ${tableName(quote, table)} WHERE ${under}`, bindings: [] };
}

/** Row counts when the table has no key-id column yet (before 001_key_columns). */
export function plainCounts(quote: QuoteIdent, table: SecretTable): BoundSql {
  return {
    sql:
      `SELECT COUNT(*) AS n, SUM(CASE WHEN ${anyValue(quote, table)} THEN 1 ELSE 0 END) AS with_values` +
      ` FROM ${tableName(quote, table)}`,
    bindings: [],
  };
}

export function selectRow(quote: QuoteIdent, table: SecretTable, primaryKey: PrimaryKeyValue): BoundSql {
  return {
    sql: `SELECT ${columnList(quote, table)} FROM ${tableName(quote, table)} WHERE ${quote(table.primaryKey)} = ?`,
    bindings: [primaryKey],
  };
}

/** Every row, in primary key order, a batch at a time (verify). */
export function selectAll(
  quote: QuoteIdent,
  table: SecretTable,
  after: PrimaryKeyValue | undefined,
  limit: number,
  keyColumns = true,
): BoundSql {
  return selectBatch(quote, table, { sql: '1 = 1', bindings: [] }, after, limit, keyColumns);
}

export function selectSample(
  quote: QuoteIdent,
  table: SecretTable,
  randomOrder: string,
  limit: number,
  keyColumns = true,
): BoundSql {
  return {
    sql: `SELECT ${columnList(quote, table, keyColumns)} FROM ${tableName(quote, table)} ORDER BY ${randomOrder} LIMIT ?`,
    bindings: [limit],
  };
}

/**
 * The batch's rows as they are now, locked until the caller's transaction
 * ends (rows in primary key order, as every batch locks them). Binds only
 * primary keys: the old values are compared in this process
 * (stillAsRead), so no statement carries a value that was read, and a
 * plaintext never reaches the server's statement log (docs/encryption.md).
 */
export function lockRows(
  quote: QuoteIdent,
  shape: UpdateShape,
  primaryKeys: readonly PrimaryKeyValue[],
): BoundSql {
  const pk = quote(shape.primaryKey);
  const columns = [shape.primaryKey, ...shape.columns, shape.keyIdColumn].map(quote).join(', ');
  return {
    sql:
      `SELECT ${columns} FROM ${tableName(quote, shape.table)}` +
      ` WHERE ${pk} IN (${primaryKeys.map(() => '?').join(', ')}) ORDER BY ${pk} FOR UPDATE`,
    bindings: [...primaryKeys],
  };
}

/**
 * The updates whose row (as lockRows read it) still holds exactly what the
 * batch read: every secret column and the key id, NULL-safe, compared as
 * strings (byte for byte: MySQL's collation may ignore case or trailing
 * spaces). A row changed or deleted meanwhile is left for the next pass.
 */
export function stillAsRead(
  shape: UpdateShape,
  current: readonly Record<string, unknown>[],
  updates: readonly RowUpdate[],
): RowUpdate[] {
  const byKey = new Map(current.map((row) => [String(row[shape.primaryKey]), row]));
  const same = (found: unknown, read: string | null) => (found ?? null) === read;
  return updates.filter((update) => {
    const row = byKey.get(String(update.primaryKey));
    if (row === undefined) return false;
    return (
      shape.columns.every((column, i) => same(row[column], update.before[i] ?? null)) &&
      same(row[shape.keyIdColumn], update.beforeKeyId)
    );
  });
}

/** Rows of a secrets table still under some key (`001_key_columns` down refuses while any are). */
export function countEncrypted(quote: QuoteIdent, table: SecretTable): BoundSql {
  return {
    sql: `SELECT COUNT(*) AS n FROM ${tableName(quote, table)} WHERE ${quote(KEY_ID_COLUMN)} IS NOT NULL`,
    bindings: [],
  };
}

/** Migration names applied, in the order they ran (knex's own table). */
export function selectAppliedMigrations(quote: QuoteIdent): BoundSql {
  return { sql: `SELECT name FROM ${quote(MIGRATIONS_TABLE)} ORDER BY id`, bindings: [] };
}

// ---------------------------------------------------------------- dbwarden_secret_columns

/** The columns dbwarden records per secret column (what `001_key_columns` down restores). */
export const RECORD_COLUMNS = [
  'table_schema',
  'table_name',
  'column_name',
  'primary_key',
  'is_lookup',
  'position',
  'original_definition',
  'max_chars',
  'max_octets',
  'charset',
] as const;

export function selectRecords(quote: QuoteIdent): BoundSql {
  return {
    sql: `SELECT * FROM ${quote(RECORDS_TABLE)} ORDER BY table_schema, table_name, position`,
    bindings: [],
  };
}

export function selectRecordedColumns(quote: QuoteIdent, table: TableRef): BoundSql {
  return {
    sql: `SELECT column_name FROM ${quote(RECORDS_TABLE)} WHERE table_schema = ? AND table_name = ?`,
    bindings: [table.schema, table.table],
  };
}

/** A value of dbwarden_secret_columns. */
export type RecordValue = string | number | null;

/** One row per entry of `rows`, each holding the RECORD_COLUMNS in order. */
export function insertRecordsSql(quote: QuoteIdent, rows: readonly (readonly RecordValue[])[]): BoundSql {
  const placeholders = rows.map((r) => `(${r.map(() => '?').join(', ')})`).join(', ');
  return {
    sql: `INSERT INTO ${quote(RECORDS_TABLE)} (${RECORD_COLUMNS.join(', ')}) VALUES ${placeholders}`,
    bindings: rows.flat(),
  };
}

export function deleteRecords(quote: QuoteIdent, table: TableRef): BoundSql {
  return {
    sql: `DELETE FROM ${quote(RECORDS_TABLE)} WHERE table_schema = ? AND table_name = ?`,
    bindings: [table.schema, table.table],
  };
}

export function countRecords(quote: QuoteIdent): BoundSql {
  return { sql: `SELECT COUNT(*) AS n FROM ${quote(RECORDS_TABLE)}`, bindings: [] };
}

export function dropRecords(quote: QuoteIdent): string {
  return `DROP TABLE ${quote(RECORDS_TABLE)}`;
}
