/**
 * What the encrypted store needs from each engine: connections, the store
 * lock, column introspection, the DDL of the key columns, and the
 * conditional update. Implemented by src/dialects/postgres/secrets.ts and
 * src/dialects/mysql/secrets.ts, the only places the store's engine-specific
 * SQL is written; everything here decides *what* to do, never *how*.
 */
import type { Knex } from 'knex';
import type { LockOptions } from '../../dialects/dialect.js';
import type { DatabaseError } from '../../errors.js';
import type { HeaderWindow } from '../evidence.js';

export type StoreEngine = 'postgres' | 'mysql';

/** A table by schema (PostgreSQL schema, MySQL database) and name. */
export interface TableRef {
  readonly schema: string;
  readonly table: string;
}

/**
 * A secret column's definition before dbwarden widened it: what `down`
 * restores, and what a value must fit to be restored.
 */
export interface OriginalColumn {
  /** The engine's own restorable form (PostgreSQL: JSON of type, collation, default, NOT NULL; MySQL: the SHOW CREATE TABLE line). */
  readonly definition: string;
  /** Most characters a value may have; null: no limit below the type's own. */
  readonly maxChars: number | null;
  /** Most bytes a value may have in `charset`; null: not limited in bytes. */
  readonly maxOctets: number | null;
  /** The column's character set (MySQL); null where bytes are not limited per column. */
  readonly charset: string | null;
}

/** A column as the catalog shows it now. */
export interface ColumnFacts {
  readonly name: string;
  /** The column's current definition, in the form `down` restores. */
  readonly current: OriginalColumn;
  /** The type name as SQL can cast to it (PostgreSQL format_type), for primary keys. */
  readonly sqlType: string;
  /** Holds text (char, varchar, text and kin): the only kind of secret column dbwarden encrypts. */
  readonly isText: boolean;
  /** Already the wide text type dbwarden widens secret columns to. */
  readonly isWide: boolean;
  /** Part of an index or key. */
  readonly indexed: boolean;
  readonly nullable: boolean;
}

/** A column dbwarden adds next to the secrets, with its own index. */
export interface AddedColumn {
  readonly name: string;
  /** key-id: the master key id of the row's values; blind-index: 64 hex characters. */
  readonly kind: 'key-id' | 'blind-index';
  readonly index: string;
}

/** One table's DDL for migration 001, applied by the engine in as few statements as it can. */
export interface SchemaChange {
  readonly add: readonly AddedColumn[];
  readonly widen: readonly ColumnFacts[];
  readonly restore: readonly { readonly column: string; readonly original: OriginalColumn }[];
  readonly drop: readonly string[];
}

/** Where a batch of conditional updates goes, and which columns it sets. */
export interface UpdateShape {
  readonly table: TableRef;
  readonly primaryKey: string;
  /** SQL type of the primary key (ColumnFacts.sqlType): PostgreSQL casts the batch's keys to it. */
  readonly primaryKeyType: string;
  /** The secret columns, in a fixed order: RowUpdate.before and .after follow it. */
  readonly columns: readonly string[];
  readonly keyIdColumn: string;
  /** Blind index columns; RowUpdate.blindIndexes follows this order. */
  readonly blindIndexColumns: readonly string[];
}

/** A primary key value as the driver returned it: what keyset pagination and updates bind. */
export type PrimaryKeyValue = string | number;

/**
 * One row to write back only if it still holds `before` and `beforeKeyId`
 * (NULL-safe): otherwise someone wrote it since it was read, and it is skipped.
 */
export interface RowUpdate {
  readonly primaryKey: PrimaryKeyValue;
  /** The primary key as text (encodePrimaryKey), as PostgreSQL's batch update binds it. */
  readonly primaryKeyText: string;
  readonly before: readonly (string | null)[];
  readonly beforeKeyId: string | null;
  readonly after: readonly (string | null)[];
  readonly afterKeyId: string | null;
  readonly blindIndexes: readonly (string | null)[];
}

/** A statement with its bindings (knex `?` placeholders). */
export interface BoundSql {
  readonly sql: string;
  readonly bindings: readonly Knex.RawBinding[];
}

/** Releases the store lock (closing the connection releases it too). */
export type StoreLockRelease = () => Promise<void>;

export interface SecretsDialect {
  readonly engine: StoreEngine;
  /** DDL is transactional: migration 001 runs in one transaction; otherwise each step is idempotent. */
  readonly transactionalDdl: boolean;
  /** Whether a column that is part of an index can be widened to the wide text type (MySQL: TEXT cannot be indexed whole). */
  readonly widensIndexedColumns: boolean;
  /** Longest identifier the engine holds. */
  readonly maxIdentifierLength: number;
  /** A knex configuration for the admin URL (never logged: it holds a password). */
  knexConfig(url: string, poolSize: number): Knex.Config;
  /** A driver error as a DatabaseError naming what was being done; no SQL, no values. */
  databaseError(err: unknown, context: string): DatabaseError;
  /** Whether an error is a deadlock or serialization failure: the batch is retried, not the run failed. */
  isTransient(err: unknown): boolean;
  /** The schema (PostgreSQL) or database (MySQL) a secrets entry without `schema:` means. */
  defaultSchema(db: Knex): Promise<string>;
  /**
   * Takes the store's lock on this database (one dbwarden store run at a time),
   * waiting at most lock.waitSeconds and telling lock.notify who holds it meanwhile
   * (as apply's locks do); holds it on a connection of its own until released.
   */
  lockStore(db: Knex, target: string, lock: LockOptions): Promise<StoreLockRelease>;
  /** The table's columns by name, or undefined when there is no such table. */
  readColumns(db: Knex, table: TableRef): Promise<ReadonlyMap<string, ColumnFacts> | undefined>;
  /** Creates dbwarden's record of original column definitions when missing. */
  createRecordsTable(db: Knex, name: string): Promise<void>;
  alterTable(db: Knex, table: TableRef, change: SchemaChange): Promise<void>;
  /**
   * Rows whose value in `column` would not fit its original definition (too
   * long, or characters the original character set cannot hold): how many,
   * and the primary keys of the first `limit` as text.
   */
  valuesNotFitting(
    db: Knex,
    table: TableRef,
    primaryKey: string,
    column: string,
    original: OriginalColumn,
    limit: number,
  ): Promise<{ readonly count: number; readonly primaryKeys: readonly string[] }>;
  /** Writes a batch of rows conditionally (inside the caller's transaction); returns how many were written. */
  conditionalUpdate(trx: Knex.Transaction, shape: UpdateShape, rows: readonly RowUpdate[]): Promise<number>;
  /**
   * A SQL expression over a secret column: what the value's own message
   * header says, read by the server without decrypting: NULL for NULL, 'p'
   * plaintext, 'r:<hex of key name>' (raw AES), 'a:<hex of ARN>' (KMS), 'm'
   * anything else with the reserved prefix (evidence.ts reads these).
   */
  keyEvidence(column: string): string;
  /**
   * A SQL boolean over a secret column, cheap enough for every value: the
   * value is a dbwarden message whose one data key is the key of a header
   * window (evidence.ts, headerWindow), located by the row's primary key.
   */
  valueUnder(column: string, primaryKey: string, window: HeaderWindow): string;
  /** `ORDER BY` expression that shuffles rows, for verify's samples. */
  readonly randomOrder: string;
  /** The engine's identifier quoting (src/dialects/<engine>/sql.ts). */
  quoteIdent(name: string): string;
  /** Runs a query that returns rows (the drivers shape their answers differently). */
  select(db: Knex, query: BoundSql): Promise<Record<string, unknown>[]>;
}
