/**
 * Tables named like JavaScript's own object properties (`__proto__`,
 * `constructor`, `toString`) are names like any other: the policy keeps them,
 * apply grants them, verify checks them. Before, `__proto__` vanished from the
 * policy and validate, apply and verify all said ok. On every engine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, type TestEngine } from '../../harness/engines.js';
import { createScenario, type Scenario, type TableSpec } from './scenario.js';

const TABLES = ['__proto__', 'constructor', 'toString'];

const setupSql = (engine: TestEngine) =>
  [
    'create table y (id int);',
    ...TABLES.map((t) => `create table ${engine.ident(t)} (${engine.serialId}, a text);`),
  ].join('\n');

/** Object.fromEntries defines `__proto__` as an own key, so the policy YAML holds it as written. */
const tables: Record<string, TableSpec> = Object.fromEntries(TABLES.map((t) => [t, ['select', 'insert']]));

describe.each(ENGINES)('tables named __proto__ and constructor on $title', (engine) => {
  let s: Scenario;

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: setupSql(engine),
      policies: [{ component: 'api', tables }],
    });
  });
  afterAll(async () => {
    await s.cleanup();
  });

  it('are granted by apply, used by the login, and checked by verify', async () => {
    const policyText = fs.readFileSync(path.join(s.dir, 'policies', 'api.yaml'), 'utf8');
    expect(policyText).toMatch(/^\s+__proto__:/m);

    const validated = await s.cli('validate', '--format', 'json');
    expect(validated.code).toBe(0);
    expect(JSON.parse(validated.stdout)).toMatchObject({ components: [{ component: 'api', tables: 3 }] });

    const applied = await s.cli('apply');
    expect(applied.code).toBe(0);
    for (const table of ['__proto__', 'constructor']) {
      expect(applied.stdout).toContain(
        `+ grant select, insert on table ${s.schema}.${table} to ${s.app}_api_role`,
      );
    }
    expect(applied.stdout).toMatch(/\+ grant select, insert on table \S+toString\S* to /);
    expect((await s.cli('verify')).code).toBe(0);

    const url = s.credentials('api').targets.main1?.url as string;
    await engine.asLogin(url, async (c) => {
      for (const table of TABLES) {
        expect(await engine.outcome(c, `SELECT a FROM ${engine.ident(table)}`)).toBe('ok');
        expect(await engine.outcome(c, `INSERT INTO ${engine.ident(table)} (a) VALUES ('v')`)).toBe('ok');
      }
      const y = await engine.outcome(c, 'SELECT * FROM y');
      expect(engine.deniedCodes.includes(y), `select from y: ${y}`).toBe(true);
    });
  });

  it('verify reports a grant on __proto__ taken away by hand, and apply restores it', async () => {
    await s.sql(engine.revokeSql('INSERT', '__proto__', `${s.app}_api_role`));
    const verified = await s.cli('verify');
    expect(verified.code).toBe(3);
    expect(`${verified.stdout}${verified.stderr}`).toContain('__proto__');

    const applied = await s.cli('apply');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(`+ grant insert on table ${s.schema}.__proto__ to ${s.app}_api_role`);
    expect((await s.cli('verify')).code).toBe(0);
  });
});
