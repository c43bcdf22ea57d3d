/** A policy naming a table or column the target lacks: exit 2 per target, nothing applied. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScenario, type Scenario } from './scenario.js';

describe('policies naming missing objects on PostgreSQL', () => {
  let s: Scenario;

  beforeAll(async () => {
    s = await createScenario({
      setupSql: 'create table services (id serial primary key, host text);',
      policies: [
        { component: 'api', tables: { services: ['select'], no_such_table: ['select'] } },
        { component: 'scheduler', tables: { services: { select: ['host', 'no_such_column'] } } },
      ],
    });
  });
  afterAll(async () => {
    await s.cleanup();
  });

  it.each(['plan', 'apply'])(
    '%s exits 2 naming each missing object with its target, and changes nothing',
    async (command) => {
      const run = await s.cli(command);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        'target main1: table public.no_such_table does not exist (policy of component api)',
      );
      expect(run.stderr).toContain(
        'target main1: column public.services.no_such_column does not exist (policy of component scheduler)',
      );
      expect(run.stderr).toContain('nothing was applied');
      const roles = await s.admin((c) =>
        c.query('select 1 from pg_roles where starts_with(rolname, $1)', [`${s.app}_`]),
      );
      expect(roles.rowCount).toBe(0);
    },
  );

  it('--format json reports the same as a JSON error document', async () => {
    const run = await s.cli('plan', '--format', 'json');
    expect(run.code).toBe(2);
    const doc = JSON.parse(run.stdout) as { ok: boolean; error: { kind: string; message: string } };
    expect(doc.ok).toBe(false);
    expect(doc.error.kind).toBe('InvalidInputError');
    expect(doc.error.message).toContain('no_such_table');
  });
});
