/**
 * `upgrade` as the deploy-time job, through the CLI, on every engine (issue 6): on an empty
 * deployment, again as a no-op, after a policy change, after a key change, two at once; a failing
 * step named with its target; then `downgrade --to base --drop-roles` returning the database to
 * what it was before dbwarden (tables, columns, values; no managed role), refusing first while a
 * login still has a session open.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ENGINES } from '../../harness/engines.js';
import {
  expectNothingLeaked,
  insertUsersSql,
  randomUsers,
  storedUsers,
  USERS_SECRETS,
} from './secret-users.js';
import { type CliRun, createScenario, type PolicySpec, type Scenario } from './scenario.js';

const ROWS = 300;
const KEY1 = randomBytes(32).toString('base64');
const KEY2 = randomBytes(32).toString('base64');

const originals = randomUsers(ROWS);

const POLICIES: PolicySpec[] = [
  { component: 'api', tables: { users: ['select', 'update'] } },
  { component: 'worker', tables: { items: ['select'] } },
];

/** What `upgrade --format json` prints (docs/cli.md), the fields checked here. */
interface UpgradeDoc {
  ok: boolean;
  upToDate: boolean;
  durationMs: number;
  steps: Record<string, { durationMs: number }>;
  roleChanges: number;
  targets: {
    target: string;
    roleChanges: number;
    migrationsRun: string[];
    rowsEncrypted: number;
    rowsReencrypted: number;
    rowsRetried: number;
    verify: { ok: boolean; privileges: unknown[]; rowsChecked: number; secretFailures: unknown[] };
    durationMs: number;
  }[];
}

describe.each(ENGINES)('upgrade as the deploy job, and downgrade --drop-roles, on $title', (engine) => {
  let s: Scenario;
  const outputs: string[] = [];
  const run = async (...args: string[]): Promise<CliRun> => {
    const result = await s.cli(...args);
    outputs.push(result.stdout, result.stderr);
    return result;
  };
  const upgradeJson = async (): Promise<{ code: number; doc: UpgradeDoc }> => {
    const result = await run('upgrade', '--format', 'json');
    return { code: result.code, doc: JSON.parse(result.stdout) as UpgradeDoc };
  };
  const editConfig = (change: (config: Record<string, unknown>) => Record<string, unknown>) => {
    const file = path.join(s.dir, 'dbwarden.yaml');
    fs.writeFileSync(
      file,
      stringify(change(parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>)),
    );
  };
  const rows = () => storedUsers(s);
  const columns = async () =>
    (
      await s.sql(
        `SELECT table_name AS t, column_name AS c, data_type AS type, character_maximum_length AS len
           FROM information_schema.columns WHERE table_schema = '${s.schema}' ORDER BY table_name, column_name`,
      )
    ).map((r) => `${String(r.t)}.${String(r.c)} ${String(r.type)} ${String(r.len)}`);
  const tables = async () =>
    (
      await s.sql(
        `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = '${s.schema}' ORDER BY table_name`,
      )
    ).map((r) => String(r.t));
  let before: { tables: string[]; columns: string[] };

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: `CREATE TABLE users (id int primary key, access_key varchar(64), secret_key varchar(64));
                 CREATE TABLE items (id int primary key, name varchar(20));
                 CREATE TABLE audit (id int primary key, what varchar(20));
                 ${insertUsersSql(originals)}`,
      policies: POLICIES,
      config: { secrets: USERS_SECRETS, masterKey: { current: { id: 'k1', env: 'KEY1' } } },
      env: { KEY1, KEY2 },
    });
    before = { tables: await tables(), columns: await columns() };
  }, 120_000);
  afterAll(async () => {
    await s.cleanup();
  });

  it('a secrets table that is missing exits 2 before anything is written', async () => {
    await s.sql('ALTER TABLE users RENAME TO users_moved');
    const refused = await run('upgrade');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('secrets table users does not exist');
    expect(refused.stderr).toContain('upgrade stopped at step "check"');
    expect(await engine.accounts(`${s.app}_`)).toEqual([]);
    await s.sql('ALTER TABLE users_moved RENAME TO users');
  });

  it('on an empty deployment: roles, migrations, encryption, verification, in one summary document', async () => {
    const { code, doc } = await upgradeJson();
    expect(code).toBe(0);
    expect(doc).toMatchObject({ ok: true, upToDate: false });
    expect(doc.roleChanges).toBeGreaterThan(0);
    expect(Object.keys(doc.steps).sort()).toEqual(['apply', 'check', 'secrets', 'verify']);
    const [target] = doc.targets;
    expect(target).toMatchObject({
      target: 'main1',
      migrationsRun: ['001_key_columns', '002_encrypt'],
      rowsEncrypted: ROWS,
      rowsReencrypted: 0,
      verify: { ok: true, privileges: [], secretFailures: [] },
    });
    expect(target?.roleChanges).toBe(doc.roleChanges);
    expect(target?.verify.rowsChecked).toBe(100);
    expect(target?.durationMs).toBeGreaterThan(0);
    expect(s.credentials('api').username).toBe(`${s.app}_api`);
  });

  it('again: does nothing, and says so', async () => {
    const { code, doc } = await upgradeJson();
    expect(code).toBe(0);
    expect(doc).toMatchObject({ ok: true, upToDate: true, roleChanges: 0 });
    expect(doc.targets[0]).toMatchObject({ migrationsRun: [], rowsEncrypted: 0, rowsReencrypted: 0 });
    const text = await run('upgrade');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Upgrade: nothing to do; everything was up to date');
  });

  it('after a policy change: applies the difference and verifies the new grant', async () => {
    s.writePolicies([
      POLICIES[0] as PolicySpec,
      { component: 'worker', tables: { items: ['select'], audit: ['insert'] } },
    ]);
    const { code, doc } = await upgradeJson();
    expect(code).toBe(0);
    expect(doc).toMatchObject({ ok: true, upToDate: false });
    expect(doc.roleChanges).toBeGreaterThan(0);
    expect(doc.targets[0]).toMatchObject({ rowsEncrypted: 0, rowsReencrypted: 0, verify: { ok: true } });
    expect(await engine.tableGrantsOf(s.db, 'audit', `${s.app}_worker_role`)).toEqual(['INSERT']);
  });

  it('after a key change: re-encrypts every row under the new key', async () => {
    editConfig((c) => ({
      ...c,
      masterKey: { current: { id: 'k2', env: 'KEY2' }, previous: [{ id: 'k1', env: 'KEY1' }] },
    }));
    const { code, doc } = await upgradeJson();
    expect(code).toBe(0);
    expect(doc).toMatchObject({ ok: true, roleChanges: 0 });
    expect(doc.targets[0]).toMatchObject({ rowsReencrypted: ROWS, verify: { ok: true } });
  });

  it('two at once, after a rotation back to k1: both succeed and every row is done exactly once', async () => {
    editConfig((c) => ({
      ...c,
      masterKey: { current: { id: 'k1', env: 'KEY1' }, previous: [{ id: 'k2', env: 'KEY2' }] },
    }));
    const both = await Promise.all([
      s.spawnCli('upgrade', '--format', 'json'),
      s.spawnCli('upgrade', '--format', 'json'),
    ]);
    outputs.push(...both.flatMap((r) => [r.stdout, r.stderr]));
    expect(both.map((r) => r.code)).toEqual([0, 0]);
    const docs = both.map((r) => JSON.parse(r.stdout) as UpgradeDoc);
    expect(docs.reduce((n, d) => n + (d.targets[0]?.rowsReencrypted ?? 0), 0)).toBe(ROWS);
    expect(docs.every((d) => d.ok)).toBe(true);
    const status = JSON.parse((await run('status', '--format', 'json')).stdout) as {
      targets: { tables: { byKeyId: Record<string, number> }[] }[];
    };
    expect(status.targets[0]?.tables[0]?.byKeyId).toEqual({ k1: ROWS });
  });

  it('a failing step is named with its target, and a rerun after the fix finishes', async () => {
    // A new row holding another row's ciphertext: a real message that does not belong here is refused.
    // (A value that only looks like a ciphertext is encrypted as it is: docs/encryption.md.)
    await s.sql(
      `INSERT INTO users (id, access_key, secret_key) SELECT ${ROWS + 1}, access_key, 'x' FROM users WHERE id = 1`,
    );
    const failed = await run('upgrade');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('upgrade stopped at step "secrets" on target main1');
    expect(failed.stderr).toContain(`${ROWS + 1}`);
    expect(failed.stderr).toContain('A rerun is safe');
    await s.sql(`DELETE FROM users WHERE id = ${ROWS + 1}`);
    expect((await run('upgrade')).code).toBe(0);
  });

  it('downgrade --drop-roles refuses while a login has a session open, dropping nothing', async () => {
    const accountsBefore = await engine.accounts(`${s.app}_`);
    const url = s.credentials('api').targets.main1?.url ?? '';
    const refused = await engine.connect(url, async () =>
      run('downgrade', '--to', 'base', '--drop-roles', '--yes'),
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`logins still connected: ${s.app}_api`);
    expect(refused.stderr).toContain('--force');
    expect(await engine.accounts(`${s.app}_`)).toEqual(accountsBefore);
  });

  it('downgrade --to base --drop-roles: tables, columns and values as before, no managed role, no credentials', async () => {
    const result = await run('downgrade', '--to', 'base', '--drop-roles', '--yes');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('every managed role and login dropped');
    expect(await rows()).toEqual(originals);
    expect(await tables()).toEqual(before.tables);
    expect(await columns()).toEqual(before.columns);
    expect(await engine.accounts(`${s.app}_`)).toEqual([]);
    expect(fs.readdirSync(s.credentialsDir).filter((f) => f.endsWith('.json'))).toEqual([]);
  });

  it('never printed a value, a key or a password', () => {
    expectNothingLeaked(outputs, originals, [KEY1, KEY2]);
  });
});
