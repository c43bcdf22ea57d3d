/**
 * PostgreSQL catalog -> planner snapshot, in five queries per target whatever
 * the number of tables: roles, memberships, the named tables, and the object
 * and column grants held by candidate roles (aclexplode over the ACL columns).
 */
import type pg from 'pg';
import type {
  AccountAttribute,
  ColumnGrant,
  ColumnPrivilege,
  GrantCapabilities,
  Membership,
  ObjectGrant,
  ObjectRef,
  RoleState,
  TableInfo,
} from '../../plan/types.js';
import { PUBLIC_GRANTEE } from '../../plan/types.js';
import type { IntrospectRequest, TargetSnapshot } from '../dialect.js';
import { markerApp } from './render.js';

export const POSTGRES_CAPABILITIES: GrantCapabilities = {
  databaseConnect: true,
  schemaUsage: true,
  ownedSequenceUsage: true,
  tableRevokeClearsColumns: true,
  publicHardening: true,
};

const ROLES_SQL = `
select r.rolname as name, r.rolcanlogin as can_login, r.rolsuper as superuser, r.rolcreatedb as createdb,
       r.rolcreaterole as createrole, r.rolreplication as replication, r.rolbypassrls as bypassrls,
       not r.rolinherit as noinherit, shobj_description(r.oid, 'pg_authid') as comment
from pg_catalog.pg_roles r
where starts_with(r.rolname, $1)`;

/** inherit_option exists from PostgreSQL 16; read through jsonb so one query serves every version. */
const MEMBERSHIPS_SQL = `
select g.rolname as role, m.rolname as member,
       coalesce((to_jsonb(am) ->> 'inherit_option')::boolean, true) as inherits
from pg_catalog.pg_auth_members am
join pg_catalog.pg_roles g on g.oid = am.roleid
join pg_catalog.pg_roles m on m.oid = am.member
where starts_with(g.rolname, $1) or starts_with(m.rolname, $1)`;

/** Columns and serial sequences of the named tables (identity sequences need no grant). */
const TABLES_SQL = `
select n.nspname as schema, c.relname as table,
       array(select a.attname::text from pg_catalog.pg_attribute a
             where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped order by a.attnum) as columns,
       array(select s.relname::text from pg_catalog.pg_depend d
             join pg_catalog.pg_class s on s.oid = d.objid
             where d.classid = 'pg_catalog.pg_class'::regclass and d.refclassid = 'pg_catalog.pg_class'::regclass
               and d.refobjid = c.oid and d.deptype = 'a' and s.relkind = 'S'
               and s.relnamespace = c.relnamespace
             order by s.relname) as sequences
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join unnest($1::text[], $2::text[]) as wanted(schema, name) on wanted.schema = n.nspname and wanted.name = c.relname
where c.relkind in ('r', 'p', 'v', 'm', 'f')`;

/**
 * WITH GRANT OPTION from any grantor (aclexplode gives one row per grantor).
 * An owner's grant options are implicit and cannot be revoked, so they are
 * not reported (the owner's privileges themselves are).
 */
function grantable(acl: string, owner: string): string {
  return `bool_or(${acl}.is_grantable and ${acl}.grantee <> ${owner})`;
}

/**
 * Object privileges of candidate roles on this database, its schemas, tables
 * and sequences, plus PUBLIC's on the database and schema public (hardenPublic).
 */
const GRANTS_SQL = `
with acl as (
  select 'database' as kind, null::text as schema, null::text as name, d.datdba as owner, e.*
  from pg_catalog.pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) e
  where d.datname = current_database()
  union all
  select 'schema', n.nspname, null, n.nspowner, e.*
  from pg_catalog.pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) e
  union all
  select case when c.relkind = 'S' then 'sequence' else 'table' end, n.nspname, c.relname, c.relowner, e.*
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace, aclexplode(c.relacl) e
  where c.relacl is not null and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
)
select acl.kind, acl.schema, acl.name, coalesce(r.rolname, '${PUBLIC_GRANTEE}') as grantee,
       lower(acl.privilege_type) as privilege, ${grantable('acl', 'acl.owner')} as grantable
from acl left join pg_catalog.pg_roles r on r.oid = acl.grantee
where (r.oid is not null and starts_with(r.rolname, $1))
   or (acl.grantee = 0 and (acl.kind = 'database' or (acl.kind = 'schema' and acl.schema = 'public')))
group by acl.kind, acl.schema, acl.name, r.rolname, acl.privilege_type`;

const COLUMN_GRANTS_SQL = `
select n.nspname as schema, c.relname as table, a.attname as column, r.rolname as grantee,
       lower(e.privilege_type) as privilege, ${grantable('e', 'c.relowner')} as grantable
from pg_catalog.pg_attribute a
join pg_catalog.pg_class c on c.oid = a.attrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace,
     aclexplode(a.attacl) e
join pg_catalog.pg_roles r on r.oid = e.grantee
where a.attacl is not null and not a.attisdropped and starts_with(r.rolname, $1)
group by n.nspname, c.relname, a.attname, r.rolname, e.privilege_type`;

interface RoleRow {
  name: string;
  can_login: boolean;
  superuser: boolean;
  createdb: boolean;
  createrole: boolean;
  replication: boolean;
  bypassrls: boolean;
  noinherit: boolean;
  comment: string | null;
}

const POWER_ATTRIBUTES = ['superuser', 'createdb', 'createrole', 'replication', 'bypassrls'] as const;

export async function introspectTarget(
  client: pg.Client,
  cluster: string,
  request: IntrospectRequest,
): Promise<TargetSnapshot> {
  const prefix = [request.rolePrefix];
  const roles = await client.query<RoleRow>(ROLES_SQL, prefix);
  const memberships = await client.query<Membership & { inherits: boolean }>(MEMBERSHIPS_SQL, prefix);
  const tables = await client.query<{
    schema: string;
    table: string;
    columns: string[];
    sequences: string[];
  }>(TABLES_SQL, [request.tables.map((t) => t.schema), request.tables.map((t) => t.table)]);
  const grants = await client.query<{
    kind: ObjectRef['kind'];
    schema: string | null;
    name: string | null;
    grantee: string;
    privilege: string;
    grantable: boolean;
  }>(GRANTS_SQL, prefix);
  const columnGrants = await client.query<ColumnGrant & { grantable: boolean }>(COLUMN_GRANTS_SQL, prefix);
  return {
    cluster: {
      roles: roles.rows.map((row) => toRoleState(row, request.app)),
      memberships: memberships.rows.map(({ role, member, inherits }) =>
        inherits ? { role, member } : { role, member, inherits },
      ),
    },
    target: {
      cluster,
      defaultSchema: 'public',
      capabilities: POSTGRES_CAPABILITIES,
      tables: tables.rows.map((t): TableInfo => ({
        schema: t.schema,
        table: t.table,
        columns: t.columns,
        ownedSequences: t.sequences,
      })),
      grants: grants.rows.map((g) => ({
        grantee: g.grantee,
        object: toObjectRef(g.kind, g.schema, g.name),
        privilege: g.privilege,
        ...(g.grantable ? { grantable: true } : {}),
      })) satisfies ObjectGrant[],
      columnGrants: columnGrants.rows.map((g) => ({
        grantee: g.grantee,
        schema: g.schema,
        table: g.table,
        column: g.column,
        privilege: g.privilege as ColumnPrivilege,
        ...(g.grantable ? { grantable: true } : {}),
      })),
    },
  };
}

function toRoleState(row: RoleRow, app: string): RoleState {
  const attributes: AccountAttribute[] = POWER_ATTRIBUTES.filter((a) => row[a]).map((attribute) => ({
    attribute,
  }));
  // Only logins need INHERIT (to use their grant role without SET ROLE).
  if (row.can_login && row.noinherit) attributes.push({ attribute: 'noinherit' });
  return {
    name: row.name,
    canLogin: row.can_login,
    ...markerOf(row.comment, app),
    attributes,
  };
}

/** This app's marker, another app's (never to be touched), or none. */
function markerOf(comment: string | null, app: string): Pick<RoleState, 'managedMarker' | 'otherApp'> {
  const markedBy = markerApp(comment);
  if (markedBy === undefined || markedBy === app) return { managedMarker: markedBy === app };
  return { managedMarker: false, otherApp: markedBy };
}

function toObjectRef(kind: ObjectRef['kind'], schema: string | null, name: string | null): ObjectRef {
  switch (kind) {
    case 'database':
      return { kind };
    case 'schema':
      return { kind, schema: schema ?? '' };
    case 'table':
      return { kind, schema: schema ?? '', table: name ?? '' };
    case 'sequence':
      return { kind, schema: schema ?? '', sequence: name ?? '' };
  }
}
