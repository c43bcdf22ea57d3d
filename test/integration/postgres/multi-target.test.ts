/**
 * Nova's shape: an API database and a cell database on one server, managed by
 * an admin that is not a superuser (CREATEROLE and table owner, as on managed
 * cloud databases). Roles are made once per server; grants land per database.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createDatabase,
  dropRolesWithPrefix,
  type TestDatabase,
  uniqueName,
  withClient,
} from '../../harness/databases.js';
import { asLogin, outcome, runCli, writeDeployment, writePolicy } from './scenario.js';

describe('two targets on one server, with a non-superuser admin', () => {
  const serverUrl = inject('pgAdminUrl');
  const app = uniqueName('m').slice(0, 20);
  const admin = `${app}adm`;
  const adminPassword = 'admin-pw-not-a-secret-in-tests';
  let dir: string;
  const dbs: TestDatabase[] = [];
  const env: Record<string, string | undefined> = { PATH: process.env.PATH };

  const cli = (...args: string[]) => runCli(dir, env, args);
  const adminUrlOf = (db: TestDatabase) => {
    const url = new URL(db.url);
    url.username = admin;
    url.password = adminPassword;
    return url.toString();
  };

  beforeAll(async () => {
    await withClient(serverUrl, (c) =>
      c.query(`create role "${admin}" login createrole password '${adminPassword}'`),
    );
    for (const name of ['api', 'cell']) {
      const db = await createDatabase(serverUrl);
      await withClient(serverUrl, (c) => c.query(`alter database "${db.name}" owner to "${admin}"`));
      dbs.push(db);
      env[`${name.toUpperCase()}_URL`] = adminUrlOf(db);
    }
    const [apiDb, cellDb] = dbs as [TestDatabase, TestDatabase];
    await withClient(adminUrlOf(apiDb), (c) =>
      c.query(
        'create table instance_mappings (id serial primary key, instance_uuid text); create table flavors (id serial primary key, name text);',
      ),
    );
    await withClient(adminUrlOf(cellDb), (c) =>
      c.query(
        'create table instances (id serial primary key, uuid text, host text); create table compute_nodes (id serial primary key, host text);',
      ),
    );
    dir = writeDeployment(app, [
      { name: 'nova_api', kind: 'api', urlVariable: 'API_URL' },
      { name: 'nova_cell1', kind: 'main', urlVariable: 'CELL_URL' },
    ]);
    const policies: Record<string, Record<string, Record<string, unknown>>> = {
      api: {
        api: { instance_mappings: ['select', 'insert'], flavors: ['select'] },
        main: { instances: ['select'] },
      },
      scheduler: { main: { compute_nodes: ['select'], instances: { select: ['uuid', 'host'] } } },
      conductor: {
        api: { instance_mappings: ['select', 'update'] },
        main: { instances: ['select', 'insert', 'update'] },
      },
    };
    for (const [component, databases] of Object.entries(policies)) writePolicy(dir, component, databases);
  });
  afterAll(async () => {
    for (const db of dbs) await db.drop();
    await dropRolesWithPrefix(serverUrl, `${app}_`);
    await withClient(serverUrl, (c) => c.query(`drop role if exists "${admin}"`));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates each role once, grants per database, and every login works on every target it uses', async () => {
    const planned = await cli('plan', '--format', 'json');
    expect(planned.code).toBe(0);
    const { changes } = JSON.parse(planned.stdout) as {
      changes: { type: string; target: string; role: string }[];
    };
    const created = changes.filter((c) => c.type === 'create-role' || c.type === 'create-login');
    // Roles are cluster-wide: made once, on the first target by name.
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

    const api = JSON.parse(fs.readFileSync(path.join(dir, 'credentials', 'api.json'), 'utf8')) as {
      targets: Record<string, { url: string }>;
    };
    expect(Object.keys(api.targets)).toEqual(['nova_api', 'nova_cell1']);
    for (const { url } of Object.values(api.targets)) expect(url).not.toContain(adminPassword);
    await asLogin(api.targets.nova_api?.url as string, async (c) => {
      expect(await outcome(c, 'insert into instance_mappings (instance_uuid) values ($$u$$)')).toBe('ok');
      expect(await outcome(c, 'update flavors set name = null where false')).toBe('42501');
    });
    await asLogin(api.targets.nova_cell1?.url as string, async (c) => {
      expect(await outcome(c, 'select uuid from instances')).toBe('ok');
      expect(await outcome(c, 'select host from compute_nodes')).toBe('42501');
    });
    const scheduler = JSON.parse(
      fs.readFileSync(path.join(dir, 'credentials', 'scheduler.json'), 'utf8'),
    ) as {
      targets: Record<string, { url: string }>;
    };
    expect(Object.keys(scheduler.targets)).toEqual(['nova_cell1']);
  });

  it('refuses a grant the admin cannot give (no grant option), rolling that target back', async () => {
    const [apiDb] = dbs as [TestDatabase];
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
    const [apiDb] = dbs as [TestDatabase];
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

  it('drops a removed component whose role held grants on both targets', async () => {
    fs.rmSync(path.join(dir, 'policies', 'conductor.yaml'));
    const applied = await cli('apply');
    expect(applied.stderr).not.toMatch(/error/i);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(`- drop role ${app}_conductor_role`);
    const left = await withClient(serverUrl, (c) =>
      c.query('select rolname from pg_roles where rolname like $1', [`${app}_conductor%`]),
    );
    expect(left.rowCount).toBe(0);
    expect((await cli('verify')).code).toBe(0);
  });
});
