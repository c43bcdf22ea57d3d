/**
 * An admin connection to one PostgreSQL target: identity, introspection, and
 * one transaction under dbwarden's advisory lock.
 */
import pg from 'pg';
import { DatabaseError } from '../../errors.js';
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
import { databaseError, sanitizePostgresMessage, sqlState } from './errors.js';
import { introspectTarget } from './introspect.js';
import { advisoryLockHolder } from './lock-holder.js';

/** pg_advisory_xact_lock(key1, key2): "dbwa" and "rd" + 1; the same on every database. */
const LOCK_KEYS = [0x64627761, 0x72640001] as const;
/** pg_advisory_lock(key1, key2) for a whole run (session-level): "dbwa" and "rd" + 2. */
const RUN_LOCK_KEYS = [0x64627761, 0x72640002] as const;
/** Once the lock is held, no single statement should wait on a lock or run for long. */
const LOCK_TIMEOUT_AFTER_LOCK = '10s';
const STATEMENT_TIMEOUT = '60s';

/** One of dbwarden's advisory locks: session-level (the run lock) or transaction-level. */
interface AdvisoryLock {
  readonly kind: string;
  readonly scope: 'session' | 'xact';
  readonly keys: readonly number[];
}

export async function connectPostgres(url: string, target: string): Promise<AdminSession> {
  const client = await openClient(url, target);
  return new PostgresSession(client, target);
}

/** Connects, naming the target (never the URL: it holds a password) when that fails. */
export async function openClient(url: string, target: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    application_name: 'dbwarden',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // A dropped connection emits 'error' on the client; the pending query reports it too.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw databaseError(
      err,
      { target, action: 'connect' },
      'check the URL, that the server runs, and that it accepts this user',
    );
  }
  return client;
}

class PostgresSession implements AdminSession {
  /** Whether a transaction is open: rollback() then has something to do. */
  private inTransaction = false;

  constructor(
    private readonly client: pg.Client,
    private readonly target: string,
  ) {}

  /** Read once per session: it cannot change while connected. */
  private identity: ServerIdentity | undefined;

  async identify(): Promise<ServerIdentity> {
    this.identity ??= await this.readIdentity();
    return this.identity;
  }

  private async readIdentity(): Promise<ServerIdentity> {
    const { rows } = await this.query<{
      database: string;
      version: string;
      control: boolean;
      start_time: boolean;
      port: string;
      conforming: string;
      version_num: string;
    }>(
      'read the server identity',
      `select current_database() as database, current_setting('server_version') as version,
              has_function_privilege('pg_catalog.pg_control_system()', 'execute') as control,
              has_function_privilege('pg_catalog.pg_postmaster_start_time()', 'execute') as start_time,
              current_setting('port') as port,
              current_setting('standard_conforming_strings') as conforming,
              current_setting('server_version_num') as version_num`,
    );
    const row = rows[0];
    if (!row)
      throw new DatabaseError(`target ${this.target}: the server returned no identity`, {
        target: this.target,
        action: 'read the server identity',
      });
    if (row.conforming !== 'on') {
      throw new DatabaseError(`target ${this.target}: standard_conforming_strings is off`, {
        target: this.target,
        action: 'read the server identity',
        hint: 'dbwarden quotes literals the standard way; turn standard_conforming_strings on for its user',
      });
    }
    return {
      cluster: clusterId({ ...(await this.serverMarks(row)), port: row.port }),
      database: row.database,
      defaultSchema: 'public',
      version: `PostgreSQL ${row.version}`,
      flavor: 'postgresql',
      versionNumber: Number(row.version_num),
    };
  }

  /**
   * The functions that tell servers apart, each only when the admin may call
   * it: the server checks EXECUTE when it prepares an expression, even in a
   * CASE branch that never runs, so one query cannot ask "if allowed".
   */
  private async serverMarks(may: {
    readonly control: boolean;
    readonly start_time: boolean;
  }): Promise<{ system_id: string | null; started: string | null }> {
    const systemId = may.control
      ? await this.query<{ id: string }>(
          'read the system identifier',
          'select system_identifier::text as id from pg_catalog.pg_control_system()',
        )
      : undefined;
    const started = may.start_time
      ? await this.query<{ at: string }>(
          'read the server start time',
          `select to_char(pg_catalog.pg_postmaster_start_time() at time zone 'UTC',
                          'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at`,
        )
      : undefined;
    return { system_id: systemId?.rows[0]?.id ?? null, started: started?.rows[0]?.at ?? null };
  }

  async introspect(request: IntrospectRequest): Promise<TargetSnapshot> {
    const { cluster } = await this.identify();
    // Outside apply's transaction (plan, verify), one read-only snapshot keeps the queries consistent.
    const ownSnapshot = !this.inTransaction;
    if (ownSnapshot)
      await this.query('begin a read-only transaction', 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      return await introspectTarget(this.client, cluster, request);
    } catch (err) {
      throw databaseError(err, { target: this.target, action: 'read the catalog' });
    } finally {
      if (ownSnapshot) await this.client.query('COMMIT').catch(() => undefined);
    }
  }

  async lockRun(lock: LockOptions): Promise<void> {
    // A transaction of its own only to scope the timeouts; the session lock outlives it.
    await this.query('begin a transaction', 'BEGIN');
    this.inTransaction = true;
    await this.waitForLock({ kind: 'run lock', scope: 'session', keys: RUN_LOCK_KEYS }, lock);
    await this.commit();
  }

  async beginLocked(lock: LockOptions): Promise<void> {
    await this.query('begin a transaction', 'BEGIN');
    this.inTransaction = true;
    await this.waitForLock({ kind: 'target lock', scope: 'xact', keys: LOCK_KEYS }, lock);
    await this.setLocal('lock_timeout', LOCK_TIMEOUT_AFTER_LOCK);
    await this.setLocal('statement_timeout', STATEMENT_TIMEOUT);
  }

  /**
   * Inside a transaction: waits at most lock.waitSeconds for an advisory lock,
   * telling lock.notify who holds it while it waits (lock-wait.ts).
   */
  private async waitForLock(advisory: AdvisoryLock, lock: LockOptions): Promise<void> {
    const waitSeconds = Math.max(1, Math.round(lock.waitSeconds));
    let taken: boolean;
    try {
      taken = await waitForLock({
        target: this.target,
        lock: advisory.kind,
        waitSeconds,
        tryFor: (seconds) => this.tryLock(advisory, seconds),
        holder: () => this.lockHolder(advisory),
        notify: lock.notify,
      });
    } catch (err) {
      // setLocal's errors already say what failed on which target.
      if (err instanceof DatabaseError) throw err;
      throw databaseError(err, { target: this.target, action: "take dbwarden's lock" });
    }
    if (!taken) {
      throw lockTimeoutError({
        target: this.target,
        lock: 'the lock',
        waitSeconds,
        action: `take the ${advisory.kind}`,
        code: '55P03',
        sqlState: '55P03',
      });
    }
  }

  /**
   * One try: without waiting (pg_try_advisory_*), or waiting up to `seconds`
   * inside a savepoint, so that a timeout leaves the transaction usable.
   */
  private async tryLock(advisory: AdvisoryLock, seconds: number): Promise<boolean> {
    const fn = advisory.scope === 'session' ? 'pg_advisory_lock' : 'pg_advisory_xact_lock';
    if (seconds === 0) {
      const { rows } = await this.client.query<{ taken: boolean }>(
        `select ${fn.replace('pg_', 'pg_try_')}($1, $2) as taken`,
        [...advisory.keys],
      );
      return rows[0]?.taken === true;
    }
    await this.client.query('SAVEPOINT dbwarden_lock_wait');
    await this.setLocal('lock_timeout', `${seconds}s`);
    await this.setLocal('statement_timeout', '0');
    try {
      await this.client.query(`select ${fn}($1, $2)`, [...advisory.keys]);
      await this.client.query('RELEASE SAVEPOINT dbwarden_lock_wait');
      return true;
    } catch (err) {
      if (sqlState(err) !== '55P03') throw err;
      await this.client.query('ROLLBACK TO SAVEPOINT dbwarden_lock_wait');
      return false;
    }
  }

  /**
   * The session holding the advisory lock on this database, as pg_locks and
   * pg_stat_activity tell (columns the admin may not see come back null). In
   * a savepoint: a failed lookup must leave the transaction usable.
   */
  private async lockHolder(advisory: AdvisoryLock): Promise<string | undefined> {
    await this.client.query('SAVEPOINT dbwarden_lock_holder');
    try {
      const holder = await this.readLockHolder(advisory);
      await this.client.query('RELEASE SAVEPOINT dbwarden_lock_holder');
      return holder;
    } catch (err) {
      await this.client.query('ROLLBACK TO SAVEPOINT dbwarden_lock_holder');
      throw err;
    }
  }

  private async readLockHolder(advisory: AdvisoryLock): Promise<string | undefined> {
    return advisoryLockHolder(
      async (sql) => (await this.client.query<Record<string, unknown>>(sql)).rows,
      advisory.keys,
    );
  }

  /**
   * A GRANT or REVOKE the server could not carry out in full succeeds with a
   * WARNING (SQLSTATE 01007/01006, e.g. the admin lacks the grant option): that
   * is a failure here, so the target rolls back instead of reporting work not done.
   */
  async run(statement: Statement): Promise<void> {
    const warnings: string[] = [];
    const codes: string[] = [];
    const onNotice = (notice: { severity?: string; message?: string; code?: string }) => {
      if (notice.severity !== 'WARNING') return;
      warnings.push(
        `${sanitizePostgresMessage(notice.message ?? 'warning')} (SQLSTATE ${notice.code ?? '?'})`,
      );
      if (notice.code) codes.push(notice.code);
    };
    this.client.on('notice', onNotice);
    try {
      await this.query(statement.intent, statement.sql);
    } finally {
      this.client.off('notice', onNotice);
    }
    if (warnings.length > 0) {
      throw new DatabaseError(
        `target ${this.target}: could not ${statement.intent}: ${warnings.join('; ')}`,
        {
          hint: 'the admin user needs the privilege WITH GRANT OPTION, or to own the object, or to be superuser',
          target: this.target,
          action: statement.intent,
          ...(codes.length === 1 && codes[0] ? { code: codes[0], sqlState: codes[0] } : {}),
        },
      );
    }
  }

  async openSessions(logins: readonly string[]): Promise<ReadonlyMap<string, number>> {
    const result = await this.query<{ login: string; n: string }>(
      'count the open sessions of the logins',
      `select usename as login, count(*) as n from pg_stat_activity
        where usename = any($1::text[]) and pid <> pg_backend_pid() group by usename`,
      [[...logins]],
    );
    return new Map(result.rows.map((r) => [r.login, Number(r.n)]));
  }

  async commit(): Promise<void> {
    await this.query('commit', 'COMMIT');
    this.inTransaction = false;
  }

  async rollback(): Promise<void> {
    if (!this.inTransaction) return;
    this.inTransaction = false;
    await this.client.query('ROLLBACK').catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  private async setLocal(setting: string, value: string): Promise<void> {
    await this.query(`set ${setting}`, 'select set_config($1, $2, true)', [setting, value]);
  }

  private async query<R extends pg.QueryResultRow>(
    intent: string,
    sql: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.client.query<R>(sql, values);
    } catch (err) {
      throw databaseError(err, { target: this.target, action: intent });
    }
  }
}

/**
 * Which server this is, as the server says (never from the URL: one server has
 * many names, and a proxy or a socket path may put two servers behind one).
 * `system_identifier` when the admin may read it (hosted services and some
 * DBAs revoke pg_control_system()); else the postmaster's start time to the
 * microsecond and its port, which every role may read by default: one server
 * until it restarts (a restart between plan and apply makes the plan stale).
 * Neither readable: unknown, which the runner refuses to merge (knownCluster).
 */
export function clusterId(row: {
  readonly system_id: string | null;
  readonly started: string | null;
  readonly port: string;
}): string {
  if (row.system_id) return `postgres:${row.system_id}`;
  if (row.started) return `postgres:started-${row.started}-port-${row.port}`;
  return 'postgres:unknown';
}
