/**
 * An admin connection to one MySQL/MariaDB target: identity, introspection,
 * and dbwarden's named locks (GET_LOCK).
 *
 * Role and grant statements commit one by one (MySQL DDL is not
 * transactional), so "begin" takes the target's lock and "commit" or
 * "rollback" releases it; the order of rendered statements keeps every
 * prefix safe, and a rerun finishes an interrupted apply.
 */
import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import { DatabaseError, InvalidInputError } from '../../errors.js';
import type {
  AdminSession,
  IntrospectRequest,
  LockOptions,
  ServerIdentity,
  Statement,
  TargetSnapshot,
} from '../dialect.js';
import { CONNECT_TIMEOUT_MS } from '../connection.js';
import { lockTimeoutError, waitForLock } from '../lock-wait.js';
import { databaseError, errorCode } from './errors.js';
import { flavorNamed, parseServerVersion } from './flavor.js';
import { introspectTarget, type QueryRows } from './introspect.js';
import { namedLockHolder } from './lock-holder.js';
import { parseSslParam } from './url-params.js';

/** Once dbwarden's lock is held, no statement should wait long for a metadata lock. */
const LOCK_WAIT_TIMEOUT_AFTER_LOCK_SECONDS = 10;
/**
 * Neither ANSI_QUOTES (identifiers are backquoted) nor NO_BACKSLASH_ESCAPES
 * (literals escape backslashes): sql.ts's quoting depends on both; strict mode
 * refuses truncation. The store's pools (secrets.ts) set the same mode.
 */
export const SESSION_SQL_MODE = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION';

/** Error codes that mean the server refused the credentials. */
export const AUTHENTICATION_FAILURES = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_ACCOUNT_HAS_BEEN_LOCKED',
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
]);

export async function connectMysql(url: string, target: string): Promise<AdminSession> {
  const connection = await openConnection(url, target);
  return new MysqlSession(connection, target);
}

/** Connects, naming the target (never the URL: it holds a password) when that fails. */
export async function openConnection(url: string, target: string): Promise<mysql.Connection> {
  // Outside the try: a malformed URL option is invalid input (exit 2), not a failed connection.
  const options = connectionOptions(url, target);
  let connection: mysql.Connection | undefined;
  try {
    connection = await mysql.createConnection({
      ...options,
      connectTimeout: CONNECT_TIMEOUT_MS,
      charset: 'utf8mb4_general_ci',
      multipleStatements: false,
      supportBigNumbers: true,
      dateStrings: true,
    });
    // A dropped connection emits 'error'; the pending query reports it too.
    connection.on('error', () => undefined);
    await connection.query(`SET SESSION sql_mode = '${SESSION_SQL_MODE}'`);
    return connection;
  } catch (err) {
    await connection?.end().catch(() => undefined);
    throw databaseError(
      err,
      { target, action: 'connect' },
      'check the URL, that the server runs, and that it accepts this user',
    );
  }
}

/**
 * mysql:// or mariadb:// URL -> mysql2 options; of the query, `ssl` is read
 * (url-params.ts). `target` names the target in messages, which never quote
 * the URL or a parameter's value.
 */
export function connectionOptions(url: string, target?: string): mysql.ConnectionOptions {
  const where = target === undefined ? 'admin URL' : `target ${target}`;
  const parsed = readUrl(url, where);
  const options: mysql.ConnectionOptions = {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: Number(parsed.port || 3306),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || undefined,
  };
  const ssl = parsed.searchParams.get('ssl');
  if (ssl !== null) {
    const sslOptions = parseSslParam(ssl, where);
    if (sslOptions !== false) options.ssl = sslOptions === true ? {} : sslOptions;
  }
  return options;
}

/** WHATWG URL's error keeps the whole URL (password included) in `input`: replaced by one naming the target. */
function readUrl(url: string, where: string): URL {
  try {
    return new URL(url.replace(/^mariadb:/i, 'mysql:'));
  } catch {
    throw new InvalidInputError(`${where}: the URL cannot be read`, {
      hint: 'percent-encode "@", ":", "/", "?" and "#" in the user name and password',
    });
  }
}

/** Lock names are at most 64 characters: a hash of the database name keeps them short and exact. */
function lockName(kind: 'run' | 'target', database: string): string {
  return `dbwarden-${kind}-${createHash('sha256').update(database, 'utf8').digest('hex').slice(0, 40)}`;
}

class MysqlSession implements AdminSession {
  private identity: ServerIdentity | undefined;
  /** Named locks this session holds (GET_LOCK nests: take each once). */
  private readonly held = new Set<string>();

  constructor(
    private readonly connection: mysql.Connection,
    private readonly target: string,
  ) {}

  async identify(): Promise<ServerIdentity> {
    this.identity ??= await this.readIdentity();
    return this.identity;
  }

  private async readIdentity(): Promise<ServerIdentity> {
    const [row] = await this.rows(
      'read the server identity',
      'select database() as db, version() as version, @@hostname as hostname, @@port as port, @@datadir as datadir',
    );
    if (!row)
      throw new DatabaseError(`target ${this.target}: the server returned no identity`, {
        target: this.target,
        action: 'read the server identity',
      });
    if (row.db === null || row.db === undefined) {
      throw new DatabaseError(`target ${this.target}: the URL names no database`, {
        target: this.target,
        action: 'read the server identity',
        hint: 'end the URL with /<database>, e.g. mysql://admin:...@db:3306/nova_api',
      });
    }
    const version = String(row.version);
    const { flavor, versionNumber } = parseServerVersion(version);
    return {
      // Roles are per server: one server is the same host name, port and data directory.
      cluster: `mysql:${String(row.hostname)}:${String(row.port)}:${String(row.datadir)}`,
      database: String(row.db),
      defaultSchema: String(row.db),
      version: `${flavor === 'mariadb' ? 'MariaDB' : 'MySQL'} ${version}`,
      flavor,
      versionNumber,
    };
  }

  async introspect(request: IntrospectRequest): Promise<TargetSnapshot> {
    const identity = await this.identify();
    const query: QueryRows = async (sql, values) => {
      const [rows] = await this.connection.query(sql, values);
      return rows as Record<string, unknown>[];
    };
    try {
      return await introspectTarget(
        query,
        flavorNamed(identity.flavor),
        identity.cluster,
        identity.database,
        request,
      );
    } catch (err) {
      throw databaseError(
        err,
        { target: this.target, action: 'read the grant tables' },
        'the admin user needs SELECT on the mysql database',
      );
    }
  }

  async lockRun(lock: LockOptions): Promise<void> {
    await this.takeLock(lockName('run', (await this.identify()).database), 'run lock', lock);
  }

  async beginLocked(lock: LockOptions): Promise<void> {
    await this.takeLock(lockName('target', (await this.identify()).database), 'target lock', lock);
    await this.rows(
      'set lock_wait_timeout',
      `SET SESSION lock_wait_timeout = ${LOCK_WAIT_TIMEOUT_AFTER_LOCK_SECONDS}`,
    );
  }

  /** Waits at most lock.waitSeconds for a named lock, telling lock.notify who holds it meanwhile. */
  private async takeLock(name: string, kind: string, lock: LockOptions): Promise<void> {
    if (this.held.has(name)) return;
    const wait = Math.max(1, Math.round(lock.waitSeconds));
    const taken = await waitForLock({
      target: this.target,
      lock: kind,
      waitSeconds: wait,
      tryFor: async (seconds) => {
        const [row] = await this.rows("take dbwarden's lock", 'select get_lock(?, ?) as got', [
          name,
          seconds,
        ]);
        return Number(row?.got) === 1;
      },
      holder: () => namedLockHolder((sql, values) => this.rows('find who holds the lock', sql, values), name),
      notify: lock.notify,
    });
    if (!taken) {
      throw lockTimeoutError({
        target: this.target,
        lock: 'the lock',
        waitSeconds: wait,
        action: "take dbwarden's lock",
        code: 'LOCK_TIMEOUT',
      });
    }
    this.held.add(name);
  }

  async run(statement: Statement): Promise<void> {
    try {
      await this.connection.query(statement.sql);
    } catch (err) {
      throw databaseError(err, { target: this.target, action: statement.intent }, hintFor(err));
    }
  }

  /** Each statement has committed already: what is left is to let the next run in. */
  async commit(): Promise<void> {
    await this.releaseTargetLock();
  }

  async rollback(): Promise<void> {
    await this.releaseTargetLock().catch(() => undefined);
  }

  private async releaseTargetLock(): Promise<void> {
    if (!this.identity) return;
    const name = lockName('target', this.identity.database);
    if (!this.held.delete(name)) return;
    await this.rows("release dbwarden's lock", 'select release_lock(?)', [name]);
  }

  async openSessions(logins: readonly string[]): Promise<ReadonlyMap<string, number>> {
    if (logins.length === 0) return new Map();
    const rows = await this.rows(
      'count the open sessions of the logins',
      `SELECT USER AS login, COUNT(*) AS n FROM information_schema.PROCESSLIST
        WHERE USER IN (?) AND ID <> CONNECTION_ID() GROUP BY USER`,
      [[...logins]],
    );
    return new Map(rows.map((r) => [String(r.login), Number(r.n)]));
  }

  /** Closing the connection releases every named lock it held. */
  async close(): Promise<void> {
    await this.connection.end().catch(() => undefined);
  }

  private async rows(intent: string, sql: string, values?: unknown[]): Promise<Record<string, unknown>[]> {
    try {
      const [rows] = await this.connection.query(sql, values);
      return rows as Record<string, unknown>[];
    } catch (err) {
      throw databaseError(err, { target: this.target, action: intent });
    }
  }
}

/** What the admin can do about common refusals. */
function hintFor(err: unknown): string | undefined {
  switch (errorCode(err)) {
    case 'ER_SPECIFIC_ACCESS_DENIED_ERROR':
    case 'ER_TABLEACCESS_DENIED_ERROR':
    case 'ER_DBACCESS_DENIED_ERROR':
      return 'the admin user needs CREATE USER, CREATE ROLE (MySQL), and every privilege it grants WITH GRANT OPTION';
    case 'ER_LOCK_WAIT_TIMEOUT':
      return 'another session holds a lock on a grant table or on the table being granted; retry when it is done';
    default:
      return undefined;
  }
}
