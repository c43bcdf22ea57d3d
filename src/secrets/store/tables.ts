/**
 * Pure: which secrets tables live on a target, and the names of what
 * dbwarden adds to them (migrations/README.md, "Database layout").
 */
import { createHash } from 'node:crypto';
import type { SecretColumns } from '../../policy/model.js';
import type { TableRef, UpdateShape } from './dialect.js';
import type { StoreTarget } from './types.js';

/** The row's master key id; NULL: the row's values are plaintext (or all NULL). */
export const KEY_ID_COLUMN = 'dbwarden_key_id';
/** Original definitions of the widened secret columns, per target database (what `down` restores). */
export const RECORDS_TABLE = 'dbwarden_secret_columns';
/** knex's migration table; knex adds `<name>_lock`. */
export const MIGRATIONS_TABLE = 'dbwarden_migrations';

/** A secrets entry on one target, its schema resolved. */
export interface SecretTable extends TableRef {
  /** As configured; undefined: the target's default schema. */
  readonly configuredSchema: string | undefined;
  readonly primaryKey: string;
  /** The encrypted columns, in configured order. */
  readonly columns: readonly string[];
  /** Columns with a blind index; a subset of columns. */
  readonly lookup: readonly string[];
}

/** `<column>_bidx`: 64 hex characters, HMAC of the value under the row's key (docs/encryption.md). */
export function blindIndexColumn(column: string): string {
  return `${column}_bidx`;
}

/**
 * An index name unique in its schema (PostgreSQL indexes share the
 * schema's namespace) and short enough for any engine: readable prefix, hash of the place.
 */
export function indexName(table: TableRef, column: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([table.schema, table.table, column]), 'utf8')
    .digest('hex')
    .slice(0, 12);
  const readable = `${table.table}_${column}`.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 40);
  return `dbw_${hash}_${readable}`;
}

/** The secrets entries that apply to a target (same kind), with the target's default schema filled in. */
export function tablesFor(
  secrets: readonly SecretColumns[],
  target: Pick<StoreTarget, 'kind'>,
  defaultSchema: string,
): SecretTable[] {
  return secrets
    .filter((s) => s.kind === target.kind)
    .map((s) => ({
      schema: s.schema ?? defaultSchema,
      configuredSchema: s.schema,
      table: s.table,
      primaryKey: s.primaryKey,
      columns: [...s.columns],
      lookup: s.columns.filter((c) => s.lookup.includes(c)),
    }));
}

/** What a conditional update of this table writes, in the order RowUpdate's arrays follow. */
export function updateShape(table: SecretTable, primaryKeyType: string): UpdateShape {
  return {
    table,
    primaryKey: table.primaryKey,
    primaryKeyType,
    columns: table.columns,
    keyIdColumn: KEY_ID_COLUMN,
    blindIndexColumns: table.lookup.map(blindIndexColumn),
  };
}

/** Every column dbwarden reads from a secrets table, primary key first. */
export function selectedColumns(table: SecretTable): string[] {
  return [table.primaryKey, ...table.columns, KEY_ID_COLUMN, ...table.lookup.map(blindIndexColumn)];
}

export function tableLabel(table: TableRef & { readonly configuredSchema?: string | undefined }): string {
  return table.configuredSchema === undefined ? table.table : `${table.configuredSchema}.${table.table}`;
}
