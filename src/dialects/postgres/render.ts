/**
 * Change -> PostgreSQL statements. Pure: the same change always renders the
 * same SQL, so plans can show exactly what apply will run.
 */
import { attributeText } from '../../plan/attributes.js';
import type { AccountAttribute, Change, ObjectRef } from '../../plan/types.js';
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

/** The powers the catalog reports (see introspect.ts) -> the clause that takes each away. */
const CLEAR_ATTRIBUTE: Readonly<Partial<Record<AccountAttribute['attribute'], string>>> = {
  superuser: 'NOSUPERUSER',
  createdb: 'NOCREATEDB',
  createrole: 'NOCREATEROLE',
  replication: 'NOREPLICATION',
  bypassrls: 'NOBYPASSRLS',
  // A login must inherit its grant role's privileges, or the application would need SET ROLE.
  noinherit: 'INHERIT',
};

/** One change's type, narrowed. */
type ChangeOf<T extends Change['type']> = Extract<Change, { type: T }>;

type Render<T extends Change['type']> = (change: ChangeOf<T>, context: RenderContext) => Statement[];

/** One renderer per change type; the mapped type keeps it exhaustive over the Change union. */
const RENDERERS: { readonly [T in Change['type']]: Render<T> } = {
  'create-role': (change, context) => [
    plain(
      `create role ${displayName(change.role)}`,
      `CREATE ROLE ${roleSpec(change.role)} NOLOGIN ${NO_POWERS}`,
    ),
    markRole(change.role, context),
  ],
  'create-login': (change, context) => [
    withPassword(
      `create login ${displayName(change.role)}`,
      `CREATE ROLE ${roleSpec(change.role)} LOGIN ${NO_POWERS} PASSWORD `,
      change.role,
      context,
    ),
    markRole(change.role, context),
  ],
  'adopt-role': (change, context) => [markRole(change.role, context)],
  'alter-role': (change) => [alterRole(change)],
  'set-password': (change, context) => [
    withPassword(
      `set a new password for ${displayName(change.role)}`,
      `ALTER ROLE ${roleSpec(change.role)} PASSWORD `,
      change.role,
      context,
    ),
  ],
  'grant-membership': (change, context) => [grantMembership(change, context)],
  'revoke-membership': (change) => [
    plain(
      `revoke role ${displayName(change.role)} from ${displayName(change.member)}`,
      `REVOKE ${roleSpec(change.role)} FROM ${quoteIdent(change.member)}`,
    ),
  ],
  grant: (change, context) => [grantOrRevoke(change, context)],
  revoke: (change, context) => [grantOrRevoke(change, context)],
  'revoke-grant-option': (change, context) => [revokeGrantOption(change, context)],
  'grant-columns': (change) => [grantOrRevokeColumns(change)],
  'revoke-columns': (change) => [grantOrRevokeColumns(change)],
  'forget-role': () => {
    throw new TypeError('PostgreSQL keeps marks on the roles themselves: there is no stale mark to forget');
  },
  'drop-login': (change) => [dropRole(change)],
  'drop-role': (change) => [dropRole(change)],
};

export function renderChange(change: Change, context: RenderContext): Statement[] {
  const render = RENDERERS[change.type] as Render<Change['type']>;
  return render(change, context);
}

function alterRole(change: ChangeOf<'alter-role'>): Statement {
  const login = change.canLogin === undefined ? [] : [change.canLogin ? 'LOGIN' : 'NOLOGIN'];
  const clauses = [...login, ...change.clear.map(clearClause)];
  const what = [
    ...(change.canLogin === undefined ? [] : [change.canLogin ? 'allow login' : 'forbid login']),
    ...change.clear.map((a) => `remove ${attributeText(a)}`),
  ];
  return plain(
    `alter role ${displayName(change.role)}: ${what.join(', ')}`,
    `ALTER ROLE ${roleSpec(change.role)} ${clauses.join(' ')}`,
  );
}

function grantMembership(change: ChangeOf<'grant-membership'>, context: RenderContext): Statement {
  return plain(
    `grant role ${displayName(change.role)} to ${displayName(change.member)}`,
    // From PostgreSQL 16 a membership has its own INHERIT option: ask for it, so an
    // existing grant made WITH INHERIT FALSE is repaired too.
    `GRANT ${roleSpec(change.role)} TO ${quoteIdent(change.member)}${context.serverVersion >= 160000 ? ' WITH INHERIT TRUE' : ''}`,
  );
}

function grantOrRevoke(change: ChangeOf<'grant' | 'revoke'>, context: RenderContext): Statement {
  const verb = change.type === 'grant' ? 'GRANT' : 'REVOKE';
  const direction = change.type === 'grant' ? 'TO' : 'FROM';
  const privileges = change.privileges.map(privilegeKeyword).join(', ');
  return plain(
    `${change.type} ${change.privileges.join(', ')} on ${describeObject(change.object, context)} ${direction.toLowerCase()} ${displayName(change.role)}`,
    `${verb} ${privileges} ON ${objectSql(change.object, context)} ${direction} ${roleSpec(change.role)}`,
  );
}

function grantOrRevokeColumns(change: ChangeOf<'grant-columns' | 'revoke-columns'>): Statement {
  const grant = change.type === 'grant-columns';
  const columns = change.columns.map(quoteIdent).join(', ');
  const table = qualified(change.schema, change.table);
  return plain(
    `${grant ? 'grant' : 'revoke'} ${change.privilege} (${change.columns.map(displayName).join(', ')}) on table ${displayName(change.schema)}.${displayName(change.table)} ${grant ? 'to' : 'from'} ${displayName(change.role)}`,
    `${grant ? 'GRANT' : 'REVOKE'} ${privilegeKeyword(change.privilege)} (${columns}) ON TABLE ${table} ${grant ? 'TO' : 'FROM'} ${roleSpec(change.role)}`,
  );
}

function dropRole(change: ChangeOf<'drop-login' | 'drop-role'>): Statement {
  return plain(
    `drop ${change.type === 'drop-login' ? 'login' : 'role'} ${displayName(change.role)}`,
    `DROP ROLE ${roleSpec(change.role)}`,
  );
}

/**
 * Keeps the privileges, takes the right to pass them on. CASCADE: grants the
 * role already made with that right (to PUBLIC, say) go too; without it the
 * revoke fails while any exist.
 */
function revokeGrantOption(change: ChangeOf<'revoke-grant-option'>, context: RenderContext): Statement {
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

/** MySQL's attributes (global privileges, login settings) never come from a PostgreSQL catalog. */
function clearClause(attribute: AccountAttribute): string {
  const clause = Object.hasOwn(CLEAR_ATTRIBUTE, attribute.attribute)
    ? CLEAR_ATTRIBUTE[attribute.attribute]
    : undefined;
  if (!clause) throw new TypeError(`unknown PostgreSQL role attribute "${attributeText(attribute)}"`);
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
