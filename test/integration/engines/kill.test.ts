/**
 * An apply killed with SIGKILL in the middle of its statements leaves the
 * database as it was (one transaction per target) and a rerun completes it.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../harness/databases.js';
import { createScenario, type Scenario } from './scenario.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TABLES = Array.from({ length: 1500 }, (_, i) => `t${i}`);

describe('an apply killed halfway on PostgreSQL', () => {
  let s: Scenario;

  beforeAll(async () => {
    s = await createScenario({
      setupSql: `do $$ begin for i in 0..${TABLES.length - 1} loop execute format('create table t%s (id serial primary key, a text)', i); end loop; end $$;`,
      policies: [
        { component: 'api', tables: Object.fromEntries(TABLES.map((t) => [t, ['select', 'insert']])) },
        { component: 'conductor', tables: Object.fromEntries(TABLES.map((t) => [t, { update: ['a'] }])) },
      ],
    });
  });
  afterAll(async () => {
    await s.cleanup();
  });

  it('rolls back entirely, and the rerun reaches the verified end state', async () => {
    const child = spawn(
      process.execPath,
      [path.join(root, 'bin/dbwarden.js'), '--config', path.join(s.dir, 'dbwarden.yaml'), 'apply'],
      {
        cwd: s.dir,
        env: { PATH: process.env.PATH, MAIN_URL: s.db.url },
        stdio: 'ignore',
      },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Wait until dbwarden's session is running its GRANTs, then kill it without warning.
    let caught = false;
    await withClient(s.adminUrl, async (c) => {
      for (let i = 0; i < 3000 && !caught; i++) {
        const { rowCount } = await c.query(
          "select 1 from pg_stat_activity where application_name = 'dbwarden' and datname = $1 and query like 'GRANT %'",
          [s.db.name],
        );
        caught = (rowCount ?? 0) > 0;
      }
    });
    child.kill('SIGKILL');
    expect(await exited).toBeNull();
    expect(caught).toBe(true);

    // The server ends the dead session's transaction: no role, no grant, no credential file survived.
    const roles = await s.admin((c) =>
      c.query('select 1 from pg_roles where starts_with(rolname, $1)', [`${s.app}_`]),
    );
    expect(roles.rowCount).toBe(0);

    const rerun = await s.cli('apply');
    expect(rerun.code).toBe(0);
    expect((await s.cli('verify')).code).toBe(0);
    expect((await s.cli('plan', '--exit-code')).code).toBe(0);
  }, 120_000);
});
