/**
 * Who holds one of dbwarden's advisory locks on this database, in words, as
 * pg_locks and pg_stat_activity tell (columns the caller may not see come
 * back null). Shared by apply's locks (session.ts) and the encrypted store's
 * lock (secrets.ts), each over its own connection.
 */

/** Runs one read-only query; the holder query binds nothing. */
export type HolderQuery = (sql: string) => Promise<readonly Record<string, unknown>[]>;

/** The advisory lock's two int4 keys, checked to be integers before they are put in the statement. */
export function lockHolderSql(keys: readonly number[]): string {
  const [classid, objid] = keys;
  if (!Number.isInteger(classid) || !Number.isInteger(objid) || keys.length !== 2)
    throw new TypeError('an advisory lock has two integer keys');
  return `select l.pid, a.application_name as application, a.usename as login,
                 coalesce(a.client_hostname, host(a.client_addr)) as client,
                 floor(extract(epoch from clock_timestamp() - a.backend_start))::int as connected
            from pg_catalog.pg_locks l
            left join pg_catalog.pg_stat_activity a on a.pid = l.pid
           where l.locktype = 'advisory' and l.granted and l.objsubid = 2
             and l.classid::bigint = ${String(classid)} and l.objid::bigint = ${String(objid)}
             and l.database = (select oid from pg_catalog.pg_database where datname = current_database())
           limit 1`;
}

/** "pid N (application A, user U, from H, connected S s ago)"; undefined when nobody holds it. */
export async function advisoryLockHolder(
  query: HolderQuery,
  keys: readonly number[],
): Promise<string | undefined> {
  const [row] = await query(lockHolderSql(keys));
  if (!row) return undefined;
  const text = (v: unknown) => (v === null || v === undefined || v === '' ? undefined : String(v));
  const application = text(row.application);
  const login = text(row.login);
  const client = text(row.client);
  const connected = text(row.connected);
  const details = [
    application ? `application ${application}` : undefined,
    login ? `user ${login}` : undefined,
    client ? `from ${client}` : undefined,
    connected === undefined ? undefined : `connected ${connected} s ago`,
  ].filter((d) => d !== undefined);
  return `pid ${String(row.pid)} (${details.join(', ')})`;
}
