/**
 * Which targets share roles, when the admin is not a superuser and may not
 * read pg_control_system() (revoked, as hosted services do): two databases on
 * one server share the login; a second server gets its own. The admin URLs
 * name the servers only in their `host`/`port` parameters, so the URL's own
 * host and port (`localhost:5432`) are the same for both servers: nothing
 * read from the URL may tell them apart, or merge them.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createDatabase,
  dropRolesWithPrefix,
  type TestDatabase,
  uniqueName,
  urlForDatabase,
  withClient,
} from '../../harness/databases.js';
import { type PostgresServer, startSecondPostgres } from '../../harness/postgres.js';
import { runCli, writeDeployment, writePolicy } from '../engines/scenario.js';
import { generatePassword } from '../../../src/credentials/password.js';

const { escapeIdentifier } = pg;

interface Server {
  readonly superuserUrl: string;
  readonly port: string;
}

describe('server identity without pg_control_system()', () => {
  const app = uniqueName('si').slice(0, 20);
  const admin = uniqueName('adm').slice(0, 20);
  const adminPassword = generatePassword();
  let second: PostgresServer;
  let servers: Server[] = [];
  const dbs: { server: Server; db: TestDatabase }[] = [];
  const dirs: string[] = [];

  /** The non-superuser admin's URL for a database, the server named only by parameters. */
  const adminUrl = (server: Server, database: string) =>
    `postgresql://${admin}:${adminPassword}@localhost/${database}?host=127.0.0.1&port=${server.port}`;

  /** A database owned by the admin, with a table of its own and the control functions revoked. */
  async function database(server: Server, revoke: readonly string[]): Promise<TestDatabase> {
    const db = await createDatabase(server.superuserUrl);
    dbs.push({ server, db });
    await withClient(db.url, async (c) => {
      await c.query(`alter database ${escapeIdentifier(db.name)} owner to ${escapeIdentifier(admin)}`);
      for (const fn of revoke) await c.query(`revoke execute on function pg_catalog.${fn}() from public`);
    });
    await withClient(adminUrl(server, db.name), (c) =>
      c.query('create table instances (id serial primary key, host text)'),
    );
    return db;
  }

  function deployment(targets: readonly { name: string; server: Server; db: TestDatabase }[]) {
    const env: Record<string, string | undefined> = { PATH: process.env.PATH };
    for (const t of targets) env[`${t.name.toUpperCase()}_URL`] = adminUrl(t.server, t.db.name);
    const dir = writeDeployment(
      app,
      targets.map((t) => ({ name: t.name, kind: t.name, urlVariable: `${t.name.toUpperCase()}_URL` })),
    );
    dirs.push(dir);
    const tables = { instances: ['select', 'update'] };
    writePolicy(dir, 'api', Object.fromEntries(targets.map((t) => [t.name, tables])));
    return { dir, cli: (...args: string[]) => runCli(dir, env, args) };
  }

  beforeAll(async () => {
    second = await startSecondPostgres();
    servers = [inject('pgAdminUrl'), second.adminUrl].map((url) => ({
      superuserUrl: url,
      port: new URL(url).port,
    }));
    for (const server of servers) {
      await withClient(server.superuserUrl, (c) =>
        c.query(
          `create role ${escapeIdentifier(admin)} login createrole createdb password '${adminPassword}'`,
        ),
      );
    }
  });
  afterAll(async () => {
    for (const { server, db } of dbs) if (server === servers[0]) await db.drop();
    const first = servers[0]?.superuserUrl;
    if (first) {
      await dropRolesWithPrefix(first, `${app}_`);
      await withClient(first, (c) => c.query(`drop role if exists ${escapeIdentifier(admin)}`));
    }
    await second?.stop();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the login once per server: two databases on one, a third on another', async () => {
    const [one, two] = servers as [Server, Server];
    const targets = [
      { name: 'cella', server: one, db: await database(one, ['pg_control_system']) },
      { name: 'cellb', server: one, db: await database(one, ['pg_control_system']) },
      { name: 'cellc', server: two, db: await database(two, ['pg_control_system']) },
    ];
    for (const t of targets) {
      const readable = await withClient(adminUrl(t.server, t.db.name), (c) =>
        c.query<{ ok: boolean }>(
          "select has_function_privilege('pg_catalog.pg_control_system()', 'execute') as ok, rolsuper from pg_roles where rolname = current_user",
        ),
      );
      expect(readable.rows[0]).toEqual({ ok: false, rolsuper: false });
    }
    const { dir, cli } = deployment(targets);

    const applied = await cli('apply', '--format', 'json');
    expect(applied.code, applied.stdout).toBe(0);
    const { changes } = JSON.parse(applied.stdout) as { changes: { type: string; target: string }[] };
    expect(changes.filter((c) => c.type === 'create-login').map((c) => c.target)).toEqual(['cella', 'cellc']);

    // The login exists on both servers, and logs in with its own password on every database.
    for (const server of servers) {
      const role = await withClient(server.superuserUrl, (c) =>
        c.query<{ rolcanlogin: boolean }>('select rolcanlogin from pg_roles where rolname = $1', [
          `${app}_api`,
        ]),
      );
      expect(role.rows).toEqual([{ rolcanlogin: true }]);
    }
    const file = JSON.parse(fs.readFileSync(path.join(dir, 'credentials', 'api.json'), 'utf8')) as {
      password: string;
    };
    for (const t of targets) {
      const loginUrl = urlForDatabase(t.server.superuserUrl, t.db.name).replace(
        /\/\/[^@]*@/,
        `//${app}_api:${encodeURIComponent(file.password)}@`,
      );
      const read = await withClient(loginUrl, (c) =>
        c.query<{ me: string }>('select current_user as me from instances limit 1'),
      );
      expect(read.rowCount).toBe(0);
    }
    expect((await cli('verify')).code).toBe(0);
    expect((await cli('plan', '--exit-code')).code).toBe(0);
  });

  it('refuses two targets whose servers cannot say who they are, naming them', async () => {
    const [one] = servers as [Server];
    const revoke = ['pg_control_system', 'pg_postmaster_start_time'];
    const targets = [
      { name: 'celld', server: one, db: await database(one, revoke) },
      { name: 'celle', server: one, db: await database(one, revoke) },
    ];
    const { cli } = deployment(targets);
    const planned = await cli('plan');
    expect(planned.code, planned.stderr).toBe(2);
    expect(planned.stderr).toContain(
      'target celld: its postgres server does not say which server it is, so dbwarden cannot tell whether it holds the roles of target(s) celle',
    );
    expect(planned.stderr).not.toContain(adminPassword);
  });
});
