/**
 * A model of what changes do to a catalog, used to check the planner: after
 * applying a plan, planning again must find nothing to do. It is strict, like
 * a real server: creating what exists, granting to a role that does not
 * exist, revoking what is not held or dropping a role that still holds
 * privileges throws, so a planner bug shows up as an error, not a silent fix.
 */
import { compareText } from '../util/compare.js';
import { objectKey } from './objects.js';
import type {
  Catalog,
  Change,
  ClusterCatalog,
  ColumnGrant,
  Membership,
  ObjectGrant,
  RoleState,
  TargetCatalog,
} from './types.js';

export class SimulationError extends Error {
  override readonly name = 'SimulationError';
}

interface MutableCluster {
  roles: Map<string, RoleState>;
  memberships: Membership[];
}

interface MutableTarget extends Omit<TargetCatalog, 'grants' | 'columnGrants'> {
  grants: ObjectGrant[];
  columnGrants: ColumnGrant[];
}

export function applyChanges(catalog: Catalog, changes: readonly Change[]): Catalog {
  const clusters = new Map<string, MutableCluster>(
    Object.entries(catalog.clusters).map(([name, c]) => [
      name,
      { roles: new Map(c.roles.map((r) => [r.name, r])), memberships: [...c.memberships] },
    ]),
  );
  const targets = new Map<string, MutableTarget>(
    Object.entries(catalog.targets).map(([name, t]) => [
      name,
      { ...t, grants: [...t.grants], columnGrants: [...t.columnGrants] },
    ]),
  );
  for (const change of changes) applyOne(change, clusters, targets);
  return {
    clusters: Object.fromEntries(
      [...clusters].map(([name, c]): [string, ClusterCatalog] => [
        name,
        {
          roles: [...c.roles.values()].sort((a, b) => compareText(a.name, b.name)),
          memberships: c.memberships,
        },
      ]),
    ),
    targets: Object.fromEntries(targets),
  };
}

function applyOne(
  change: Change,
  clusters: Map<string, MutableCluster>,
  targets: Map<string, MutableTarget>,
): void {
  const target = targets.get(change.target);
  if (!target) throw new SimulationError(`no target ${change.target}`);
  const cluster = clusters.get(target.cluster) as MutableCluster;
  const clusterTargets = [...targets.values()].filter((t) => t.cluster === target.cluster);
  const role = cluster.roles.get(change.role);
  // Another app's role is never changed in any way: a plan that tries is a planner bug.
  // (Revoking a managed member's membership in another app's role changes only the member.)
  for (const name of touchedRoles(change)) {
    const otherApp = cluster.roles.get(name)?.otherApp;
    if (otherApp !== undefined)
      throw new SimulationError(`${change.type}: ${name} belongs to app ${otherApp}`);
  }
  const needRole = (): RoleState => {
    if (!role) throw new SimulationError(`${change.type}: role ${change.role} does not exist`);
    return role;
  };
  switch (change.type) {
    case 'create-role':
    case 'create-login':
      if (role) throw new SimulationError(`${change.type}: role ${change.role} exists`);
      cluster.roles.set(change.role, {
        name: change.role,
        canLogin: change.type === 'create-login',
        managedMarker: true,
        attributes: [],
      });
      return;
    case 'adopt-role':
      cluster.roles.set(change.role, { ...needRole(), managedMarker: true });
      return;
    case 'alter-role': {
      const current = needRole();
      const attributes = current.attributes.filter((a) => !change.clearAttributes.includes(a));
      cluster.roles.set(change.role, {
        ...current,
        canLogin: change.canLogin ?? current.canLogin,
        attributes,
      });
      return;
    }
    case 'set-password':
      if (!needRole().canLogin) throw new SimulationError(`set-password: ${change.role} cannot log in`);
      return;
    case 'grant-membership':
      needRole();
      if (!cluster.roles.has(change.member))
        throw new SimulationError(`member ${change.member} does not exist`);
      if (
        cluster.memberships.some(
          (m) => m.role === change.role && m.member === change.member && m.inherits !== false,
        )
      ) {
        throw new SimulationError(`membership ${change.role} -> ${change.member} exists`);
      }
      cluster.memberships = cluster.memberships.filter(
        (m) => !(m.role === change.role && m.member === change.member),
      );
      cluster.memberships.push({ role: change.role, member: change.member });
      return;
    case 'revoke-membership': {
      const before = cluster.memberships.length;
      cluster.memberships = cluster.memberships.filter(
        (m) => !(m.role === change.role && m.member === change.member),
      );
      if (cluster.memberships.length === before) throw new SimulationError('revoke-membership: not a member');
      return;
    }
    case 'grant':
      needRole();
      for (const privilege of change.privileges) {
        const grant = { grantee: change.role, object: change.object, privilege };
        if (target.grants.some((g) => sameObjectGrant(g, grant)))
          throw new SimulationError('grant: already held');
        target.grants.push(grant);
      }
      return;
    case 'revoke':
      for (const privilege of change.privileges) {
        const grant = { grantee: change.role, object: change.object, privilege };
        const index = target.grants.findIndex((g) => sameObjectGrant(g, grant));
        if (index < 0) throw new SimulationError(`revoke: ${change.role} does not hold ${privilege}`);
        target.grants.splice(index, 1);
        if (target.capabilities.tableRevokeClearsColumns && change.object.kind === 'table') {
          const { schema, table } = change.object;
          target.columnGrants = target.columnGrants.filter(
            (g) =>
              !(
                g.grantee === change.role &&
                g.schema === schema &&
                g.table === table &&
                g.privilege === privilege
              ),
          );
        }
      }
      return;
    case 'revoke-grant-option':
      revokeGrantOption(change, target);
      return;
    case 'grant-columns':
      needRole();
      for (const column of change.columns) {
        const grant = {
          grantee: change.role,
          schema: change.schema,
          table: change.table,
          column,
          privilege: change.privilege,
        };
        if (target.columnGrants.some((g) => sameColumnGrant(g, grant)))
          throw new SimulationError('grant-columns: held');
        target.columnGrants.push(grant);
      }
      return;
    case 'revoke-columns':
      for (const column of change.columns) {
        const grant = {
          grantee: change.role,
          schema: change.schema,
          table: change.table,
          column,
          privilege: change.privilege,
        };
        const index = target.columnGrants.findIndex((g) => sameColumnGrant(g, grant));
        if (index < 0) throw new SimulationError(`revoke-columns: ${change.role} does not hold ${column}`);
        target.columnGrants.splice(index, 1);
      }
      return;
    case 'forget-role':
      if (role) throw new SimulationError(`forget-role: role ${change.role} exists`);
      return;
    case 'drop-login':
    case 'drop-role': {
      needRole();
      const stillHolds = clusterTargets.some(
        (t) =>
          t.grants.some((g) => g.grantee === change.role) ||
          t.columnGrants.some((g) => g.grantee === change.role),
      );
      if (stillHolds) throw new SimulationError(`${change.type}: ${change.role} still holds privileges`);
      cluster.roles.delete(change.role);
      cluster.memberships = cluster.memberships.filter(
        (m) => m.role !== change.role && m.member !== change.role,
      );
      return;
    }
  }
}

/** The roles a change alters. */
function touchedRoles(change: Change): string[] {
  if (change.type === 'revoke-membership') return [change.member];
  if (change.type === 'grant-membership') return [change.role, change.member];
  return [change.role];
}

/** Clears `grantable` on each grant named; each must be held with the grant option. */
function revokeGrantOption(
  change: Extract<Change, { type: 'revoke-grant-option' }>,
  target: MutableTarget,
): void {
  const fail = (what: string) =>
    new SimulationError(`revoke-grant-option: ${change.role} holds no grant option for ${what}`);
  for (const privilege of change.privileges) {
    if (change.columns === undefined) {
      const grant = { grantee: change.role, object: change.object, privilege };
      const index = target.grants.findIndex((g) => sameObjectGrant(g, grant) && g.grantable === true);
      if (index < 0) throw fail(privilege);
      target.grants[index] = { ...grant };
      continue;
    }
    if (change.object.kind !== 'table') throw fail(`columns of a ${change.object.kind}`);
    for (const column of change.columns) {
      const grant = {
        grantee: change.role,
        schema: change.object.schema,
        table: change.object.table,
        column,
      };
      const index = target.columnGrants.findIndex(
        (g) => sameColumnGrant(g, { ...grant, privilege: g.privilege }) && g.privilege === privilege,
      );
      const held = target.columnGrants[index];
      if (!held || held.grantable !== true) throw fail(`${privilege} (${column})`);
      target.columnGrants[index] = { ...grant, privilege: held.privilege };
    }
  }
}

function sameObjectGrant(a: ObjectGrant, b: ObjectGrant): boolean {
  return (
    a.grantee === b.grantee && a.privilege === b.privilege && objectKey(a.object) === objectKey(b.object)
  );
}

function sameColumnGrant(a: ColumnGrant, b: ColumnGrant): boolean {
  return (
    a.grantee === b.grantee &&
    a.schema === b.schema &&
    a.table === b.table &&
    a.column === b.column &&
    a.privilege === b.privilege
  );
}
