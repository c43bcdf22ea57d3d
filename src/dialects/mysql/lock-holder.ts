/**
 * Who holds one of dbwarden's named locks (IS_USED_LOCK), with its user and
 * host from PROCESSLIST when the caller may see them (PROCESS privilege).
 * Shared by apply's locks (session.ts) and the encrypted store's lock
 * (secrets.ts), each over its own connection.
 */

/** Runs one read-only query with `?` placeholders (mysql2 and knex read them alike). */
export type HolderQuery = (sql: string, values: unknown[]) => Promise<readonly Record<string, unknown>[]>;

/** "connection N (user U, from H)"; undefined when nobody holds the lock. */
export async function namedLockHolder(query: HolderQuery, name: string): Promise<string | undefined> {
  const [used] = await query('select is_used_lock(?) as id', [name]);
  if (used?.id === null || used?.id === undefined) return undefined;
  const id = String(used.id);
  const [row] = await query(
    'SELECT USER AS login, HOST AS host FROM information_schema.PROCESSLIST WHERE ID = ?',
    [id],
  );
  if (!row) return `connection ${id}`;
  return `connection ${id} (user ${String(row.login)}, from ${String(row.host)})`;
}
