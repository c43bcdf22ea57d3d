/**
 * Typed errors. Each carries the exit code the CLI ends with (design.md
 * section 4), so no layer has to guess how bad a failure was.
 */
import type { Diagnostic } from './policy/diagnostics.js';

export const ExitCode = {
  ok: 0,
  /** Server unreachable, SQL error, crash. */
  runtimeFailure: 1,
  /** Flags, config, policy, master key material. Nothing was written. */
  invalidInput: 2,
  /** Changes pending, or verification failed. */
  pendingOrMismatch: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class DbwardenError extends Error {
  abstract readonly exitCode: ExitCode;
  /** What the operator should do about it. */
  readonly hint: string | undefined;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
  }

  /** Typed facts beyond message and hint, for `--format json` errors; none by default. */
  details(): Readonly<Record<string, string | number>> {
    return {};
  }
}

/** Bad flags or files. Carries every problem found, with its place. */
export class InvalidInputError extends DbwardenError {
  override readonly name = 'InvalidInputError';
  readonly exitCode = ExitCode.invalidInput;
  readonly diagnostics: readonly Diagnostic[];

  constructor(message: string, options: { hint?: string; diagnostics?: readonly Diagnostic[] } = {}) {
    super(message, options);
    this.diagnostics = options.diagnostics ?? [];
  }
}

/** A command whose implementation has not landed yet. */
export class NotAvailableError extends DbwardenError {
  override readonly name = 'NotAvailableError';
  readonly exitCode = ExitCode.runtimeFailure;
}

/**
 * What a database driver said, reduced to what is safe to show and keep: the
 * server's message with statements, values, hashes and URLs taken out (each
 * engine's databaseError does that), and its codes. Kept as a DatabaseError's
 * `cause` instead of the driver's own error, which carries the statement and
 * its parameters (mysql2's `sql`, pg's `detail` and `where`).
 */
export class DriverError extends Error {
  override readonly name = 'DriverError';
  /** The driver's code: a PostgreSQL SQLSTATE, a MySQL symbol (ER_...), a Node code (ECONNREFUSED). */
  readonly code: string | undefined;
  /** SQLSTATE: PostgreSQL's code, MySQL's sqlState. */
  readonly sqlState: string | undefined;
  /** MySQL's error number. */
  readonly errno: number | undefined;

  constructor(message: string, codes: { code?: string; sqlState?: string; errno?: number } = {}) {
    super(message);
    this.code = codes.code;
    this.sqlState = codes.sqlState;
    this.errno = codes.errno;
  }
}

export interface DatabaseErrorOptions {
  readonly hint?: string;
  /** The driver's code (see DriverError.code), or dbwarden's own (LOCK_TIMEOUT). */
  readonly code?: string;
  /** The target the error happened on, when there is one. */
  readonly target?: string;
  /** What dbwarden was doing: "connect", "read the catalog", a statement's intent. */
  readonly action?: string;
  readonly sqlState?: string;
  readonly errno?: number;
  /** The server's message, sanitized: never the driver's error itself. */
  readonly cause?: DriverError;
}

/**
 * The server refused a statement or a connection. The message names the
 * target and what dbwarden was doing, never the SQL (it may hold a verifier);
 * the same facts are fields, for programs (`--format json`).
 */
export class DatabaseError extends DbwardenError {
  override readonly name = 'DatabaseError';
  readonly exitCode = ExitCode.runtimeFailure;
  /** SQLSTATE (PostgreSQL) or error code (MySQL), when the server sent one. */
  readonly code: string | undefined;
  readonly target: string | undefined;
  readonly action: string | undefined;
  readonly sqlState: string | undefined;
  readonly errno: number | undefined;
  declare readonly cause: DriverError | undefined;

  constructor(message: string, options: DatabaseErrorOptions = {}) {
    super(message, options);
    this.code = options.code;
    this.target = options.target;
    this.action = options.action;
    this.sqlState = options.sqlState;
    this.errno = options.errno;
  }

  /** The same error with another hint (apply adds what was committed). */
  withHint(hint: string): DatabaseError {
    return new DatabaseError(this.message, { ...this.options(), hint });
  }

  /** The typed fields, for JSON output: no message, no hint. */
  override details(): { target?: string; action?: string; code?: string; sqlState?: string; errno?: number } {
    const { target, action, code, sqlState, errno } = this.options();
    return {
      ...(target === undefined ? {} : { target }),
      ...(action === undefined ? {} : { action }),
      ...(code === undefined ? {} : { code }),
      ...(sqlState === undefined ? {} : { sqlState }),
      ...(errno === undefined ? {} : { errno }),
    };
  }

  private options(): DatabaseErrorOptions {
    return {
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.code === undefined ? {} : { code: this.code }),
      ...(this.target === undefined ? {} : { target: this.target }),
      ...(this.action === undefined ? {} : { action: this.action }),
      ...(this.sqlState === undefined ? {} : { sqlState: this.sqlState }),
      ...(this.errno === undefined ? {} : { errno: this.errno }),
      ...(this.cause === undefined ? {} : { cause: this.cause }),
    };
  }
}
