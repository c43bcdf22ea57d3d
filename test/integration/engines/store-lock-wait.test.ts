/**
 * A store run waiting for the encrypted store's lock says so, as apply's locks do
 * (lock-wait.test.ts): once when the wait starts, naming who holds the lock as the server
 * tells, and then fails with the clear timeout error. The lock is held from another
 * connection; upgrade and downgrade run as the real binary. On every engine.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, type SqlConnection } from '../../harness/engines.js';
import { insertUsersSql, randomUsers, storedUsers, USERS_SECRETS } from './secret-users.js';
import { createScenario, type Scenario } from './scenario.js';

const KEY1 = randomBytes(32).toString('base64');

/** Takes the encrypted store's lock on the scenario's database as dbwarden does; returns who holds it. */
async function holdStoreLock(s: Scenario, c: SqlConnection): Promise<string> {
  if (s.engine.family === 'postgres') {
    await c.query("select set_config('application_name', 'store-lock-holder', false)");
    // pg_advisory_lock(key1, key2): "dbwa" and "rd" + 3, as src/dialects/postgres/secrets.ts.
    const [row] = await c.query(
      'select pg_advisory_lock($1, $2), pg_backend_pid() as pid',
      [0x64627761, 0x72640003],
    );
    return `pid ${String(row?.pid)} (application store-lock-holder, user `;
  }
  const name = `dbwarden-store-${createHash('sha256').update(s.db.name, 'utf8').digest('hex').slice(0, 40)}`;
  const [row] = await c.query('select get_lock(?, 0) as got, connection_id() as id', [name]);
  expect(Number(row?.got)).toBe(1);
  return `connection ${String(row?.id)} (user `;
}

describe.each(ENGINES)("a store run waiting for the store's lock says who holds it, on $title", (engine) => {
  let s: Scenario;
  const originals = randomUsers(5);
  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: `CREATE TABLE users (id int primary key, access_key varchar(64), secret_key varchar(64), name varchar(20));
                 ${insertUsersSql(originals)}`,
      policies: [{ component: 'api', tables: { users: ['select', 'update'] } }],
      config: { secrets: USERS_SECRETS, masterKey: { current: { id: 'k1', env: 'KEY1' } } },
      env: { KEY1 },
    });
  }, 120_000);
  afterAll(async () => {
    await s.cleanup();
  });

  const expectWaitedThenTimedOut = (stderr: string, holder: string) => {
    expect(stderr).toContain(`waiting for the encrypted store's lock on target main1, held by ${holder}`);
    expect(stderr).toContain('waited 0 s, giving up after 2 s');
    expect(stderr).toContain(
      "target main1: another dbwarden run held the encrypted store's lock for more than 2s",
    );
  };

  it('upgrade prints the holder once the wait starts, then fails with the timeout error', async () => {
    const run = await s.admin(async (c) => {
      const holder = await holdStoreLock(s, c);
      const result = await s.spawnCli('upgrade', '--lock-wait', '2');
      return { holder, result };
    });
    expectWaitedThenTimedOut(run.result.stderr, run.holder);
    expect(run.result.code).toBe(1);
    // No value was encrypted while the lock was held.
    const stored = await storedUsers(s);
    expect(stored.map((r) => r.access)).toEqual(originals.map((o) => o.access));
    // Once it is free, upgrade runs without waiting.
    const free = await s.spawnCli('upgrade');
    expect(free.stdout).toContain('5 rows encrypted');
    expect(free.stderr).not.toContain('waiting for the');
    expect(free.code).toBe(0);
  });

  it('downgrade prints the holder too, and changes nothing', async () => {
    const run = await s.admin(async (c) => {
      const holder = await holdStoreLock(s, c);
      const result = await s.spawnCli('downgrade', '--to', 'base', '--yes', '--lock-wait', '2');
      return { holder, result };
    });
    expectWaitedThenTimedOut(run.result.stderr, run.holder);
    expect(run.result.code).toBe(1);
    const stored = await storedUsers(s);
    expect(stored.length).toBe(originals.length);
    for (const row of stored) expect(row.access.startsWith('dbwarden:1:')).toBe(true);
  });
});
