/**
 * The encrypted store through the CLI, on every engine: upgrade encrypts,
 * status counts, verify --secrets decrypts in place, a rotation and its
 * rollback, refusals (a copied ciphertext, bad key material), downgrade to
 * base. The store's own tests (test/integration/secrets/) cover the engine
 * in depth; these check what an operator sees, and that no value or key
 * ever reaches the output.
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
import { type CliRun, createScenario, type Scenario } from './scenario.js';

const ROWS = 200;
const KEY1 = randomBytes(32).toString('base64');
const KEY2 = randomBytes(32).toString('base64');

const originals = randomUsers(ROWS);

describe.each(ENGINES)('upgrade, status, verify --secrets and downgrade on $title', (engine) => {
  let s: Scenario;
  const outputs: string[] = [];
  const run = async (...args: string[]): Promise<CliRun> => {
    const result = await s.cli(...args);
    outputs.push(result.stdout, result.stderr);
    return result;
  };
  const setMasterKey = (masterKey: unknown) => {
    const file = path.join(s.dir, 'dbwarden.yaml');
    const config = parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(file, stringify({ ...config, masterKey }));
  };
  const rows = () => storedUsers(s);
  const columnTypes = async () =>
    (
      await s.sql(
        `SELECT column_name AS name, data_type AS type, character_maximum_length AS len
         FROM information_schema.columns WHERE table_schema = ? AND table_name = 'users' ORDER BY column_name`.replace(
          '?',
          `'${s.schema}'`,
        ),
      )
    ).map((r) => `${String(r.name)} ${String(r.type)} ${String(r.len)}`);
  let typesBefore: string[];

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: `CREATE TABLE users (id int primary key, access_key varchar(64), secret_key varchar(64), name varchar(20));
                 ${insertUsersSql(originals)}`,
      policies: [{ component: 'api', tables: { users: ['select', 'update'] } }],
      config: { secrets: USERS_SECRETS, masterKey: { current: { id: 'k1', env: 'KEY1' } } },
      env: { KEY1, KEY2, BAD_KEY: Buffer.from('not a key').toString('base64') },
    });
    typesBefore = await columnTypes();
  }, 120_000);
  afterAll(async () => {
    await s.cleanup();
  });

  it('upgrade applies the roles, runs both migrations and encrypts every value under the current key', async () => {
    const result = await run('upgrade');
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('ran 001_key_columns, 002_encrypt');
    expect(result.stdout).toContain(`${ROWS} rows encrypted`);
    const stored = await rows();
    for (const row of stored) {
      expect(row.access.startsWith('dbwarden:1:')).toBe(true);
      expect(row.secret.startsWith('dbwarden:1:')).toBe(true);
    }
    expect((await run('verify')).code).toBe(0);
  });

  it('a second upgrade has nothing to do, and says so', async () => {
    const result = await run('upgrade');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Upgrade: nothing to do');
  });

  it('status counts rows per key id; verify --secrets decrypts every value in place', async () => {
    const status = await run('status', '--format', 'json');
    expect(status.code).toBe(0);
    const doc = JSON.parse(status.stdout) as {
      targets: {
        migrations: { name: string; applied: boolean }[];
        tables: { rows: number; plaintext: number; byKeyId: Record<string, number> }[];
      }[];
    };
    expect(doc.targets[0]?.migrations.every((m) => m.applied)).toBe(true);
    expect(doc.targets[0]?.tables[0]).toMatchObject({ rows: ROWS, plaintext: 0, byKeyId: { k1: ROWS } });
    const verify = await run('verify', '--secrets');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain('ok    secrets');
  });

  it('rotates to k2 and back to k1; status says which key can be retired', async () => {
    setMasterKey({ current: { id: 'k2', env: 'KEY2' }, previous: [{ id: 'k1', env: 'KEY1' }] });
    const rotate = await run('upgrade');
    expect(rotate.code).toBe(0);
    expect(rotate.stdout).toContain(`${ROWS} rows re-encrypted`);
    const status = await run('status');
    expect(status.stdout).toContain(`${ROWS} under k2`);
    expect(status.stdout).toContain('Previous keys no stored value is under: k1.');

    setMasterKey({ current: { id: 'k1', env: 'KEY1' }, previous: [{ id: 'k2', env: 'KEY2' }] });
    expect((await run('upgrade')).code).toBe(0);
    expect((await run('status')).stdout).toContain('Previous keys no stored value is under: k2.');
    expect((await run('verify', '--secrets', '--sample', '50')).code).toBe(0);
  });

  it('upgrade --format json lists a row whose key id was changed by hand, as stderr names it', async () => {
    await s.sql("UPDATE users SET dbwarden_key_id = 'k2' WHERE id = 3");
    const result = await run('upgrade', '--format', 'json');
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('users row 3: dbwarden_key_id says key id "k2"');
    const doc = JSON.parse(result.stdout) as {
      targets: { target: string; rowsRepaired: number; repairedRows: unknown[] }[];
      secrets: { target: string; rowsReencrypted: number }[];
    };
    expect(doc.targets[0]).toMatchObject({
      target: 'main1',
      rowsRepaired: 1,
      repairedRows: [{ table: 'users', primaryKey: '3' }],
    });
    // The fields scripts already read are still there.
    expect(doc.secrets[0]).toMatchObject({ target: 'main1', rowsReencrypted: 1 });
    const again = JSON.parse((await run('upgrade', '--format', 'json')).stdout) as typeof doc;
    expect(again.targets[0]).toMatchObject({ rowsRepaired: 0, repairedRows: [] });
  });

  it('refuses a ciphertext copied to another row, naming both rows (exit 3)', async () => {
    const [first] = await s.sql('SELECT secret_key FROM users WHERE id = 1');
    await s.sql(`UPDATE users SET secret_key = '${String(first?.secret_key)}' WHERE id = 2`);
    const verify = await run('verify', '--secrets');
    expect(verify.code).toBe(3);
    expect(verify.stdout).toMatch(/users\.secret_key row 2/);
    expect(verify.stdout).toMatch(/primary key 1/);
    // Put the right value back for the rest of the file.
    setMasterKey({ current: { id: 'k1', env: 'KEY1' } });
    await s.sql(
      `UPDATE users SET secret_key = '${originals[1]?.secret ?? ''}', dbwarden_key_id = NULL WHERE id = 2`,
    );
    expect((await run('upgrade')).code).toBe(0);
    expect((await run('verify', '--secrets')).code).toBe(0);
  });

  it('malformed key material exits 2 naming the key, with nothing written', async () => {
    const before = await rows();
    setMasterKey({ current: { id: 'k3', env: 'BAD_KEY' }, previous: [{ id: 'k1', env: 'KEY1' }] });
    const result = await run('upgrade');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('k3');
    expect(await rows()).toEqual(before);
    setMasterKey({ current: { id: 'k1', env: 'KEY1' } });
  });

  it('downgrade --to base restores every original value and column type', async () => {
    const result = await run('downgrade', '--to', 'base', '--yes');
    expect(result.code).toBe(0);
    expect(await rows()).toEqual(originals);
    expect(await columnTypes()).toEqual(typesBefore);
    expect(JSON.parse((await run('status', '--format', 'json')).stdout)).toMatchObject({
      targets: [{ migrations: [{ applied: false }, { applied: false }] }],
    });
  });

  it('never printed a value or a key', () => {
    expectNothingLeaked(outputs, originals, [KEY1, KEY2]);
  });
});
