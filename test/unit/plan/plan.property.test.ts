/**
 * Property tests: for random policies and random starting catalogs, applying
 * the plan (in the strict catalog model) and planning again finds nothing to
 * do, verify accepts what the plan converges to, and roles dbwarden does not
 * manage come out exactly as they went in.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectedPrivileges, privilegeDifferences, schemasOf } from '../../../src/plan/expected.js';
import { applyChanges } from '../../../src/internal.js';
import { plan, PUBLIC_GRANTEE, RoleCollisionError, roleCollisions } from '../../../src/plan/index.js';
import type {
  Catalog,
  ClusterCatalog,
  DesiredComponent,
  DesiredState,
  EffectivePrivilege,
  GrantCapabilities,
  ObjectGrant,
  RolePower,
  RoleState,
  TargetCatalog,
} from '../../../src/plan/types.js';
import {
  type DatabaseAccess,
  DEFAULT_ACCOUNT_OPTIONS,
  type TableAccess,
  type Verb,
} from '../../../src/policy/model.js';
import { component, POSTGRES_CAPABILITIES, TABLES_ONLY } from './builders.js';

const TABLES = ['t1', 't2', 't3'];
const COLUMNS = ['a', 'b', 'c'];
const VERBS: Verb[] = ['select', 'insert', 'update', 'delete'];
const COMPONENTS = ['api', 'conductor', 'scheduler', 'compute'];
const TARGETS = [
  { name: 'ta', kind: 'api' },
  { name: 'tm1', kind: 'main' },
  { name: 'tm2', kind: 'main' },
];
/** Managed names (current components and a removed one) mixed with roles dbwarden must leave alone. */
const ROLE_POOL = [
  ...COMPONENTS.flatMap((c) => [`nova_${c}`, `nova_${c}_role`]),
  'nova_old',
  'nova_old_role',
  // App nova_x shares the nova_ prefix: its marked roles are never nova's.
  'nova_x_api',
  'nova_x_api_role',
  'nova',
  'nova_admin',
  'alice',
  'pg_read_all_data',
];
const PRIVILEGES = ['select', 'insert', 'update', 'delete', 'truncate', 'usage', 'connect'];

const columnsArb = fc.uniqueArray(fc.constantFrom(...COLUMNS), { minLength: 1, maxLength: 3 });

const tableAccessArb = (table: string): fc.Arbitrary<TableAccess> =>
  fc.oneof(
    fc
      .uniqueArray(fc.constantFrom(...VERBS), { minLength: 1, maxLength: 4 })
      .map((verbs) => ({ table, grants: verbs.map((verb) => ({ verb, columns: 'all' as const })) })),
    fc
      .record(
        {
          select: fc.oneof(fc.constant('all' as const), columnsArb),
          insert: fc.oneof(fc.constant('all' as const), columnsArb),
          update: fc.oneof(fc.constant('all' as const), columnsArb),
          delete: fc.constant('all' as const),
        },
        { requiredKeys: ['select'] },
      )
      .map((form) => ({
        table,
        grants: VERBS.filter((v) => form[v] !== undefined).map((verb) => ({
          verb,
          columns: form[verb] ?? 'all',
        })),
      })),
  );

const databaseArb = (kind: string): fc.Arbitrary<DatabaseAccess> =>
  fc
    .uniqueArray(fc.constantFrom(...TABLES), { minLength: 1, maxLength: 3 })
    .chain((tables) => fc.tuple(...tables.map(tableAccessArb)))
    .chain((tables) => fc.constantFrom(undefined, 'public').map((schema) => ({ kind, schema, tables })));

const desiredArb: fc.Arbitrary<DesiredState> = fc
  .uniqueArray(fc.constantFrom(...COMPONENTS), { maxLength: 4 })
  .chain((names) =>
    fc.tuple(
      ...names.map((name) =>
        fc
          .record({ api: fc.option(databaseArb('api')), main: fc.option(databaseArb('main')) })
          .map(({ api, main }) =>
            component(
              name,
              [api, main].filter((d): d is DatabaseAccess => d !== null),
            ),
          ),
      ),
    ),
  )
  .chain((components) =>
    fc.boolean().map((hardenPublic) => ({
      app: 'nova',
      components,
      targets: TARGETS,
      hardenPublic,
      accounts: DEFAULT_ACCOUNT_OPTIONS,
    })),
  );

/** What PUBLIC may hold on a fresh PostgreSQL database (CREATE on public before version 15). */
const publicGrantsArb = fc.subarray([
  { grantee: PUBLIC_GRANTEE, object: { kind: 'database' as const }, privilege: 'connect' },
  { grantee: PUBLIC_GRANTEE, object: { kind: 'database' as const }, privilege: 'temporary' },
  { grantee: PUBLIC_GRANTEE, object: { kind: 'schema' as const, schema: 'public' }, privilege: 'usage' },
  { grantee: PUBLIC_GRANTEE, object: { kind: 'schema' as const, schema: 'public' }, privilege: 'create' },
]);

const COMPONENT_NAMES = new Set(COMPONENTS.flatMap((c) => [`nova_${c}`, `nova_${c}_role`]));

/**
 * Roles with no marker, nova's, or app nova_x's. `collisions`: nova_x's marker
 * may sit on a name nova's policies use (plan must then refuse); otherwise
 * only on names they do not use.
 */
const clusterArbOf = (collisions: boolean): fc.Arbitrary<ClusterCatalog> =>
  fc
    .uniqueArray(
      fc.record({
        name: fc.constantFrom(...ROLE_POOL),
        canLogin: fc.boolean(),
        marker: fc.constantFrom('none', 'nova', 'nova_x'),
        attributes: fc.subarray<RolePower>(['createrole', 'superuser']),
      }),
      { selector: (r) => r.name, maxLength: ROLE_POOL.length },
    )
    .map((roles) =>
      roles.map(({ marker, ...r }): RoleState => {
        const other = marker === 'nova_x' && (collisions || !COMPONENT_NAMES.has(r.name));
        const attributes = r.attributes.map((attribute) => ({ attribute }));
        return {
          ...r,
          attributes,
          managedMarker: marker === 'nova',
          ...(other ? { otherApp: 'nova_x' } : {}),
        };
      }),
    )
    .chain((roles) => membershipsOf(roles));

function membershipsOf(roles: RoleState[]): fc.Arbitrary<ClusterCatalog> {
  const names = roles.map((r) => r.name);
  const memberships =
    names.length < 2
      ? fc.constant([])
      : fc.uniqueArray(
          fc
            .tuple(fc.constantFrom(...names), fc.constantFrom(...names), fc.boolean())
            .filter(([role, member]) => role !== member)
            // Some memberships do not pass on privileges (PostgreSQL 16: WITH INHERIT FALSE).
            .map(([role, member, inherits]) => (inherits ? { role, member } : { role, member, inherits })),
          { selector: (m) => `${m.role}>${m.member}`, maxLength: 8 },
        );
  return memberships.map((ms) => ({ roles, memberships: ms }));
}

const clusterArb = clusterArbOf(false);

const objectArb = fc.oneof(
  fc.constant({ kind: 'database' as const }),
  fc.constant({ kind: 'schema' as const, schema: 'public' }),
  fc.constantFrom(...TABLES).map((table) => ({ kind: 'table' as const, schema: 'public', table })),
  fc.constant({ kind: 'sequence' as const, schema: 'public', sequence: 't1_id_seq' }),
);

const targetArb = (
  cluster: string,
  grantees: string[],
  capabilities: GrantCapabilities,
): fc.Arbitrary<TargetCatalog> =>
  fc
    .record({
      publicGrants: publicGrantsArb,
      grants: grantees.length
        ? fc.uniqueArray(
            fc.record({
              grantee: fc.constantFrom(...grantees),
              object: objectArb,
              privilege: fc.constantFrom(...PRIVILEGES),
              // Held WITH GRANT OPTION (PostgreSQL reports it per privilege).
              grantable: fc.boolean(),
            }),
            // One entry per grant, as the dialects report it (grantable or not).
            { selector: (g) => JSON.stringify({ ...g, grantable: undefined }), maxLength: 12 },
          )
        : fc.constant([]),
      columnGrants: grantees.length
        ? fc.uniqueArray(
            fc.record({
              grantee: fc.constantFrom(...grantees),
              schema: fc.constant('public'),
              table: fc.constantFrom(...TABLES),
              column: fc.constantFrom(...COLUMNS),
              privilege: fc.constantFrom('select' as const, 'insert' as const, 'update' as const),
              grantable: fc.boolean(),
            }),
            // One entry per grant, as the dialects report it (grantable or not).
            { selector: (g) => JSON.stringify({ ...g, grantable: undefined }), maxLength: 12 },
          )
        : fc.constant([]),
    })
    .map(({ publicGrants, grants, columnGrants }) => ({
      cluster,
      defaultSchema: 'public',
      capabilities,
      tables: TABLES.map((table) => ({
        schema: 'public',
        table,
        columns: COLUMNS,
        ownedSequences: table === 't1' ? ['t1_id_seq'] : [],
      })),
      grants: [...publicGrants, ...grants],
      columnGrants,
    }));

/** One server for everything, or the API database on its own server. */
const catalogArbOf = (clusters: fc.Arbitrary<ClusterCatalog>): fc.Arbitrary<Catalog> =>
  fc
    .record({
      split: fc.boolean(),
      capabilities: fc.constantFrom(POSTGRES_CAPABILITIES, TABLES_ONLY),
      c1: clusters,
      c2: clusters,
    })
    .chain(({ split, capabilities, c1, c2 }) => {
      const clusterOf = (t: string) => (split && t === 'ta' ? 'c2' : 'c1');
      const clusters: Record<string, ClusterCatalog> = split ? { c1, c2 } : { c1 };
      const granteesOf = (t: string) => (clusters[clusterOf(t)]?.roles ?? []).map((r) => r.name);
      return fc
        .tuple(...TARGETS.map((t) => targetArb(clusterOf(t.name), granteesOf(t.name), capabilities)))
        .map((targets) => ({
          clusters,
          targets: Object.fromEntries(TARGETS.map((t, i) => [t.name, targets[i] as TargetCatalog])),
        }));
    });

const catalogArb = catalogArbOf(clusterArb);

function isManaged(name: string, cluster: ClusterCatalog): boolean {
  const role = cluster.roles.find((r) => r.name === name);
  if (role?.otherApp !== undefined) return false;
  if (COMPONENTS.some((c) => name === `nova_${c}` || name === `nova_${c}_role`)) return true;
  return name.startsWith('nova_') && (role?.managedMarker ?? false);
}

/** The privileges PostgreSQL's has_*_privilege checks, per kind of object (verify asks for these). */
const EFFECTIVE_KINDS: Record<string, readonly string[]> = {
  table: ['select', 'insert', 'update', 'delete', 'truncate', 'references', 'trigger'],
  sequence: ['usage', 'select', 'update'],
  schema: ['usage', 'create'],
};

/** The login and every role it inherits privileges from, through memberships. */
function inheritedRoles(login: string, cluster: ClusterCatalog): Set<string> {
  const roles = new Set([login]);
  for (let grew = true; grew;) {
    grew = false;
    for (const m of cluster.memberships) {
      if (m.inherits === false || !roles.has(m.member) || roles.has(m.role)) continue;
      roles.add(m.role);
      grew = true;
    }
  }
  return roles;
}

/**
 * What the component's login could do on a simulated target, as verify's
 * query would report it: the grants and column grants of every role it
 * inherits, a grant option as its own privilege. PUBLIC's grants are left
 * out: they are the server's, not the plan's (hardenPublic has its own property).
 */
function simulatedEffective(
  c: DesiredComponent,
  target: { name: string; kind: string },
  catalog: Catalog,
): EffectivePrivilege[] {
  const targetCatalog = catalog.targets[target.name] as TargetCatalog;
  const roles = inheritedRoles(c.login, catalog.clusters[targetCatalog.cluster] as ClusterCatalog);
  const schemas = schemasOf(c, target, targetCatalog.defaultSchema);
  const withOption = (privilege: string, grantable: boolean | undefined) =>
    grantable ? [privilege, `${privilege} with grant option`] : [privilege];
  const objects = targetCatalog.grants.flatMap(({ grantee, object, privilege, grantable }) => {
    if (!roles.has(grantee) || object.kind === 'database' || !schemas.includes(object.schema)) return [];
    if (!EFFECTIVE_KINDS[object.kind]?.includes(privilege)) return [];
    const name =
      object.kind === 'schema' ? object.schema : object.kind === 'table' ? object.table : object.sequence;
    return withOption(privilege, grantable).map((p): EffectivePrivilege => ({
      kind: object.kind,
      schema: object.schema,
      name,
      privilege: p,
      columns: 'all',
    }));
  });
  const columns = targetCatalog.columnGrants
    .filter((g) => roles.has(g.grantee) && schemas.includes(g.schema))
    .flatMap((g) =>
      withOption(g.privilege, g.grantable).map((p): EffectivePrivilege => ({
        kind: 'table',
        schema: g.schema,
        name: g.table,
        privilege: p,
        columns: [g.column],
      })),
    );
  return [...objects, ...columns];
}

describe('plan properties', () => {
  it('verify accepts whatever the plan converges to', () => {
    let compared = 0;
    fc.assert(
      fc.property(desiredArb, catalogArb, (desired, before) => {
        const after = applyChanges(before, plan(desired, before));
        for (const target of desired.targets) {
          const targetCatalog = after.targets[target.name] as TargetCatalog;
          for (const c of desired.components.filter((d) =>
            d.databases.some((db) => db.kind === target.kind),
          )) {
            const expected = expectedPrivileges(c, target, targetCatalog);
            compared += expected.length;
            expect(privilegeDifferences(expected, simulatedEffective(c, target, after))).toEqual([]);
          }
        }
      }),
      { numRuns: 500 },
    );
    // Not vacuous: the runs compared real expectations.
    expect(compared).toBeGreaterThan(0);
  });

  it('applying the plan and planning again yields zero changes', () => {
    fc.assert(
      fc.property(desiredArb, catalogArb, (desired, before) => {
        const after = applyChanges(before, plan(desired, before));
        expect(plan(desired, after)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('never changes a role it does not manage', () => {
    fc.assert(
      fc.property(desiredArb, catalogArb, (desired, before) => {
        const after = applyChanges(before, plan(desired, before));
        for (const [name, cluster] of Object.entries(before.clusters)) {
          const unmanaged = cluster.roles.filter((r) => !isManaged(r.name, cluster));
          const afterCluster = after.clusters[name] as ClusterCatalog;
          const byName = (roles: readonly { name: string }[]) =>
            [...roles].sort((a, b) => a.name.localeCompare(b.name));
          const survivors = afterCluster.roles.filter((r) => unmanaged.some((u) => u.name === r.name));
          expect(byName(survivors)).toEqual(byName(unmanaged));
          // Memberships among unmanaged roles survive untouched.
          const among = (c: ClusterCatalog) =>
            c.memberships.filter((m) => !isManaged(m.role, cluster) && !isManaged(m.member, cluster));
          expect(among(afterCluster)).toEqual(among(cluster));
        }
        for (const [name, target] of Object.entries(before.targets)) {
          const cluster = before.clusters[target.cluster] as ClusterCatalog;
          const keep = (g: { grantee: string }) =>
            !isManaged(g.grantee, cluster) && g.grantee !== PUBLIC_GRANTEE;
          const afterTarget = after.targets[name] as TargetCatalog;
          expect(afterTarget.grants.filter(keep)).toEqual(target.grants.filter(keep));
          // PUBLIC loses exactly what hardenPublic takes away, and only when asked.
          const publicGrants = (grants: readonly ObjectGrant[]) =>
            grants.filter((g) => g.grantee === PUBLIC_GRANTEE).map((g) => `${g.object.kind}:${g.privilege}`);
          const hardened = ['database:connect', 'database:temporary', 'schema:create'];
          const harden = desired.hardenPublic && target.capabilities.publicHardening;
          expect(publicGrants(afterTarget.grants)).toEqual(
            publicGrants(target.grants).filter((g) => !harden || !hardened.includes(g)),
          );
          expect(afterTarget.columnGrants.filter(keep)).toEqual(target.columnGrants.filter(keep));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses exactly the plans whose policies name a role another app marked', () => {
    fc.assert(
      fc.property(desiredArb, catalogArbOf(clusterArbOf(true)), (desired, before) => {
        const collisions = roleCollisions(desired, before);
        const claimed = Object.values(before.clusters).flatMap((c) =>
          c.roles.filter((r) => r.otherApp !== undefined).map((r) => r.name),
        );
        const wanted = desired.components.flatMap((c) => [c.login, c.role]);
        expect(collisions.length > 0).toBe(wanted.some((n) => claimed.includes(n)));
        if (collisions.length > 0) expect(() => plan(desired, before)).toThrow(RoleCollisionError);
        else expect(plan(desired, applyChanges(before, plan(desired, before)))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic: the same input, in any array order, gives the same changes', () => {
    fc.assert(
      fc.property(desiredArb, catalogArb, (desired, snapshot) => {
        const reversed: Catalog = {
          clusters: Object.fromEntries(
            Object.entries(snapshot.clusters).map(([n, c]) => [
              n,
              { roles: [...c.roles].reverse(), memberships: [...c.memberships].reverse() },
            ]),
          ),
          targets: Object.fromEntries(
            Object.entries(snapshot.targets)
              .reverse()
              .map(([n, t]) => [
                n,
                { ...t, grants: [...t.grants].reverse(), columnGrants: [...t.columnGrants].reverse() },
              ]),
          ),
        };
        const shuffledDesired = { ...desired, components: [...desired.components].reverse() };
        expect(plan(shuffledDesired, reversed)).toEqual(plan(desired, snapshot));
      }),
      { numRuns: 300 },
    );
  });
});
