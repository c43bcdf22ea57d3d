/**
 * Driver errors into DatabaseErrors, the engine-neutral half: where the error
 * happened (target, action) and the URL-stripping every engine needs. Each
 * engine's errors.ts says what its server's messages may quote (statements,
 * values, password hashes) and takes that out first.
 */
import { DatabaseError, DriverError } from '../errors.js';

/** Where a driver error happened. */
export interface ErrorContext {
  readonly target: string;
  /** What dbwarden was doing, as "could not <action>" reads: "connect", "read the catalog". */
  readonly action: string;
  readonly hint?: string;
}

/** What an engine read from its driver's error, already sanitized. */
export interface DriverFacts {
  readonly message: string;
  /** Appended to the message: " (SQLSTATE 42501)", " (ER_DUP_ENTRY 1062)". */
  readonly suffix: string;
  readonly code?: string;
  readonly sqlState?: string;
  readonly errno?: number;
}

/**
 * Callers that still pass "target X: could not Y" as one string (the
 * encrypted store's) get the same fields as those that pass an ErrorContext.
 */
const LEGACY_CONTEXT = /^target (\S+): could not ([\s\S]+)$/;

/** A URL with its userinfo (a password) or query (a password parameter): never shown. */
const URL_PATTERN = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"]+/gi;

export function withoutUrls(message: string): string {
  return message.replace(URL_PATTERN, '<URL not shown>');
}

export function driverDatabaseError(
  context: string | ErrorContext,
  facts: DriverFacts,
  hint?: string,
): DatabaseError {
  const where = typeof context === 'string' ? { ...legacyContext(context), hint } : { hint, ...context };
  const prefix =
    typeof context === 'string' ? context : `target ${context.target}: could not ${context.action}`;
  const codes = {
    ...(facts.code === undefined ? {} : { code: facts.code }),
    ...(facts.sqlState === undefined ? {} : { sqlState: facts.sqlState }),
    ...(facts.errno === undefined ? {} : { errno: facts.errno }),
  };
  return new DatabaseError(`${prefix}: ${facts.message}${facts.suffix}`, {
    ...codes,
    ...(where.target === undefined ? {} : { target: where.target }),
    ...(where.action === undefined ? {} : { action: where.action }),
    ...(where.hint === undefined ? {} : { hint: where.hint }),
    cause: new DriverError(facts.message, codes),
  });
}

function legacyContext(context: string): Partial<ErrorContext> {
  const match = LEGACY_CONTEXT.exec(context);
  return match ? { target: match[1] as string, action: match[2] as string } : {};
}
