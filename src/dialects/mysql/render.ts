/**
 * Change -> MySQL/MariaDB statements. Pure: the same change always renders
 * the same SQL, so plans show exactly what apply will run.
 *
 * Each statement commits on its own (MySQL DDL is not transactional), so
 * every change renders to statements whose every prefix is safe to stop
 * after: a role is created before it is marked, a grant is made before the
 * default role is set, a role is dropped before its mark is removed, and a
 * rerun of apply plans whatever is left.
 */
import { attributeText } from '../../plan/attributes.js';
import type { AccountAttribute, AccountKind, Change, ObjectRef } from '../../plan/types.js';
import { displayName } from '../../util/printable.js';
import type { RenderContext, Statement } from '../dialect.js';
import { flavorNamed, type MysqlFlavor } from './flavor.js';
import { account, allTablesOf, privilegeKeyword, qualified, quoteIdent, quoteLiteral } from './sql.js';

/**
 * Where dbwarden records the roles it manages (MySQL has no COMMENT ON ROLE):
 * a server-wide table, since roles are server-wide. Only recorded roles are
 * ever dropped.
 */
export const MARKS_DATABASE = 'dbwarden';
export const MARKS_TABLE = `${quoteIdent(MARKS_DATABASE)}.${quoteIdent('managed_roles')}`;

/** Shown instead of a password hash in plans and logs. */
export const REDACTED_PASSWORD = "'<redacted password hash>'";

/** One change's type, narrowed. */
type ChangeOf<T extends Change['type']> = Extract<Change, { type: T }>;

/** What every change's rendering needs, worked out once per change. */
interface Scope {
  readonly context: RenderContext;
  readonly flavor: MysqlFlavor;
  /** The change's role as an account (`'name'@'host'`, or the flavor's form of a grant role). */
  readonly who: string;
  /** The change's role as shown to people. */
  readonly name: string;
}

type Render<T extends Change['type']> = (change: ChangeOf<T>, scope: Scope) => Statement[];

/** One renderer per change type; the mapped type keeps it exhaustive over the Change union. */
const RENDERERS: { readonly [T in Change['type']]: Render<T> } = {
  'create-role': (change, { who, name, context }) => [
    plain(`create role ${name}`, `CREATE ROLE ${who}`),
    ...markRole(change.role, context),
  ],
  'create-login': (change, scope) => [
    withPassword(
      {
        intent: `create login ${scope.name}`,
        sqlPrefix: `CREATE USER ${scope.who} `,
        suffix: loginSettings(scope.context),
        login: change.role,
      },
      scope,
    ),
    ...markRole(change.role, scope.context),
  ],
  'adopt-role': (change, { context }) => markRole(change.role, context),
  'alter-role': alterRole,
  'set-password': (change, scope) => [
    withPassword(
      {
        intent: `set a new password for ${scope.name}`,
        sqlPrefix: `ALTER USER ${scope.who} `,
        suffix: '',
        login: change.role,
      },
      scope,
    ),
  ],
  'grant-membership': grantMembership,
  'revoke-membership': (change, { flavor, name, context }) => [
    plain(
      `revoke role ${name} from ${displayName(change.member)}`,
      `REVOKE ${flavor.roleAccount(change.role)} FROM ${memberAccount(change, flavor, context)}`,
    ),
  ],
  grant: (change, scope) => [grantOrRevoke(change, scope)],
  revoke: (change, scope) => [grantOrRevoke(change, scope)],
  // MySQL's grant option covers the whole table or database, whichever privileges or columns.
  'revoke-grant-option': (change, { who, name }) => [
    plain(
      `revoke the grant option on ${describeObject(change.object)} from ${name}`,
      `REVOKE GRANT OPTION ON ${objectSql(change.object)} FROM ${who}`,
    ),
  ],
  'grant-columns': (change, scope) => [grantOrRevokeColumns(change, scope)],
  'revoke-columns': (change, scope) => [grantOrRevokeColumns(change, scope)],
  'drop-login': (change, { who, name }) => [
    plain(`drop login ${name}`, `DROP USER ${who}`),
    unmarkRole(change.role),
  ],
  'forget-role': (change, { name }) => [
    plain(`forget ${name}: remove the mark of an account that no longer exists`, unmarkRole(change.role).sql),
  ],
  'drop-role': (change, { flavor, name }) => [
    plain(`drop role ${name}`, `DROP ROLE ${flavor.roleAccount(change.role)}`),
    unmarkRole(change.role),
  ],
};

export function renderChange(change: Change, context: RenderContext): Statement[] {
  const flavor = flavorNamed(context.serverFlavor);
  const scope: Scope = {
    context,
    flavor,
    who: accountOf({ name: change.role, kind: change.kind }, flavor, context),
    name: displayName(change.role),
  };
  const render = RENDERERS[change.type] as Render<Change['type']>;
  return render(change, scope);
}

function grantMembership(
  change: ChangeOf<'grant-membership'>,
  { flavor, name, context }: Scope,
): Statement[] {
  return [
    plain(
      `grant role ${name} to ${displayName(change.member)}`,
      `GRANT ${flavor.roleAccount(change.role)} TO ${memberAccount(change, flavor, context)}`,
    ),
    plain(
      `make ${name} the default role of ${displayName(change.member)}`,
      flavor.setDefaultRole(change.role, change.member, context.accounts),
    ),
  ];
}

function grantOrRevoke(change: ChangeOf<'grant' | 'revoke'>, { who, name }: Scope): Statement {
  const grant = change.type === 'grant';
  return plain(
    `${change.type} ${change.privileges.join(', ')} on ${describeObject(change.object)} ${grant ? 'to' : 'from'} ${name}`,
    `${grant ? 'GRANT' : 'REVOKE'} ${change.privileges.map(privilegeKeyword).join(', ')} ON ${objectSql(change.object)} ${grant ? 'TO' : 'FROM'} ${who}`,
  );
}

function grantOrRevokeColumns(
  change: ChangeOf<'grant-columns' | 'revoke-columns'>,
  { who, name }: Scope,
): Statement {
  const grant = change.type === 'grant-columns';
  return plain(
    `${grant ? 'grant' : 'revoke'} ${change.privilege} (${change.columns.map(displayName).join(', ')}) on table ${displayName(change.schema)}.${displayName(change.table)} ${grant ? 'to' : 'from'} ${name}`,
    `${grant ? 'GRANT' : 'REVOKE'} ${privilegeKeyword(change.privilege)} (${change.columns.map(quoteIdent).join(', ')}) ON ${qualified(change.schema, change.table)} ${grant ? 'TO' : 'FROM'} ${who}`,
  );
}

/** Grant roles by the flavor's rule; logins at the configured host (the planner says which is which). */
function accountOf(
  { name, kind }: { name: string; kind: AccountKind },
  flavor: MysqlFlavor,
  context: RenderContext,
): string {
  return kind === 'role' ? flavor.roleAccount(name) : account(name, context.accounts.host);
}

function memberAccount(
  change: ChangeOf<'grant-membership' | 'revoke-membership'>,
  flavor: MysqlFlavor,
  context: RenderContext,
): string {
  return accountOf({ name: change.member, kind: change.memberKind }, flavor, context);
}

/** ` REQUIRE SSL WITH MAX_USER_CONNECTIONS n` as the config asks, for new logins. */
function loginSettings(context: RenderContext): string {
  const { requireTls, maxUserConnections } = context.accounts;
  return `${requireTls ? ' REQUIRE SSL' : ''}${maxUserConnections > 0 ? ` WITH MAX_USER_CONNECTIONS ${maxUserConnections}` : ''}`;
}

/** A login setting to put back as the config asks: the ALTER USER clause and its words. */
interface SettingFix {
  readonly clause: string;
  readonly said: string;
}

/**
 * introspect.ts reports a managed account's deviations as typed attributes:
 * global privileges and login settings that differ from the config. Each
 * login setting maps to the ALTER USER clause that undoes it; PostgreSQL's
 * powers never come from a MySQL catalog and are refused.
 */
function settingFix(attribute: AccountAttribute, context: RenderContext): SettingFix | undefined {
  switch (attribute.attribute) {
    case 'global-privilege':
      return undefined;
    case 'tls-not-required':
      return { clause: 'REQUIRE SSL', said: 'require TLS' };
    case 'tls-required':
      return { clause: 'REQUIRE NONE', said: 'stop requiring TLS' };
    case 'max-user-connections': {
      const max = context.accounts.maxUserConnections;
      return { clause: `WITH MAX_USER_CONNECTIONS ${max}`, said: `set MAX_USER_CONNECTIONS to ${max}` };
    }
    default:
      throw new TypeError(`unknown MySQL account attribute "${attributeText(attribute)}"`);
  }
}

function alterRole(change: ChangeOf<'alter-role'>, { who, flavor, context, name }: Scope): Statement[] {
  const held = change.clear.flatMap((a) => (a.attribute === 'global-privilege' ? [a.privilege] : []));
  const fixes = change.clear.flatMap((a) => settingFix(a, context) ?? []);
  // A MariaDB role is not a user: it has no login flag or settings to alter.
  const canAlterUser = flavor.rolesAreUsers || change.kind === 'login';
  if (change.canLogin !== undefined && canAlterUser) {
    fixes.push(
      change.canLogin
        ? { clause: 'ACCOUNT UNLOCK', said: 'allow login' }
        : { clause: 'ACCOUNT LOCK', said: 'forbid login' },
    );
  }
  const statements: Statement[] = [];
  if (fixes.length > 0 && canAlterUser) {
    statements.push(
      plain(
        `alter login ${name}: ${fixes.map((f) => f.said).join(', ')}`,
        `ALTER USER ${who} ${fixes.map((f) => f.clause).join(' ')}`,
      ),
    );
  }
  if (held.length > 0) {
    statements.push(
      plain(
        `revoke global privileges (${held.join(', ')}) from ${name}`,
        `REVOKE ALL PRIVILEGES ON *.* FROM ${who}`,
      ),
    );
    if (held.includes('grant option')) {
      statements.push(
        plain(`revoke the global grant option from ${name}`, `REVOKE GRANT OPTION ON *.* FROM ${who}`),
      );
    }
  }
  return statements;
}

function plain(intent: string, sql: string): Statement {
  return { intent, sql, display: sql };
}

function setup(intent: string, sql: string): Statement {
  return { intent, sql, display: sql, setup: true };
}

/** A statement that sets a login's password: `<sqlPrefix>IDENTIFIED ...<suffix>`. */
interface PasswordStatement {
  readonly intent: string;
  readonly sqlPrefix: string;
  readonly suffix: string;
  readonly login: string;
}

/** The password's hash goes into `sql` only; `display` never holds it. */
function withPassword(
  { intent, sqlPrefix, suffix, login }: PasswordStatement,
  { flavor, context }: Scope,
): Statement {
  const stored = context.passwords.storedForm(login);
  const statement = (literal: string) => `${sqlPrefix}${flavor.identifiedBy(literal)}${suffix}`;
  return {
    intent,
    sql: statement(stored === undefined ? REDACTED_PASSWORD : quoteLiteral(stored)),
    display: statement(REDACTED_PASSWORD),
  };
}

/** Records the role as dbwarden's for this app, creating the record table on first use. */
function markRole(role: string, context: RenderContext): Statement[] {
  return [
    setup(
      `create database ${MARKS_DATABASE} for dbwarden's records, if missing`,
      `CREATE DATABASE IF NOT EXISTS ${quoteIdent(MARKS_DATABASE)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    ),
    setup(
      `create table ${MARKS_DATABASE}.managed_roles, if missing`,
      `CREATE TABLE IF NOT EXISTS ${MARKS_TABLE} (name VARCHAR(128) NOT NULL PRIMARY KEY, app VARCHAR(64) NOT NULL, marked_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ),
    plain(
      `mark ${displayName(role)} as managed by dbwarden`,
      `INSERT INTO ${MARKS_TABLE} (name, app) VALUES (${quoteLiteral(role)}, ${quoteLiteral(context.app)}) ON DUPLICATE KEY UPDATE app = VALUES(app)`,
    ),
  ];
}

function unmarkRole(role: string): Statement {
  return plain(
    `remove dbwarden's mark of ${displayName(role)}`,
    `DELETE FROM ${MARKS_TABLE} WHERE name = ${quoteLiteral(role)}`,
  );
}

/** Privileges live on tables and on whole databases (database-level grants, revoked by apply). */
function objectSql(object: ObjectRef): string {
  switch (object.kind) {
    case 'table':
      return qualified(object.schema, object.table);
    case 'schema':
      return allTablesOf(object.schema);
    case 'database':
    case 'sequence':
      throw new TypeError(`MySQL has no ${object.kind} privileges to grant or revoke`);
  }
}

function describeObject(object: ObjectRef): string {
  switch (object.kind) {
    case 'table':
      return `table ${displayName(object.schema)}.${displayName(object.table)}`;
    case 'schema':
      return `every table of database ${displayName(object.schema)}`;
    case 'database':
    case 'sequence':
      return object.kind;
  }
}
