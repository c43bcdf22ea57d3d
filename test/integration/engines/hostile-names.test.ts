/**
 * Names are data, never SQL: tables and columns with quotes, spaces, unicode
 * and SQL fragments are granted exactly, and nothing else happens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asLogin, createScenario, ident, outcome, type Scenario } from './scenario.js';

const HOSTILE_TABLES = [
  'x"; DROP TABLE y; --',
  'with space',
  "O'Reilly",
  'ünïcödé_表',
  'Mixed"Case',
  "'); REVOKE ALL ON y FROM PUBLIC; --",
];
const HOSTILE_COLUMN = 'col"; DROP TABLE y; --';

const SETUP_SQL = [
  'create table y (id int);',
  ...HOSTILE_TABLES.map(
    (t) => `create table ${ident(t)} (id serial primary key, ${ident(HOSTILE_COLUMN)} text, other text);`,
  ),
].join('\n');

describe('hostile table and column names on PostgreSQL', () => {
  let s: Scenario;

  beforeAll(async () => {
    s = await createScenario({
      setupSql: SETUP_SQL,
      policies: [
        {
          component: 'api',
          tables: Object.fromEntries(
            HOSTILE_TABLES.map((t, i) => [
              t,
              i % 2 === 0 ? ['select', 'insert'] : { select: [HOSTILE_COLUMN] },
            ]),
          ),
        },
      ],
    });
  });
  afterAll(async () => {
    await s.cleanup();
  });

  it('grants exactly what the policy says, verifies, and leaves every other object alone', async () => {
    const before = await s.admin((c) =>
      c.query('select relname, relacl::text from pg_class where relkind = $1 order by 1', ['r']),
    );
    const applied = await s.cli('apply');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(
      `+ grant select, insert on table public."x""; DROP TABLE y; --" to ${s.app}_api_role`,
    );
    expect((await s.cli('verify')).code).toBe(0);

    const url = s.credentials('api').targets.main1?.url as string;
    await asLogin(url, async (c) => {
      for (const [i, table] of HOSTILE_TABLES.entries()) {
        expect(await outcome(c, `SELECT ${ident(HOSTILE_COLUMN)} FROM ${ident(table)}`)).toBe('ok');
        expect(await outcome(c, `SELECT other FROM ${ident(table)}`)).toBe(i % 2 === 0 ? 'ok' : '42501');
        expect(await outcome(c, `INSERT INTO ${ident(table)} (other) VALUES ('v')`)).toBe(
          i % 2 === 0 ? 'ok' : '42501',
        );
      }
      expect(await outcome(c, 'SELECT * FROM y')).toBe('42501');
    });

    const after = await s.admin((c) =>
      c.query('select relname, relacl::text from pg_class where relkind = $1 order by 1', ['r']),
    );
    const names = (rows: { relname: string }[]) => rows.map((r) => r.relname);
    expect(names(after.rows)).toEqual(names(before.rows));
    // y exists and still has no grants at all.
    expect(after.rows.find((r) => r.relname === 'y')).toEqual({ relname: 'y', relacl: null });
  });
});
