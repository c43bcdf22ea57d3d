/** The encrypted store's facade types (src/secrets/store/index.ts), as the CLI uses them. */
import type { SecretValueProblem } from '../errors.js';

export interface StoreTarget {
  readonly name: string;
  readonly kind: string;
  readonly engine: 'postgres' | 'mysql';
  /** Admin URL: holds a password, never print it. */
  readonly url: string;
}

export type StorePhase = 'encrypt' | 'reencrypt' | 'decrypt';

/** Reported after every batch written. */
export interface StoreProgress {
  readonly target: string;
  readonly table: string;
  readonly phase: StorePhase;
  readonly done: number;
  readonly total: number;
}

export interface StoreOptions {
  /** Rows per batch (each batch is one transaction); default 500. */
  readonly batchSize: number;
  /** Crypto worker threads; default: every core. */
  readonly threads?: number;
  /** How long to wait for another dbwarden run's store lock on a target; default DEFAULT_LOCK_WAIT_SECONDS (dialects/lock-wait.ts, 300 s, as the CLI's --lock-wait). */
  readonly lockWaitSeconds?: number;
  readonly progress: (p: StoreProgress) => void;
  /** One line of what is being done (never a value or a URL). */
  readonly log: (message: string) => void;
}

export interface TargetUpgrade {
  readonly target: string;
  readonly migrationsRun: readonly string[];
  /** Plaintext rows encrypted (by 002_encrypt and by the pass after it). */
  readonly rowsEncrypted: number;
  /** Rows moved to the current key from another one. */
  readonly rowsReencrypted: number;
  /** Rows an application changed between read and write: skipped, then read and done again. */
  readonly rowsRetried: number;
  /** Rows whose key-id column did not say what their values do: written again whole under the current key. */
  readonly rowsRepaired: number;
  /** The first of them (pass.ts, REPAIRED_ROWS_KEPT), as they were named on the log. */
  readonly repairedRows: readonly RepairedRow[];
}

/** A row by table (schema.table as the config names it) and primary key as text; never a value. */
export interface RepairedRow {
  readonly table: string;
  readonly primaryKey: string;
}

export interface TargetDowngrade {
  readonly target: string;
  readonly migrationsReverted: string[];
}

/** Counted from each value's own message header (docs/encryption.md, "Evidence"), not from the key-id column. */
export interface TableStatus {
  readonly table: string;
  /** As configured (undefined: the target's default schema). */
  readonly schema: string | undefined;
  readonly rows: number;
  /** Rows with at least one plaintext value. */
  readonly plaintext: number;
  /** Rows with a value under each key id (a row with values under two keys counts under both). */
  readonly byKeyId: Readonly<Record<string, number>>;
  /** Rows with a value that starts with "dbwarden:" but whose header does not read as a dbwarden message. */
  readonly unreadable: number;
  /** Rows whose key-id column does not say what their values do (`upgrade` repairs them). */
  readonly mismatched: number;
  /** Primary keys of the first few of those. */
  readonly mismatchedRows: readonly string[];
}

export interface TargetStatus {
  readonly target: string;
  readonly migrations: readonly { name: string; applied: boolean }[];
  readonly tables: readonly TableStatus[];
}

export interface StoreStatus {
  readonly targets: TargetStatus[];
  /**
   * Previous key ids no value of any target is under (by the values' headers). Not by itself
   * "safe to retire": a key staged ahead of a rotation is unused too (docs/deploy.md).
   */
  readonly unusedPreviousKeys: string[];
  /** Previous key ids some value is still under: never remove these. */
  readonly previousKeysInUse: string[];
  /** Key ids the values' headers name that no configured key has (empty when no keys were given). */
  readonly unknownKeyIds: string[];
}

/**
 * Besides SecretValueError's problems: `key-id-mismatch` (the row's key-id
 * column names another key than its ciphertext) and `wrong-blind-index` (a
 * lookup column's blind index is not the value's).
 */
export type SecretFailureProblem = SecretValueProblem | 'key-id-mismatch' | 'wrong-blind-index';

export interface SecretFailure {
  readonly target: string;
  readonly table: string;
  readonly column: string;
  /** The row's primary key as text. */
  readonly primaryKey: string;
  readonly problem: SecretFailureProblem;
  /** Names the place (and for a copied value, where it came from); never a value. */
  readonly message: string;
}
