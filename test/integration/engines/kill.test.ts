/**
 * An apply killed with SIGKILL in the middle of its statements: on a
 * transactional engine the database stays as it was (one transaction per
 * target); on every engine a rerun completes it and verifies.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../../harness/engines.js';
import { createScenario, type Scenario } from './scenario.js';

const TABLES = Array.from({ length: 1500 }, (_, i) => `t${i}`);

describe.each(ENGINES)('an apply killed halfway on $title', (engine) => {
  let s: Scenario;

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: engine.manyTablesSql(TABLES.length),
      policies: [
        { component: 'api', tables: Object.fromEntries(TABLES.map((t) => [t, ['select', 'insert']])) },
        { component: 'conductor', tables: Object.fromEntries(TABLES.map((t) => [t, { update: ['a'] }])) },
      ],
    });
  }, 300_000);
  afterAll(async () => {
    await s.cleanup();
  });

  it('is repaired by the rerun, which reaches the verified end state', async () => {
    const child = spawn(process.execPath, s.binaryArgs('apply'), { cwd: s.dir, env: s.env, stdio: 'ignore' });
    let gone = false;
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => {
        gone = true;
        resolve(code);
      }),
    );
    // Wait until dbwarden's session is running its GRANTs, then kill it without warning.
    const caught = await engine.waitForStatement(s, 'GRANT', () => gone);
    child.kill('SIGKILL');
    const code = await exited;
    expect(caught, 'saw a GRANT of this apply running before it ended').toBe(true);
    expect(code).toBeNull();

    if (engine.transactionalDdl) {
      // The server ends the dead session's transaction: no role, no grant, no credential file survived.
      expect(await engine.accounts(`${s.app}_`)).toEqual([]);
    }

    const rerun = await s.cli('apply');
    expect(rerun.stderr).not.toMatch(/error/i);
    expect(rerun.code).toBe(0);
    expect((await s.cli('verify')).code).toBe(0);
    expect((await s.cli('plan', '--exit-code')).code).toBe(0);
  }, 180_000);
});
