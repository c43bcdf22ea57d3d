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
 * The server refused a statement or a connection. The message names the
 * target and what dbwarden was doing, never the SQL (it may hold a verifier).
 */
export class DatabaseError extends DbwardenError {
  override readonly name = 'DatabaseError';
  readonly exitCode = ExitCode.runtimeFailure;
  /** SQLSTATE (PostgreSQL) or error code (MySQL), when the server sent one. */
  readonly code: string | undefined;

  constructor(message: string, options: { hint?: string; code?: string } = {}) {
    super(message, options);
    this.code = options.code;
  }
}
