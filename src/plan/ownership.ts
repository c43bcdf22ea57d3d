/**
 * Which app a role belongs to. Several apps may share a server, and their
 * prefixes may nest (app `cx` reads every `cx_` role, app `cx_x`'s too), so
 * a name's prefix says nothing about its owner: the marker does. A role that
 * carries another app's marker is that app's; a policy that names such a
 * role is a collision the operator must resolve, never a role to adopt.
 */
import { compareText, compareTuples } from '../util/compare.js';
import type { Catalog, ClusterCatalog, DesiredState } from './types.js';

/** A name this app's policies want that another app's marker claims, on one server. */
export interface RoleCollision {
  /** Catalog.clusters key. */
  readonly cluster: string;
  /** The first target (by name) on that server, to name it in messages. */
  readonly target: string;
  readonly role: string;
  /** The component of this app whose login or grant role the name is. */
  readonly component: string;
  /** The app whose marker the role carries. */
  readonly otherApp: string;
}

/** The planner was asked to plan roles another app owns: callers check roleCollisions first. */
export class RoleCollisionError extends Error {
  override readonly name = 'RoleCollisionError';
  constructor(readonly collisions: readonly RoleCollision[]) {
    super(
      collisions
        .map((c) => `role ${c.role} (target ${c.target}) belongs to app ${c.otherApp}, not to this app`)
        .join('; '),
    );
  }
}

/**
 * Every login and grant-role name of this app's components that another app's
 * marker claims, on any server of the desired targets. Pure and ordered.
 */
export function roleCollisions(desired: DesiredState, catalog: Catalog): RoleCollision[] {
  const collisions: RoleCollision[] = [];
  for (const [cluster, target] of firstTargets(desired, catalog)) {
    const clusterCatalog = catalog.clusters[cluster];
    if (!clusterCatalog) continue;
    const claimed = claimedNames(clusterCatalog);
    if (claimed.size === 0) continue;
    for (const c of desired.components) {
      for (const role of [c.login, c.role]) {
        const otherApp = claimed.get(role);
        if (otherApp !== undefined && otherApp !== desired.app) {
          collisions.push({ cluster, target, role, component: c.component, otherApp });
        }
      }
    }
  }
  return collisions.sort((a, b) => compareTuples([a.target, a.role], [b.target, b.role]));
}

/** Role name -> the other app whose marker claims it. */
function claimedNames(cluster: ClusterCatalog): Map<string, string> {
  const claimed = new Map<string, string>();
  for (const m of cluster.otherAppMarks ?? []) claimed.set(m.role, m.app);
  for (const r of cluster.roles) if (r.otherApp !== undefined) claimed.set(r.name, r.otherApp);
  return claimed;
}

/** Cluster -> its first target by name. */
function firstTargets(desired: DesiredState, catalog: Catalog): Map<string, string> {
  const first = new Map<string, string>();
  for (const t of [...desired.targets].sort((a, b) => compareText(a.name, b.name))) {
    const cluster = catalog.targets[t.name]?.cluster;
    if (cluster !== undefined && !first.has(cluster)) first.set(cluster, t.name);
  }
  return first;
}
