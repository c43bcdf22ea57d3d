/**
 * PostgreSQL driver errors (node-postgres) as DatabaseErrors: the server's
 * message without what it may quote from the statement, its SQLSTATE as a
 * field. The driver's error itself is never kept: its `detail` and `where`
 * quote rows and statements.
 */
import type { DatabaseError } from '../../errors.js';
import { driverDatabaseError, type ErrorContext, withoutUrls } from '../driver-error.js';

/** The driver error's code: a SQLSTATE from the server, or a Node code (ECONNREFUSED). */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The server's message, safe to show: syntax errors quote the token they
 * stopped at (`at or near "..."`, which may be part of a literal), input
 * errors quote the value; verifiers and URLs are blanked.
 */
export function sanitizePostgresMessage(raw: string): string {
  return withoutUrls(raw)
    .replace(/SCRAM-SHA-256\$[^\s'"]*/g, '<redacted>')
    .replace(/\bmd5[0-9a-f]{32}\b/g, '<redacted>')
    .replace(/(at or near )"[\s\S]*"/g, '$1<token not shown>')
    .replace(/((?:invalid input syntax|invalid input value) for [^:]*): "[\s\S]*"/g, '$1: <value not shown>')
    .replace(/\bvalue "[\s\S]*" is out of range/g, 'value <not shown> is out of range');
}

/**
 * A server or network error as a DatabaseError naming the target and what
 * was being done. A string context ("target X: could not Y") is read the same way.
 */
export function databaseError(err: unknown, context: string | ErrorContext, hint?: string): DatabaseError {
  const message = sanitizePostgresMessage(err instanceof Error ? err.message : String(err));
  const code = sqlState(err);
  const isSqlState = code !== undefined && /^[0-9A-Z]{5}$/.test(code);
  return driverDatabaseError(
    context,
    {
      message,
      suffix: isSqlState ? ` (SQLSTATE ${code})` : '',
      ...(code === undefined ? {} : { code }),
      ...(isSqlState ? { sqlState: code } : {}),
    },
    hint,
  );
}
