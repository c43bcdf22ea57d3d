/** `downgrade --drop-roles` asks each server once for open sessions (issue 15, point 7). */
import { describe, expect, it } from 'vitest';
import { groupByServer } from '../../../src/runner/secrets.js';

const names = (groups: { name: string }[][]) => groups.map((g) => g.map((t) => t.name));

describe('groupByServer', () => {
  it('puts targets of one server together, and keeps other servers apart', () => {
    const groups = groupByServer([
      { name: 'audit', cluster: 'postgres:7321' },
      { name: 'main', cluster: 'postgres:7321' },
      { name: 'cell', cluster: 'mysql:db:3306:/var/lib/mysql/' },
      { name: 'other', cluster: 'postgres:9999' },
    ]);
    expect(names(groups)).toEqual([['audit', 'main'], ['cell'], ['other']]);
  });

  it('never merges targets whose server could not say who it is', () => {
    const groups = groupByServer([
      { name: 'a', cluster: 'postgres:unknown' },
      { name: 'b', cluster: 'postgres:unknown' },
    ]);
    expect(names(groups)).toEqual([['a'], ['b']]);
  });
});
