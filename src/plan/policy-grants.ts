/**
 * What a component's policy gives it on one target, as a flat list: the one
 * expansion of a policy that both the planner (what to grant, plan.ts) and
 * verify (what the login should see, expected.ts) start from, so the two
 * can never disagree about what a policy means.
 */
import type { TableAccess } from '../policy/model.js';
import { tableKey } from './objects.js';
import type {
  DesiredComponent,
  DesiredTarget,
  ObjectRef,
  Privilege,
  TableInfo,
  TargetCatalog,
} from './types.js';

/** One database a component's policy names on a target, its schema resolved. */
export interface TargetDatabase {
  readonly schema: string;
  readonly tables: readonly TableAccess[];
}

/**
 * The component's databases of the target's kind, a policy without a schema
 * taking the target's default (PostgreSQL: public; MySQL: the database). The
 * one place that default is applied, so the planner, verify, the missing-table
 * check and the introspection request all read the same schema.
 */
export function targetDatabases(
  component: DesiredComponent,
  target: Pick<DesiredTarget, 'kind'>,
  defaultSchema: string,
): TargetDatabase[] {
  return component.databases
    .filter((db) => db.kind === target.kind)
    .map((db) => ({ schema: db.schema ?? defaultSchema, tables: db.tables }));
}

export interface PolicyGrant {
  readonly object: ObjectRef;
  readonly privilege: Privilege;
  /** 'all': on the whole object; otherwise on these columns of the table `object`. */
  readonly columns: 'all' | readonly string[];
}

/**
 * In order: per database access, USAGE on its schema (where the engine has
 * it), then each table's privileges, each followed by USAGE on the sequences
 * the table owns when the component inserts there (serial defaults call
 * nextval() with the inserting role's privileges); last CONNECT on the
 * database, when the component has anything there and the engine has it.
 */
export function policyGrants(
  component: DesiredComponent,
  target: DesiredTarget,
  catalog: TargetCatalog,
  tables: ReadonlyMap<string, TableInfo>,
): PolicyGrant[] {
  const grants: PolicyGrant[] = [];
  const { capabilities } = catalog;
  for (const { schema, tables: accesses } of targetDatabases(component, target, catalog.defaultSchema)) {
    if (capabilities.schemaUsage) {
      grants.push({ object: { kind: 'schema', schema }, privilege: 'usage', columns: 'all' });
    }
    for (const access of accesses) {
      grants.push(...tableGrants(schema, access));
      const inserts = access.grants.some((g) => g.verb === 'insert');
      if (!capabilities.ownedSequenceUsage || !inserts) continue;
      for (const sequence of tables.get(tableKey(schema, access.table))?.ownedSequences ?? []) {
        grants.push({ object: { kind: 'sequence', schema, sequence }, privilege: 'usage', columns: 'all' });
      }
    }
  }
  if (capabilities.databaseConnect && grants.length > 0) {
    grants.push({ object: { kind: 'database' }, privilege: 'connect', columns: 'all' });
  }
  return grants;
}

function tableGrants(schema: string, access: TableAccess): PolicyGrant[] {
  const object: ObjectRef = { kind: 'table', schema, table: access.table };
  return access.grants.map((grant) => ({ object, privilege: grant.verb, columns: grant.columns }));
}
