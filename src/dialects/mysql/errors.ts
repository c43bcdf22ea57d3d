/**
 * MySQL/MariaDB driver errors (mysql2) as DatabaseErrors: the server's
 * message without what it may quote, its code, errno and SQLSTATE as fields.
 * The driver's error itself is never kept: its `sql` is the whole statement,
 * values included.
 */
import type { DatabaseError } from '../../errors.js';
import { driverDatabaseError, type ErrorContext, withoutUrls } from '../driver-error.js';

/** mysql2's symbolic code (ER_DUP_ENTRY) or Node's (ECONNREFUSED). */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The server's message, safe to show: syntax errors quote the statement from
 * where they stopped (`near '...' at line N`), duplicate-key and conversion
 * errors quote the value; password hashes and URLs are blanked.
 */
export function sanitizeMysqlMessage(raw: string): string {
  return withoutUrls(raw)
    .replace(/near '[\s\S]*' at line \d+/g, "near '<statement not shown>'")
    .replace(/(Duplicate entry |value: |string value: )'(?:[^'\\]|\\.|'')*'/g, "$1'<value not shown>'")
    .replace(/\*[0-9A-Fa-f]{40}/g, '<redacted>')
    .replace(/\$A\$\d{3}\$[^\s'"]*/g, '<redacted>');
}

/**
 * A server or network error as a DatabaseError naming the target and what
 * was being done. A string context ("target X: could not Y") is read the same way.
 */
export function databaseError(err: unknown, context: string | ErrorContext, hint?: string): DatabaseError {
  const message = sanitizeMysqlMessage(err instanceof Error ? err.message : String(err));
  const code = errorCode(err);
  const errno = (err as { errno?: unknown } | null)?.errno;
  const state = (err as { sqlState?: unknown } | null)?.sqlState;
  return driverDatabaseError(
    context,
    {
      message,
      suffix: code ? ` (${code}${typeof errno === 'number' ? ` ${errno}` : ''})` : '',
      ...(code === undefined ? {} : { code }),
      ...(typeof errno === 'number' ? { errno } : {}),
      ...(typeof state === 'string' && /^[0-9A-Z]{5}$/.test(state) ? { sqlState: state } : {}),
    },
    hint,
  );
}
