/**
 * Helpers for integration tests that share the one server started by global-setup.ts:
 * unique names (roles are cluster-wide, so every test file uses its own app name), throwaway
 * databases, and cleanup of the roles a test created.
 */
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import pg from 'pg';

const { escapeIdentifier } = pg;

let counter = 0;

/**
 * A name made of `[a-z0-9_]`, at most 30 characters, unique per call and per process (and worker
 * thread): the prefix (cleaned, and shortened when needed), then pid, thread, counter and random.
 */
export function uniqueName(prefix: string): string {
  counter++;
  const suffix = [
    process.pid.toString(36),
    threadId.toString(36),
    counter.toString(36),
    randomBytes(4).readUInt32BE(0).toString(36).padStart(4, '0').slice(-4),
  ].join('');
  let clean = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (!/^[a-z_]/.test(clean)) clean = `n${clean}`;
  const room = 30 - suffix.length - 1;
  return `${clean.slice(0, Math.max(1, room))}_${suffix}`.slice(0, 30);
}

/** Connects, runs fn, and always ends the connection. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  // An idle client whose backend is terminated emits 'error'; without a listener that would crash
  // the worker. A query in progress sees the same error through its own rejection.
  client.on('error', (err) => {
    process.stderr.write(`withClient: connection error: ${err.message}\n`);
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The same URL (credentials, host, options) with the database replaced. */
export function urlForDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

export interface TestDatabase {
  name: string;
  /** Admin URL of this database (same credentials as the server's admin URL). */
  url: string;
  /** Terminates its connections and drops it. */
  drop(): Promise<void>;
}

/** Creates a fresh database on the server of adminUrl. */
export async function createDatabase(
  adminUrl: string,
  name: string = uniqueName('db'),
): Promise<TestDatabase> {
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${escapeIdentifier(name)}`));
  return {
    name,
    url: urlForDatabase(adminUrl, name),
    drop: () => dropDatabase(adminUrl, name),
  };
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, async (c) => {
    // Keep new sessions out, then end the existing ones (WITH (FORCE) does both from 13 on).
    await c
      .query(`ALTER DATABASE ${escapeIdentifier(name)} ALLOW_CONNECTIONS false`)
      .catch((err: unknown) => {
        if ((err as { code?: string }).code !== '3D000') throw err;
      });
    await c.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );
    const major = Number((await c.query<{ v: string }>('SHOW server_version_num')).rows[0]?.v ?? 0);
    await c.query(
      `DROP DATABASE IF EXISTS ${escapeIdentifier(name)}${major >= 130000 ? ' WITH (FORCE)' : ''}`,
    );
  });
}

/** SQLSTATEs worth a retry when test files clean up concurrently: serialization, deadlock, "tuple concurrently updated". */
const TRANSIENT = new Set(['40001', '40P01', 'XX000']);

async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= 5 || code === undefined || !TRANSIENT.has(code)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

/**
 * Drops every role whose name starts with prefix: in each database that accepts connections, drops
 * what they own and revokes what they were granted (DROP OWNED BY), hands databases they own to the
 * admin, then drops the roles.
 */
export async function dropRolesWithPrefix(adminUrl: string, prefix: string): Promise<void> {
  if (prefix === '') throw new Error('dropRolesWithPrefix: refusing an empty prefix');
  const { roles, databases } = await withClient(adminUrl, async (c) => {
    const r = await c.query<{ rolname: string }>(
      'SELECT rolname FROM pg_roles WHERE left(rolname, length($1)) = $1 AND rolname <> current_user ORDER BY 1',
      [prefix],
    );
    const d = await c.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1',
    );
    return { roles: r.rows.map((x) => x.rolname), databases: d.rows.map((x) => x.datname) };
  });
  if (roles.length === 0) return;
  const list = roles.map((r) => escapeIdentifier(r)).join(', ');

  for (const db of databases) {
    try {
      await retrying(() => withClient(urlForDatabase(adminUrl, db), (c) => c.query(`DROP OWNED BY ${list}`)));
    } catch (err) {
      const code = (err as { code?: string }).code;
      // The database was dropped (or is being dropped) by someone else meanwhile: nothing left to clean.
      if (code === '3D000' || code === '57P01' || code === '55000') continue;
      throw err;
    }
  }

  await retrying(() =>
    withClient(adminUrl, async (c) => {
      const owned = await c.query<{ datname: string }>(
        'SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = ANY($1)',
        [roles],
      );
      for (const { datname } of owned.rows) {
        await c.query(`ALTER DATABASE ${escapeIdentifier(datname)} OWNER TO CURRENT_USER`);
      }
      await c.query(`DROP ROLE IF EXISTS ${list}`);
    }),
  );
}
