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
import type { Change, ObjectRef } from '../../plan/types.js';
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

/** Grant roles are `<app>_<component>_role` (policy validation keeps component names from ending in _role). */
export function isRoleName(name: string): boolean {
  return name.endsWith('_role');
}

export function renderChange(change: Change, context: RenderContext): Statement[] {
  const flavor = flavorNamed(context.serverFlavor);
  const who = accountOf(change.role, flavor, context);
  const name = displayName(change.role);
  switch (change.type) {
    case 'create-role':
      return [plain(`create role ${name}`, `CREATE ROLE ${who}`), ...markRole(change.role, context)];
    case 'create-login':
      return [
        withPassword(
          `create login ${name}`,
          `CREATE USER ${who} `,
          loginSettings(context),
          change.role,
          flavor,
          context,
        ),
        ...markRole(change.role, context),
      ];
    case 'adopt-role':
      return markRole(change.role, context);
    case 'alter-role':
      return alterRole(change, who, flavor, context);
    case 'set-password':
      return [
        withPassword(
          `set a new password for ${name}`,
          `ALTER USER ${who} `,
          '',
          change.role,
          flavor,
          context,
        ),
      ];
    case 'grant-membership':
      return [
        plain(
          `grant role ${name} to ${displayName(change.member)}`,
          `GRANT ${flavor.roleAccount(change.role)} TO ${accountOf(change.member, flavor, context)}`,
        ),
        plain(
          `make ${name} the default role of ${displayName(change.member)}`,
          flavor.setDefaultRole(change.role, change.member, context.accounts),
        ),
      ];
    case 'revoke-membership':
      return [
        plain(
          `revoke role ${name} from ${displayName(change.member)}`,
          `REVOKE ${flavor.roleAccount(change.role)} FROM ${accountOf(change.member, flavor, context)}`,
        ),
      ];
    case 'grant':
    case 'revoke': {
      const grant = change.type === 'grant';
      return [
        plain(
          `${change.type} ${change.privileges.join(', ')} on ${describeObject(change.object)} ${grant ? 'to' : 'from'} ${name}`,
          `${grant ? 'GRANT' : 'REVOKE'} ${change.privileges.map(privilegeKeyword).join(', ')} ON ${objectSql(change.object)} ${grant ? 'TO' : 'FROM'} ${who}`,
        ),
      ];
    }
    case 'revoke-grant-option':
      // MySQL's grant option covers the whole table or database, whichever privileges or columns.
      return [
        plain(
          `revoke the grant option on ${describeObject(change.object)} from ${name}`,
          `REVOKE GRANT OPTION ON ${objectSql(change.object)} FROM ${who}`,
        ),
      ];
    case 'grant-columns':
    case 'revoke-columns': {
      const grant = change.type === 'grant-columns';
      return [
        plain(
          `${grant ? 'grant' : 'revoke'} ${change.privilege} (${change.columns.map(displayName).join(', ')}) on table ${displayName(change.schema)}.${displayName(change.table)} ${grant ? 'to' : 'from'} ${name}`,
          `${grant ? 'GRANT' : 'REVOKE'} ${privilegeKeyword(change.privilege)} (${change.columns.map(quoteIdent).join(', ')}) ON ${qualified(change.schema, change.table)} ${grant ? 'TO' : 'FROM'} ${who}`,
        ),
      ];
    }
    case 'drop-login':
      return [plain(`drop login ${name}`, `DROP USER ${who}`), unmarkRole(change.role)];
    case 'forget-role':
      return [
        plain(
          `forget ${name}: remove the mark of an account that no longer exists`,
          unmarkRole(change.role).sql,
        ),
      ];
    case 'drop-role':
      return [
        plain(`drop role ${name}`, `DROP ROLE ${flavor.roleAccount(change.role)}`),
        unmarkRole(change.role),
      ];
  }
}

/** Grant roles by the flavor's rule; logins at the configured host. */
function accountOf(name: string, flavor: MysqlFlavor, context: RenderContext): string {
  return isRoleName(name) ? flavor.roleAccount(name) : account(name, context.accounts.host);
}

/** ` REQUIRE SSL WITH MAX_USER_CONNECTIONS n` as the config asks, for new logins. */
function loginSettings(context: RenderContext): string {
  const { requireTls, maxUserConnections } = context.accounts;
  return `${requireTls ? ' REQUIRE SSL' : ''}${maxUserConnections > 0 ? ` WITH MAX_USER_CONNECTIONS ${maxUserConnections}` : ''}`;
}

/**
 * introspect.ts reports a managed account's deviations as attributes:
 * `global privilege <p>`, `tls not required`, `tls required`,
 * `max user connections <n>`. Each maps to the statement that undoes it.
 */
function alterRole(
  change: Extract<Change, { type: 'alter-role' }>,
  who: string,
  flavor: MysqlFlavor,
  context: RenderContext,
): Statement[] {
  const name = displayName(change.role);
  const globals = change.clearAttributes.filter((a) => a.startsWith('global privilege '));
  const settings: string[] = [];
  const said: string[] = [];
  for (const attribute of change.clearAttributes) {
    if (attribute === 'tls not required') {
      settings.push('REQUIRE SSL');
      said.push('require TLS');
    } else if (attribute === 'tls required') {
      settings.push('REQUIRE NONE');
      said.push('stop requiring TLS');
    } else if (attribute.startsWith('max user connections ')) {
      settings.push(`WITH MAX_USER_CONNECTIONS ${context.accounts.maxUserConnections}`);
      said.push(`set MAX_USER_CONNECTIONS to ${context.accounts.maxUserConnections}`);
    } else if (!globals.includes(attribute)) {
      throw new TypeError(`unknown MySQL account attribute "${attribute}"`);
    }
  }
  // A MariaDB role is not a user: it has no login flag or settings to alter.
  const canAlterUser = flavor.rolesAreUsers || !isRoleName(change.role);
  if (change.canLogin !== undefined && canAlterUser) {
    settings.push(change.canLogin ? 'ACCOUNT UNLOCK' : 'ACCOUNT LOCK');
    said.push(change.canLogin ? 'allow login' : 'forbid login');
  }
  const statements: Statement[] = [];
  if (settings.length > 0 && canAlterUser) {
    statements.push(
      plain(`alter login ${name}: ${said.join(', ')}`, `ALTER USER ${who} ${settings.join(' ')}`),
    );
  }
  if (globals.length > 0) {
    const held = globals.map((g) => g.slice('global privilege '.length));
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

/** The password's hash goes into `sql` only; `display` never holds it. */
function withPassword(
  intent: string,
  sqlPrefix: string,
  suffix: string,
  login: string,
  flavor: MysqlFlavor,
  context: RenderContext,
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
