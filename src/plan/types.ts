/**
 * The planner's vocabulary: what the policies want (DesiredState), what a
 * server has (Catalog, a plain snapshot made by a dialect), and the steps
 * between them (Change). Plain data only: no connections, no SQL.
 */
import type { AccountOptions, DatabaseAccess } from '../policy/model.js';

// ---------------------------------------------------------------- desired state

export interface DesiredComponent {
  readonly component: string;
  /** `<app>_<component>`: the login its processes use. */
  readonly login: string;
  /** `<app>_<component>_role`: the NOLOGIN role that holds its grants. */
  readonly role: string;
  /** Empty: no login anywhere. */
  readonly databases: readonly DatabaseAccess[];
}

export interface DesiredTarget {
  readonly name: string;
  readonly kind: string;
}

export interface DesiredState {
  readonly app: string;
  /** Sorted by component. */
  readonly components: readonly DesiredComponent[];
  /** Sorted by name. */
  readonly targets: readonly DesiredTarget[];
  /** Take CONNECT/TEMPORARY on target databases and CREATE on schema public away from PUBLIC. */
  readonly hardenPublic: boolean;
  /** MySQL/MariaDB: host, TLS and connection limit of every login (the planner leaves them to dialects). */
  readonly accounts: AccountOptions;
}

// ---------------------------------------------------------------- catalog snapshot

/**
 * Privileges are lowercase words: select, insert, update, delete, usage,
 * connect, and whatever else an engine reports (truncate, references, ...).
 * Anything a managed role holds that no policy asks for is revoked, so the
 * set stays open.
 */
export type Privilege = string;

/**
 * The grantee name a catalog uses for grants to every role (SQL's PUBLIC).
 * Not a valid managed name, so the planner only touches it for hardenPublic.
 */
export const PUBLIC_GRANTEE = 'PUBLIC';

/**
 * Column-level privileges. Policies grant select, insert and update; references
 * appears only when a catalog reports it (and is then revoked).
 */
export type ColumnPrivilege = 'select' | 'insert' | 'update' | 'references';

/** What a privilege is on. `database` is the target database itself. */
export type ObjectRef =
  | { readonly kind: 'database' }
  | { readonly kind: 'schema'; readonly schema: string }
  | { readonly kind: 'table'; readonly schema: string; readonly table: string }
  | { readonly kind: 'sequence'; readonly schema: string; readonly sequence: string };

export interface RoleState {
  readonly name: string;
  readonly canLogin: boolean;
  /** Carries this app's dbwarden marker (made by dbwarden or adopted by it). */
  readonly managedMarker: boolean;
  /**
   * The app named by the dbwarden marker the role carries, when that is
   * another app (PostgreSQL: its COMMENT; MySQL: its row in
   * dbwarden.managed_roles). Such a role is that app's: it is never altered,
   * revoked from, dropped or marked again, and a policy that names it is a
   * collision between the two apps (see ownership.ts).
   */
  readonly otherApp?: string;
  /**
   * Powers beyond plain table access that a managed role must not have, and
   * login settings that differ from the config (see AccountAttribute).
   */
  readonly attributes: readonly AccountAttribute[];
}

/** PostgreSQL role attributes a managed role must not have (`noinherit`: a login that does not inherit). */
export type RolePower = 'superuser' | 'createdb' | 'createrole' | 'replication' | 'bypassrls' | 'noinherit';

/**
 * Something about an account that dbwarden takes away or puts back: typed so
 * that introspection (which finds it) and rendering (which undoes it) never
 * pass it through text. PostgreSQL reports powers; MySQL/MariaDB reports
 * global privileges and the login settings that differ from the config.
 */
export type AccountAttribute =
  | { readonly attribute: RolePower }
  /** MySQL: a privilege on `*.*` (lowercase, e.g. `reload`, `grant option`). */
  | { readonly attribute: 'global-privilege'; readonly privilege: Privilege }
  /** MySQL: the config asks for TLS and the login does not require it. */
  | { readonly attribute: 'tls-not-required' }
  /** MySQL: the config does not ask for TLS and the login requires it. */
  | { readonly attribute: 'tls-required' }
  /** MySQL: the login's MAX_USER_CONNECTIONS (`count`) is not the configured one. */
  | { readonly attribute: 'max-user-connections'; readonly count: number };

/** Whether a change's name is a grant role or a login (`<app>_<component>_role` or `<app>_<component>`). */
export type AccountKind = 'role' | 'login';

export interface Membership {
  /** The role granted ... */
  readonly role: string;
  /** ... to this member. */
  readonly member: string;
  /**
   * false: the member does not inherit the role's privileges (PostgreSQL 16+
   * `WITH INHERIT FALSE`); absent: it does, as on every other engine and version.
   */
  readonly inherits?: boolean;
}

export interface ObjectGrant {
  readonly grantee: string;
  readonly object: ObjectRef;
  readonly privilege: Privilege;
  /**
   * Held WITH GRANT OPTION: the grantee may pass the privilege on (PostgreSQL
   * reports it per privilege). A managed role never keeps a grant option.
   * MySQL's grant option covers a whole table or database, not one
   * privilege: that engine reports it as the privilege `grant option` instead.
   */
  readonly grantable?: boolean;
}

export interface ColumnGrant {
  readonly grantee: string;
  readonly schema: string;
  readonly table: string;
  readonly column: string;
  readonly privilege: ColumnPrivilege;
  /** Held WITH GRANT OPTION on this column (see ObjectGrant.grantable). */
  readonly grantable?: boolean;
}

export interface TableInfo {
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly string[];
  /** Sequences owned by this table's columns (PostgreSQL serial columns). */
  readonly ownedSequences: readonly string[];
}

/** What the engine can grant beyond tables and columns. */
export interface GrantCapabilities {
  /** PostgreSQL: CONNECT on the database. */
  readonly databaseConnect: boolean;
  /** PostgreSQL: USAGE on the schema. */
  readonly schemaUsage: boolean;
  /** PostgreSQL: USAGE on sequences owned by tables the component inserts into. */
  readonly ownedSequenceUsage: boolean;
  /**
   * PostgreSQL: revoking a table privilege also revokes that privilege on
   * every column, so column grants must be made again after such a revoke.
   */
  readonly tableRevokeClearsColumns: boolean;
  /**
   * PostgreSQL: PUBLIC holds CONNECT and TEMPORARY on databases (and CREATE on
   * schema public before version 15), which hardenPublic revokes.
   */
  readonly publicHardening: boolean;
}

/** Roles live per server (PostgreSQL cluster, MySQL server), shared by its databases. */
export interface ClusterCatalog {
  readonly roles: readonly RoleState[];
  readonly memberships: readonly Membership[];
  /**
   * Names recorded as dbwarden's whose role no longer exists. Only engines
   * that keep marks apart from roles have any (MySQL: a dbwarden table); a
   * stale mark would make a later, unrelated role of that name look managed.
   */
  readonly staleMarks?: readonly string[];
  /**
   * Names another app's dbwarden mark claims whose role is not in `roles`
   * (MySQL: the account is at another host, or gone). A policy naming one
   * collides with that app as if the role existed.
   */
  readonly otherAppMarks?: readonly OtherAppMark[];
}

export interface OtherAppMark {
  readonly role: string;
  readonly app: string;
}

export interface TargetCatalog {
  /** Key into Catalog.clusters: targets on the same server share it. */
  readonly cluster: string;
  /** Schema for policies that name none (PostgreSQL: public; MySQL: the database). */
  readonly defaultSchema: string;
  readonly capabilities: GrantCapabilities;
  /** The tables the policies mention (at least). */
  readonly tables: readonly TableInfo[];
  /**
   * Grants held by candidate roles (the dialect may include others; the planner
   * filters), and PUBLIC's grants on the database and schema public.
   */
  readonly grants: readonly ObjectGrant[];
  readonly columnGrants: readonly ColumnGrant[];
}

export interface Catalog {
  readonly clusters: Readonly<Record<string, ClusterCatalog>>;
  readonly targets: Readonly<Record<string, TargetCatalog>>;
}

// ---------------------------------------------------------------- changes

interface ChangeBase {
  /** The target whose connection runs it. Role changes run on their cluster's first target. */
  readonly target: string;
  /**
   * The component it serves (for grouping output); the role's name part for
   * roles no policy names; empty for revokes from PUBLIC (hardenPublic).
   */
  readonly component: string;
}

interface RoleChangeBase extends ChangeBase {
  readonly role: string;
  /**
   * What `role` is, decided by the planner from dbwarden's naming: a grant
   * role, or a login (MySQL addresses the two at different hosts). PUBLIC and
   * the granted side of a membership are roles.
   */
  readonly kind: AccountKind;
}

export type Change =
  /** A NOLOGIN role that will hold a component's grants, marked as dbwarden's. */
  | (RoleChangeBase & { readonly type: 'create-role' })
  /** A login with a new password, marked as dbwarden's. */
  | (RoleChangeBase & { readonly type: 'create-login' })
  /** An existing role with a managed name that lacks dbwarden's marker: add the marker. */
  | (RoleChangeBase & { readonly type: 'adopt-role' })
  /** Fix a managed role's login flag and strip powers it must not have. */
  | (RoleChangeBase & {
      readonly type: 'alter-role';
      /** Present only when the login flag changes. */
      readonly canLogin?: boolean;
      /** What to take away or put back, typed: renderers work from this. */
      readonly clear: readonly AccountAttribute[];
      /** `clear` in words (attributeText), same order: for `plan --format json` readers. */
      readonly clearAttributes: readonly string[];
    })
  /**
   * (PostgreSQL) `grant-membership` also repairs a membership that exists
   * without inheritance; see Membership.inherits.
   */
  /** New password for an existing login (`apply --rotate-passwords`). */
  | (RoleChangeBase & { readonly type: 'set-password' })
  | (RoleChangeBase & {
      readonly type: 'grant-membership';
      readonly member: string;
      readonly memberKind: AccountKind;
    })
  | (RoleChangeBase & {
      readonly type: 'revoke-membership';
      readonly member: string;
      readonly memberKind: AccountKind;
    })
  | (RoleChangeBase & {
      readonly type: 'grant';
      readonly object: ObjectRef;
      readonly privileges: readonly Privilege[];
    })
  | (RoleChangeBase & {
      readonly type: 'revoke';
      readonly object: ObjectRef;
      readonly privileges: readonly Privilege[];
    })
  /**
   * Take away the right to pass privileges on (WITH GRANT OPTION) and keep
   * the privileges themselves. `columns`: the grant option for one privilege
   * on these columns of the table `object`; absent: on `object` itself.
   */
  | (RoleChangeBase & {
      readonly type: 'revoke-grant-option';
      readonly object: ObjectRef;
      readonly privileges: readonly Privilege[];
      readonly columns?: readonly string[];
    })
  | (RoleChangeBase & {
      readonly type: 'grant-columns';
      readonly schema: string;
      readonly table: string;
      readonly privilege: ColumnPrivilege;
      readonly columns: readonly string[];
    })
  | (RoleChangeBase & {
      readonly type: 'revoke-columns';
      readonly schema: string;
      readonly table: string;
      readonly privilege: ColumnPrivilege;
      readonly columns: readonly string[];
    })
  | (RoleChangeBase & { readonly type: 'drop-login' })
  | (RoleChangeBase & { readonly type: 'drop-role' })
  /** Delete the mark of a role that no longer exists (see ClusterCatalog.staleMarks). */
  | (RoleChangeBase & { readonly type: 'forget-role' });

export type ChangeType = Change['type'];

export interface PlanOptions {
  /** Components whose existing logins get a new password. */
  readonly rotatePasswords?: readonly string[];
}

/** A privilege as a login actually holds it (through any role or PUBLIC). */
export interface EffectivePrivilege {
  /** For a schema, `name` repeats the schema's name. */
  readonly kind: 'schema' | 'table' | 'sequence';
  readonly schema: string;
  readonly name: string;
  readonly privilege: string;
  /** 'all': on the whole table; otherwise only on these columns. */
  readonly columns: 'all' | readonly string[];
}
