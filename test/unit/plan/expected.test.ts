/** What verify expects of a login, and how differences are reported: pure. */
import { describe, expect, it } from 'vitest';
import type { EffectivePrivilege } from '../../../src/plan/types.js';
import { privilegeDifferences, expectedPrivileges, schemasOf } from '../../../src/plan/expected.js';
import { component, db, POSTGRES_CAPABILITIES, table, targetCatalog } from './builders.js';

const target = { name: 'db1', kind: 'main' };
const tablePriv = (
  name: string,
  privilege: string,
  columns: 'all' | string[] = 'all',
): EffectivePrivilege => ({
  kind: 'table',
  schema: 'public',
  name,
  privilege,
  columns,
});

describe('expectedPrivileges', () => {
  it('lists schema usage, table and column privileges, and owned sequences of tables with insert', () => {
    const scheduler = component('scheduler', [
      db('main', [table('services', ['select', 'insert']), table('instances', { select: ['host', 'uuid'] })]),
      db('api', [table('aggregates', ['select'])]),
    ]);
    const catalog = targetCatalog({
      capabilities: POSTGRES_CAPABILITIES,
      tables: [
        { schema: 'public', table: 'services', columns: ['id', 'host'], ownedSequences: ['services_id_seq'] },
        {
          schema: 'public',
          table: 'instances',
          columns: ['id', 'host', 'uuid'],
          ownedSequences: ['instances_id_seq'],
        },
      ],
    });
    expect(expectedPrivileges(scheduler, target, catalog)).toEqual([
      { kind: 'schema', schema: 'public', name: 'public', privilege: 'usage', columns: 'all' },
      tablePriv('services', 'select'),
      tablePriv('services', 'insert'),
      { kind: 'sequence', schema: 'public', name: 'services_id_seq', privilege: 'usage', columns: 'all' },
      tablePriv('instances', 'select', ['host', 'uuid']),
    ]);
    expect(schemasOf(scheduler, target, 'public')).toEqual(['public']);
  });
});

describe('privilegeDifferences', () => {
  it('finds nothing when they agree, in any order', () => {
    const held = [tablePriv('a', 'select'), tablePriv('b', 'update', ['y', 'x'])];
    expect(privilegeDifferences(held, [...held].reverse())).toEqual([]);
  });

  it('reports missing and extra privileges per table', () => {
    expect(
      privilegeDifferences(
        [tablePriv('a', 'select'), tablePriv('a', 'insert')],
        [tablePriv('a', 'select'), tablePriv('a', 'delete')],
      ),
    ).toEqual([
      { problem: 'extra', kind: 'table', schema: 'public', name: 'a', privilege: 'delete', columns: 'all' },
      { problem: 'missing', kind: 'table', schema: 'public', name: 'a', privilege: 'insert', columns: 'all' },
    ]);
  });

  it('tells a whole-table privilege from a column one, both ways', () => {
    // Policy: columns x, y; the login can use the whole table.
    expect(privilegeDifferences([tablePriv('a', 'select', ['x', 'y'])], [tablePriv('a', 'select')])).toEqual([
      { problem: 'extra', kind: 'table', schema: 'public', name: 'a', privilege: 'select', columns: 'all' },
    ]);
    // Policy: the whole table; the login has column x only.
    expect(privilegeDifferences([tablePriv('a', 'select')], [tablePriv('a', 'select', ['x'])])).toEqual([
      { problem: 'missing', kind: 'table', schema: 'public', name: 'a', privilege: 'select', columns: 'all' },
    ]);
    // Column sets that overlap: each side's surplus.
    expect(
      privilegeDifferences([tablePriv('a', 'update', ['x', 'y'])], [tablePriv('a', 'update', ['y', 'z'])]),
    ).toEqual([
      { problem: 'extra', kind: 'table', schema: 'public', name: 'a', privilege: 'update', columns: ['z'] },
      { problem: 'missing', kind: 'table', schema: 'public', name: 'a', privilege: 'update', columns: ['x'] },
    ]);
  });
});
