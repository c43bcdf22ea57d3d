/**
 * Two apply processes started at the same moment: the second waits on
 * dbwarden's lock, re-reads the catalog, and both end correct. On every engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../../harness/engines.js';
import { createScenario, type Scenario } from './scenario.js';

const tables = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`t${i}`, ['select', 'insert']]));

describe.each(ENGINES)('concurrent applies on $title', (engine) => {
  let s: Scenario;

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: Array.from({ length: 12 }, (_, i) => `create table t${i} (${engine.serialId}, a text);`).join(
        '\n',
      ),
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
