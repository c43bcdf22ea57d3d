/**
 * The core contract on a real server: apply a multi-component policy to a
 * fresh database, verify it, then prove it by logging in as each component
 * and running every verb on every column of every table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asLogin,
  createScenario,
  ident,
  outcome,
  type PolicySpec,
  type Scenario,
  type TableSpec,
} from './scenario.js';

const TABLES = Array.from({ length: 30 }, (_, i) => `t${String(i + 1).padStart(2, '0')}`);
const COLUMNS = ['id', 'a', 'b', 'c'];

/** Every table has a serial id, so column inserts also need USAGE on its sequence. */
const SETUP_SQL = TABLES.map(
  (t) => `create table ${t} (id serial primary key, a text, b text, c text);`,
).join('\n');

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

function probe(table: string, verb: Verb, column: string): string {
  const t = ident(table);
  const c = ident(column);
  switch (verb) {
    case 'select':
      return `SELECT ${c} FROM ${t} WHERE false`;
    case 'insert':
      // A real row: the id default calls nextval() with the login's own privileges.
      return column === 'id'
        ? `INSERT INTO ${t} (id) VALUES (DEFAULT)`
        : `INSERT INTO ${t} (${c}) VALUES (NULL)`;
    case 'update':
      return `UPDATE ${t} SET ${c} = NULL WHERE false`;
    case 'delete':
      return `DELETE FROM ${t} WHERE false`;
  }
}

describe('apply and verify on PostgreSQL', () => {
  let s: Scenario;

  beforeAll(async () => {
    s = await createScenario({ setupSql: SETUP_SQL, policies: POLICIES });
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
    'as %s, every allowed verb succeeds and every other verb on every table fails with 42501',
    async (component) => {
      const policy = POLICIES.find((p) => p.component === component) as PolicySpec;
      const url = s.credentials(component).targets.main1?.url as string;
      const mismatches: string[] = [];
      let allowedCount = 0;
      await asLogin(url, async (c) => {
        for (const table of TABLES) {
          for (const verb of ['select', 'insert', 'update', 'delete'] as const) {
            for (const column of verb === 'delete' ? ['id'] : COLUMNS) {
              const expected = allowed(policy, table, verb, column) ? 'ok' : '42501';
              if (expected === 'ok') allowedCount++;
              const got = await outcome(c, probe(table, verb, column));
              if (got !== expected)
                mismatches.push(`${verb} ${table}.${column}: expected ${expected}, got ${got}`);
            }
          }
        }
      });
      expect(mismatches).toEqual([]);
      expect(allowedCount).toBeGreaterThan(10);
    },
  );

  it('compute cannot log in at all', async () => {
    const roles = await s.admin((c) =>
      c.query('select rolname from pg_roles where rolname = $1', [`${s.app}_compute`]),
    );
    expect(roles.rowCount).toBe(0);
  });

  it('marks the roles it made, with no powers beyond table access', async () => {
    const { rows } = await s.admin((c) =>
      c.query<{ rolname: string; rolcanlogin: boolean; powers: boolean; comment: string }>(
        `select rolname, rolcanlogin, rolsuper or rolcreatedb or rolcreaterole or rolreplication or rolbypassrls as powers,
                shobj_description(oid, 'pg_authid') as comment
         from pg_roles where starts_with(rolname, $1) order by rolname`,
        [`${s.app}_`],
      ),
    );
    expect(rows.map((r) => [r.rolname.slice(s.app.length + 1), r.rolcanlogin, r.powers])).toEqual([
      ['api', true, false],
      ['api_role', false, false],
      ['conductor', true, false],
      ['conductor_role', false, false],
      ['scheduler', true, false],
      ['scheduler_role', false, false],
    ]);
    expect(new Set(rows.map((r) => r.comment))).toEqual(
      new Set([`dbwarden: managed role of app ${s.app}; manual changes are reverted by dbwarden apply`]),
    );
  });
});
