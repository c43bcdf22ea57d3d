/**
 * The shared test server is what the integration tests assume: a superuser over TCP, passwords
 * actually checked, every statement logged, and throwaway databases that come and go.
 */
import fs from 'node:fs';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { createDatabase, dropRolesWithPrefix, uniqueName, withClient } from '../harness/databases.js';

const adminUrl = inject('pgAdminUrl');
const logFile = inject('pgLogFile');

describe('test PostgreSQL server', () => {
  it('answers as superuser over TCP', async () => {
    const row = await withClient(adminUrl, async (c) => {
      const r = await c.query<{ version: string; superuser: string; addr: string | null }>(
        "select version(), current_setting('is_superuser') as superuser, inet_server_addr()::text as addr",
      );
      return r.rows[0];
    });
    expect(row?.version).toMatch(/^PostgreSQL \d+/);
    expect(row?.superuser).toBe('on');
    // inet_server_addr() is null on a unix socket: this really went over TCP.
    expect(row?.addr).not.toBeNull();
    expect(inject('pgVersion')).toMatch(/^\d+/);
  });

  it('refuses a wrong password (28P01)', async () => {
    const url = new URL(adminUrl);
    url.password = 'certainly-not-the-password';
    const client = new pg.Client({ connectionString: url.toString() });
    await expect(client.connect()).rejects.toMatchObject({ code: '28P01' });
    await client.end().catch(() => undefined);
  });

  it('logs every statement (log_statement=all), into pgLogFile when there is one', async () => {
    const marker = uniqueName('marker');
    const setting = await withClient(adminUrl, async (c) => {
      await c.query(`select '${marker}' as marker`);
      return (await c.query<{ v: string }>("select current_setting('log_statement') as v")).rows[0]?.v;
    });
    expect(
      setting,
      "the test server must log every statement: for DBWARDEN_TEST_PG_URL, ALTER SYSTEM SET log_statement = 'all'",
    ).toBe('all');
    // pgLogFile is '' only for a server given through DBWARDEN_TEST_PG_URL, whose log we cannot read:
    // the tests that check the server log cannot run there, and fail rather than pass unchecked.
    expect(
      logFile,
      'DBWARDEN_TEST_PG_URL: its server log cannot be read; unset it to let the tests start one',
    ).not.toBe('');
    // The server writes its log asynchronously: poll briefly.
    const deadline = Date.now() + 10_000;
    let found = false;
    while (!found && Date.now() < deadline) {
      found = fs.readFileSync(logFile, 'utf8').includes(marker);
      if (!found) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(found, `${marker} in ${logFile}`).toBe(true);
  });

  it('creates and drops throwaway databases, dropping open connections', async () => {
    const db = await createDatabase(adminUrl);
    expect(db.name).toMatch(/^[a-z0-9_]{1,30}$/);
    const idle = new pg.Client({ connectionString: db.url });
    idle.on('error', () => undefined);
    await idle.connect();
    const current = await idle.query<{ db: string }>('select current_database() as db');
    expect(current.rows[0]?.db).toBe(db.name);

    await db.drop();
    const left = await withClient(adminUrl, (c) =>
      c.query('select 1 from pg_database where datname = $1', [db.name]),
    );
    expect(left.rowCount).toBe(0);
    await idle.end().catch(() => undefined);
  });

  it('makes unique names of [a-z0-9_], at most 30 characters', () => {
    const names = new Set<string>();
    for (let i = 0; i < 1000; i++) names.add(uniqueName('a_rather-Long.Prefix_for_an_app'));
    expect(names.size).toBe(1000);
    for (const name of names) expect(name).toMatch(/^[a-z_][a-z0-9_]{0,29}$/);
  });

  it('drops roles with a prefix, including what they own and were granted', async () => {
    const prefix = uniqueName('app');
    const db = await createDatabase(adminUrl);
    try {
      await withClient(db.url, async (c) => {
        await c.query(`create role ${prefix}_owner login password 'x'`);
        await c.query(`create role ${prefix}_reader login password 'y'`);
        await c.query(`create schema s authorization ${prefix}_owner`);
        await c.query(`create table s.t (id int)`);
        await c.query(`alter table s.t owner to ${prefix}_owner`);
        await c.query(`grant usage on schema s to ${prefix}_reader`);
        await c.query(`grant select on s.t to ${prefix}_reader`);
        await c.query(`grant connect on database ${db.name} to ${prefix}_reader`);
      });
      await dropRolesWithPrefix(adminUrl, prefix);
      const roles = await withClient(adminUrl, (c) =>
        c.query('select rolname from pg_roles where left(rolname, length($1)) = $1', [prefix]),
      );
      expect(roles.rowCount).toBe(0);
    } finally {
      await db.drop();
    }
  });
});
