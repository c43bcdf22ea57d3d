/**
 * What the store refuses, on each engine, and what it leaves behind when it does:
 * - a plaintext that only looks like a stored value is encrypted as it is, its row named (issue 14.9b);
 * - a real message that does not belong to its row stops the upgrade naming the row (exit 1);
 * - a key id no configured key opens (missing key, other key material): exit 2, nothing written;
 * - verify reports a ciphertext copied from another row naming both places, and other broken rows;
 * - a downgrade to a migration that does not exist, or a secrets entry that no longer matches what
 *   was encrypted: exit 2;
 * - a downgrade that would not fit a value back in its original column: refused naming the row,
 *   nothing narrowed; done once the value fits.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../../harness/engines.js';
import { DbwardenError, InvalidInputError } from '../../../src/errors.js';
import { rawMasterKey } from '../../../src/secrets/keys.js';
import {
  downgradeSecrets,
  SecretRowsError,
  secretsStatus,
  upgradeSecrets,
  ValuesDoNotFitError,
  verifySecrets,
} from '../../../src/secrets/store/index.js';
import {
  createSecretsDb,
  decryptRows,
  differing,
  k1,
  k2,
  keySet,
  SECRETS,
  type SecretsDb,
  storedValues,
  storeOptions,
} from './fixture.js';

const ROWS = 300;
/** Same id as k1, other key material. */
const otherK1 = rawMasterKey('k1', randomBytes(32));

async function rejection(promise: Promise<unknown>): Promise<DbwardenError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(DbwardenError);
    return error as DbwardenError;
  }
  throw new Error('expected the call to fail');
}

describe.each(ENGINES)('what the encrypted store refuses on $title', (engine) => {
  let s: SecretsDb;

  /** Everything a refused run must leave as it was: the rows, the table's definition, the migrations applied. */
  async function snapshot(): Promise<string> {
    const migrations = (await s.knex.schema.hasTable('dbwarden_migrations'))
      ? await s.knex('dbwarden_migrations').select('name').orderBy('id')
      : [];
    return JSON.stringify({ rows: await s.rows(), definition: await s.definition(), migrations });
  }

  beforeAll(async () => {
    s = await createSecretsDb(engine, ROWS);
  }, 120_000);
  afterAll(async () => {
    await s.cleanup();
  });

  it('a plaintext that only looks like a stored value does not stop the upgrade: it is encrypted as it is, its row named', async () => {
    const original = s.originals.get(7)?.access_key;
    const lookalike = 'dbwarden:looks-like-a-ciphertext';
    await s.knex('users').where({ id: 7 }).update({ access_key: lookalike });
    const options = storeOptions(50);
    const [result] = await upgradeSecrets(SECRETS, keySet(k1), s.targets, options);
    expect(result).toMatchObject({ migrationsRun: ['001_key_columns', '002_encrypt'], rowsEncrypted: ROWS });
    const named = options.lines.filter((l) => l.includes('users row 7:'));
    expect(named).toEqual([
      'target main1: users row 7: dbwarden_key_id says no key id, but the row holds a value that only looks like a dbwarden ciphertext: written again under "k1"',
    ]);
    expect(options.lines.join('\n')).not.toContain('looks-like-a-ciphertext');
    // Stored encrypted; it decrypts to exactly what the application wrote.
    const [row7] = await s.knex('users').where({ id: 7 }).select('*');
    expect(row7.access_key.startsWith('dbwarden:1:')).toBe(true);
    expect((await decryptRows(keySet(k1), [row7])).get(7)?.access_key).toBe(lookalike);
    const status = await secretsStatus(SECRETS, s.targets, keySet(k1));
    expect(status.targets[0]?.tables[0]).toMatchObject({
      plaintext: 0,
      unreadable: 0,
      byKeyId: { k1: ROWS },
    });
    expect(await verifySecrets(SECRETS, keySet(k1), s.targets, storeOptions())).toEqual([]);

    // Put the original back as a plaintext under the row's key id: the next upgrade finds it by its value.
    await s.knex('users').where({ id: 7 }).update({ access_key: original });
    const again = storeOptions(50);
    const [repaired] = await upgradeSecrets(SECRETS, keySet(k1), s.targets, again);
    expect(repaired).toMatchObject({ migrationsRun: [], rowsReencrypted: 1 });
    expect(again.lines.some((l) => l.includes('users row 7: dbwarden_key_id says key id "k1"'))).toBe(true);
    expect(differing(await decryptRows(keySet(k1), await s.rows()), s.originals)).toEqual([]);
  }, 60_000);

  it('a real message that does not belong to its row still stops the upgrade naming the row, nothing else lost', async () => {
    const [row1] = await s.knex('users').where({ id: 1 }).select('access_key');
    const [row8] = await s.knex('users').where({ id: 8 }).select('access_key', 'dbwarden_key_id');
    await s.knex('users').where({ id: 8 }).update({ access_key: row1.access_key, dbwarden_key_id: null });
    const error = await rejection(upgradeSecrets(SECRETS, keySet(k1), s.targets, storeOptions(50)));
    expect(error).toBeInstanceOf(SecretRowsError);
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('users.access_key, primary key 8');
    await s.knex('users').where({ id: 8 }).update(row8);
    expect(await verifySecrets(SECRETS, keySet(k1), s.targets, storeOptions())).toEqual([]);
  }, 60_000);

  it('a key id no configured key opens exits 2, naming it and its rows, with nothing written', async () => {
    const before = await snapshot();
    const attempts = [
      { keys: keySet(k2), says: ['"k1"', `${ROWS} rows`] },
      { keys: keySet(otherK1), says: ['"k1"', 'does not open'] },
      { keys: keySet(k2, otherK1), says: ['"k1"', 'does not open'] },
    ];
    for (const { keys, says } of attempts) {
      const error = await rejection(upgradeSecrets(SECRETS, keys, s.targets, storeOptions()));
      expect(error).toBeInstanceOf(InvalidInputError);
      expect(error.exitCode).toBe(2);
      for (const text of says) expect(error.message).toContain(text);
      expect(await snapshot()).toBe(before);
    }
    const error = await rejection(downgradeSecrets(SECRETS, keySet(k2), s.targets, 'base', storeOptions()));
    expect(error.exitCode).toBe(2);
    expect(await snapshot()).toBe(before);
  }, 60_000);

  it('verify names a ciphertext copied from another row, and every other broken row', async () => {
    const rows = new Map((await s.rows()).map((r) => [r.id, r]));
    const row = (id: number) => rows.get(id) ?? expect.fail(`no row ${id}`);
    await s
      .knex('users')
      .where({ id: 20 })
      .update({ secret_key: row(10).secret_key });
    await s.knex('users').where({ id: 30 }).update({ secret_key: 'plaintext again' });
    await s.knex('users').where({ id: 40 }).update({ dbwarden_key_id: 'k2' });
    await s
      .knex('users')
      .where({ id: 50 })
      .update({ access_key_bidx: row(51).access_key_bidx });

    const failures = await verifySecrets(SECRETS, keySet(k1, k2), s.targets, storeOptions());
    const byRow = failures.map((f) => [f.primaryKey, f.column, f.problem]);
    expect(byRow).toEqual([
      ['20', 'secret_key', 'wrong-place'],
      ['30', 'secret_key', 'not-encrypted'],
      ['40', 'access_key', 'key-id-mismatch'],
      ['40', 'secret_key', 'key-id-mismatch'],
      ['50', 'access_key', 'wrong-blind-index'],
    ]);
    const copied = failures[0]?.message ?? '';
    expect(copied).toContain('users.secret_key, primary key 20');
    expect(copied).toContain('belongs to users.secret_key, primary key 10');
    expect(failures.every((f) => f.target === 'main1' && f.table === 'users')).toBe(true);
    const text = JSON.stringify(failures);
    expect(text).not.toContain('plaintext again');
    expect(text).not.toContain(row(10).secret_key);

    for (const id of [20, 30, 40, 50]) {
      const { dbwarden_key_id, access_key_bidx, secret_key } = row(id);
      await s.knex('users').where({ id }).update({ dbwarden_key_id, access_key_bidx, secret_key });
    }
    expect(await verifySecrets(SECRETS, keySet(k1), s.targets, { ...storeOptions(), sample: 40 })).toEqual(
      [],
    );
  }, 60_000);

  it('refuses a downgrade to a migration that does not exist, and an entry that no longer matches', async () => {
    const before = await snapshot();
    const unknown = await rejection(
      downgradeSecrets(SECRETS, keySet(k1), s.targets, '003_nothing', storeOptions()),
    );
    expect(unknown).toBeInstanceOf(InvalidInputError);
    expect(unknown.message).toContain('003_nothing');

    const narrower = [{ ...SECRETS[0], columns: ['secret_key'], lookup: [] }] as typeof SECRETS;
    const changed = await rejection(upgradeSecrets(narrower, keySet(k1), s.targets, storeOptions()));
    expect(changed).toBeInstanceOf(InvalidInputError);
    expect(changed.message).toContain('differs from what was encrypted');

    const missing = [{ ...SECRETS[0], table: 'no_such_table' }, ...SECRETS] as typeof SECRETS;
    const absent = await rejection(upgradeSecrets(missing, keySet(k1), s.targets, storeOptions()));
    expect(absent.exitCode).toBe(2);
    expect(absent.message).toContain('no_such_table does not exist');
    expect(await snapshot()).toBe(before);
  }, 60_000);

  it('a downgrade that would not fit a value in its original column is refused naming the row', async () => {
    const [partial] = await downgradeSecrets(
      SECRETS,
      keySet(k1),
      s.targets,
      '001_key_columns',
      storeOptions(),
    );
    expect(partial?.migrationsReverted).toEqual(['002_encrypt']);
    expect(differing(storedValues(await s.rows()), s.originals)).toEqual([]);

    // The application stored a longer access key than the original varchar(64) holds.
    await s
      .knex('users')
      .where({ id: 33 })
      .update({ access_key: 'A'.repeat(65) });
    const before = await snapshot();
    const error = await rejection(downgradeSecrets(SECRETS, keySet(k1), s.targets, 'base', storeOptions()));
    expect(error).toBeInstanceOf(ValuesDoNotFitError);
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('1 value of users.access_key');
    expect(error.message).toContain('primary key 33');
    expect(await snapshot()).toBe(before);

    await s
      .knex('users')
      .where({ id: 33 })
      .update({ access_key: s.originals.get(33)?.access_key });
    const [done] = await downgradeSecrets(SECRETS, keySet(k1), s.targets, 'base', storeOptions());
    expect(done?.migrationsReverted).toEqual(['001_key_columns']);
    expect(differing(storedValues(await s.rows()), s.originals)).toEqual([]);
  }, 60_000);
});
