/**
 * The typed, frozen model of policy files and the deployment config.
 * Everything downstream (planner, dialects, CLI) works on these types, never on raw YAML.
 */
export const VERBS = ['select', 'insert', 'update', 'delete'] as const;
export type Verb = (typeof VERBS)[number];

/** Verbs a policy may limit to columns; DELETE always applies to whole rows. */
export const COLUMN_VERBS = ['select', 'insert', 'update'] as const satisfies readonly Verb[];

export interface VerbGrant {
  readonly verb: Verb;
  /** 'all': the whole table; otherwise exactly these columns (sorted, unique). */
  readonly columns: 'all' | readonly string[];
}

export interface TableAccess {
  readonly table: string;
  /** One entry per verb, in VERBS order. */
  readonly grants: readonly VerbGrant[];
}

export interface DatabaseAccess {
  /** Database kind, mapped to physical databases by the config's targets. */
  readonly kind: string;
  /** PostgreSQL schema; undefined means the engine's default (PostgreSQL: public). */
  readonly schema: string | undefined;
  /** Sorted by table name. */
  readonly tables: readonly TableAccess[];
}

export interface ComponentPolicy {
  readonly component: string;
  readonly description: string | undefined;
  /** Empty: the component gets no database login at all. Sorted by kind. */
  readonly databases: readonly DatabaseAccess[];
  /** The file it came from, for messages. */
  readonly file: string;
}

export type EngineName = 'postgres' | 'mysql';

export type UrlSource =
  { readonly from: 'inline'; readonly url: string } | { readonly from: 'file'; readonly path: string };

export interface Target {
  readonly name: string;
  readonly kind: string;
  /** Known from the URL scheme or an explicit `engine:`; undefined when only a urlFile names it. */
  readonly engine: EngineName | undefined;
  readonly url: UrlSource;
}

export interface CredentialSinks {
  /** Absolute directory for `<component>.json` files. */
  readonly dir: string | undefined;
  readonly kubernetes: { readonly namespace: string | undefined; readonly secretName: string } | undefined;
}

export interface SecretColumns {
  readonly kind: string;
  readonly schema: string | undefined;
  readonly table: string;
  readonly primaryKey: string;
  readonly columns: readonly string[];
  /** Columns the application finds rows by; dbwarden keeps a blind index for them. */
  readonly lookup: readonly string[];
}

export type MasterKeySource =
  | { readonly from: 'file'; readonly path: string }
  | { readonly from: 'env'; readonly variable: string }
  | { readonly from: 'kms'; readonly arn: string };

export interface MasterKeyRef {
  readonly id: string;
  readonly source: MasterKeySource;
}

export interface MasterKeys {
  readonly current: MasterKeyRef;
  /** Decrypt-only keys, for rotation and rollback. */
  readonly previous: readonly MasterKeyRef[];
}

/**
 * Login settings that only MySQL and MariaDB accounts have (config `mysql:`);
 * PostgreSQL ignores them.
 */
export interface AccountOptions {
  /** The host part of every login, `'<app>_<component>'@'<host>'`. */
  readonly host: string;
  /** Logins must connect over TLS (REQUIRE SSL). */
  readonly requireTls: boolean;
  /** MAX_USER_CONNECTIONS of every login; 0: no limit. */
  readonly maxUserConnections: number;
}

export const DEFAULT_ACCOUNT_OPTIONS: AccountOptions = {
  host: '%',
  requireTls: false,
  maxUserConnections: 0,
};

export interface DeploymentConfig {
  /** Absolute path of the config file. */
  readonly file: string;
  readonly app: string;
  /** Absolute paths of every policy file, sorted. */
  readonly policyFiles: readonly string[];
  readonly targets: readonly Target[];
  readonly credentials: CredentialSinks;
  /** PostgreSQL: take CONNECT/TEMPORARY on the databases and CREATE on schema public away from PUBLIC. */
  readonly hardenPublic: boolean;
  /** MySQL/MariaDB targets: host, TLS and connection limit of every login. */
  readonly mysql: AccountOptions;
  readonly secrets: readonly SecretColumns[];
  readonly masterKey: MasterKeys | undefined;
}

export interface Deployment {
  readonly config: DeploymentConfig;
  /** Sorted by component name. */
  readonly policies: readonly ComponentPolicy[];
}

/** Freezes a model tree so no later stage can change what validation approved. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
