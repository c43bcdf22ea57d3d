/**
 * Introspect every open target and assemble the planner's Catalog; refuse
 * policies that name tables or columns a target lacks.
 */
import { InvalidInputError } from '../errors.js';
import type { IntrospectRequest } from '../dialects/dialect.js';
import { missingObjects } from '../plan/missing.js';
import { roleCollisions } from '../plan/ownership.js';
import { tableKey } from '../plan/objects.js';
import { targetDatabases } from '../plan/policy-grants.js';
import type { Catalog, ClusterCatalog, DesiredState, TargetCatalog } from '../plan/types.js';
import { displayName } from '../util/printable.js';
import type { OpenTarget } from './targets.js';

/** The tables the policies name on one target, schemas resolved. */
export function introspectRequest(desired: DesiredState, target: OpenTarget): IntrospectRequest {
  // Components share tables: ask for each once.
  const tables = new Map<string, { schema: string; table: string }>();
  for (const c of desired.components) {
    for (const { schema, tables: accesses } of targetDatabases(
      c,
      target.target,
      target.identity.defaultSchema,
    )) {
      for (const t of accesses) tables.set(tableKey(schema, t.table), { schema, table: t.table });
    }
  }
  return {
    app: desired.app,
    rolePrefix: `${desired.app}_`,
    tables: [...tables.values()],
    accounts: desired.accounts,
  };
}

/**
 * Roles come from each cluster's first target (by name); every target reports
 * its own grants. Refuses (exit 2) a policy that names another app's role:
 * plan, apply and verify all stop here, before anything is written.
 */
export async function readCatalog(desired: DesiredState, targets: readonly OpenTarget[]): Promise<Catalog> {
  const clusters: Record<string, ClusterCatalog> = {};
  const catalogs: Record<string, TargetCatalog> = {};
  for (const open of targets) {
    const snapshot = await open.session.introspect(introspectRequest(desired, open));
    clusters[snapshot.target.cluster] ??= snapshot.cluster;
    catalogs[open.target.name] = snapshot.target;
  }
  const catalog = { clusters, targets: catalogs };
  refuseRoleCollisions(desired, catalog);
  return catalog;
}

/** Exit 2 when a login or grant role of this app is marked as another app's. */
export function refuseRoleCollisions(desired: DesiredState, catalog: Catalog): void {
  const collisions = roleCollisions(desired, catalog);
  if (collisions.length === 0) return;
  const lines = collisions.map(
    (c) =>
      `  target ${c.target}: role ${displayName(c.role)} belongs to app ${displayName(c.otherApp)} (its dbwarden marker), but app ${displayName(desired.app)}'s component ${displayName(c.component)} wants that name`,
  );
  throw new InvalidInputError(
    `app ${displayName(desired.app)} and another app on the same server want the same role names; nothing was changed:\n${lines.join('\n')}`,
    {
      hint: `rename the component (or the app) so that its <app>_<component> names differ; dbwarden never adopts, changes or drops a role another app marked`,
    },
  );
}

/** Exit 2 before anything is applied when a policy names what a target lacks. */
export function refuseMissingObjects(desired: DesiredState, catalog: Catalog): void {
  const missing = missingObjects(desired, catalog);
  if (missing.length === 0) return;
  const lines = missing.map(
    (m) =>
      `  target ${m.target}: ${m.column === undefined ? 'table' : 'column'} ${displayName(m.schema)}.${displayName(m.table)}${m.column === undefined ? '' : `.${displayName(m.column)}`} does not exist (policy of component ${m.component})`,
  );
  throw new InvalidInputError(
    `policies name objects the targets do not have; nothing was applied:\n${lines.join('\n')}`,
    {
      hint: "fix the names in the policy files, or create the tables first (run the application's own migrations)",
    },
  );
}
