/**
 * The planner: desired state x catalog snapshot -> ordered changes.
 *
 * Pure and deterministic: no I/O, no clock, no randomness; the same input
 * gives the same changes in the same order. Rules:
 * - Managed roles are `<app>_<component>` (login) and `<app>_<component>_role`
 *   (grants) for every component in the policies, plus roles that carry this
 *   app's marker and the `<app>_` prefix (components since removed).
 *   Every other role is never touched; above all one that carries another
 *   app's marker, whatever its prefix. A policy naming such a role is a
 *   collision: plan throws RoleCollisionError (callers check first).
 * - A managed role ends up with exactly the privileges its policy asks for:
 *   everything else it holds is revoked, including grant options,
 *   memberships in other roles and powers such as superuser.
 * - A component without databases gets no login; an existing one is dropped.
 * - Order is safe: strip powers and revoke first, create before grant, drop last.
 */
import { isGrantRoleName } from '../policy/names.js';
import { compareText, compareTuples } from '../util/compare.js';
import { attributeText, sortedAttributes } from './attributes.js';
import { compareObjects, comparePrivilegeNames, indexTables, objectKey } from './objects.js';
import { RoleCollisionError, roleCollisions } from './ownership.js';
import { policyGrants } from './policy-grants.js';
import type {
  AccountAttribute,
  AccountKind,
  Catalog,
  Change,
  ChangeType,
  ClusterCatalog,
  ColumnGrant,
  ColumnPrivilege,
  DesiredComponent,
  DesiredState,
  DesiredTarget,
  Membership,
  ObjectGrant,
  ObjectRef,
  PlanOptions,
  RoleState,
  TableInfo,
  TargetCatalog,
} from './types.js';
import { PUBLIC_GRANTEE } from './types.js';

/** The catalog does not describe a target the desired state names: a bug in the caller. */
export class PlanInputError extends Error {
  override readonly name = 'PlanInputError';
}

/** Execution order of change types; within a type, changes sort by target, role, object. */
const PHASES: readonly ChangeType[] = [
  'adopt-role',
  'alter-role',
  'revoke-grant-option',
  'revoke-columns',
  'revoke',
  'revoke-membership',
  'create-role',
  'create-login',
  'set-password',
  'grant-membership',
  'grant',
  'grant-columns',
  'drop-login',
  'drop-role',
  'forget-role',
];

interface ManagedName {
  readonly component: string;
  readonly canLogin: boolean;
  /** Decided here once, so no renderer has to guess it from the name again. */
  readonly kind: AccountKind;
}

export function plan(desired: DesiredState, catalog: Catalog, options: PlanOptions = {}): Change[] {
  const collisions = roleCollisions(desired, catalog);
  if (collisions.length > 0) throw new RoleCollisionError(collisions);
  const changes: Change[] = [];
  for (const [cluster, targets] of targetsByCluster(desired, catalog)) {
    const clusterCatalog = catalog.clusters[cluster];
    if (!clusterCatalog) throw new PlanInputError(`catalog has no cluster "${cluster}"`);
    append(changes, planCluster(desired, clusterCatalog, targets, catalog, options));
  }
  return changes.sort(compareChanges);
}

/** push(...items) passes every item as an argument: plans of 100,000+ changes overflow the stack. */
function append<T>(into: T[], items: readonly T[]): void {
  for (const item of items) into.push(item);
}

/** Targets grouped by the server that holds their roles; clusters and targets in name order. */
function targetsByCluster(desired: DesiredState, catalog: Catalog): Map<string, DesiredTarget[]> {
  const groups = new Map<string, DesiredTarget[]>();
  for (const target of [...desired.targets].sort((a, b) => compareText(a.name, b.name))) {
    const targetCatalog = catalog.targets[target.name];
    if (!targetCatalog) throw new PlanInputError(`catalog has no target "${target.name}"`);
    const group = groups.get(targetCatalog.cluster) ?? [];
    group.push(target);
    groups.set(targetCatalog.cluster, group);
  }
  return new Map([...groups].sort(([a], [b]) => compareText(a, b)));
}

function planCluster(
  desired: DesiredState,
  cluster: ClusterCatalog,
  targets: readonly DesiredTarget[],
  catalog: Catalog,
  options: PlanOptions,
): Change[] {
  const host = targets[0]?.name ?? '';
  const managed = managedNames(desired, cluster);
  const present = componentsOnCluster(desired, targets);
  const wanted = wantedRoles(present);
  const changes = planRoles(host, cluster, managed, wanted, options);
  append(changes, planStaleMarks(host, cluster, wanted, `${desired.app}_`));
  const dropped = droppedRoles(cluster, managed, wanted);
  append(changes, planMemberships(host, cluster, managed, present, dropped));
  for (const target of targets) {
    const targetCatalog = catalog.targets[target.name] as TargetCatalog;
    const components = desired.components.filter((c) => c.databases.some((db) => db.kind === target.kind));
    append(changes, planTargetGrants(target, targetCatalog, components, managed));
    if (desired.hardenPublic && targetCatalog.capabilities.publicHardening) {
      append(changes, planPublicHardening(target, targetCatalog));
    }
  }
  return changes;
}

/** What hardenPublic takes away from PUBLIC: the right to connect, make temp tables, and create in public. */
const PUBLIC_HARDENING: readonly { kind: ObjectRef['kind']; schema?: string; privileges: string[] }[] = [
  { kind: 'database', privileges: ['connect', 'temporary'] },
  { kind: 'schema', schema: 'public', privileges: ['create'] },
];

function planPublicHardening(target: DesiredTarget, catalog: TargetCatalog): Change[] {
  const held = catalog.grants.filter(
    (g) =>
      g.grantee === PUBLIC_GRANTEE &&
      PUBLIC_HARDENING.some(
        (h) =>
          h.kind === g.object.kind &&
          h.privileges.includes(g.privilege) &&
          (g.object.kind !== 'schema' || g.object.schema === h.schema),
      ),
  );
  return groupObjectGrants(held).map((group) => ({
    type: 'revoke',
    target: target.name,
    component: '',
    role: PUBLIC_GRANTEE,
    kind: 'role',
    object: group.object,
    privileges: group.privileges,
  }));
}

/**
 * Every name dbwarden manages on this cluster, with the component it belongs
 * to. A marked role counts only when the marker is this app's: app `cx` reads
 * app `cx_x`'s roles too (same prefix), and must leave them alone.
 */
function managedNames(desired: DesiredState, cluster: ClusterCatalog): Map<string, ManagedName> {
  const names = new Map<string, ManagedName>();
  for (const c of desired.components) {
    names.set(c.role, { component: c.component, canLogin: false, kind: 'role' });
    names.set(c.login, { component: c.component, canLogin: true, kind: 'login' });
  }
  const prefix = `${desired.app}_`;
  for (const role of cluster.roles) {
    if (names.has(role.name) || !role.managedMarker || role.otherApp !== undefined) continue;
    if (!role.name.startsWith(prefix)) continue;
    names.set(role.name, {
      component: componentOf(role.name, prefix),
      canLogin: role.canLogin,
      kind: kindOf(role.name),
    });
  }
  return names;
}

/** `nova_old_role` -> `old`: names removed components in output. */
function componentOf(roleName: string, prefix: string): string {
  return roleName.slice(prefix.length).replace(/_role$/, '');
}

/** A name no policy names any more is a grant role or a login by dbwarden's naming rule. */
function kindOf(roleName: string): AccountKind {
  return isGrantRoleName(roleName) ? 'role' : 'login';
}

/** The components that use any target of this cluster: they need a role and a login on it. */
function componentsOnCluster(desired: DesiredState, targets: readonly DesiredTarget[]): DesiredComponent[] {
  const kinds = new Set(targets.map((t) => t.kind));
  return desired.components.filter((c) => c.databases.some((db) => kinds.has(db.kind)));
}

function wantedRoles(present: readonly DesiredComponent[]): Map<string, ManagedName> {
  return new Map(
    present.flatMap((c): [string, ManagedName][] => [
      [c.role, { component: c.component, canLogin: false, kind: 'role' }],
      [c.login, { component: c.component, canLogin: true, kind: 'login' }],
    ]),
  );
}

function planRoles(
  host: string,
  cluster: ClusterCatalog,
  managed: ReadonlyMap<string, ManagedName>,
  wanted: ReadonlyMap<string, ManagedName>,
  options: PlanOptions,
): Change[] {
  const changes: Change[] = [];
  const existing = new Map(cluster.roles.map((r) => [r.name, r]));
  const rotate = new Set(options.rotatePasswords ?? []);
  for (const [role, want] of wanted) {
    const base = { target: host, component: want.component, role, kind: want.kind };
    const current = existing.get(role);
    if (!current) {
      changes.push({ ...base, type: want.canLogin ? 'create-login' : 'create-role' });
      continue;
    }
    if (!current.managedMarker) changes.push({ ...base, type: 'adopt-role' });
    const alter = alterRole(current, want.canLogin);
    if (alter) changes.push({ ...base, ...alter });
    if (want.canLogin && rotate.has(want.component)) changes.push({ ...base, type: 'set-password' });
  }
  for (const [role, name] of managed) {
    const current = existing.get(role);
    if (wanted.has(role) || !current) continue;
    const base = { target: host, component: name.component, role, kind: name.kind };
    if (current.managedMarker) {
      changes.push({ ...base, type: current.canLogin ? 'drop-login' : 'drop-role' });
      continue;
    }
    // Only roles dbwarden made (or adopted) are dropped; one it never marked is only disarmed.
    const alter = alterRole(current, false);
    if (alter) changes.push({ ...base, ...alter });
  }
  return changes;
}

/** Marks of this app's roles that are gone and not wanted again (a wanted one is marked anew when created). */
function planStaleMarks(
  host: string,
  cluster: ClusterCatalog,
  wanted: ReadonlyMap<string, ManagedName>,
  prefix: string,
): Change[] {
  return (cluster.staleMarks ?? [])
    .filter((name) => name.startsWith(prefix) && !wanted.has(name))
    .map((role) => ({
      type: 'forget-role',
      target: host,
      component: componentOf(role, prefix),
      role,
      kind: kindOf(role),
    }));
}

/** What makes a role's login flag and powers what dbwarden wants; undefined when they already are. */
function alterRole(
  current: RoleState,
  canLogin: boolean,
):
  | { type: 'alter-role'; canLogin?: boolean; clear: AccountAttribute[]; clearAttributes: string[] }
  | undefined {
  if (current.canLogin === canLogin && current.attributes.length === 0) return undefined;
  const clear = sortedAttributes(current.attributes);
  return {
    type: 'alter-role',
    ...(current.canLogin === canLogin ? {} : { canLogin }),
    clear,
    clearAttributes: clear.map(attributeText),
  };
}

/** Managed roles this plan drops: the marked ones no component wants any more. */
function droppedRoles(
  cluster: ClusterCatalog,
  managed: ReadonlyMap<string, ManagedName>,
  wanted: ReadonlyMap<string, ManagedName>,
): Set<string> {
  return new Set(
    cluster.roles
      .filter((r) => managed.has(r.name) && !wanted.has(r.name) && r.managedMarker)
      .map((r) => r.name),
  );
}

/**
 * Each login is a member of its grant role and of nothing else. Memberships of
 * unmanaged roles in managed ones are left alone (they are someone else's
 * decision), unless the managed role is dropped, which ends them anyway.
 */
function planMemberships(
  host: string,
  cluster: ClusterCatalog,
  managed: ReadonlyMap<string, ManagedName>,
  present: readonly DesiredComponent[],
  dropped: ReadonlySet<string>,
): Change[] {
  const changes: Change[] = [];
  const wantedMemberships = new Map(
    present.map((c) => [membershipKey({ role: c.role, member: c.login }), c] as const),
  );
  // A membership that does not pass on privileges (PostgreSQL 16: WITH INHERIT FALSE) is granted again.
  const existing = new Set(cluster.memberships.filter((m) => m.inherits !== false).map(membershipKey));
  for (const m of cluster.memberships) {
    const member = managed.get(m.member);
    if (!member || wantedMemberships.has(membershipKey(m)) || dropped.has(m.member) || dropped.has(m.role))
      continue;
    changes.push({
      type: 'revoke-membership',
      target: host,
      component: member.component,
      // The granted side of a membership is a role, whatever its name.
      kind: 'role',
      memberKind: member.kind,
      // Only the names: the membership's own details (inherits) are not part of a revoke.
      role: m.role,
      member: m.member,
    });
  }
  for (const [key, c] of wantedMemberships) {
    if (existing.has(key)) continue;
    changes.push({
      type: 'grant-membership',
      target: host,
      component: c.component,
      role: c.role,
      kind: 'role',
      member: c.login,
      memberKind: 'login',
    });
  }
  return changes;
}

function membershipKey(m: Membership): string {
  return `${m.role}\u0000${m.member}`;
}

/** What the components using this target want there, as object and column grants. */
interface WantedGrants {
  readonly objects: ObjectGrant[];
  readonly columns: ColumnGrant[];
}

/** The policy's grants (policy-grants.ts, shared with verify) in catalog form, for the component's role. */
function wantedGrants(
  component: DesiredComponent,
  target: DesiredTarget,
  catalog: TargetCatalog,
  tables: ReadonlyMap<string, TableInfo>,
): WantedGrants {
  const wanted: WantedGrants = { objects: [], columns: [] };
  const grantee = component.role;
  for (const { object, privilege, columns } of policyGrants(component, target, catalog, tables)) {
    if (columns === 'all') {
      wanted.objects.push({ grantee, object, privilege });
    } else if (object.kind === 'table') {
      // Validation allows columns only for select, insert and update.
      const { schema, table } = object;
      const columnPrivilege = privilege as ColumnPrivilege;
      for (const column of columns) {
        wanted.columns.push({ grantee, schema, table, column, privilege: columnPrivilege });
      }
    }
  }
  return wanted;
}

/** Every grant the components want on this target, by key. */
function wantedOnTarget(
  target: DesiredTarget,
  catalog: TargetCatalog,
  components: readonly DesiredComponent[],
): { wantedObjects: Map<string, ObjectGrant>; wantedColumns: Map<string, ColumnGrant> } {
  const wantedObjects = new Map<string, ObjectGrant>();
  const wantedColumns = new Map<string, ColumnGrant>();
  const tables = indexTables(catalog.tables);
  for (const component of components) {
    const wanted = wantedGrants(component, target, catalog, tables);
    for (const g of wanted.objects) wantedObjects.set(objectGrantKey(g), g);
    for (const g of wanted.columns) wantedColumns.set(columnGrantKey(g), g);
  }
  return { wantedObjects, wantedColumns };
}

/** What every grant-side change of one grantee shares. */
interface GrantBase {
  readonly target: string;
  readonly role: string;
  readonly kind: AccountKind;
  readonly component: string;
}

function planTargetGrants(
  target: DesiredTarget,
  catalog: TargetCatalog,
  components: readonly DesiredComponent[],
  managed: ReadonlyMap<string, ManagedName>,
): Change[] {
  const { wantedObjects, wantedColumns } = wantedOnTarget(target, catalog, components);
  const heldObjects = catalog.grants.filter((g) => managed.has(g.grantee));
  const heldColumns = catalog.columnGrants.filter((g) => managed.has(g.grantee));
  const revokedObjects = heldObjects.filter((g) => !wantedObjects.has(objectGrantKey(g)));
  // PostgreSQL: revoking a table privilege also ends that privilege on every column.
  const clearedByRevoke = new Set(
    catalog.capabilities.tableRevokeClearsColumns
      ? revokedObjects.filter((g) => g.object.kind === 'table').map(tablePrivilegeKeyOfObject)
      : [],
  );
  const survivingColumns = heldColumns.filter((g) => !clearedByRevoke.has(tablePrivilegeKeyOfColumn(g)));
  const heldObjectKeys = new Set(heldObjects.map(objectGrantKey));
  const survivingColumnKeys = new Set(survivingColumns.map(columnGrantKey));

  const base = (grantee: string): GrantBase => ({
    target: target.name,
    role: grantee,
    // Grantees are managed names (or PUBLIC, a role).
    kind: managed.get(grantee)?.kind ?? 'role',
    component: managed.get(grantee)?.component ?? grantee,
  });
  const changes: Change[] = [];
  for (const group of groupObjectGrants(revokedObjects)) {
    changes.push({
      ...base(group.grantee),
      type: 'revoke',
      object: group.object,
      privileges: group.privileges,
    });
  }
  append(changes, planGrantOptions({ objects: heldObjects, columns: heldColumns, base }));
  const revokedColumns = survivingColumns.filter((g) => !wantedColumns.has(columnGrantKey(g)));
  for (const group of groupColumnGrants(revokedColumns)) {
    changes.push({ ...base(group.grantee), type: 'revoke-columns', ...group.table, columns: group.columns });
  }
  const grantedObjects = [...wantedObjects.values()].filter((g) => !heldObjectKeys.has(objectGrantKey(g)));
  for (const group of groupObjectGrants(grantedObjects)) {
    changes.push({
      ...base(group.grantee),
      type: 'grant',
      object: group.object,
      privileges: group.privileges,
    });
  }
  const grantedColumns = [...wantedColumns.values()].filter(
    (g) => !survivingColumnKeys.has(columnGrantKey(g)),
  );
  for (const group of groupColumnGrants(grantedColumns)) {
    changes.push({ ...base(group.grantee), type: 'grant-columns', ...group.table, columns: group.columns });
  }
  return changes;
}

/**
 * Every grant option a managed role holds. On a privilege it keeps, the
 * privilege stays and the right to pass it on goes. On one it loses, the
 * option goes first: PostgreSQL's CASCADE there also ends what the role
 * passed on, which would otherwise make the plain REVOKE fail.
 */
function planGrantOptions(held: {
  objects: readonly ObjectGrant[];
  columns: readonly ColumnGrant[];
  base: (grantee: string) => GrantBase;
}): Change[] {
  const changes: Change[] = [];
  for (const group of groupObjectGrants(held.objects.filter((g) => g.grantable === true))) {
    changes.push({
      ...held.base(group.grantee),
      type: 'revoke-grant-option',
      object: group.object,
      privileges: group.privileges,
    });
  }
  for (const group of groupColumnGrants(held.columns.filter((g) => g.grantable === true))) {
    const { schema, table, privilege } = group.table;
    changes.push({
      ...held.base(group.grantee),
      type: 'revoke-grant-option',
      object: { kind: 'table', schema, table },
      privileges: [privilege],
      columns: group.columns,
    });
  }
  return changes;
}

function objectGrantKey(g: ObjectGrant): string {
  return `${g.grantee}\u0000${objectKey(g.object)}\u0000${g.privilege}`;
}

function columnGrantKey(g: ColumnGrant): string {
  return `${g.grantee}\u0000${g.schema}\u0000${g.table}\u0000${g.column}\u0000${g.privilege}`;
}

function tablePrivilegeKeyOfObject(g: ObjectGrant): string {
  return g.object.kind === 'table'
    ? `${g.grantee}\u0000${g.object.schema}\u0000${g.object.table}\u0000${g.privilege}`
    : '';
}

function tablePrivilegeKeyOfColumn(g: ColumnGrant): string {
  return `${g.grantee}\u0000${g.schema}\u0000${g.table}\u0000${g.privilege}`;
}

/** One change per (grantee, object), privileges in SQL order. */
function groupObjectGrants(grants: readonly ObjectGrant[]) {
  const groups = new Map<string, { grantee: string; object: ObjectRef; privileges: string[] }>();
  for (const g of grants) {
    const key = `${g.grantee}\u0000${objectKey(g.object)}`;
    const group = groups.get(key) ?? { grantee: g.grantee, object: g.object, privileges: [] };
    group.privileges.push(g.privilege);
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => ({
    ...g,
    privileges: [...new Set(g.privileges)].sort(comparePrivilegeNames),
  }));
}

/** One change per (grantee, table, privilege), columns sorted. */
function groupColumnGrants(grants: readonly ColumnGrant[]) {
  const groups = new Map<
    string,
    {
      grantee: string;
      table: { schema: string; table: string; privilege: ColumnPrivilege };
      columns: string[];
    }
  >();
  for (const g of grants) {
    const key = tablePrivilegeKeyOfColumn(g);
    const group = groups.get(key) ?? {
      grantee: g.grantee,
      table: { schema: g.schema, table: g.table, privilege: g.privilege },
      columns: [],
    };
    group.columns.push(g.column);
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => ({ ...g, columns: [...new Set(g.columns)].sort(compareText) }));
}

function compareChanges(a: Change, b: Change): number {
  return (
    PHASES.indexOf(a.type) - PHASES.indexOf(b.type) ||
    compareTuples([a.target, a.role], [b.target, b.role]) ||
    compareDetail(a, b)
  );
}

function compareDetail(a: Change, b: Change): number {
  if ((a.type === 'grant' || a.type === 'revoke') && (b.type === 'grant' || b.type === 'revoke')) {
    return compareObjects(a.object, b.object);
  }
  if (a.type === 'revoke-grant-option' && b.type === 'revoke-grant-option') {
    // Object-level first, then column-level per privilege.
    return (
      compareObjects(a.object, b.object) ||
      Number(a.columns !== undefined) - Number(b.columns !== undefined) ||
      comparePrivilegeNames(a.privileges[0] ?? '', b.privileges[0] ?? '')
    );
  }
  if ((a.type === 'grant-columns' || a.type === 'revoke-columns') && a.type === b.type) {
    return (
      compareTuples([a.schema, a.table], [b.schema, b.table]) ||
      comparePrivilegeNames(a.privilege, b.privilege)
    );
  }
  if ((a.type === 'grant-membership' || a.type === 'revoke-membership') && a.type === b.type) {
    return compareText(a.member, b.member);
  }
  return 0;
}
