/**
 * What a login can actually do, asked as that login: has_*_privilege sees
 * grants through every role it inherits and through PUBLIC, so this is the
 * truth the application lives with, not what the grant tables say.
 */
import type pg from 'pg';
import type { EffectivePrivilege } from '../dialect.js';

/**
 * Each privilege, and the right to pass it on (`select with grant option`),
 * which no policy gives: verify reports any as extra.
 */
function withGrantOptions(privileges: readonly string[]): string[] {
  return [...privileges, ...privileges.map((p) => `${p} WITH GRANT OPTION`)];
}

/** Table privileges (MAINTAIN exists only from PostgreSQL 17 and is left out). */
const TABLE_PRIVILEGES = withGrantOptions([
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'TRUNCATE',
  'REFERENCES',
  'TRIGGER',
]);
const COLUMN_PRIVILEGES = withGrantOptions(['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']);
const SEQUENCE_PRIVILEGES = withGrantOptions(['USAGE', 'SELECT', 'UPDATE']);
const SCHEMA_PRIVILEGES = withGrantOptions(['USAGE', 'CREATE']);

const EFFECTIVE_SQL = `
with rels as (
  select c.oid, n.nspname as schema, c.relname as name, c.relkind = 'S' as is_sequence
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where n.nspname = any($1::text[]) and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
)
select 'schema' as kind, n.nspname as schema, n.nspname as name, lower(p.priv) as privilege, null::text[] as columns
from pg_catalog.pg_namespace n cross join unnest($4::text[]) as p(priv)
where n.nspname = any($1::text[]) and has_schema_privilege(n.oid, p.priv)
union all
select 'table', r.schema, r.name, lower(p.priv), null
from rels r cross join unnest($2::text[]) as p(priv)
where not r.is_sequence and has_table_privilege(r.oid, p.priv)
union all
select 'sequence', r.schema, r.name, lower(p.priv), null
from rels r cross join unnest($3::text[]) as p(priv)
where r.is_sequence and has_sequence_privilege(r.oid, p.priv)
union all
select 'table', r.schema, r.name, lower(p.priv), array_agg(a.attname::text order by a.attnum)
from rels r cross join unnest($5::text[]) as p(priv)
join pg_catalog.pg_attribute a on a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
where not r.is_sequence and not has_table_privilege(r.oid, p.priv)
  and has_column_privilege(r.oid, a.attnum, p.priv)
group by r.schema, r.name, p.priv`;

export async function effectivePrivilegesOf(
  client: pg.Client,
  schemas: readonly string[],
): Promise<EffectivePrivilege[]> {
  const { rows } = await client.query<{
    kind: 'schema' | 'table' | 'sequence';
    schema: string;
    name: string;
    privilege: string;
    columns: string[] | null;
  }>(EFFECTIVE_SQL, [schemas, TABLE_PRIVILEGES, SEQUENCE_PRIVILEGES, SCHEMA_PRIVILEGES, COLUMN_PRIVILEGES]);
  return rows.map((r) => ({
    kind: r.kind,
    schema: r.schema,
    name: r.name,
    privilege: r.privilege,
    columns: r.columns ?? 'all',
  }));
}
