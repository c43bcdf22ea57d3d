/**
 * Apps sharing a server (issue 14, finding 3): app `cx` reads every `cx_`
 * role, app `cx_x`'s too. The marker decides whose a role is, never the
 * prefix: another app's role is never touched, and a policy naming one is a
 * collision.
 */
import { describe, expect, it } from 'vitest';
import { applyChanges } from '../../../src/internal.js';
import { plan, RoleCollisionError, roleCollisions, SimulationError } from '../../../src/plan/index.js';
import type { Catalog, Change } from '../../../src/plan/types.js';
import { catalog, component, db, desired, role, table, targetCatalog } from './builders.js';

const users = { kind: 'table' as const, schema: 'public', table: 'users' };

/** App cx_x's component api, as app cx_x's apply left it, plus a removed component of app cx. */
function sharedServer(): Catalog {
  return catalog(
    {
      db1: targetCatalog({
        grants: [
          { grantee: 'cx_x_api_role', object: users, privilege: 'select' },
          { grantee: 'cx_x_api_role', object: users, privilege: 'insert' },
          { grantee: 'cx_x_old_role', object: users, privilege: 'select' },
        ],
        columnGrants: [
          {
            grantee: 'cx_x_api_role',
            schema: 'public',
            table: 'users',
            column: 'name',
            privilege: 'update',
          },
        ],
      }),
    },
    {
      c1: {
        roles: [
          role('cx_x_api', true, { marker: 'cx_x' }),
          role('cx_x_api_role', false, { marker: 'cx_x' }),
          // Another app's role with powers: still not this app's to strip.
          role('cx_x_admin', true, { marker: 'cx_x', attributes: ['createrole'] }),
          // Marked by app cx itself (a removed component x_old): the marker makes it cx's.
          role('cx_x_old_role', false),
        ],
        memberships: [
          { role: 'cx_x_api_role', member: 'cx_x_api' },
          { role: 'cx_x_api_role', member: 'cx_x_admin' },
        ],
      },
    },
  );
}

const xApi = (databases = [db('main', [table('users', ['select'])])]) => component('x_api', databases, 'cx');

describe('roles another app marked', () => {
  it('a component whose login another app marked is a collision naming both apps, the role and the component', () => {
    const wanted = desired([xApi()], undefined, 'cx');
    expect(roleCollisions(wanted, sharedServer())).toEqual([
      { cluster: 'c1', target: 'db1', role: 'cx_x_api', component: 'x_api', otherApp: 'cx_x' },
      { cluster: 'c1', target: 'db1', role: 'cx_x_api_role', component: 'x_api', otherApp: 'cx_x' },
    ]);
    // Before: `~ mark cx_x_api as managed by dbwarden` (adopt-role) and revokes of cx_x's grants.
    expect(() => plan(wanted, sharedServer())).toThrow(RoleCollisionError);
    expect(() => plan(wanted, sharedServer(), { rotatePasswords: ['x_api'] })).toThrow(
      /role cx_x_api \(target db1\) belongs to app cx_x/,
    );
  });

  it('a component without databases is a collision too (before: forbid login and revoke every grant)', () => {
    const wanted = desired([xApi([])], undefined, 'cx');
    expect(roleCollisions(wanted, sharedServer()).map((c) => c.role)).toEqual(['cx_x_api', 'cx_x_api_role']);
    expect(() => plan(wanted, sharedServer())).toThrow(RoleCollisionError);
  });

  it('a name only a mark claims (MySQL: the account is at another host, or gone) collides as well', () => {
    const snapshot: Catalog = {
      ...catalog(),
      clusters: { c1: { roles: [], memberships: [], otherAppMarks: [{ role: 'cx_x_api', app: 'cx_x' }] } },
    };
    const wanted = desired([xApi()], undefined, 'cx');
    expect(roleCollisions(wanted, snapshot)).toEqual([
      { cluster: 'c1', target: 'db1', role: 'cx_x_api', component: 'x_api', otherApp: 'cx_x' },
    ]);
    expect(() => plan(wanted, snapshot)).toThrow(RoleCollisionError);
  });

  it('an app that names none of them leaves every role of the other app exactly as it is', () => {
    const web = component('web', [db('main', [table('users', ['select'])])], 'cx');
    const before = sharedServer();
    const changes = plan(desired([web], undefined, 'cx'), before);
    const otherApps = ['cx_x_api', 'cx_x_api_role', 'cx_x_admin'];
    // It did plan: its own roles, its own grants, and the drop of its own removed component.
    expect(changes.map((c) => `${c.type} ${c.role}`)).toEqual([
      'revoke cx_x_old_role',
      'create-role cx_web_role',
      'create-login cx_web',
      'grant-membership cx_web_role',
      'grant cx_web_role',
      'drop-role cx_x_old_role',
    ]);
    expect(
      changes.filter(
        (c) =>
          otherApps.includes(c.role) ||
          ((c.type === 'grant-membership' || c.type === 'revoke-membership') && otherApps.includes(c.member)),
      ),
    ).toEqual([]);
    const after = applyChanges(before, changes);
    const cluster = (c: Catalog) => c.clusters.c1;
    const theirRoles = (c: Catalog) =>
      (cluster(c)?.roles ?? []).filter((r) => otherApps.includes(r.name)).map((r) => JSON.stringify(r));
    expect(theirRoles(before)).toHaveLength(3);
    expect(theirRoles(after).sort()).toEqual(theirRoles(before).sort());
    const theirMemberships = (c: Catalog) =>
      (cluster(c)?.memberships ?? []).filter((m) => otherApps.includes(m.member));
    expect(theirMemberships(before)).toHaveLength(2);
    expect(theirMemberships(after)).toEqual(theirMemberships(before));
    const theirs = (c: Catalog) => c.targets.db1?.grants.filter((g) => g.grantee.startsWith('cx_x_api'));
    expect(theirs(after)).toEqual(theirs(before));
    expect(after.targets.db1?.columnGrants).toEqual(before.targets.db1?.columnGrants);
    expect(plan(desired([web], undefined, 'cx'), after)).toEqual([]);
  });

  it('the other app itself finds its roles its own and in order', () => {
    const api = component('api', [db('main', [table('users', ['select', 'insert'])])], 'cx_x');
    const admin = component('admin', [db('main', [table('users', { update: ['name'] })])], 'cx_x');
    const snapshot = sharedServer();
    const mine = {
      ...snapshot,
      clusters: {
        c1: {
          ...(snapshot.clusters.c1 as Catalog['clusters'][string]),
          // What cx_x's introspection reports: its marks are its own; cx's role is another app's.
          roles: (snapshot.clusters.c1?.roles ?? []).map((r) =>
            r.otherApp === 'cx_x'
              ? { name: r.name, canLogin: r.canLogin, managedMarker: true, attributes: r.attributes }
              : { ...r, managedMarker: false, otherApp: 'cx' },
          ),
        },
      },
    };
    const changes = plan(desired([admin, api], undefined, 'cx_x'), mine);
    expect(changes.some((c) => c.role === 'cx_x_old_role')).toBe(false);
    expect(changes.map((c) => `${c.type} ${c.role}`)).toContain('alter-role cx_x_admin');
  });

  it('the simulator refuses any change to another app’s role, so the property tests would catch one', () => {
    const change: Change = {
      type: 'adopt-role',
      target: 'db1',
      component: 'x_api',
      role: 'cx_x_api',
      kind: 'login',
    };
    expect(() => applyChanges(sharedServer(), [change])).toThrow(SimulationError);
  });
});
