/**
 * PostgreSQL only, on the two-target deployment of engines/two-targets.ts (an
 * admin that is not a superuser): grants the admin cannot give, and revokes
 * that do not take effect because another role made the grant. The shared
 * part (roles once per server, grants per database, drops) is
 * engines/multi-target.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresEngine } from '../../harness/engines.js';
import { withClient } from '../../harness/databases.js';
import { createTwoTargets, type TwoTargets } from '../engines/two-targets.js';
import { writePolicy } from '../engines/scenario.js';

describe('two targets on one server, with a non-superuser admin', () => {
  const engine = postgresEngine();
  let t: TwoTargets;
  let admin: string;

  beforeAll(async () => {
    t = await createTwoTargets(engine);
    admin = `${t.app}adm`;
    const applied = await t.cli('apply');
    expect(applied.stderr).not.toMatch(/error/i);
    expect(applied.code).toBe(0);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('refuses a grant the admin cannot give (no grant option), rolling that target back', async () => {
    const { app, cli, dir } = t;
    const [apiDb] = t.dbs;
    // A table the admin may read but not pass on.
    await withClient(apiDb.url, (c) =>
      c.query(`create table quotas (id int); grant select on quotas to "${admin}";`),
    );
    writePolicy(dir, 'scheduler', {
      main: { compute_nodes: ['select'], instances: { select: ['uuid', 'host'] } },
      api: { quotas: ['select'] },
    });
    const failed = await cli('apply');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      `target nova_api: could not grant select on table public.quotas to ${app}_scheduler_role: no privileges were granted for "quotas" (SQLSTATE 01007)`,
    );
    expect(failed.stderr).toContain('WITH GRANT OPTION');
    expect((await cli('plan', '--exit-code')).code).toBe(3);
    await withClient(apiDb.url, (c) => c.query(`grant select on quotas to "${admin}" with grant option`));
    expect((await cli('apply')).code).toBe(0);
    expect((await cli('verify')).code).toBe(0);
  });

  it('says so when a revoke does not take effect: a grant made by another role than the owner', async () => {
    const { app, cli } = t;
    const [apiDb] = t.dbs;
    const other = `${app}x_grantor`;
    await withClient(apiDb.url, (c) =>
      c.query(`create role "${other}"; grant select on flavors to "${other}" with grant option;
               set role "${other}"; grant select on flavors to "${app}_scheduler_role"; reset role;`),
    );
    const applied = await cli('apply');
    expect(applied.code).toBe(1);
    expect(applied.stderr).toContain('apply committed its statements, but 1 change did not take effect');
    expect(applied.stderr).toContain(
      `target nova_api: revoke select on table public.flavors from ${app}_scheduler_role`,
    );
    await withClient(apiDb.url, (c) =>
      c.query(
        `set role "${other}"; revoke select on flavors from "${app}_scheduler_role"; reset role;
         drop owned by "${other}"; drop role "${other}";`,
      ),
    );
    expect((await cli('plan', '--exit-code')).code).toBe(0);
  });
});
