import { describe, expect, it } from 'vitest';
import { applyChanges } from '../../../src/internal.js';
import { missingObjects, plan } from '../../../src/plan/index.js';
import type { Change } from '../../../src/plan/types.js';
import {
  catalog,
  component,
  db,
  desired,
  emptyCluster,
  POSTGRES_CAPABILITIES,
  role,
  table,
  tableInfo,
  targetCatalog,
} from './builders.js';

const scheduler = component('scheduler', [
  db('main', [
    table('services', ['select', 'insert', 'update']),
    table('instances', { select: ['uuid', 'host'] }),
  ]),
]);

describe('plan on an empty catalog', () => {
  it('creates role, login, membership and every grant, in a safe order', () => {
    expect(plan(desired([scheduler]), catalog())).toEqual<Change[]>([
      {
        type: 'create-role',
        target: 'db1',
        component: 'scheduler',
        role: 'nova_scheduler_role',
        kind: 'role',
      },
      { type: 'create-login', target: 'db1', component: 'scheduler', role: 'nova_scheduler', kind: 'login' },
      {
        type: 'grant-membership',
        target: 'db1',
        component: 'scheduler',
        role: 'nova_scheduler_role',
        kind: 'role',
        member: 'nova_scheduler',
        memberKind: 'login',
      },
      {
        type: 'grant',
        target: 'db1',
        component: 'scheduler',
        role: 'nova_scheduler_role',
        kind: 'role',
        object: { kind: 'table', schema: 'public', table: 'services' },
        privileges: ['select', 'insert', 'update'],
      },
      {
        type: 'grant-columns',
        target: 'db1',
        component: 'scheduler',
        role: 'nova_scheduler_role',
        kind: 'role',
        schema: 'public',
        table: 'instances',
        privilege: 'select',
        columns: ['host', 'uuid'],
      },
    ]);
  });

  it('adds CONNECT, schema USAGE and owned-sequence USAGE where the engine has them', () => {
    const api = component('api', [
      db('main', [table('key_pairs', ['select', 'insert']), table('flavors', ['select'])]),
    ]);
    const snapshot = catalog({
      db1: targetCatalog({
        capabilities: POSTGRES_CAPABILITIES,
        tables: [
          tableInfo('key_pairs', ['id'], ['key_pairs_id_seq']),
          tableInfo('flavors', ['id'], ['flavors_id_seq']),
        ],
      }),
    });
    const grants = plan(desired([api]), snapshot).filter((c) => c.type === 'grant');
    expect(grants.map((c) => c.type === 'grant' && [c.object, c.privileges])).toEqual([
      [{ kind: 'database' }, ['connect']],
      [{ kind: 'schema', schema: 'public' }, ['usage']],
      [{ kind: 'table', schema: 'public', table: 'flavors' }, ['select']],
      [{ kind: 'table', schema: 'public', table: 'key_pairs' }, ['select', 'insert']],
      // flavors is only read, so its sequence is not granted.
      [{ kind: 'sequence', schema: 'public', sequence: 'key_pairs_id_seq' }, ['usage']],
    ]);
  });

  it('uses the policy schema when one is given', () => {
    const c = component('api', [db('main', [table('t', ['select'])], 'nova')]);
    const [grant] = plan(desired([c]), catalog()).filter((ch) => ch.type === 'grant');
    expect(grant).toMatchObject({ object: { kind: 'table', schema: 'nova', table: 't' } });
  });
});

describe('plan against an existing catalog', () => {
  it('finds nothing to do once the plan is applied', () => {
    const before = catalog({ db1: targetCatalog({ capabilities: POSTGRES_CAPABILITIES }) });
    const changes = plan(desired([scheduler]), before);
    expect(changes.length).toBeGreaterThan(0);
    expect(plan(desired([scheduler]), applyChanges(before, changes))).toEqual([]);
  });

  it('finds nothing to do on a hand-made catalog already in sync', () => {
    const inSync = catalog(
      {
        db1: targetCatalog({
          grants: ['select', 'insert', 'update'].map((privilege) => ({
            grantee: 'nova_scheduler_role',
            object: { kind: 'table' as const, schema: 'public', table: 'services' },
            privilege,
          })),
          columnGrants: ['uuid', 'host'].map((column) => ({
            grantee: 'nova_scheduler_role',
            schema: 'public',
            table: 'instances',
            column,
            privilege: 'select' as const,
          })),
        }),
      },
      {
        c1: {
          roles: [role('nova_scheduler_role'), role('nova_scheduler', true)],
          memberships: [{ role: 'nova_scheduler_role', member: 'nova_scheduler' }],
        },
      },
    );
    expect(plan(desired([scheduler]), inSync)).toEqual([]);
  });

  it('revokes exactly the one extra privilege a managed role holds', () => {
    const synced = applyChanges(catalog(), plan(desired([scheduler]), catalog()));
    const target = synced.targets.db1;
    if (!target) throw new Error('no target');
    const drifted = {
      ...synced,
      targets: {
        db1: {
          ...target,
          grants: [
            ...target.grants,
            {
              grantee: 'nova_scheduler_role',
              object: { kind: 'table' as const, schema: 'public', table: 'services' },
              privilege: 'delete',
            },
          ],
        },
      },
    };
    expect(plan(desired([scheduler]), drifted)).toEqual<Change[]>([
      {
        type: 'revoke',
        target: 'db1',
        component: 'scheduler',
        role: 'nova_scheduler_role',
        kind: 'role',
        object: { kind: 'table', schema: 'public', table: 'services' },
        privileges: ['delete'],
      },
    ]);
  });

  it('revokes privileges granted to the login directly: grants belong to the role', () => {
    const synced = applyChanges(catalog(), plan(desired([scheduler]), catalog()));
    const target = synced.targets.db1;
    if (!target) throw new Error('no target');
    const object = { kind: 'table' as const, schema: 'public', table: 'secrets' };
    const drifted = {
      ...synced,
      targets: {
        db1: {
          ...target,
          grants: [...target.grants, { grantee: 'nova_scheduler', object, privilege: 'select' }],
        },
      },
    };
    expect(plan(desired([scheduler]), drifted)).toEqual<Change[]>([
      {
        type: 'revoke',
        target: 'db1',
        component: 'scheduler',
        role: 'nova_scheduler',
        kind: 'login',
        object,
        privileges: ['select'],
      },
    ]);
  });

  it('never touches roles it does not manage, whatever they hold', () => {
    const object = { kind: 'table' as const, schema: 'public', table: 'services' };
    const snapshot = catalog(
      {
        db1: targetCatalog({
          grants: [
            { grantee: 'nova', object, privilege: 'delete' },
            { grantee: 'nova_admin', object, privilege: 'truncate' },
            { grantee: 'glance_scheduler_role', object, privilege: 'select' },
          ],
        }),
      },
      {
        c1: {
          // nova_admin has the app prefix but no marker and no policy: someone else's.
          roles: [
            role('nova', true, { marker: false }),
            role('nova_admin', true, { marker: false, attributes: ['superuser'] }),
          ],
          memberships: [{ role: 'nova', member: 'nova_admin' }],
        },
      },
    );
    const changes = plan(desired([scheduler]), snapshot);
    const touched = new Set(changes.flatMap((c) => [c.role, 'member' in c ? c.member : c.role]));
    expect([...touched].sort()).toEqual(['nova_scheduler', 'nova_scheduler_role']);
  });

  it('leaves alone unmanaged members of a managed role, but revokes managed roles from other roles', () => {
    const snapshot = catalog(
      { db1: targetCatalog() },
      {
        c1: {
          roles: [
            role('nova_scheduler_role'),
            role('nova_scheduler', true),
            role('alice', true, { marker: false }),
          ],
          memberships: [
            { role: 'nova_scheduler_role', member: 'nova_scheduler' },
            { role: 'nova_scheduler_role', member: 'alice' },
            { role: 'pg_read_all_data', member: 'nova_scheduler' },
          ],
        },
      },
    );
    const memberships = plan(desired([scheduler]), snapshot).filter((c) => c.type.endsWith('membership'));
    expect(memberships).toEqual<Change[]>([
      {
        type: 'revoke-membership',
        target: 'db1',
        component: 'scheduler',
        role: 'pg_read_all_data',
        kind: 'role',
        member: 'nova_scheduler',
        memberKind: 'login',
      },
    ]);
  });

  it('strips powers such as superuser from managed roles and fixes the login flag', () => {
    const snapshot = catalog(
      { db1: targetCatalog() },
      {
        c1: {
          roles: [
            role('nova_scheduler_role', true),
            role('nova_scheduler', true, { attributes: ['superuser', 'createrole'] }),
          ],
          memberships: [{ role: 'nova_scheduler_role', member: 'nova_scheduler' }],
        },
      },
    );
    const alters = plan(desired([scheduler]), snapshot).filter((c) => c.type === 'alter-role');
    expect(alters).toEqual<Change[]>([
      {
        type: 'alter-role',
        target: 'db1',
        component: 'scheduler',
        role: 'nova_scheduler',
        kind: 'login',
        clear: [{ attribute: 'createrole' }, { attribute: 'superuser' }],
        clearAttributes: ['createrole', 'superuser'],
      },
      {
        type: 'alter-role',
        target: 'db1',
        component: 'scheduler',
        role: 'nova_scheduler_role',
        kind: 'role',
        canLogin: false,
        clear: [],
        clearAttributes: [],
      },
    ]);
  });

  it('adopts an existing role with a managed name that lacks the marker', () => {
    const snapshot = catalog(
      { db1: targetCatalog() },
      { c1: { roles: [role('nova_scheduler', true, { marker: false })], memberships: [] } },
    );
    const changes = plan(desired([scheduler]), snapshot);
    expect(changes.filter((c) => c.type === 'adopt-role' || c.type.startsWith('create'))).toEqual([
      { type: 'adopt-role', target: 'db1', component: 'scheduler', role: 'nova_scheduler', kind: 'login' },
      {
        type: 'create-role',
        target: 'db1',
        component: 'scheduler',
        role: 'nova_scheduler_role',
        kind: 'role',
      },
    ]);
  });

  it('gives a component with no databases no login: drops a marked one, disarms an unmarked one', () => {
    const compute = component('compute', []);
    expect(plan(desired([compute]), catalog())).toEqual([]);

    const object = { kind: 'table' as const, schema: 'public', table: 'instances' };
    const withLogin = (marker: boolean) =>
      catalog(
        { db1: targetCatalog({ grants: [{ grantee: 'nova_compute', object, privilege: 'select' }] }) },
        {
          c1: {
            roles: [role('nova_compute', true, { marker, attributes: ['createdb'] }), role('admins', false)],
            memberships: [{ role: 'admins', member: 'nova_compute' }],
          },
        },
      );
    const revoke: Change = {
      type: 'revoke',
      target: 'db1',
      component: 'compute',
      role: 'nova_compute',
      kind: 'login',
      object,
      privileges: ['select'],
    };
    expect(plan(desired([compute]), withLogin(true))).toEqual<Change[]>([
      revoke,
      { type: 'drop-login', target: 'db1', component: 'compute', role: 'nova_compute', kind: 'login' },
    ]);
    // Only roles dbwarden made or adopted are dropped; this one loses its login, powers and grants.
    expect(plan(desired([compute]), withLogin(false))).toEqual<Change[]>([
      {
        type: 'alter-role',
        target: 'db1',
        component: 'compute',
        role: 'nova_compute',
        kind: 'login',
        canLogin: false,
        clear: [{ attribute: 'createdb' }],
        clearAttributes: ['createdb'],
      },
      revoke,
      {
        type: 'revoke-membership',
        target: 'db1',
        component: 'compute',
        role: 'admins',
        kind: 'role',
        member: 'nova_compute',
        memberKind: 'login',
      },
    ]);
  });

  it('grants a membership again when it exists without inheritance (PostgreSQL 16)', () => {
    const snapshot = catalog(
      { db1: targetCatalog() },
      {
        c1: {
          roles: [role('nova_scheduler_role'), role('nova_scheduler', true)],
          memberships: [{ role: 'nova_scheduler_role', member: 'nova_scheduler', inherits: false }],
        },
      },
    );
    expect(plan(desired([scheduler]), snapshot).filter((c) => c.type.endsWith('membership'))).toEqual<
      Change[]
    >([
      {
        type: 'grant-membership',
        target: 'db1',
        component: 'scheduler',
        role: 'nova_scheduler_role',
        kind: 'role',
        member: 'nova_scheduler',
        memberKind: 'login',
      },
    ]);
  });

  it('revokes an unwanted membership without inheritance by its names alone (a planfile reads it back)', () => {
    const snapshot = catalog(
      { db1: targetCatalog() },
      {
        c1: {
          roles: [role('nova_scheduler_role'), role('nova_scheduler', true), role('admins')],
          memberships: [
            { role: 'nova_scheduler_role', member: 'nova_scheduler' },
            { role: 'admins', member: 'nova_scheduler', inherits: false },
          ],
        },
      },
    );
    expect(plan(desired([scheduler]), snapshot).filter((c) => c.type.endsWith('membership'))).toEqual<
      Change[]
    >([
      {
        type: 'revoke-membership',
        target: 'db1',
        component: 'scheduler',
        role: 'admins',
        kind: 'role',
        member: 'nova_scheduler',
        memberKind: 'login',
      },
    ]);
  });

  it('drops marked roles of components no longer in the policies, and only those', () => {
    const snapshot = catalog(
      { db1: targetCatalog() },
      {
        c1: {
          roles: [
            role('nova_old_role'),
            role('nova_old', true),
            role('nova_legacy', true, { marker: false }),
          ],
          memberships: [{ role: 'nova_old_role', member: 'nova_old' }],
        },
      },
    );
    const drops = plan(desired([scheduler]), snapshot).filter((c) => c.type.startsWith('drop'));
    expect(drops).toEqual<Change[]>([
      { type: 'drop-login', target: 'db1', component: 'old', role: 'nova_old', kind: 'login' },
      { type: 'drop-role', target: 'db1', component: 'old', role: 'nova_old_role', kind: 'role' },
    ]);
  });

  it('forgets stale marks of roles that are gone, unless a component wants the name again', () => {
    const snapshot = catalog(
      { db1: targetCatalog() },
      {
        c1: {
          roles: [],
          memberships: [],
          staleMarks: ['nova_old', 'nova_old_role', 'nova_scheduler_role', 'other_x'],
        },
      },
    );
    const changes = plan(desired([scheduler]), snapshot);
    expect(changes.filter((c) => c.type === 'forget-role')).toEqual<Change[]>([
      { type: 'forget-role', target: 'db1', component: 'old', role: 'nova_old', kind: 'login' },
      { type: 'forget-role', target: 'db1', component: 'old', role: 'nova_old_role', kind: 'role' },
    ]);
    expect(changes.at(-1)?.type).toBe('forget-role');
    expect(changes.filter((c) => c.role === 'nova_scheduler_role').map((c) => c.type)).toContain(
      'create-role',
    );
  });

  it('creates roles once per server, on its first target, and grants on each target', () => {
    const conductor = component('conductor', [
      db('api', [table('cell_mappings', ['select'])]),
      db('main', [table('instances', ['select'])]),
    ]);
    const targets = [
      { name: 'nova_cell1', kind: 'main' },
      { name: 'nova_api', kind: 'api' },
      { name: 'nova_cell0', kind: 'main' },
    ];
    const snapshot = catalog(
      {
        nova_api: targetCatalog({ cluster: 'server-a' }),
        nova_cell0: targetCatalog({ cluster: 'server-b' }),
        nova_cell1: targetCatalog({ cluster: 'server-b' }),
      },
      { 'server-a': emptyCluster(), 'server-b': emptyCluster() },
    );
    const changes = plan(desired([conductor], targets), snapshot);
    expect(changes.filter((c) => c.type === 'create-login').map((c) => c.target)).toEqual([
      'nova_api',
      'nova_cell0',
    ]);
    expect(changes.filter((c) => c.type === 'grant').map((c) => c.target)).toEqual([
      'nova_api',
      'nova_cell0',
      'nova_cell1',
    ]);
  });

  it('does not create a login on a server none of whose targets the component uses', () => {
    const api = component('api', [db('api', [table('flavors', ['select'])])]);
    const snapshot = catalog(
      { a: targetCatalog({ cluster: 'ca' }), m: targetCatalog({ cluster: 'cm' }) },
      { ca: emptyCluster(), cm: emptyCluster() },
    );
    const changes = plan(
      desired(
        [api],
        [
          { name: 'a', kind: 'api' },
          { name: 'm', kind: 'main' },
        ],
      ),
      snapshot,
    );
    expect(new Set(changes.map((c) => c.target))).toEqual(new Set(['a']));
  });

  it('sets new passwords only for the components asked for, and only on existing logins', () => {
    const api = component('api', [db('main', [table('flavors', ['select'])])]);
    const synced = applyChanges(catalog(), plan(desired([scheduler, api]), catalog()));
    expect(plan(desired([scheduler, api]), synced, { rotatePasswords: ['api'] })).toEqual<Change[]>([
      { type: 'set-password', target: 'db1', component: 'api', role: 'nova_api', kind: 'login' },
    ]);
    expect(
      plan(desired([scheduler, api]), catalog(), { rotatePasswords: ['api'] }).map((c) => c.type),
    ).not.toContain('set-password');
  });
});

describe('column-level grants', () => {
  it('grants only the listed columns and revokes columns no longer listed', () => {
    const narrowed = component('scheduler', [db('main', [table('instances', { select: ['uuid'] })])]);
    const synced = applyChanges(catalog(), plan(desired([scheduler]), catalog()));
    expect(plan(desired([narrowed]), synced)).toEqual<Change[]>([
      // Column revokes come first: on PostgreSQL a table-level revoke would otherwise clear them first.
      {
        type: 'revoke-columns',
        target: 'db1',
        component: 'scheduler',
        role: 'nova_scheduler_role',
        kind: 'role',
        schema: 'public',
        table: 'instances',
        privilege: 'select',
        columns: ['host'],
      },
      {
        type: 'revoke',
        target: 'db1',
        component: 'scheduler',
        role: 'nova_scheduler_role',
        kind: 'role',
        object: { kind: 'table', schema: 'public', table: 'services' },
        privileges: ['select', 'insert', 'update'],
      },
    ]);
  });

  it('re-grants columns after a table-level revoke where the engine clears them (PostgreSQL)', () => {
    const wide = component('api', [db('main', [table('instances', ['select'])])]);
    const narrow = component('api', [db('main', [table('instances', { select: ['uuid'] })])]);
    const object = { kind: 'table' as const, schema: 'public', table: 'instances' };
    const grants = [{ grantee: 'nova_api_role', object, privilege: 'select' }];
    const columnGrants = [
      {
        grantee: 'nova_api_role',
        schema: 'public',
        table: 'instances',
        column: 'uuid',
        privilege: 'select' as const,
      },
    ];
    const roles = {
      c1: {
        roles: [role('nova_api_role'), role('nova_api', true)],
        memberships: [{ role: 'nova_api_role', member: 'nova_api' }],
      },
    };
    const pg = catalog(
      {
        db1: targetCatalog({
          grants,
          columnGrants,
          capabilities: { ...POSTGRES_CAPABILITIES, databaseConnect: false, schemaUsage: false },
        }),
      },
      roles,
    );
    const mysql = catalog({ db1: targetCatalog({ grants, columnGrants }) }, roles);

    expect(plan(desired([narrow]), pg).map((c) => c.type)).toEqual(['revoke', 'grant-columns']);
    expect(plan(desired([narrow]), mysql).map((c) => c.type)).toEqual(['revoke']);
    for (const snapshot of [pg, mysql]) {
      expect(plan(desired([narrow]), applyChanges(snapshot, plan(desired([narrow]), snapshot)))).toEqual([]);
      expect(plan(desired([wide]), applyChanges(snapshot, plan(desired([wide]), snapshot)))).toEqual([]);
    }
  });
});

describe('determinism', () => {
  it('gives the same changes in the same order whatever the input order', () => {
    const api = component('api', [
      db('main', [table('b', ['select', 'delete']), table('a', { update: ['y', 'x'] })]),
    ]);
    const targets = [
      { name: 't2', kind: 'main' },
      { name: 't1', kind: 'main' },
    ];
    const snapshot = catalog({ t1: targetCatalog(), t2: targetCatalog() });
    const first = plan(desired([scheduler, api], targets), snapshot);
    const reversed = plan(desired([api, scheduler], [...targets].reverse()), {
      clusters: snapshot.clusters,
      targets: { t2: targetCatalog(), t1: targetCatalog() },
    });
    expect(reversed).toEqual(first);
    expect(JSON.stringify(plan(desired([scheduler, api], targets), snapshot))).toBe(JSON.stringify(first));
  });

  it('orders revokes before creates, creates before grants, and drops last', () => {
    const object = { kind: 'table' as const, schema: 'public', table: 'x' };
    const snapshot = catalog(
      {
        db1: targetCatalog({
          grants: [
            { grantee: 'nova_gone_role', object, privilege: 'select' },
            { grantee: 'nova_gone', object, privilege: 'update' },
          ],
        }),
      },
      {
        c1: {
          roles: [role('nova_gone_role'), role('nova_gone', true)],
          memberships: [{ role: 'nova_gone_role', member: 'nova_gone' }],
        },
      },
    );
    expect(plan(desired([scheduler]), snapshot).map((c) => `${c.type} ${c.role}`)).toEqual([
      'revoke nova_gone',
      'revoke nova_gone_role',
      'create-role nova_scheduler_role',
      'create-login nova_scheduler',
      'grant-membership nova_scheduler_role',
      'grant nova_scheduler_role',
      'grant-columns nova_scheduler_role',
      'drop-login nova_gone',
      'drop-role nova_gone_role',
    ]);
  });
});

describe('missingObjects', () => {
  it('names every table and column a policy wants that a target lacks', () => {
    const snapshot = catalog({ db1: targetCatalog({ tables: [tableInfo('instances', ['uuid'])] }) });
    expect(missingObjects(desired([scheduler]), snapshot)).toEqual([
      { target: 'db1', component: 'scheduler', schema: 'public', table: 'instances', column: 'host' },
      { target: 'db1', component: 'scheduler', schema: 'public', table: 'services', column: undefined },
    ]);
  });
});
