/**
 * What the CLI says about master keys, on every engine (issue 15):
 * - 15.2: a key file that is missing while rows are under its id is "the key that encrypted N rows is
 *   missing: restore it", never "generate a key"; only a key no value is under gets that hint;
 * - 15.6: status does not call a newly staged key (previous, no value under it yet) "safe to
 *   retire", and exits 3 when the data holds a key id no configured key has.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ENGINES } from '../../harness/engines.js';
import { insertUsersSql, randomUsers, USERS_SECRETS } from '../engines/secret-users.js';
import { createScenario, type Scenario } from '../engines/scenario.js';

const ROWS = 40;
const KEY1 = randomBytes(32).toString('base64');
const KEY2 = randomBytes(32).toString('base64');
const KEY3 = randomBytes(32).toString('base64');

describe.each(ENGINES)('master keys and status through the CLI on $title', (engine) => {
  let s: Scenario;
  let keyDir: string;
  const setMasterKey = (masterKey: unknown) => {
    const file = path.join(s.dir, 'dbwarden.yaml');
    const config = parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(file, stringify({ ...config, masterKey }));
  };
  const keyFile = (name: string, base64: string) => {
    const file = path.join(keyDir, name);
    fs.writeFileSync(file, base64, { mode: 0o600 });
    return file;
  };

  beforeAll(async () => {
    s = await createScenario(engine, {
      setupSql: `CREATE TABLE users (id int primary key, access_key varchar(64), secret_key varchar(64), name varchar(20));
                 ${insertUsersSql(randomUsers(ROWS))}`,
      policies: [{ component: 'api', tables: { users: ['select'] } }],
      config: { secrets: USERS_SECRETS, masterKey: { current: { id: 'k1', env: 'KEY1' } } },
      env: { KEY1, KEY2, KEY3 },
    });
    keyDir = fs.mkdtempSync(path.join(s.dir, 'keys-'));
    expect((await s.cli('upgrade')).code).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await s.cleanup();
  });

  it('a newly staged key is not called retirable; status says what the runbook needs', async () => {
    setMasterKey({ current: { id: 'k1', env: 'KEY1' }, previous: [{ id: 'k2', env: 'KEY2' }] });
    const text = await s.cli('status');
    expect(text.code).toBe(0);
    expect(text.stdout).not.toContain('safe to retire');
    expect(text.stdout).toContain('Previous keys no stored value is under: k2.');
    expect(text.stdout).toContain(
      'a key staged ahead of a rotation holds no value until it becomes current: keep that one',
    );
    const json = await s.cli('status', '--format', 'json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: true,
      unusedPreviousKeys: ['k2'],
      previousKeysInUse: [],
    });
  });

  it('after the rotation the old key holds no value, and a missing key file under which rows are is never "generate a key"', async () => {
    const k2File = keyFile('k2', KEY2);
    setMasterKey({ current: { id: 'k2', file: k2File }, previous: [{ id: 'k1', env: 'KEY1' }] });
    const rotate = await s.cli('upgrade');
    expect(rotate.code).toBe(0);
    expect(rotate.stdout).toContain(`${ROWS} rows re-encrypted`);
    const status = await s.cli('status');
    expect(status.stdout).toContain('Previous keys no stored value is under: k1.');

    fs.rmSync(k2File);
    for (const command of ['upgrade', 'status']) {
      const missing = await s.cli(command);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`master key "k2" (file ${k2File}): file not found`);
      expect(missing.stderr).toContain(
        `The key that encrypted ${ROWS} stored rows (target main1, table users: ${ROWS} rows) is missing`,
      );
      expect(missing.stderr).toContain('restore master key "k2" from backup');
      expect(missing.stderr).not.toContain('urandom');
      expect(missing.stderr).not.toMatch(/generate a key/);
    }
    // A missing key no value is under still gets the hint to generate one.
    keyFile('k2', KEY2);
    setMasterKey({
      current: { id: 'k2', file: path.join(keyDir, 'k2') },
      previous: [{ id: 'k3', file: path.join(keyDir, 'k3-not-there') }],
    });
    const unused = await s.cli('status');
    expect(unused.code).toBe(2);
    expect(unused.stderr).toContain('master key "k3"');
    expect(unused.stderr).toContain('head -c 32 /dev/urandom | base64');
  });

  it('status exits 3 when values are under a key id no configured key has', async () => {
    // Rows under k3, then k3 dropped from the config: data no configured key can read.
    setMasterKey({
      current: { id: 'k3', env: 'KEY3' },
      previous: [{ id: 'k2', file: path.join(keyDir, 'k2') }],
    });
    expect((await s.cli('upgrade')).code).toBe(0);
    setMasterKey({ current: { id: 'k2', file: path.join(keyDir, 'k2') } });
    const status = await s.cli('status');
    expect(status.code).toBe(3);
    expect(status.stdout).toContain('Key ids in the data that no configured key has: k3 (exit 3)');
    const json = await s.cli('status', '--format', 'json');
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, unknownKeyIds: ['k3'] });
  });
});
