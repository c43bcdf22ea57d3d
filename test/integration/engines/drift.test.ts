/**
 * Drift made by hand is found, shown as exactly the changes that undo it,
 * repaired by apply, and a second apply runs no statement at all (read from
 * the server's own statement log, not from dbwarden's report). On every engine.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../../harness/engines.js';
import { createScenario, type Scenario } from './scenario.js';

describe.each(ENGINES)('drift on $title', (engine) => {
  let s: Scenario;

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: `
create table instances (${engine.serialId}, uuid text, host text);
create table services (${engine.serialId}, host text, topic text);
create table compute_nodes (${engine.serialId}, host text);`,
      policies: [
        {
          component: 'scheduler',
          tables: { compute_nodes: ['select'], services: ['select', 'insert', 'update'] },
        },
      ],
    });
    expect((await s.cli('apply')).code).toBe(0);
  });
  afterAll(async () => {
    await s.cleanup();
  });

  it('plan --exit-code shows exactly the hand-made changes, apply repairs them, and a rerun runs nothing', async () => {
    const role = `${s.app}_scheduler_role`;
    await s.sql(
      `${engine.grantSql('DELETE', 'instances', role)}; ${engine.revokeSql('UPDATE', 'services', role)};`,
    );

    const drift = await s.cli('plan', '--exit-code', '--format', 'json');
    expect(drift.code).toBe(3);
    const { changes } = JSON.parse(drift.stdout) as { changes: unknown[] };
    expect(changes).toEqual([
      {
        type: 'revoke',
        target: 'main1',
        component: 'scheduler',
        role,
        kind: 'role',
        object: { kind: 'table', schema: s.schema, table: 'instances' },
        privileges: ['delete'],
      },
      {
        type: 'grant',
        target: 'main1',
        component: 'scheduler',
        role,
        kind: 'role',
        object: { kind: 'table', schema: s.schema, table: 'services' },
        privileges: ['update'],
      },
    ]);
    const text = await s.cli('plan');
    expect(text.stdout).toContain(`- revoke delete on table ${s.schema}.instances from ${role}`);
    expect(text.stdout).toContain(`+ grant update on table ${s.schema}.services to ${role}`);

    expect((await s.cli('apply')).code).toBe(0);
    expect((await s.cli('plan', '--exit-code')).code).toBe(0);
    expect((await s.cli('verify')).code).toBe(0);

    const marker = `dbwarden-noop-${randomUUID()}`;
    await s.sql(`select '${marker}'`);
    const again = await s.cli('apply', '--format', 'json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ statements: 0, changes: [] });
    const log = engine.statementLog;
    // Other test files share the server: only statements naming this test's roles count.
    const changed = (await log.statementsAfter(marker)).filter(
      (statement) => statement.includes(s.app) && engine.changeStatement.test(statement),
    );
    // The same filter does see apply's statements: the repair above logged one.
    expect(log.text()).toMatch(engine.grantLoggedPattern(s.schema, 'services', 'update', role));
    expect(
      log.statements().filter((st) => st.includes(s.app) && engine.changeStatement.test(st)).length,
    ).toBeGreaterThan(0);
    expect(changed).toEqual([]);
  });

  it('verify reports a missing and an extra privilege per table, and exits 3', async () => {
    const role = `${s.app}_scheduler_role`;
    const extra = engine.extraPrivilege;
    await s.sql(
      `${engine.grantSql(extra.sql, 'compute_nodes', role)}; ${engine.revokeSql('INSERT', 'services', role)};`,
    );
    const verified = await s.cli('verify');
    expect(verified.code).toBe(3);
    expect(verified.stdout).toContain('FAIL  scheduler on main1');
    expect(verified.stdout).toContain(`extra   ${extra.word} on table ${s.schema}.compute_nodes`);
    expect(verified.stdout).toContain(`missing insert on table ${s.schema}.services`);
    expect((await s.cli('apply')).code).toBe(0);
    expect((await s.cli('verify')).code).toBe(0);
  });
});
