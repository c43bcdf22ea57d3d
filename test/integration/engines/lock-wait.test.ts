/**
 * A run waiting for dbwarden's run lock says so (issue 15, point 9): once when the wait starts,
 * naming who holds the lock as the server tells, and then fails with the clear timeout error.
 * The lock is held from another connection; apply runs as the real binary. On every engine.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, type SqlConnection } from '../../harness/engines.js';
import { createScenario, type Scenario } from './scenario.js';

/** Takes dbwarden's run lock on the scenario's database as dbwarden does; returns who holds it. */
async function holdRunLock(s: Scenario, c: SqlConnection): Promise<string> {
  if (s.engine.family === 'postgres') {
    await c.query("select set_config('application_name', 'lock-holder-test', false)");
    // pg_advisory_lock(key1, key2): "dbwa" and "rd" + 2, as src/dialects/postgres/session.ts.
    const [row] = await c.query(
      'select pg_advisory_lock($1, $2), pg_backend_pid() as pid',
      [0x64627761, 0x72640002],
    );
    return `pid ${String(row?.pid)} (application lock-holder-test, user `;
  }
  const name = `dbwarden-run-${createHash('sha256').update(s.db.name, 'utf8').digest('hex').slice(0, 40)}`;
  const [row] = await c.query('select get_lock(?, 0) as got, connection_id() as id', [name]);
  expect(Number(row?.got)).toBe(1);
  return `connection ${String(row?.id)} (user `;
}

describe.each(ENGINES)('a run waiting for the lock says who holds it, on $title', (engine) => {
  let s: Scenario;
  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: `create table items (${engine.serialId}, name text)`,
      policies: [{ component: 'api', tables: { items: ['select'] } }],
    });
  }, 120_000);
  afterAll(async () => {
    await s.cleanup();
  });

  it('apply prints the holder once the wait starts, then fails with the timeout error', async () => {
    const run = await s.admin(async (c) => {
      const holder = await holdRunLock(s, c);
      const result = await s.spawnCli('apply', '--lock-wait', '2');
      return { holder, result };
    });
    const { stderr, code } = run.result;
    expect(stderr).toContain(`waiting for the run lock on target main1, held by ${run.holder}`);
    expect(stderr).toContain('waited 0 s, giving up after 2 s');
    expect(stderr).toContain('target main1: another dbwarden run held the lock for more than 2s');
    expect(code).toBe(1);
    // Nothing was done while the lock was held; once it is free, apply runs without waiting.
    expect(await engine.accounts(`${s.app}_`)).toEqual([]);
    const free = await s.spawnCli('apply');
    expect(free.stderr).toContain('target main1:');
    expect(free.stderr).not.toContain('waiting for the');
    expect(free.code).toBe(0);
  });
});
