/**
 * A statement the server refuses: the target's transaction rolls back, the
 * error names what dbwarden was doing (not its SQL), and a rerun after the
 * cause is fixed finishes the job. Also: roles of removed components go.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScenario, type Scenario } from './scenario.js';

describe('a refused statement on PostgreSQL', () => {
  let s: Scenario;

  beforeAll(async () => {
    s = await createScenario({
      setupSql: 'create table services (id serial primary key, host text); create table leftovers (id int);',
      policies: [
        { component: 'api', tables: { services: ['select'] } },
        { component: 'old', tables: { services: ['select', 'update'] } },
      ],
    });
    expect((await s.cli('apply')).code).toBe(0);
  });
  afterAll(async () => {
    await s.cleanup();
  });

  const roles = async () =>
    (
      await s.admin((c) =>
        c.query<{ rolname: string }>(
          'select rolname from pg_roles where starts_with(rolname, $1) order by 1',
          [`${s.app}_`],
        ),
      )
    ).rows.map((r) => r.rolname.slice(s.app.length + 1));

  it('rolls the target back, names the intent, and a rerun after the fix completes', async () => {
    // The removed component's role owns a table: PostgreSQL refuses to drop it.
    await s.admin((c) => c.query(`alter table leftovers owner to "${s.app}_old_role"`));
    s.writePolicies([{ component: 'api', tables: { services: ['select', 'insert'] } }]);

    const failed = await s.cli('apply');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      `target main1: could not drop role ${s.app}_old_role: role "${s.app}_old_role" cannot be dropped because some objects depend on it (SQLSTATE 2BP01)`,
    );
    expect(failed.stderr).toContain('run apply again');
    expect(failed.stderr).not.toContain('DROP ROLE');
    // Nothing of that transaction stayed: the old roles and api's missing insert are as before.
    expect(await roles()).toEqual(['api', 'api_role', 'old', 'old_role']);
    expect((await s.cli('plan', '--exit-code')).code).toBe(3);

    await s.admin((c) => c.query('alter table leftovers owner to current_user'));
    const fixed = await s.cli('apply');
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain(`- drop login ${s.app}_old`);
    expect(fixed.stdout).toContain(`- drop role ${s.app}_old_role`);
    expect(fixed.stdout).toContain('removed credentials/old.json');
    expect(await roles()).toEqual(['api', 'api_role']);
    expect((await s.cli('verify')).code).toBe(0);
  });

  it('leaves unmarked roles alone, and adopts an existing role that has a managed name', async () => {
    const legacy = `${s.app}_legacy`;
    await s.admin((c) =>
      c.query(`create role "${legacy}" nologin; grant select, delete on services to "${legacy}";
               create role "${s.app}_web_role" nologin createdb; grant truncate on services to "${s.app}_web_role";`),
    );
    s.writePolicies([
      { component: 'api', tables: { services: ['select', 'insert'] } },
      { component: 'web', tables: { services: ['select'] } },
    ]);
    const applied = await s.cli('apply');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(`~ mark ${s.app}_web_role as managed by dbwarden`);
    expect(applied.stdout).toContain(`~ alter role ${s.app}_web_role: remove createdb`);
    expect(applied.stdout).toContain(`- revoke truncate on table public.services from ${s.app}_web_role`);
    expect(applied.stdout).not.toContain(legacy);
    const legacyGrants = await s.admin((c) =>
      c.query<{ p: string }>(
        `select privilege_type as p from information_schema.role_table_grants where grantee = $1 order by 1`,
        [legacy],
      ),
    );
    expect(legacyGrants.rows.map((r) => r.p)).toEqual(['DELETE', 'SELECT']);
    expect((await s.cli('verify')).code).toBe(0);
  });
});
