/** hardenPublic: PUBLIC loses CONNECT/TEMPORARY on the database and CREATE on schema public. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { urlForDatabase, withClient } from '../../harness/databases.js';
import { postgresEngine } from '../../harness/engines.js';
import { createScenario, type Scenario } from '../engines/scenario.js';

describe('hardenPublic on PostgreSQL', () => {
  let s: Scenario;
  let outsider: string;

  beforeAll(async () => {
    s = await createScenario(postgresEngine(), {
      setupSql:
        'create table services (id serial primary key, host text); grant create on schema public to public;',
      policies: [{ component: 'api', tables: { services: ['select'] } }],
      hardenPublic: true,
    });
    // A role dbwarden does not manage: it keeps what it has but loses what came through PUBLIC.
    outsider = `${s.app}x_outsider`;
    await s.sql(`create role "${outsider}" login password 'outsider-pw'`);
  });
  afterAll(async () => {
    await withClient(s.adminUrl, (c) => c.query(`drop role if exists "${outsider}"`));
    await s.cleanup();
  });

  const outsiderUrl = () => {
    const url = new URL(urlForDatabase(s.adminUrl, s.db.name));
    url.username = outsider;
    url.password = 'outsider-pw';
    return url.toString();
  };

  it('revokes from PUBLIC, and only managed logins can still connect', async () => {
    expect(await withClient(outsiderUrl(), async (c) => (await c.query('select 1')).rowCount)).toBe(1);
    const planned = await s.cli('plan');
    expect(planned.stdout).toContain('PUBLIC (hardenPublic)');
    expect(planned.stdout).toContain(`- revoke connect, temporary on database ${s.db.name} from PUBLIC`);
    expect(planned.stdout).toContain('- revoke create on schema public from PUBLIC');
    expect((await s.cli('apply')).code).toBe(0);

    await expect(withClient(outsiderUrl(), (c) => c.query('select 1'))).rejects.toMatchObject({
      code: '42501',
    });
    expect((await s.cli('verify')).code).toBe(0);
    expect((await s.cli('plan', '--exit-code')).code).toBe(0);
  });
});
