/**
 * The core contract on a real server, on every engine: apply a multi-component
 * policy to a fresh database, verify it, then prove it by logging in as each
 * component and running every verb on every column of every table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, type TestEngine } from '../../harness/engines.js';
import { createScenario, type PolicySpec, type Scenario, type TableSpec } from './scenario.js';

const TABLES = Array.from({ length: 30 }, (_, i) => `t${String(i + 1).padStart(2, '0')}`);
const COLUMNS = ['id', 'a', 'b', 'c'];

/**
 * Every table has an auto-numbered id (PostgreSQL: serial, so column inserts also need USAGE on its
 * sequence; MySQL: auto_increment).
 */
const setupSql = (engine: TestEngine) =>
  TABLES.map((t) => `create table ${t} (${engine.serialId}, a text, b text, c text);`).join('\n');

const range = (from: number, to: number) => TABLES.slice(from - 1, to);
const each = (tables: string[], spec: TableSpec) => Object.fromEntries(tables.map((t) => [t, spec]));

const POLICIES: PolicySpec[] = [
  {
    component: 'api',
    tables: {
      ...each(range(1, 5), ['select', 'insert', 'update']),
      ...each(range(6, 10), ['select']),
      t11: { select: ['a', 'b'], update: ['b'] },
      t12: ['delete', 'select'],
    },
  },
  {
    component: 'conductor',
    tables: { ...each(range(1, 20), ['select', 'insert', 'update', 'delete']), t21: { insert: ['a', 'c'] } },
  },
  {
    component: 'scheduler',
    tables: {
      ...each(range(1, 5), ['select']),
      t13: { select: ['id', 'a'], insert: ['a'] },
      t14: { update: ['c'], select: 'all' },
    },
  },
  { component: 'compute' },
];

type Verb = 'select' | 'insert' | 'update' | 'delete';

/** Whether the policy lets the component use this verb on this column (delete: the whole row). */
function allowed(policy: PolicySpec, table: string, verb: Verb, column: string): boolean {
  const spec = policy.tables?.[table];
  if (!spec) return false;
  if (Array.isArray(spec)) return spec.includes(verb);
  const columns = spec[verb];
  return columns === 'all' || (Array.isArray(columns) && columns.includes(column));
}

function probe(engine: TestEngine, table: string, verb: Verb, column: string): string {
  const t = engine.ident(table);
  const c = engine.ident(column);
  switch (verb) {
    case 'select':
      return `SELECT ${c} FROM ${t} WHERE false`;
    case 'insert':
      // A real row: on PostgreSQL the id default calls nextval() with the login's own privileges.
      return column === 'id'
        ? `INSERT INTO ${t} (id) VALUES (DEFAULT)`
        : `INSERT INTO ${t} (${c}) VALUES (NULL)`;
    case 'update':
      return `UPDATE ${t} SET ${c} = NULL WHERE false`;
    case 'delete':
      return `DELETE FROM ${t} WHERE false`;
  }
}

describe.each(ENGINES)('apply and verify on $title', (engine) => {
  let s: Scenario;
  const denied = engine.deniedCodes.join('|');

  beforeAll(async () => {
    s = await createScenario(engine, { setupSql: setupSql(engine), policies: POLICIES });
  });
  afterAll(async () => {
    await s.cleanup();
  });

  it('applies a fresh database and verifies it', async () => {
    const applied = await s.cli('apply', '--format', 'json');
    expect(applied.stderr).not.toMatch(/error/i);
    expect(applied.code).toBe(0);
    const report = JSON.parse(applied.stdout) as { statements: number; credentials: { written: string[] } };
    expect(report.statements).toBeGreaterThan(20);
    expect(report.credentials.written.sort()).toEqual([
      'credentials/api.json',
      'credentials/conductor.json',
      'credentials/scheduler.json',
    ]);
    // compute has no databases: no login and no credential file.
    expect(fs.existsSync(path.join(s.credentialsDir, 'compute.json'))).toBe(false);

    const verified = await s.cli('verify');
    expect(verified.stdout).toContain('ok    compute: no database access');
    expect(verified.code).toBe(0);
  });

  it.each(['api', 'conductor', 'scheduler'])(
    `as %s, every allowed verb succeeds and every other verb on every table fails with ${denied}`,
    async (component) => {
      const policy = POLICIES.find((p) => p.component === component) as PolicySpec;
      const url = s.credentials(component).targets.main1?.url as string;
      expect(url.startsWith(`${engine.urlScheme}://`)).toBe(true);
      const mismatches: string[] = [];
      let allowedCount = 0;
      await engine.asLogin(url, async (c) => {
        for (const table of TABLES) {
          for (const verb of ['select', 'insert', 'update', 'delete'] as const) {
            for (const column of verb === 'delete' ? ['id'] : COLUMNS) {
              const isAllowed = allowed(policy, table, verb, column);
              if (isAllowed) allowedCount++;
              const got = await engine.outcome(c, probe(engine, table, verb, column));
              const ok = isAllowed ? got === 'ok' : engine.deniedCodes.includes(got);
              if (!ok)
                mismatches.push(
                  `${verb} ${table}.${column}: expected ${isAllowed ? 'ok' : denied}, got ${got}`,
                );
            }
          }
        }
      });
      expect(mismatches).toEqual([]);
      expect(allowedCount).toBeGreaterThan(10);
    },
  );

  it('compute cannot log in at all', async () => {
    const accounts = await engine.accounts(`${s.app}_compute`);
    expect(accounts).toEqual([]);
  });

  it('marks the roles it made, with no powers beyond table access, each login getting its grants from its role', async () => {
    const accounts = await engine.accounts(`${s.app}_`);
    const name = (n: string) => n.slice(s.app.length + 1);
    expect(accounts.map((a) => [name(a.name), a.canLogin, a.powers, a.via && name(a.via)])).toEqual([
      ['api', true, false, 'api_role'],
      ['api_role', false, false, null],
      ['conductor', true, false, 'conductor_role'],
      ['conductor_role', false, false, null],
      ['scheduler', true, false, 'scheduler_role'],
      ['scheduler_role', false, false, null],
    ]);
    expect(new Set(accounts.map((a) => a.mark))).toEqual(new Set([engine.expectedMark(s.app)]));
  });
});
