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
  /** How long to wait for another dbwarden run's store lock on a target; default 60 s. */
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
}

export interface TargetDowngrade {
  readonly target: string;
  readonly migrationsReverted: string[];
}

export interface TableStatus {
  readonly table: string;
  /** As configured (undefined: the target's default schema). */
  readonly schema: string | undefined;
  readonly rows: number;
  /** Rows with at least one value and no key id. */
  readonly plaintext: number;
  /** Rows per key id of the key-id column. */
  readonly byKeyId: Readonly<Record<string, number>>;
}

export interface TargetStatus {
  readonly target: string;
  readonly migrations: readonly { name: string; applied: boolean }[];
  readonly tables: readonly TableStatus[];
}

export interface StoreStatus {
  readonly targets: TargetStatus[];
  /** Previous key ids no row of any target uses any more: safe to retire. */
  readonly retireable: string[];
  /** Key ids found in the data that no configured key has (empty when no keys were given). */
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
