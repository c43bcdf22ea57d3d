/**
 * Grant options (issue 14, finding 4): a managed role may hold what its
 * policy gives, never the right to pass it on. A privilege it keeps loses
 * the option (`revoke-grant-option`); one it must not have goes entirely.
 */
import { describe, expect, it } from 'vitest';
import { applyChanges } from '../../../src/internal.js';
import { plan } from '../../../src/plan/index.js';
import type { Catalog, Change } from '../../../src/plan/types.js';
import {
  catalog,
  component,
  db,
  desired,
  POSTGRES_CAPABILITIES,
  role,
  table,
  tableInfo,
  targetCatalog,
} from './builders.js';

const users = { kind: 'table' as const, schema: 'public', table: 'users' };
const api = component('api', [
  db('main', [table('users', ['select', 'insert']), table('accounts', { select: ['id', 'name'] })]),
]);
const base = { target: 'db1', component: 'api', role: 'nova_api_role', kind: 'role' } as const;

/** nova_api as apply left it, then `... WITH GRANT OPTION` by hand at table and column level. */
function withGrantOptions(): Catalog {
  const grantee = 'nova_api_role';
  return catalog(
    {
      db1: targetCatalog({
        capabilities: POSTGRES_CAPABILITIES,
        tables: [tableInfo('users', ['id', 'name']), tableInfo('accounts', ['id', 'name'])],
        grants: [
          { grantee, object: { kind: 'database' }, privilege: 'connect' },
          { grantee, object: { kind: 'schema', schema: 'public' }, privilege: 'usage' },
          { grantee, object: users, privilege: 'select', grantable: true },
          { grantee, object: users, privilege: 'insert', grantable: true },
          // Not in the policy: its grant option goes first (PostgreSQL: with what it passed on), then itself.
          { grantee, object: users, privilege: 'delete', grantable: true },
        ],
        columnGrants: ['id', 'name'].map((column) => ({
          grantee,
          schema: 'public',
          table: 'accounts',
          column,
          privilege: 'select' as const,
          grantable: column === 'name',
        })),
      }),
    },
    {
      c1: {
        roles: [role('nova_api_role'), role('nova_api', true)],
        memberships: [{ role: 'nova_api_role', member: 'nova_api' }],
      },
    },
  );
}

describe('grant options', () => {
  it('revokes every grant option, table and column level, before it revokes the extra privilege', () => {
    expect(plan(desired([api]), withGrantOptions())).toEqual<Change[]>([
      {
        ...base,
        type: 'revoke-grant-option',
        object: { kind: 'table', schema: 'public', table: 'accounts' },
        privileges: ['select'],
        columns: ['name'],
      },
      {
        ...base,
        type: 'revoke-grant-option',
        object: users,
        privileges: ['select', 'insert', 'delete'],
      },
      { ...base, type: 'revoke', object: users, privileges: ['delete'] },
    ]);
  });

  it('converges: after the plan, nothing is grantable and there is nothing left to do', () => {
    const after = applyChanges(withGrantOptions(), plan(desired([api]), withGrantOptions()));
    const target = after.targets.db1;
    expect(target?.grants.filter((g) => g.grantee === 'nova_api_role')).toHaveLength(4);
    expect([...(target?.grants ?? []), ...(target?.columnGrants ?? [])].some((g) => g.grantable)).toBe(false);
    expect(plan(desired([api]), after)).toEqual([]);
  });

  it('leaves grant options of roles it does not manage alone', () => {
    const snapshot = catalog(
      {
        db1: targetCatalog({
          grants: [{ grantee: 'alice', object: users, privilege: 'select', grantable: true }],
        }),
      },
      { c1: { roles: [role('alice', true, { marker: false })], memberships: [] } },
    );
    expect(plan(desired([]), snapshot)).toEqual([]);
  });

  it('the simulator refuses to revoke a grant option that is not held', () => {
    const change: Change = { ...base, type: 'revoke-grant-option', object: users, privileges: ['update'] };
    expect(() => applyChanges(withGrantOptions(), [change])).toThrow(/holds no grant option for update/);
  });
});
