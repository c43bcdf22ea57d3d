/**
 * Two targets on one server (see two-targets.ts): roles are made once per
 * server, grants land per database, every login works on every target it uses,
 * and a removed component goes from both. On every engine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../../harness/engines.js';
import { createTwoTargets, type TwoTargets } from './two-targets.js';

describe.each(ENGINES)('two targets on one server on $title', (engine) => {
  let t: TwoTargets;

  beforeAll(async () => {
    t = await createTwoTargets(engine);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('creates each role once, grants per database, and every login works on every target it uses', async () => {
    const { app, cli } = t;
    const planned = await cli('plan', '--format', 'json');
    expect(planned.code).toBe(0);
    const { changes } = JSON.parse(planned.stdout) as {
      changes: { type: string; target: string; role: string }[];
    };
    const created = changes.filter((c) => c.type === 'create-role' || c.type === 'create-login');
    // Roles are server-wide: made once, on the first target by name.
    expect(created.map((c) => `${c.target}:${c.role.slice(app.length + 1)}`).sort()).toEqual([
      'nova_api:api',
      'nova_api:api_role',
      'nova_api:conductor',
      'nova_api:conductor_role',
      'nova_api:scheduler',
      'nova_api:scheduler_role',
    ]);

    const applied = await cli('apply');
    expect(applied.stderr).not.toMatch(/error/i);
    expect(applied.code).toBe(0);
    expect((await cli('verify')).code).toBe(0);
    expect((await cli('plan', '--exit-code')).code).toBe(0);

    const api = t.credentials('api');
    expect(Object.keys(api.targets)).toEqual(['nova_api', 'nova_cell1']);
    if (t.admin.password !== '') {
      for (const { url } of Object.values(api.targets)) expect(url).not.toContain(t.admin.password);
    }
    const denied = (got: string) => engine.deniedCodes.includes(got);
    await engine.asLogin(api.targets.nova_api?.url as string, async (c) => {
      expect(await engine.outcome(c, "insert into instance_mappings (instance_uuid) values ('u')")).toBe(
        'ok',
      );
      expect(denied(await engine.outcome(c, 'update flavors set name = null where false'))).toBe(true);
    });
    await engine.asLogin(api.targets.nova_cell1?.url as string, async (c) => {
      expect(await engine.outcome(c, 'select uuid from instances')).toBe('ok');
      expect(denied(await engine.outcome(c, 'select host from compute_nodes'))).toBe(true);
    });
    expect(Object.keys(t.credentials('scheduler').targets)).toEqual(['nova_cell1']);
  });

  it('drops a removed component whose role held grants on both targets', async () => {
    const { app, cli } = t;
    fs.rmSync(path.join(t.dir, 'policies', 'conductor.yaml'));
    const applied = await cli('apply');
    expect(applied.stderr).not.toMatch(/error/i);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(`- drop role ${app}_conductor_role`);
    expect(await engine.accounts(`${app}_conductor`)).toEqual([]);
    expect((await cli('verify')).code).toBe(0);
  });
});
