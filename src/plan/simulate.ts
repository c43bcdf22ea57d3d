/**
 * A model of what changes do to a catalog, used to check the planner: after
 * applying a plan, planning again must find nothing to do. It is strict, like
 * a real server: creating what exists, granting to a role that does not
 * exist, revoking what is not held or dropping a role that still holds
 * privileges throws, so a planner bug shows up as an error, not a silent fix.
 */
import { compareText } from '../util/compare.js';
import { attributeText } from './attributes.js';
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

/** One change's type, narrowed. */
type ChangeOf<T extends Change['type']> = Extract<Change, { type: T }>;

/** What a change can see and alter: its cluster, its target, and the role it names if it exists. */
interface Scope {
  readonly cluster: MutableCluster;
  readonly target: MutableTarget;
  /** Every target on the change's cluster: a role dropped there must hold nothing on any of them. */
  readonly clusterTargets: readonly MutableTarget[];
  readonly role: RoleState | undefined;
}

type Simulate<T extends Change['type']> = (change: ChangeOf<T>, scope: Scope) => void;

/** One simulation per change type; the mapped type keeps it exhaustive over the Change union. */
const SIMULATORS: { readonly [T in Change['type']]: Simulate<T> } = {
  'create-role': createRole,
  'create-login': createRole,
  'adopt-role': (change, scope) => {
    scope.cluster.roles.set(change.role, { ...needRole(change, scope), managedMarker: true });
  },
  'alter-role': alterRole,
  'set-password': (change, scope) => {
    if (!needRole(change, scope).canLogin)
      throw new SimulationError(`set-password: ${change.role} cannot log in`);
  },
  'grant-membership': grantMembership,
  'revoke-membership': revokeMembership,
  grant: grantObject,
  revoke: revokeObject,
  'revoke-grant-option': (change, { target }) => revokeGrantOption(change, target),
  'grant-columns': grantColumns,
  'revoke-columns': revokeColumns,
  'forget-role': (change, { role }) => {
    if (role) throw new SimulationError(`forget-role: role ${change.role} exists`);
  },
  'drop-login': dropRole,
  'drop-role': dropRole,
};

function applyOne(
  change: Change,
  clusters: Map<string, MutableCluster>,
  targets: Map<string, MutableTarget>,
): void {
  const target = targets.get(change.target);
  if (!target) throw new SimulationError(`no target ${change.target}`);
  const cluster = clusters.get(target.cluster) as MutableCluster;
  const clusterTargets = [...targets.values()].filter((t) => t.cluster === target.cluster);
  // Another app's role is never changed in any way: a plan that tries is a planner bug.
  // (Revoking a managed member's membership in another app's role changes only the member.)
  for (const name of touchedRoles(change)) {
    const otherApp = cluster.roles.get(name)?.otherApp;
    if (otherApp !== undefined)
      throw new SimulationError(`${change.type}: ${name} belongs to app ${otherApp}`);
  }
  const simulate = SIMULATORS[change.type] as Simulate<Change['type']>;
  simulate(change, { cluster, target, clusterTargets, role: cluster.roles.get(change.role) });
}

/** The role the change names, which must exist. */
function needRole(change: Change, { role }: Scope): RoleState {
  if (!role) throw new SimulationError(`${change.type}: role ${change.role} does not exist`);
  return role;
}

function createRole(change: ChangeOf<'create-role' | 'create-login'>, { cluster, role }: Scope): void {
  if (role) throw new SimulationError(`${change.type}: role ${change.role} exists`);
  cluster.roles.set(change.role, {
    name: change.role,
    canLogin: change.type === 'create-login',
    managedMarker: true,
    attributes: [],
  });
}

function alterRole(change: ChangeOf<'alter-role'>, scope: Scope): void {
  const current = needRole(change, scope);
  const cleared = new Set(change.clear.map(attributeText));
  const attributes = current.attributes.filter((a) => !cleared.has(attributeText(a)));
  scope.cluster.roles.set(change.role, {
    ...current,
    canLogin: change.canLogin ?? current.canLogin,
    attributes,
  });
}

function grantMembership(change: ChangeOf<'grant-membership'>, scope: Scope): void {
  const { cluster } = scope;
  needRole(change, scope);
  if (!cluster.roles.has(change.member)) throw new SimulationError(`member ${change.member} does not exist`);
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
}

function revokeMembership(change: ChangeOf<'revoke-membership'>, { cluster }: Scope): void {
  const before = cluster.memberships.length;
  cluster.memberships = cluster.memberships.filter(
    (m) => !(m.role === change.role && m.member === change.member),
  );
  if (cluster.memberships.length === before) throw new SimulationError('revoke-membership: not a member');
}

function grantObject(change: ChangeOf<'grant'>, scope: Scope): void {
  needRole(change, scope);
  for (const privilege of change.privileges) {
    const grant = { grantee: change.role, object: change.object, privilege };
    if (scope.target.grants.some((g) => sameObjectGrant(g, grant)))
      throw new SimulationError('grant: already held');
    scope.target.grants.push(grant);
  }
}

function revokeObject(change: ChangeOf<'revoke'>, { target }: Scope): void {
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
}

/** The column grants a grant-columns or revoke-columns change names, one per column. */
function columnGrantsOf(change: ChangeOf<'grant-columns' | 'revoke-columns'>): ColumnGrant[] {
  return change.columns.map((column) => ({
    grantee: change.role,
    schema: change.schema,
    table: change.table,
    column,
    privilege: change.privilege,
  }));
}

function grantColumns(change: ChangeOf<'grant-columns'>, scope: Scope): void {
  needRole(change, scope);
  for (const grant of columnGrantsOf(change)) {
    if (scope.target.columnGrants.some((g) => sameColumnGrant(g, grant)))
      throw new SimulationError('grant-columns: held');
    scope.target.columnGrants.push(grant);
  }
}

function revokeColumns(change: ChangeOf<'revoke-columns'>, { target }: Scope): void {
  for (const grant of columnGrantsOf(change)) {
    const index = target.columnGrants.findIndex((g) => sameColumnGrant(g, grant));
    if (index < 0) throw new SimulationError(`revoke-columns: ${change.role} does not hold ${grant.column}`);
    target.columnGrants.splice(index, 1);
  }
}

function dropRole(change: ChangeOf<'drop-login' | 'drop-role'>, scope: Scope): void {
  const { cluster } = scope;
  needRole(change, scope);
  const stillHolds = scope.clusterTargets.some(
    (t) =>
      t.grants.some((g) => g.grantee === change.role) ||
      t.columnGrants.some((g) => g.grantee === change.role),
  );
  if (stillHolds) throw new SimulationError(`${change.type}: ${change.role} still holds privileges`);
  cluster.roles.delete(change.role);
  cluster.memberships = cluster.memberships.filter((m) => m.role !== change.role && m.member !== change.role);
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
