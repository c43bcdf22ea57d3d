/**
 * A statement the server refuses: the error names what dbwarden was doing (not
 * its SQL), on a transactional engine the target's transaction rolls back, and
 * a rerun after the cause is fixed finishes the job. Also: roles of removed
 * components go; unmarked roles stay; a role with a managed name is adopted.
 * On every engine (how the server is made to refuse: see refuseDrop in the
 * engine table).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../../harness/engines.js';
import { createScenario, type Scenario } from './scenario.js';

describe.each(ENGINES)('a refused statement on $title', (engine) => {
  let s: Scenario;

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: `create table services (${engine.serialId}, host text); create table leftovers (id int);`,
      policies: [
        { component: 'api', tables: { services: ['select'] } },
        { component: 'old', tables: { services: ['select', 'update'] } },
      ],
    });
    expect((await s.cli('apply')).code).toBe(0);
  });
  afterAll(async () => {
    await engine.refuseDrop.unblock(s, 'old');
    await s.cleanup();
  });

  const roles = async () => (await engine.accounts(`${s.app}_`)).map((a) => a.name.slice(s.app.length + 1));

  it('names the intent, keeps what is left to do pending, and a rerun after the fix completes', async () => {
    await engine.refuseDrop.block(s, 'old');
    s.writePolicies([{ component: 'api', tables: { services: ['select', 'insert'] } }]);

    const failed = await s.cli('apply');
    expect(failed.code).toBe(1);
    for (const expected of engine.refuseDrop.expectedErrors(s, 'old'))
      expect(failed.stderr).toContain(expected);
    expect(failed.stderr).toContain('run apply again');
    for (const sql of engine.rawSqlWords) expect(failed.stderr).not.toContain(sql);
    if (engine.transactionalDdl) {
      // Nothing of that transaction stayed: the old roles and api's missing insert are as before.
      expect(await roles()).toEqual(['api', 'api_role', 'old', 'old_role']);
    } else {
      // Statements before the refused one stay (DDL commits at once); the refused drop did not happen.
      expect(await roles()).toEqual(expect.arrayContaining(['api', 'api_role', 'old_role']));
    }
    expect((await s.cli('plan', '--exit-code')).code).toBe(3);

    await engine.refuseDrop.unblock(s, 'old');
    const fixed = await s.cli('apply');
    expect(fixed.code).toBe(0);
    if (engine.transactionalDdl) {
      expect(fixed.stdout).toContain(`- drop login ${s.app}_old`);
      expect(fixed.stdout).toContain('removed credentials/old.json');
    }
    expect(fixed.stdout).toContain(`- drop role ${s.app}_old_role`);
    expect(await roles()).toEqual(['api', 'api_role']);
    expect((await s.cli('verify')).code).toBe(0);
    // The removed component's password opens nothing any more: its credential file is gone too.
    expect(fs.existsSync(path.join(s.credentialsDir, 'old.json'))).toBe(false);
  });

  it('leaves unmarked roles alone, and adopts an existing role that has a managed name', async () => {
    const legacy = `${s.app}_legacy`;
    await s.sql(engine.adoption.setupSql(s.app));
    s.writePolicies([
      { component: 'api', tables: { services: ['select', 'insert'] } },
      { component: 'web', tables: { services: ['select'] } },
    ]);
    const applied = await s.cli('apply');
    expect(applied.code).toBe(0);
    for (const line of engine.adoption.expectedPlanLines(s.app, s.schema))
      expect(applied.stdout).toContain(line);
    expect(applied.stdout).not.toContain(legacy);
    expect(await engine.tableGrantsOf(s.db, 'services', legacy)).toEqual(['DELETE', 'SELECT']);
    expect((await s.cli('verify')).code).toBe(0);
    const web = (await engine.accounts(`${s.app}_web`)).map((a) => [a.name, a.mark]);
    expect(web).toEqual([
      [`${s.app}_web`, engine.expectedMark(s.app)],
      [`${s.app}_web_role`, engine.expectedMark(s.app)],
    ]);
  });

  it('gives the refusal as JSON with its target, action and the server codes as fields (issue 16, point 6)', async () => {
    s.writePolicies([
      { component: 'api', tables: { services: ['select'] } },
      { component: 'old', tables: { services: ['select', 'update'] } },
    ]);
    expect((await s.cli('apply')).code).toBe(0);
    await engine.refuseDrop.block(s, 'old');
    s.writePolicies([{ component: 'api', tables: { services: ['select'] } }]);
    try {
      const json = await s.cli('apply', '--format', 'json');
      expect(json.code).toBe(1);
      const { error } = JSON.parse(json.stdout) as { error: Record<string, unknown> };
      expect(error).toMatchObject({ kind: 'DatabaseError', target: 'main1' });
      expect(String(error.message)).toContain(`target main1: could not ${String(error.action)}`);
      expect(String(error.action)).toContain(`${s.app}_old`);
      expect(error.sqlState).toMatch(/^[0-9A-Z]{5}$/);
      expect(typeof error.code).toBe('string');
      if (!engine.transactionalDdl) expect(typeof error.errno).toBe('number');
      for (const sql of engine.rawSqlWords) expect(json.stdout).not.toContain(sql);
    } finally {
      await engine.refuseDrop.unblock(s, 'old');
    }
    expect((await s.cli('apply')).code).toBe(0);
  });
});
