/**
 * One target's connections for a store run: a knex pool (the reader, the
 * batch writers, the lock's own connection), the engine's store SQL, and
 * the store lock. Every driver error leaves here as a DatabaseError naming
 * the target and what was being done, never the URL or a value.
 */
import knexFactory, { type Knex } from 'knex';
import type { LockOptions } from '../../dialects/dialect.js';
import { DbwardenError } from '../../errors.js';
import type { BoundSql, SecretsDialect, StoreLockRelease } from './dialect.js';
import { storeDialect } from './dialects.js';
import type { StoreTarget } from './types.js';

/** Lock connection, reader, and writers of the batches in flight. */
const POOL_SIZE = 8;

/** knex's own logging is off: every failure reaches the caller once, as a typed error. */
const ignore = (): undefined => undefined;
const SILENT = { warn: ignore, error: ignore, deprecate: ignore, debug: ignore };

/**
 * knex puts the statement in front of a failed query's message
 * (`<sql> - <server message>`): errors name what dbwarden was doing
 * instead, so the statement comes off again.
 */
function withoutStatement(err: unknown, query: { sql?: unknown }): void {
  if (!(err instanceof Error) || typeof query.sql !== 'string') return;
  const prefix = `${query.sql} - `;
  if (err.message.startsWith(prefix)) err.message = err.message.slice(prefix.length);
}

export class TargetSession {
  readonly target: StoreTarget;
  readonly db: Knex;
  readonly dialect: SecretsDialect;
  #release: StoreLockRelease | undefined;
  #defaultSchema: string | undefined;

  private constructor(target: StoreTarget, db: Knex, dialect: SecretsDialect) {
    this.target = target;
    this.db = db;
    this.dialect = dialect;
  }

  get name(): string {
    return this.target.name;
  }

  static open(target: StoreTarget): TargetSession {
    const dialect = storeDialect(target.engine);
    // compileSqlOnError false: knex would otherwise put the statement with its values (secrets) in the message.
    const db = knexFactory({
      ...dialect.knexConfig(target.url, POOL_SIZE),
      log: SILENT,
      compileSqlOnError: false,
    });
    db.on('query-error', withoutStatement);
    return new TargetSession(target, db, dialect);
  }

  /** Runs `fn`, turning driver errors into a DatabaseError that says what was being done here. */
  async guard<T>(intent: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof DbwardenError) throw err;
      throw this.dialect.databaseError(err, `target ${this.name}: could not ${intent}`);
    }
  }

  select(intent: string, query: BoundSql): Promise<Record<string, unknown>[]> {
    return this.guard(intent, () => this.dialect.select(this.db, query));
  }

  async defaultSchema(): Promise<string> {
    this.#defaultSchema ??= await this.guard('read the default schema', () =>
      this.dialect.defaultSchema(this.db),
    );
    return this.#defaultSchema;
  }

  /** Waits for other dbwarden store runs on this database, telling lock.notify who holds it; held until close(). */
  async lock(lock: LockOptions): Promise<void> {
    if (this.#release !== undefined) return;
    this.#release = await this.guard("take the encrypted store's lock", () =>
      this.dialect.lockStore(this.db, this.name, lock),
    );
  }

  /** Releases the lock and closes every connection (closing alone would release the lock too). */
  async close(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    try {
      await release?.();
    } finally {
      await this.db.destroy();
    }
  }
}

/** Opens a session per target, locked when `lock` is given; if one fails, the ones already open are closed. */
export async function openSessions(
  targets: readonly StoreTarget[],
  lock: LockOptions | undefined,
): Promise<TargetSession[]> {
  const sessions: TargetSession[] = [];
  try {
    for (const target of targets) {
      const session = TargetSession.open(target);
      sessions.push(session);
      if (lock !== undefined) await session.lock(lock);
    }
  } catch (err) {
    await closeSessions(sessions);
    throw err;
  }
  return sessions;
}

export async function closeSessions(sessions: readonly TargetSession[]): Promise<void> {
  // A failed release still closes the pool; the server frees a dead session's lock.
  await Promise.allSettled(sessions.map((s) => s.close()));
}
