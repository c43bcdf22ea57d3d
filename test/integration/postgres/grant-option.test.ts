/**
 * WITH GRANT OPTION on PostgreSQL (issue 14, finding 4): a managed role that
 * holds its privileges with the grant option, at table or column level, is
 * reported by verify (exit 3) and by plan, and apply takes the option away
 * (with what the login already passed on) and keeps the privileges. Checked
 * in the catalog and as the login itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresEngine } from '../../harness/engines.js';
import { createScenario, type Scenario } from '../engines/scenario.js';

describe('grant options on PostgreSQL', () => {
  const engine = postgresEngine();
  let s: Scenario;
  let role: string;
  let url: string;

  /** Grant options the role holds on users, from the catalog: `select`, `update(name)`, ... */
  async function grantOptions(): Promise<string[]> {
    const rows = await s.sql<{ g: string }>(
      `select lower(e.privilege_type) as g
       from pg_class c, aclexplode(c.relacl) e
       where c.oid = 'public.users'::regclass and e.grantee = $1::regrole and e.is_grantable
       union all
       select lower(e.privilege_type) || '(' || a.attname || ')'
       from pg_attribute a, aclexplode(a.attacl) e
       where a.attrelid = 'public.users'::regclass and e.grantee = $1::regrole and e.is_grantable
       order by 1`,
      [role],
    );
    return rows.map((r) => r.g);
  }

  /** What PUBLIC holds on users: `select`, `delete`. */
  async function publicHolds(): Promise<string[]> {
    const rows = await s.sql<{ p: string }>(
      `select lower(p) as p from unnest(array['SELECT', 'DELETE']) as p
       where has_table_privilege('public', 'public.users', p) order by 1`,
    );
    return rows.map((r) => r.p);
  }

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: 'create table users (id serial primary key, name text, email text);',
      policies: [{ component: 'api', tables: { users: { select: 'all', insert: 'all', update: ['name'] } } }],
    });
    expect((await s.cli('apply')).code).toBe(0);
    role = `${s.app}_api_role`;
    url = s.credentials('api').targets.main1?.url as string;
    await s.sql(
      `grant select, insert on users to "${role}" with grant option;
       grant update (name) on users to "${role}" with grant option;
       grant delete on users to "${role}" with grant option;`,
    );
  });
  afterAll(async () => {
    await s.cleanup();
  });

  it('verify and plan report the grant options, apply revokes them and the login can no longer pass privileges on', async () => {
    expect(await grantOptions()).toEqual(['delete', 'insert', 'select', 'update(name)']);
    // The grant option works: the login passes privileges on to PUBLIC, and they stick.
    expect(await publicHolds()).toEqual([]);
    await engine.query(url, 'grant select, delete on users to public');
    expect(await publicHolds()).toEqual(['delete', 'select']);

    const verified = await s.cli('verify');
    expect(verified.code).toBe(3);
    expect(verified.stdout).toContain('FAIL  api on main1');
    expect(verified.stdout).toContain('extra   select with grant option on table public.users');
    expect(verified.stdout).toContain('extra   insert with grant option on table public.users');
    expect(verified.stdout).toContain('extra   update with grant option (name) on table public.users');
    expect(verified.stdout).toContain('extra   delete on table public.users');
    expect(verified.stdout).toContain('extra   delete with grant option on table public.users');

    const planned = await s.cli('plan', '--exit-code');
    expect(planned.code).toBe(3);
    expect(planned.stdout).toContain(
      `- revoke the grant option for select, insert, delete on table public.users from ${role}`,
    );
    expect(planned.stdout).toContain(
      `- revoke the grant option for update (name) on table public.users from ${role}`,
    );
    const json = JSON.parse((await s.cli('plan', '--format', 'json')).stdout) as {
      changes: { type: string }[];
    };
    expect(json.changes.map((c) => c.type)).toEqual(['revoke-grant-option', 'revoke-grant-option', 'revoke']);

    const applied = await s.cli('apply');
    expect(applied.stderr).not.toMatch(/error/i);
    expect(applied.code).toBe(0);
    expect(await grantOptions()).toEqual([]);
    // The policy's privileges stay, delete is gone; what the login passed on went with the
    // options (CASCADE; without it PostgreSQL refuses the revoke of delete).
    expect(await engine.tableGrantsOf(s.db, 'users', role)).toEqual(['INSERT', 'SELECT']);
    expect(await publicHolds()).toEqual([]);

    // PostgreSQL only warns when a GRANT gives nothing: check the effect, not the outcome.
    await engine.query(url, 'grant select on users to public');
    await engine.query(url, 'grant update (name) on users to public');
    expect(await publicHolds()).toEqual([]);
    const publicColumns = await s.sql(
      `select 1 from information_schema.column_privileges where grantee = 'PUBLIC' and table_name = 'users'`,
    );
    expect(publicColumns).toEqual([]);
    // The login still does its job.
    await engine.query(url, `insert into users (name) values ('a'); update users set name = 'b'`);

    expect((await s.cli('verify')).code).toBe(0);
    expect((await s.cli('plan', '--exit-code')).code).toBe(0);
  });
});
