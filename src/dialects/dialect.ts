/**
 * What every engine module provides. The runner (src/runner/) drives targets
 * through this interface only, so it never needs to know which engine it talks
 * to; each engine decides how, never what (that is the planner's job).
 */
import type { Change, ClusterCatalog, EffectivePrivilege, TargetCatalog } from '../plan/types.js';
import type { AccountOptions, EngineName } from '../policy/model.js';

// Owned by the layers below (the config's `mysql:` section, the planner's catalog types); engines
// take them from here as part of their interface.
export { DEFAULT_ACCOUNT_OPTIONS, type AccountOptions } from '../policy/model.js';
export type { EffectivePrivilege } from '../plan/types.js';

/** One SQL statement, with what it is for. */
export interface Statement {
  /** What it does, in words, for plans and errors. Never holds a secret. */
  readonly intent: string;
  /** What runs. May hold a password verifier: never print it, print `display`. */
  readonly sql: string;
  /** `sql` with secrets replaced by a placeholder: safe for plans, logs and errors. */
  readonly display: string;
  /**
   * An idempotent preparation that comes before the statement a change is
   * about (MySQL: create dbwarden's bookkeeping table if missing).
   */
  readonly setup?: boolean;
}

/** What a change does, in words: the intent of its first statement that is not a setup step. */
export function changeIntent(statements: readonly Statement[]): string | undefined {
  return (statements.find((s) => s.setup !== true) ?? statements[0])?.intent;
}

/** Password material for the logins a change creates or re-keys, by login name. */
export interface PasswordSource {
  /** The value the engine stores (PostgreSQL: a SCRAM-SHA-256 verifier); undefined in a dry run. */
  storedForm(login: string): string | undefined;
}

/** What a target needs introspected in detail. */
export interface IntrospectRequest {
  /** The config's app: roles carrying its mark are dbwarden's. */
  readonly app: string;
  /** `<app>_`: roles with this prefix are candidates for management. */
  readonly rolePrefix: string;
  /** Tables the policies name on this target, with their schema resolved. */
  readonly tables: readonly { readonly schema: string; readonly table: string }[];
  /** How logins should be set up (MySQL/MariaDB): settings that differ are reported as attributes. */
  readonly accounts: AccountOptions;
}

export interface TargetSnapshot {
  readonly cluster: ClusterCatalog;
  readonly target: TargetCatalog;
}

export interface ServerIdentity {
  /** Same for every database of one server: targets sharing it share roles. */
  readonly cluster: string;
  readonly database: string;
  /** Schema for policies that name none (PostgreSQL: public; MySQL: the database itself). */
  readonly defaultSchema: string;
  /** Human-readable version, for output. */
  readonly version: string;
  /** Which product of the engine family: postgresql, mysql, mariadb (syntax differs between the last two). */
  readonly flavor: string;
  /** Comparable version (PostgreSQL: server_version_num, e.g. 150018; MySQL/MariaDB: 100611 for 10.6.11). */
  readonly versionNumber: number;
}

/**
 * Whether a cluster id names one server for sure. An engine ends it in
 * ":unknown" when neither the server nor the URL said which server it is:
 * such targets must not be taken for the same server.
 */
export function knownCluster(cluster: string): boolean {
  return !cluster.endsWith(':unknown');
}

export interface LockOptions {
  /** How long to wait for another dbwarden run on the same database. */
  readonly waitSeconds: number;
  /**
   * Told, when the lock is taken, once as the wait starts and about every
   * 30 s after: who holds it and how long this run will wait (lock-wait.ts).
   */
  readonly notify?: ((message: string) => void) | undefined;
}

/** An admin connection to one target database. */
export interface AdminSession {
  identify(): Promise<ServerIdentity>;
  introspect(request: IntrospectRequest): Promise<TargetSnapshot>;
  /**
   * Takes dbwarden's run lock on this database for the rest of the session
   * (waits for other runs): held on a run's first target from before its
   * transactions start until its credential files are written.
   */
  lockRun(lock: LockOptions): Promise<void>;
  /** Starts the transaction and takes dbwarden's lock on this database (waits for other runs). */
  beginLocked(lock: LockOptions): Promise<void>;
  run(statement: Statement): Promise<void>;
  /**
   * Connections currently open on the server under each of these logins (the
   * user part of a MySQL account), other than this session; logins without
   * any are left out. `downgrade --drop-roles` refuses while there are some.
   */
  openSessions(logins: readonly string[]): Promise<ReadonlyMap<string, number>>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  close(): Promise<void>;
}

export interface Dialect {
  readonly engine: EngineName;
  /**
   * Whether role and grant statements run inside a transaction (PostgreSQL)
   * or each commits on its own (MySQL/MariaDB DDL): errors then say what a
   * failed target kept.
   */
  readonly transactionalDdl: boolean;
  /** `target` names the target in errors (the URL never appears: it holds a password). */
  connectAdmin(url: string, target: string): Promise<AdminSession>;
  /** SQL for one change, in execution order. Pure. */
  render(change: Change, context: RenderContext): Statement[];
  /**
   * Logs in with a component's own URL and lists what it can do on every
   * table and sequence of these schemas.
   */
  effectivePrivileges(
    loginUrl: string,
    target: string,
    schemas: readonly string[],
  ): Promise<EffectivePrivilege[]>;
  /** Whether these credentials log in; false only when the server refuses them (other failures throw). */
  canLogIn(loginUrl: string, target: string): Promise<boolean>;
  /**
   * What the server is sent for a password (PostgreSQL: a SCRAM-SHA-256
   * verifier made here; MySQL: a caching_sha2_password hash; MariaDB: a
   * mysql_native_password hash): never the password itself.
   */
  passwordStoredForm(password: string, server: ServerIdentity): string;
}

export interface RenderContext {
  /** The config's app: part of the mark dbwarden leaves on its roles. */
  readonly app: string;
  /** The target database's real name (for GRANT ... ON DATABASE). */
  readonly database: string;
  /** ServerIdentity.versionNumber: syntax that depends on the version is chosen from it. */
  readonly serverVersion: number;
  /** ServerIdentity.flavor: syntax that differs within an engine family is chosen from it. */
  readonly serverFlavor: string;
  readonly accounts: AccountOptions;
  readonly passwords: PasswordSource;
}
