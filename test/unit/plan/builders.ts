/** Small builders for planner inputs, so each test states only what matters to it. */

import type {
  Catalog,
  ClusterCatalog,
  DesiredComponent,
  DesiredState,
  GrantCapabilities,
  RolePower,
  RoleState,
  TableInfo,
  TargetCatalog,
} from '../../../src/plan/types.js';
import {
  type DatabaseAccess,
  DEFAULT_ACCOUNT_OPTIONS,
  type TableAccess,
  type Verb,
} from '../../../src/policy/model.js';
import { POSTGRES_CAPABILITIES } from '../../../src/dialects/postgres/introspect.js';

/** What the PostgreSQL dialect reports: the planner is tested against the real capabilities. */
export { POSTGRES_CAPABILITIES };

export const TABLES_ONLY: GrantCapabilities = {
  databaseConnect: false,
  schemaUsage: false,
  ownedSequenceUsage: false,
  tableRevokeClearsColumns: false,
  publicHardening: false,
};

/** `table('t', ['select'])` or `table('t', { select: ['a', 'b'] })`. */
export function table(name: string, access: Verb[] | Partial<Record<Verb, string[] | 'all'>>): TableAccess {
  const entries = Array.isArray(access)
    ? access.map((verb) => ({ verb, columns: 'all' as const }))
    : Object.entries(access).map(([verb, columns]) => ({ verb: verb as Verb, columns }));
  return { table: name, grants: entries };
}

export function db(kind: string, tables: TableAccess[], schema?: string): DatabaseAccess {
  return { kind, schema, tables };
}

export function component(name: string, databases: DatabaseAccess[], app = 'nova'): DesiredComponent {
  return { component: name, login: `${app}_${name}`, role: `${app}_${name}_role`, databases };
}

export function desired(
  components: DesiredComponent[],
  targets: { name: string; kind: string }[] = [{ name: 'db1', kind: 'main' }],
  app = 'nova',
): DesiredState {
  return { app, components, targets, hardenPublic: false, accounts: DEFAULT_ACCOUNT_OPTIONS };
}

export function emptyCluster(): ClusterCatalog {
  return { roles: [], memberships: [] };
}

export function targetCatalog(overrides: Partial<TargetCatalog> = {}): TargetCatalog {
  return {
    cluster: 'c1',
    defaultSchema: 'public',
    capabilities: TABLES_ONLY,
    tables: [],
    grants: [],
    columnGrants: [],
    ...overrides,
  };
}

export function tableInfo(
  name: string,
  columns: string[] = ['id'],
  ownedSequences: string[] = [],
): TableInfo {
  return { schema: 'public', table: name, columns, ownedSequences };
}

export function catalog(
  targets: Record<string, TargetCatalog> = { db1: targetCatalog() },
  clusters: Record<string, ClusterCatalog> = { c1: emptyCluster() },
): Catalog {
  return { clusters, targets };
}

/** `marker`: true (default) this app's, false none, a string: that other app's marker. */
export function role(
  name: string,
  canLogin = false,
  extra: { marker?: boolean | string; attributes?: RolePower[] } = {},
): RoleState {
  const marker = extra.marker ?? true;
  return {
    name,
    canLogin,
    managedMarker: marker === true,
    ...(typeof marker === 'string' ? { otherApp: marker } : {}),
    attributes: (extra.attributes ?? []).map((attribute) => ({ attribute })),
  };
}
