/**
 * The MySQL/MariaDB side of databases.ts: connections (mysql2/promise), throwaway databases on the one
 * server started by global-setup.ts, and cleanup of the accounts and roles a test created.
 */
import mysql from 'mysql2/promise';
import { type TestDatabase, uniqueName, urlForDatabase } from './databases.js';

/** `name` quoted with backticks (inner backticks doubled). */
export function mysqlIdent(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/** A string literal, escaped by mysql2. */
export function mysqlLiteral(value: string): string {
  return mysql.escape(value);
}

/**
 * Connects (several statements per query allowed), runs fn, and always ends the connection.
 * Errors carry mysql2's `code` (e.g. 'ER_TABLEACCESS_DENIED_ERROR') and `errno`.
 */
export async function withMysql<T>(url: string, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection({ uri: url, multipleStatements: true });
  // A connection killed by the server emits 'error'; without a listener that would crash the worker.
  c.on('error', (err: Error) => {
    process.stderr.write(`withMysql: connection error: ${err.message}\n`);
  });
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Is this query result the list of results of several statements (rather than one statement's rows)? */
function isMultiResult(result: unknown): result is unknown[] {
  return (
    Array.isArray(result) &&
    result.length > 1 &&
    result.every((r) => Array.isArray(r) || (typeof r === 'object' && r !== null && 'affectedRows' in r))
  );
}

/** The rows of the last statement that returned rows ([] when none did). */
export function lastRows<R>(result: unknown): R[] {
  if (isMultiResult(result)) {
    const sets = result.filter((r): r is R[] => Array.isArray(r));
    return sets[sets.length - 1] ?? [];
  }
  return Array.isArray(result) ? (result as R[]) : [];
}

export async function createMysqlDatabase(
  adminUrl: string,
  name: string = uniqueName('db'),
): Promise<TestDatabase> {
  await withMysql(adminUrl, (c) => c.query(`CREATE DATABASE ${mysqlIdent(name)}`));
  return {
    name,
    url: urlForDatabase(adminUrl, name),
    drop: () => dropMysqlDatabase(adminUrl, name),
  };
}

/** Ends the database's other sessions (their open transactions would hold its tables), then drops it. */
export async function dropMysqlDatabase(adminUrl: string, name: string): Promise<void> {
  await withMysql(adminUrl, async (c) => {
    const [sessions] = await c.query<mysql.RowDataPacket[]>(
      'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()',
      [name],
    );
    for (const { id } of sessions) {
      await c.query(`KILL ${Number(id)}`).catch((err: unknown) => {
        // Gone meanwhile: nothing to end.
        if ((err as { code?: string }).code !== 'ER_NO_SUCH_THREAD') throw err;
      });
    }
    await c.query(`DROP DATABASE IF EXISTS ${mysqlIdent(name)}`);
  });
}

/** Does the server keep roles in mysql.user with is_role (MariaDB), or as accounts (MySQL 8)? */
export async function hasIsRoleColumn(c: mysql.Connection): Promise<boolean> {
  const [rows] = await c.query<mysql.RowDataPacket[]>("SHOW COLUMNS FROM mysql.user LIKE 'is_role'");
  return rows.length > 0;
}

/** Does dbwarden's mark table (dbwarden.managed_roles) exist on this server? */
export async function hasMarkTable(c: mysql.Connection): Promise<boolean> {
  const [rows] = await c.query<mysql.RowDataPacket[]>(
    "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'dbwarden' AND TABLE_NAME = 'managed_roles'",
  );
  return rows.length > 0;
}

/**
 * Drops every account and role whose name starts with prefix, at every host (MariaDB roles have no
 * host; MySQL 8 roles are accounts), and deletes their rows from dbwarden.managed_roles when that
 * table exists. Dropping an account also revokes everything it was granted.
 */
export async function dropMysqlAccountsWithPrefix(adminUrl: string, prefix: string): Promise<void> {
  if (prefix === '') throw new Error('dropMysqlAccountsWithPrefix: refusing an empty prefix');
  await withMysql(adminUrl, async (c) => {
    const isRole = (await hasIsRoleColumn(c)) ? "is_role = 'Y'" : "'N' = 'Y'";
    const [accounts] = await c.query<mysql.RowDataPacket[]>(
      `SELECT user AS u, host AS h, ${isRole} AS r FROM mysql.user
       WHERE LEFT(user, CHAR_LENGTH(?)) = ? ORDER BY user, host`,
      [prefix, prefix],
    );
    for (const { u, h, r } of accounts) {
      if (Number(r) === 1) await c.query(`DROP ROLE IF EXISTS ${mysqlIdent(String(u))}`);
      else await c.query('DROP USER IF EXISTS ?@?', [String(u), String(h)]);
    }
    if (await hasMarkTable(c)) {
      await c.query('DELETE FROM dbwarden.managed_roles WHERE LEFT(name, CHAR_LENGTH(?)) = ?', [
        prefix,
        prefix,
      ]);
    }
  });
}
