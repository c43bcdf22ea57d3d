/**
 * Names are data, never SQL: tables and columns with quotes, spaces, unicode
 * and SQL fragments are granted exactly, and nothing else happens. On every engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, type TestEngine } from '../../harness/engines.js';
import { createScenario, type Scenario } from './scenario.js';

const HOSTILE_TABLES = [
  'x"; DROP TABLE y; --',
  'with space',
  "O'Reilly",
  'ünïcödé_表',
  'Mixed"Case',
  "'); REVOKE ALL ON y FROM PUBLIC; --",
  'back`tick`; DROP TABLE y; --',
];
const HOSTILE_COLUMN = 'col"; DROP TABLE y; --`';

const setupSql = (engine: TestEngine) =>
  [
    'create table y (id int);',
    ...HOSTILE_TABLES.map(
      (t) =>
        `create table ${engine.ident(t)} (${engine.serialId}, ${engine.ident(HOSTILE_COLUMN)} text, other text);`,
    ),
  ].join('\n');

describe.each(ENGINES)('hostile table and column names on $title', (engine) => {
  let s: Scenario;

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: setupSql(engine),
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
    const before = await engine.tableAcls(s.db);
    const applied = await s.cli('apply');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(
      `+ grant select, insert on table ${s.schema}."x""; DROP TABLE y; --" to ${s.app}_api_role`,
    );
    expect((await s.cli('verify')).code).toBe(0);

    const url = s.credentials('api').targets.main1?.url as string;
    const id = engine.ident;
    const denied = (got: string) => engine.deniedCodes.includes(got);
    await engine.asLogin(url, async (c) => {
      for (const [i, table] of HOSTILE_TABLES.entries()) {
        expect(await engine.outcome(c, `SELECT ${id(HOSTILE_COLUMN)} FROM ${id(table)}`)).toBe('ok');
        const other = await engine.outcome(c, `SELECT other FROM ${id(table)}`);
        const insert = await engine.outcome(c, `INSERT INTO ${id(table)} (other) VALUES ('v')`);
        if (i % 2 === 0) {
          expect(other).toBe('ok');
          expect(insert).toBe('ok');
        } else {
          expect(denied(other), `select other from ${table}: ${other}`).toBe(true);
          expect(denied(insert), `insert into ${table}: ${insert}`).toBe(true);
        }
      }
      const y = await engine.outcome(c, 'SELECT * FROM y');
      expect(denied(y), `select from y: ${y}`).toBe(true);
    });

    const after = await engine.tableAcls(s.db);
    const names = (rows: { table: string }[]) => rows.map((r) => r.table);
    expect(names(after)).toEqual(names(before));
    expect(names(after)).toEqual(expect.arrayContaining(['y', ...HOSTILE_TABLES]));
    // y exists and still has no grants at all.
    expect(after.find((r) => r.table === 'y')).toEqual({ table: 'y', acl: null });
  });
});
