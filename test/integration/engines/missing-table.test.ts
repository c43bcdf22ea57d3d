/** A policy naming a table or column the target lacks: exit 2 per target, nothing applied. On every engine. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../../harness/engines.js';
import { createScenario, type Scenario } from './scenario.js';

describe.each(ENGINES)('policies naming missing objects on $title', (engine) => {
  let s: Scenario;

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: `create table services (${engine.serialId}, host text);`,
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
        `target main1: table ${s.schema}.no_such_table does not exist (policy of component api)`,
      );
      expect(run.stderr).toContain(
        `target main1: column ${s.schema}.services.no_such_column does not exist (policy of component scheduler)`,
      );
      expect(run.stderr).toContain('nothing was applied');
      // No role, no login, no mark.
      expect(await engine.accounts(`${s.app}_`)).toEqual([]);
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
