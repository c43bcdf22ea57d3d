/** The exact SQL PostgreSQL gets for every kind of change: no I/O. */
import { describe, expect, it } from 'vitest';
import type { RenderContext } from '../../../src/dialects/dialect.js';
import { managedMarker, markerApp, renderChange } from '../../../src/dialects/postgres/render.js';
import { quoteIdent, quoteLiteral } from '../../../src/dialects/postgres/sql.js';
import type { AccountAttribute, Change } from '../../../src/plan/types.js';
import { DEFAULT_ACCOUNT_OPTIONS } from '../../../src/dialects/dialect.js';

const VERIFIER = 'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy';
const context: RenderContext = {
  app: 'nova',
  database: 'nova_api',
  serverVersion: 150018,
  serverFlavor: 'postgresql',
  accounts: DEFAULT_ACCOUNT_OPTIONS,
  passwords: { storedForm: (login) => (login === 'nova_api' ? VERIFIER : undefined) },
};
const base = { target: 'nova_api', component: 'api' };
const sql = (change: Change) => renderChange(change, context).map((s) => s.sql);
const MARK = `COMMENT ON ROLE "nova_api_role" IS 'dbwarden: managed role of app nova; manual changes are reverted by dbwarden apply'`;

describe('PostgreSQL rendering', () => {
  it('creates a grant role without powers, and marks it', () => {
    expect(sql({ ...base, type: 'create-role', role: 'nova_api_role', kind: 'role' })).toEqual([
      'CREATE ROLE "nova_api_role" NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT',
      MARK,
    ]);
  });

  it('creates a login with the verifier, and shows it redacted', () => {
    const [create] = renderChange(
      { ...base, type: 'create-login', role: 'nova_api', kind: 'login' },
      context,
    );
    expect(create?.sql).toBe(
      `CREATE ROLE "nova_api" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD '${VERIFIER}'`,
    );
    expect(create?.display).toBe(
      `CREATE ROLE "nova_api" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD '<redacted SCRAM-SHA-256 verifier>'`,
    );
    expect(create?.intent).toBe('create login nova_api');
  });

  it('sets a password, adopts and alters roles', () => {
    expect(sql({ ...base, type: 'set-password', role: 'nova_api', kind: 'login' })).toEqual([
      `ALTER ROLE "nova_api" PASSWORD '${VERIFIER}'`,
    ]);
    expect(sql({ ...base, type: 'adopt-role', role: 'nova_api_role', kind: 'role' })).toEqual([MARK]);
    expect(
      sql({
        ...base,
        type: 'alter-role',
        role: 'nova_api',
        kind: 'login',
        canLogin: true,
        clear: [{ attribute: 'createrole' }, { attribute: 'noinherit' }, { attribute: 'superuser' }],
        clearAttributes: ['createrole', 'noinherit', 'superuser'],
      }),
    ).toEqual(['ALTER ROLE "nova_api" LOGIN NOCREATEROLE INHERIT NOSUPERUSER']);
    const [strip] = renderChange(
      {
        ...base,
        type: 'alter-role',
        role: 'nova_api_role',
        kind: 'role',
        clear: [{ attribute: 'createdb' }],
        clearAttributes: ['createdb'],
      },
      context,
    );
    expect(strip).toMatchObject({
      sql: 'ALTER ROLE "nova_api_role" NOCREATEDB',
      intent: 'alter role nova_api_role: remove createdb',
    });
  });

  it('grants and revokes memberships, objects and columns', () => {
    expect(
      sql({
        ...base,
        type: 'grant-membership',
        role: 'nova_api_role',
        kind: 'role',
        member: 'nova_api',
        memberKind: 'login',
      }),
    ).toEqual(['GRANT "nova_api_role" TO "nova_api"']);
    const membership = {
      ...base,
      type: 'grant-membership',
      role: 'nova_api_role',
      kind: 'role',
      member: 'nova_api',
      memberKind: 'login',
    } as const;
    expect(renderChange(membership, { ...context, serverVersion: 160000 }).map((x) => x.sql)).toEqual([
      'GRANT "nova_api_role" TO "nova_api" WITH INHERIT TRUE',
    ]);
    expect(
      sql({
        ...base,
        type: 'revoke-membership',
        role: 'admins',
        kind: 'role',
        member: 'nova_api',
        memberKind: 'login',
      }),
    ).toEqual(['REVOKE "admins" FROM "nova_api"']);
    const role = 'nova_api_role';
    expect(
      sql({
        ...base,
        type: 'grant',
        role,
        kind: 'role',
        object: { kind: 'database' },
        privileges: ['connect'],
      }),
    ).toEqual(['GRANT CONNECT ON DATABASE "nova_api" TO "nova_api_role"']);
    expect(
      sql({
        ...base,
        type: 'grant',
        role,
        kind: 'role',
        object: { kind: 'schema', schema: 'public' },
        privileges: ['usage'],
      }),
    ).toEqual(['GRANT USAGE ON SCHEMA "public" TO "nova_api_role"']);
    expect(
      sql({
        ...base,
        type: 'revoke',
        role,
        kind: 'role',
        object: { kind: 'table', schema: 'public', table: 'instances' },
        privileges: ['select', 'delete', 'truncate'],
      }),
    ).toEqual(['REVOKE SELECT, DELETE, TRUNCATE ON TABLE "public"."instances" FROM "nova_api_role"']);
    expect(
      sql({
        ...base,
        type: 'grant',
        role,
        kind: 'role',
        object: { kind: 'sequence', schema: 'public', sequence: 'instances_id_seq' },
        privileges: ['usage'],
      }),
    ).toEqual(['GRANT USAGE ON SEQUENCE "public"."instances_id_seq" TO "nova_api_role"']);
    expect(
      sql({
        ...base,
        type: 'grant-columns',
        role,
        kind: 'role',
        schema: 'public',
        table: 'instances',
        privilege: 'update',
        columns: ['host', 'vm_state'],
      }),
    ).toEqual(['GRANT UPDATE ("host", "vm_state") ON TABLE "public"."instances" TO "nova_api_role"']);
    expect(
      sql({
        ...base,
        type: 'revoke-columns',
        role,
        kind: 'role',
        schema: 'public',
        table: 'instances',
        privilege: 'references',
        columns: ['id'],
      }),
    ).toEqual(['REVOKE REFERENCES ("id") ON TABLE "public"."instances" FROM "nova_api_role"']);
  });

  it('revokes grant options and keeps the privileges, table and column level, with CASCADE', () => {
    const object = { kind: 'table', schema: 'public', table: 'users' } as const;
    const [table] = renderChange(
      {
        ...base,
        type: 'revoke-grant-option',
        role: 'nova_api_role',
        kind: 'role',
        object,
        privileges: ['select', 'insert'],
      },
      context,
    );
    expect(table?.sql).toBe(
      'REVOKE GRANT OPTION FOR SELECT, INSERT ON TABLE "public"."users" FROM "nova_api_role" CASCADE',
    );
    expect(table?.intent).toBe(
      'revoke the grant option for select, insert on table public.users from nova_api_role',
    );
    const [columns] = renderChange(
      {
        ...base,
        type: 'revoke-grant-option',
        role: 'nova_api_role',
        kind: 'role',
        object,
        privileges: ['update'],
        columns: ['email', 'name'],
      },
      context,
    );
    expect(columns?.sql).toBe(
      'REVOKE GRANT OPTION FOR UPDATE ("email", "name") ON TABLE "public"."users" FROM "nova_api_role" CASCADE',
    );
    expect(columns?.intent).toBe(
      'revoke the grant option for update (email, name) on table public.users from nova_api_role',
    );
  });

  it('reads the app of a marker, so another app’s marked role is told apart from an unmarked one', () => {
    expect(markerApp(managedMarker('cx_x'))).toBe('cx_x');
    expect(markerApp(managedMarker('cx'))).toBe('cx');
    expect(markerApp('dbwarden: managed role of app cx_x; manual changes are reverted')).toBe('cx_x');
    expect(markerApp('made by hand for cx_x')).toBeUndefined();
    expect(markerApp(null)).toBeUndefined();
  });

  it('revokes from PUBLIC as the keyword, not a quoted role', () => {
    expect(
      sql({
        target: 'nova_api',
        component: '',
        type: 'revoke',
        role: 'PUBLIC',
        kind: 'role',
        object: { kind: 'database' },
        privileges: ['connect', 'temporary'],
      }),
    ).toEqual(['REVOKE CONNECT, TEMPORARY ON DATABASE "nova_api" FROM PUBLIC']);
  });

  it('drops logins and roles', () => {
    expect(sql({ ...base, type: 'drop-login', role: 'nova_old', kind: 'login' })).toEqual([
      'DROP ROLE "nova_old"',
    ]);
    expect(sql({ ...base, type: 'drop-role', role: 'nova_old_role', kind: 'role' })).toEqual([
      'DROP ROLE "nova_old_role"',
    ]);
  });

  it('quotes hostile names in SQL and in intents', () => {
    const [grant] = renderChange(
      {
        ...base,
        type: 'grant-columns',
        role: 'nova_api_role',
        kind: 'role',
        schema: 'my schema',
        table: 'x"; DROP TABLE y; --',
        privilege: 'select',
        columns: ["O'Reilly"],
      },
      context,
    );
    expect(grant?.sql).toBe(
      `GRANT SELECT ("O'Reilly") ON TABLE "my schema"."x""; DROP TABLE y; --" TO "nova_api_role"`,
    );
    expect(grant?.intent).toBe(
      `grant select ("O'Reilly") on table "my schema"."x""; DROP TABLE y; --" to nova_api_role`,
    );
  });

  it('refuses privileges and attributes it does not know instead of pasting them', () => {
    expect(() =>
      sql({
        ...base,
        type: 'grant',
        role: 'r',
        kind: 'login',
        object: { kind: 'database' },
        privileges: ['all; drop'],
      }),
    ).toThrow(/unknown PostgreSQL privilege/);
    expect(() =>
      sql({
        ...base,
        type: 'alter-role',
        role: 'r',
        kind: 'login',
        canLogin: false,
        clear: [{ attribute: 'superuser; drop' } as unknown as AccountAttribute],
        clearAttributes: ['superuser; drop'],
      }),
    ).toThrow(/unknown PostgreSQL role attribute/);
  });

  it('quotes identifiers and literals, and refuses NUL', () => {
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(quoteLiteral("it's \\ ok")).toBe("'it''s \\ ok'");
    expect(() => quoteIdent('a\u0000b')).toThrow(/NUL/);
    expect(() => quoteLiteral('a\u0000b')).toThrow(/NUL/);
  });
});
