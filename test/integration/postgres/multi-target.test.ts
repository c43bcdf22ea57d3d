/**
 * Nova's shape: an API database and a cell database on one server, managed by
 * an admin that is not a superuser (CREATEROLE and table owner, as on managed
 * cloud databases). Roles are made once per server; grants land per database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import {
  createDatabase,
  dropRolesWithPrefix,
  type TestDatabase,
  uniqueName,
  withClient,
} from '../../harness/databases.js';
import { asLogin, outcome, runCli } from './scenario.js';

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
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbwarden-multi-'));
    fs.mkdirSync(path.join(dir, 'policies'));
    fs.writeFileSync(
      path.join(dir, 'dbwarden.yaml'),
      stringify({
        app,
        policies: 'policies',
        targets: [
          { name: 'nova_api', kind: 'api', url: '${API_URL}' },
          { name: 'nova_cell1', kind: 'main', url: '${CELL_URL}' },
        ],
        credentials: { dir: './credentials' },
      }),
    );
    const policies = {
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
    for (const [component, databases] of Object.entries(policies)) {
      const doc = {
        component,
        databases: Object.fromEntries(Object.entries(databases).map(([kind, tables]) => [kind, { tables }])),
      };
      fs.writeFileSync(path.join(dir, 'policies', `${component}.yaml`), stringify(doc));
    }
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
});
