/**
 * Typed errors of the encrypted store's database half. Messages name the
 * target, table, column and primary keys, and say what to do; never a
 * plaintext, a ciphertext or key bytes.
 */
import { DbwardenError, ExitCode } from '../../errors.js';
import type { SecretFailure } from './types.js';

/** How many rows an error message names before it says "and N more". */
export const ROWS_NAMED = 10;

/** A runtime failure of the store that no single row explains (a migration that cannot proceed). */
export class SecretStoreError extends DbwardenError {
  override readonly name = 'SecretStoreError';
  readonly exitCode = ExitCode.runtimeFailure;
  readonly target: string;

  constructor(target: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(`target ${target}: ${message}`, options);
    this.target = target;
  }
}

/**
 * `down` of 001_key_columns refused: values in a secret column would not
 * fit the column's original definition. Nothing of that table was changed.
 */
export class ValuesDoNotFitError extends DbwardenError {
  override readonly name = 'ValuesDoNotFitError';
  readonly exitCode = ExitCode.runtimeFailure;
  readonly target: string;
  readonly table: string;
  readonly column: string;
  readonly count: number;
  /** The first ROWS_NAMED rows, as primary key text. */
  readonly primaryKeys: readonly string[];

  constructor(details: {
    target: string;
    table: string;
    column: string;
    count: number;
    primaryKeys: readonly string[];
  }) {
    const { target, table, column, count, primaryKeys } = details;
    super(
      `target ${target}: ${count} ${count === 1 ? 'value' : 'values'} of ${table}.${column} would not fit ` +
        `the column's original type (primary key ${listKeys(primaryKeys, count)}); the column stays widened`,
      {
        hint:
          'shorten or clear those values (or keep the store upgraded: run `dbwarden upgrade` to encrypt them again), ' +
          'then run the downgrade again',
      },
    );
    this.target = target;
    this.table = table;
    this.column = column;
    this.count = count;
    this.primaryKeys = primaryKeys;
  }
}

/**
 * Rows whose values could not be encrypted, re-encrypted or decrypted. The
 * other rows were written; these were left as they were. Exit 2 when every
 * failure is a key problem (unknown or wrong key), otherwise 1.
 */
export class SecretRowsError extends DbwardenError {
  override readonly name = 'SecretRowsError';
  readonly exitCode: ExitCode;
  readonly failures: readonly SecretFailure[];
  readonly count: number;

  constructor(action: string, failures: readonly SecretFailure[], count: number) {
    const named = failures.slice(0, ROWS_NAMED).map(describeFailure);
    const more = count > named.length ? `; and ${count - named.length} more` : '';
    super(`${count} ${count === 1 ? 'value' : 'values'} could not be ${action}: ${named.join('; ')}${more}`, {
      hint: 'run `dbwarden verify --secrets` for every failing row; fix or restore those values, then rerun',
    });
    this.failures = failures;
    this.count = count;
    this.exitCode = failures.every((f) => f.problem === 'unknown-key' || f.problem === 'wrong-key')
      ? ExitCode.invalidInput
      : ExitCode.runtimeFailure;
  }
}

export function describeFailure(f: SecretFailure): string {
  return `target ${f.target}: ${f.message}`;
}

function listKeys(keys: readonly string[], count: number): string {
  const more = count > keys.length ? ` and ${count - keys.length} more` : '';
  return `${keys.join(', ')}${more}`;
}
