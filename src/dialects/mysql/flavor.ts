/**
 * What differs between MySQL 8 and MariaDB 10.6+, as explicit functions per
 * product: how roles are named, default roles, password hashes, how roles
 * and logins are told apart in mysql.user, and membership tables. Everything
 * else in src/dialects/mysql/ is shared.
 */
import type { AccountOptions } from '../dialect.js';
import { cachingSha2PasswordHash, mysqlNativePasswordHash } from './password.js';
import { account, quoteIdent } from './sql.js';

export type MysqlFlavorName = 'mysql' | 'mariadb';

export interface MysqlFlavor {
  readonly name: MysqlFlavorName;
  /** Whether a role is a (locked) user account, so ALTER USER applies to it (MySQL), or a kind of its own (MariaDB). */
  readonly rolesAreUsers: boolean;
  /** How a grant role is named in statements. */
  roleAccount(role: string): string;
  /** Make `role` the login's default role, so the application needs no SET ROLE. */
  setDefaultRole(role: string, login: string, accounts: AccountOptions): string;
  /** The stored form of a password (never the password). */
  storedPassword(password: string): string;
  /** `IDENTIFIED ...` clause for a stored form, given as an SQL literal. */
  identifiedBy(storedLiteral: string): string;
  /** mysql.user columns that say whether an account is a role and whether it may log in. */
  readonly accountColumns: string;
  /** What accountColumns needs joined to mysql.user (alias u). */
  readonly accountJoin: string;
  /** Role grants, as (role, member, member host) rows. */
  readonly membershipsSql: string;
  /** Default roles, as (login, login host, role) rows; undefined where mysql.user says it (MariaDB). */
  readonly defaultRolesSql: string | undefined;
  /** Global privileges outside mysql.user's columns (MySQL 8's dynamic privileges), as (user, host, priv) rows. */
  readonly dynamicPrivilegesSql: string | undefined;
  /** The host a role's account has in mysql.user ('' on MariaDB, '%' on MySQL). */
  readonly roleHost: string;
}

/** Roles are their own kind of account without host; one default role per user. */
const MARIADB: MysqlFlavor = {
  name: 'mariadb',
  rolesAreUsers: false,
  roleAccount: (role) => quoteIdent(role),
  setDefaultRole: (role, login, accounts) =>
    `SET DEFAULT ROLE ${quoteIdent(role)} FOR ${account(login, accounts.host)}`,
  storedPassword: mysqlNativePasswordHash,
  identifiedBy: (literal) => `IDENTIFIED BY PASSWORD ${literal}`,
  accountColumns: `is_role = 'Y' as is_role, is_role = 'N' and coalesce(json_value(g.Priv, '$.account_locked'), 'false') <> 'true' as can_login, u.default_role as default_role`,
  accountJoin: 'left join mysql.global_priv g on g.User = u.User and g.Host = u.Host',
  membershipsSql:
    'select Role as role, User as member, Host as member_host from mysql.roles_mapping where Role like ? or User like ?',
  defaultRolesSql: undefined,
  dynamicPrivilegesSql: undefined,
  roleHost: '',
};

/** Roles are locked accounts at host %; SET DEFAULT ROLE ALL makes every granted role active. */
const MYSQL: MysqlFlavor = {
  name: 'mysql',
  rolesAreUsers: true,
  roleAccount: (role) => account(role, '%'),
  setDefaultRole: (_role, login, accounts) => `SET DEFAULT ROLE ALL TO ${account(login, accounts.host)}`,
  storedPassword: (password) => cachingSha2PasswordHash(password),
  identifiedBy: (literal) => `IDENTIFIED WITH caching_sha2_password AS ${literal}`,
  accountColumns: `false as is_role, u.account_locked = 'N' as can_login, null as default_role`,
  accountJoin: '',
  membershipsSql:
    'select FROM_USER as role, TO_USER as member, TO_HOST as member_host from mysql.role_edges where FROM_USER like ? or TO_USER like ?',
  defaultRolesSql:
    'select USER as login, HOST as login_host, DEFAULT_ROLE_USER as role from mysql.default_roles where USER like ?',
  dynamicPrivilegesSql:
    'select USER as user, HOST as host, PRIV as priv from mysql.global_grants where USER like ?',
  roleHost: '%',
};

export function flavorNamed(name: string): MysqlFlavor {
  if (name === 'mariadb') return MARIADB;
  if (name === 'mysql') return MYSQL;
  throw new TypeError(`unknown MySQL flavor "${name}"`);
}

/** `10.11.19-MariaDB-0+deb12u1-log` -> mariadb 101119; `8.4.3` -> mysql 80403. */
export function parseServerVersion(version: string): { flavor: MysqlFlavorName; versionNumber: number } {
  const [major = 0, minor = 0, patch = 0] = (/^(\d+)\.(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
  return {
    flavor: /mariadb/i.test(version) ? 'mariadb' : 'mysql',
    versionNumber: major * 10000 + minor * 100 + patch,
  };
}
