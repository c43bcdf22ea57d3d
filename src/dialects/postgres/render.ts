/**
 * Change -> PostgreSQL statements. Pure: the same change always renders the
 * same SQL, so plans can show exactly what apply will run.
 */
import type { Change, ObjectRef } from '../../plan/types.js';
import { PUBLIC_GRANTEE } from '../../plan/types.js';
import { displayName } from '../../util/printable.js';
import type { RenderContext, Statement } from '../dialect.js';
import { privilegeKeyword, qualified, quoteIdent, quoteLiteral } from './sql.js';

/**
 * COMMENT ON ROLE text that marks a role as dbwarden's, for one app: only
 * marked roles are ever dropped, and apps sharing a server (nova, nova_cell)
 * never take each other's roles for their own.
 */
export function managedMarker(app: string): string {
  return `dbwarden: managed role of app ${app}; manual changes are reverted by dbwarden apply`;
}

/** The app a role's marker names; undefined when the comment is no dbwarden marker. */
export function markerApp(comment: string | null): string | undefined {
  return /^dbwarden: managed role of app ([^;]+);/.exec(comment ?? '')?.[1];
}

/** Shown instead of a password verifier in plans and logs. */
export const REDACTED_PASSWORD = "'<redacted SCRAM-SHA-256 verifier>'";

/** A fresh role has no powers: say so explicitly rather than trust server defaults. */
const NO_POWERS = 'NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT';

/** Attribute names the catalog reports (see introspect.ts) -> the clause that takes each away. */
const CLEAR_ATTRIBUTE: Readonly<Record<string, string>> = {
  superuser: 'NOSUPERUSER',
  createdb: 'NOCREATEDB',
  createrole: 'NOCREATEROLE',
  replication: 'NOREPLICATION',
  bypassrls: 'NOBYPASSRLS',
  // A login must inherit its grant role's privileges, or the application would need SET ROLE.
  noinherit: 'INHERIT',
};

export function renderChange(change: Change, context: RenderContext): Statement[] {
  const role = roleSpec(change.role);
  switch (change.type) {
    case 'create-role':
      return [
        plain(`create role ${displayName(change.role)}`, `CREATE ROLE ${role} NOLOGIN ${NO_POWERS}`),
        markRole(change.role, context),
      ];
    case 'create-login':
      return [
        withPassword(
          `create login ${displayName(change.role)}`,
          `CREATE ROLE ${role} LOGIN ${NO_POWERS} PASSWORD `,
          change.role,
          context,
        ),
        markRole(change.role, context),
      ];
    case 'adopt-role':
      return [markRole(change.role, context)];
    case 'alter-role': {
      const login = change.canLogin === undefined ? [] : [change.canLogin ? 'LOGIN' : 'NOLOGIN'];
      const clauses = [...login, ...change.clearAttributes.map(clearClause)];
      const what = [
        ...(change.canLogin === undefined ? [] : [change.canLogin ? 'allow login' : 'forbid login']),
        ...change.clearAttributes.map((a) => `remove ${a}`),
      ];
      return [
        plain(
          `alter role ${displayName(change.role)}: ${what.join(', ')}`,
          `ALTER ROLE ${role} ${clauses.join(' ')}`,
        ),
      ];
    }
    case 'set-password':
      return [
        withPassword(
          `set a new password for ${displayName(change.role)}`,
          `ALTER ROLE ${role} PASSWORD `,
          change.role,
          context,
        ),
      ];
    case 'grant-membership':
      return [
        plain(
          `grant role ${displayName(change.role)} to ${displayName(change.member)}`,
          // From PostgreSQL 16 a membership has its own INHERIT option: ask for it, so an
          // existing grant made WITH INHERIT FALSE is repaired too.
          `GRANT ${role} TO ${quoteIdent(change.member)}${context.serverVersion >= 160000 ? ' WITH INHERIT TRUE' : ''}`,
        ),
      ];
    case 'revoke-membership':
      return [
        plain(
          `revoke role ${displayName(change.role)} from ${displayName(change.member)}`,
          `REVOKE ${role} FROM ${quoteIdent(change.member)}`,
        ),
      ];
    case 'grant':
    case 'revoke': {
      const verb = change.type === 'grant' ? 'GRANT' : 'REVOKE';
      const direction = change.type === 'grant' ? 'TO' : 'FROM';
      const privileges = change.privileges.map(privilegeKeyword).join(', ');
      return [
        plain(
          `${change.type} ${change.privileges.join(', ')} on ${describeObject(change.object, context)} ${direction.toLowerCase()} ${displayName(change.role)}`,
          `${verb} ${privileges} ON ${objectSql(change.object, context)} ${direction} ${role}`,
        ),
      ];
    }
    case 'revoke-grant-option':
      return [revokeGrantOption(change, context)];
    case 'grant-columns':
    case 'revoke-columns': {
      const grant = change.type === 'grant-columns';
      const columns = change.columns.map(quoteIdent).join(', ');
      const table = qualified(change.schema, change.table);
      return [
        plain(
          `${grant ? 'grant' : 'revoke'} ${change.privilege} (${change.columns.map(displayName).join(', ')}) on table ${displayName(change.schema)}.${displayName(change.table)} ${grant ? 'to' : 'from'} ${displayName(change.role)}`,
          `${grant ? 'GRANT' : 'REVOKE'} ${privilegeKeyword(change.privilege)} (${columns}) ON TABLE ${table} ${grant ? 'TO' : 'FROM'} ${role}`,
        ),
      ];
    }
    case 'forget-role':
      throw new TypeError('PostgreSQL keeps marks on the roles themselves: there is no stale mark to forget');
    case 'drop-login':
    case 'drop-role':
      return [
        plain(
          `drop ${change.type === 'drop-login' ? 'login' : 'role'} ${displayName(change.role)}`,
          `DROP ROLE ${role}`,
        ),
      ];
  }
}

/**
 * Keeps the privileges, takes the right to pass them on. CASCADE: grants the
 * role already made with that right (to PUBLIC, say) go too; without it the
 * revoke fails while any exist.
 */
function revokeGrantOption(
  change: Extract<Change, { type: 'revoke-grant-option' }>,
  context: RenderContext,
): Statement {
  const columns = change.columns;
  const privilegeSql = change.privileges.map(privilegeKeyword).join(', ');
  const privilegeWords = change.privileges.join(', ');
  const sqlColumns = columns ? ` (${columns.map(quoteIdent).join(', ')})` : '';
  const wordColumns = columns ? ` (${columns.map(displayName).join(', ')})` : '';
  return plain(
    `revoke the grant option for ${privilegeWords}${wordColumns} on ${describeObject(change.object, context)} from ${displayName(change.role)}`,
    `REVOKE GRANT OPTION FOR ${privilegeSql}${sqlColumns} ON ${objectSql(change.object, context)} FROM ${roleSpec(change.role)} CASCADE`,
  );
}

function plain(intent: string, sql: string): Statement {
  return { intent, sql, display: sql };
}

/** The password's stored form goes into `sql` only; `display` never holds it. */
function withPassword(intent: string, sqlPrefix: string, login: string, context: RenderContext): Statement {
  const stored = context.passwords.storedForm(login);
  return {
    intent,
    sql: `${sqlPrefix}${stored === undefined ? REDACTED_PASSWORD : quoteLiteral(stored)}`,
    display: `${sqlPrefix}${REDACTED_PASSWORD}`,
  };
}

function markRole(role: string, context: RenderContext): Statement {
  return plain(
    `mark ${displayName(role)} as managed by dbwarden`,
    `COMMENT ON ROLE ${quoteIdent(role)} IS ${quoteLiteral(managedMarker(context.app))}`,
  );
}

/** PUBLIC is a keyword, not a role: quoting it would name a role called "PUBLIC". */
function roleSpec(role: string): string {
  return role === PUBLIC_GRANTEE ? 'PUBLIC' : quoteIdent(role);
}

function clearClause(attribute: string): string {
  const clause = CLEAR_ATTRIBUTE[attribute];
  if (!clause) throw new TypeError(`unknown PostgreSQL role attribute "${attribute}"`);
  return clause;
}

function objectSql(object: ObjectRef, context: RenderContext): string {
  switch (object.kind) {
    case 'database':
      return `DATABASE ${quoteIdent(context.database)}`;
    case 'schema':
      return `SCHEMA ${quoteIdent(object.schema)}`;
    case 'table':
      return `TABLE ${qualified(object.schema, object.table)}`;
    case 'sequence':
      return `SEQUENCE ${qualified(object.schema, object.sequence)}`;
  }
}

function describeObject(object: ObjectRef, context: RenderContext): string {
  switch (object.kind) {
    case 'database':
      return `database ${displayName(context.database)}`;
    case 'schema':
      return `schema ${displayName(object.schema)}`;
    case 'table':
      return `table ${displayName(object.schema)}.${displayName(object.table)}`;
    case 'sequence':
      return `sequence ${displayName(object.schema)}.${displayName(object.sequence)}`;
  }
}
