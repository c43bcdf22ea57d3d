/**
 * Two apply processes started at the same moment: the second waits on
 * dbwarden's advisory lock, re-reads the catalog, and both end correct.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScenario, type Scenario } from './scenario.js';

const SETUP_SQL = Array.from(
  { length: 12 },
  (_, i) => `create table t${i} (id serial primary key, a text);`,
).join('\n');
const tables = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`t${i}`, ['select', 'insert']]));

describe('concurrent applies on PostgreSQL', () => {
  let s: Scenario;

  beforeAll(async () => {
    s = await createScenario({
      setupSql: SETUP_SQL,
      policies: [
        { component: 'api', tables },
        { component: 'conductor', tables },
      ],
    });
  });
  afterAll(async () => {
    await s.cleanup();
  });

  it('both exit 0, one of them does the work, and the end state verifies', async () => {
    const [first, second] = await Promise.all([
      s.spawnCli('apply', '--format', 'json'),
      s.spawnCli('apply', '--format', 'json'),
    ]);
    expect(first.stderr).not.toMatch(/error/i);
    expect(second.stderr).not.toMatch(/error/i);
    expect([first.code, second.code]).toEqual([0, 0]);
    const counts = [first, second].map((r) => (JSON.parse(r.stdout) as { statements: number }).statements);
    // Exactly one run found work to do; the other waited and found none.
    expect(counts.filter((n) => n === 0)).toHaveLength(1);
    expect(Math.max(...counts)).toBeGreaterThan(0);
    const verified = await s.cli('verify');
    expect(verified.stdout).not.toContain('FAIL');
    expect(verified.code).toBe(0);
  });
});
