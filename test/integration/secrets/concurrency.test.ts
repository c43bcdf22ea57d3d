/**
 * The store and an application at once, on each engine:
 * - a rotation while another connection keeps rewriting random rows through the Node API: every
 *   row ends with the last value written, under the current key, its blind index right;
 * - a row found by access key through the blind index before, during and after the rotation;
 * - the conditional update itself: a row that changed since it was read is not written (NULL-safe);
 * - two upgrades at once: one waits for the other's lock, nothing is done twice.
 */
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../../harness/engines.js';
import { createSecretStore, type SecretStore } from '../../../src/secrets/api.js';
import type { RowUpdate } from '../../../src/secrets/store/dialect.js';
import { upgradeSecrets, verifySecrets } from '../../../src/secrets/store/index.js';
import { TargetSession } from '../../../src/secrets/store/session.js';
import { tablesFor, updateShape } from '../../../src/secrets/store/tables.js';
import {
  accessKey,
  createSecretsDb,
  decryptRows,
  differing,
  k1,
  k2,
  keySet,
  type Original,
  SECRETS,
  type SecretsDb,
  secretKey,
  storeOptions,
} from './fixture.js';

const ROWS = 4000;

/** The ids of the rows whose access key is `accessKey`, found through its blind index and confirmed by decrypting. */
async function findByAccessKey(s: SecretsDb, app: SecretStore, key: string): Promise<number[]> {
  const candidates = app.lookupCandidates('users', 'access_key', key).map((c) => c.index);
  const rows = await s
    .knex('users')
    .whereIn('access_key_bidx', candidates)
    .select<{ id: number; access_key: string }[]>('id', 'access_key');
  const found: number[] = [];
  for (const row of rows) {
    const place = { table: 'users', column: 'access_key', primaryKey: String(row.id) };
    if ((await app.decrypt(place, row.access_key)) === key) found.push(row.id);
  }
  return found;
}

/** What an application does to change a row's keys: encrypt both, write them with the key id and the blind index. */
async function appWrite(s: SecretsDb, app: SecretStore, id: number, values: Original): Promise<void> {
  const place = (column: string) => ({ table: 'users', column, primaryKey: String(id) });
  const access = await app.encrypt(place('access_key'), values.access_key);
  const secret = await app.encrypt(place('secret_key'), values.secret_key);
  await s
    .knex('users')
    .where({ id })
    .update({
      access_key: access.stored,
      secret_key: secret?.stored ?? null,
      dbwarden_key_id: access.keyId,
      access_key_bidx: app.blindIndex('users', 'access_key', values.access_key),
    });
}

describe.each(ENGINES)('the store and an application at once on $title', (engine) => {
  let s: SecretsDb;

  beforeAll(async () => {
    s = await createSecretsDb(engine, ROWS);
    await upgradeSecrets(SECRETS, keySet(k1), s.targets, storeOptions());
  }, 120_000);
  afterAll(async () => {
    await s.cleanup();
  });

  it('a rotation loses none of the writes made meanwhile, and lookups by access key keep working', async () => {
    const before = await createSecretStore({ keys: keySet(k1) });
    const sample = 1 + 2 * randomInt(ROWS / 2 - 1);
    expect(await findByAccessKey(s, before, s.originals.get(sample)?.access_key ?? '')).toEqual([sample]);

    const app = await createSecretStore({ keys: keySet(k2, k1) });
    const expected = new Map(s.originals);
    let rotating = true;
    let writes = 0;
    let lookups = 0;
    const rotation = upgradeSecrets(SECRETS, keySet(k2, k1), s.targets, storeOptions(50)).finally(() => {
      rotating = false;
    });
    // The application rewrites even rows; lookups go by odd rows, whose access keys stay as they were.
    const writer = (async () => {
      while (rotating) {
        const id = 2 + 2 * randomInt(ROWS / 2);
        const values = { access_key: accessKey(), secret_key: secretKey() };
        await appWrite(s, app, id, values);
        expected.set(id, values);
        writes++;
      }
    })();
    const finder = (async () => {
      while (rotating) {
        const id = 1 + 2 * randomInt(ROWS / 2);
        expect(await findByAccessKey(s, app, expected.get(id)?.access_key ?? '')).toEqual([id]);
        lookups++;
      }
    })();
    const [result] = await rotation;
    await Promise.all([writer, finder]);
    process.stderr.write(
      `${engine.title}: ${writes} application writes and ${lookups} lookups during the rotation; ${result?.rowsRetried} rows retried\n`,
    );
    expect(writes).toBeGreaterThan(0);
    expect(lookups).toBeGreaterThan(0);

    const rows = await s.rows();
    expect(new Set(rows.map((r) => r.dbwarden_key_id))).toEqual(new Set(['k2']));
    expect(differing(await decryptRows(keySet(k2), rows), expected)).toEqual([]);
    expect(await verifySecrets(SECRETS, keySet(k2, k1), s.targets, storeOptions())).toEqual([]);

    // After the rotation, with k1 retired.
    const after = await createSecretStore({ keys: keySet(k2) });
    expect(await findByAccessKey(s, after, expected.get(sample)?.access_key ?? '')).toEqual([sample]);
  }, 120_000);

  it('writes a row only if it still holds what was read, NULL-safe', async () => {
    const session = TargetSession.open(s.target);
    try {
      const [table] = tablesFor(SECRETS, s.target, await session.defaultSchema());
      if (table === undefined) throw new Error('no secrets table');
      const pk = (await session.dialect.readColumns(session.db, table))?.get('id');
      const shape = updateShape(table, pk?.sqlType ?? '');
      // Row 97 has no secret key: NULL must match NULL.
      const [row] = await s.knex('users').where({ id: 97 }).select('*');
      expect(row.secret_key).toBeNull();
      const update = (changes: Partial<RowUpdate>): RowUpdate => ({
        primaryKey: 97,
        primaryKeyText: '97',
        before: [row.access_key, null],
        beforeKeyId: row.dbwarden_key_id,
        after: ['changed', null],
        afterKeyId: 'k9',
        blindIndexes: [null],
        ...changes,
      });
      const write = (u: RowUpdate) =>
        session.db.transaction((trx) => session.dialect.conditionalUpdate(trx, shape, [u]));

      expect(await write(update({ before: [row.access_key, 'a secret it never had'] }))).toBe(0);
      expect(await write(update({ beforeKeyId: 'k9' }))).toBe(0);
      expect(await write(update({ before: [row.access_key.toUpperCase(), null] }))).toBe(0);
      expect(await s.knex('users').where({ id: 97 }).first()).toEqual(row);

      expect(await write(update({}))).toBe(1);
      expect(await s.knex('users').where({ id: 97 }).first()).toMatchObject({
        access_key: 'changed',
        dbwarden_key_id: 'k9',
      });
      // Put it back, conditionally too.
      const back = update({
        before: ['changed', null],
        beforeKeyId: 'k9',
        after: [row.access_key, null],
        afterKeyId: row.dbwarden_key_id,
        blindIndexes: [row.access_key_bidx],
      });
      expect(await write(back)).toBe(1);
      expect(await s.knex('users').where({ id: 97 }).first()).toEqual(row);
    } finally {
      await session.close();
    }
  }, 60_000);
});

describe.each(ENGINES)('two upgrades at once on $title', (engine) => {
  let s: SecretsDb;

  beforeAll(async () => {
    s = await createSecretsDb(engine, 1500);
  }, 120_000);
  afterAll(async () => {
    await s.cleanup();
  });

  it('the second waits for the first and finds nothing left to do', async () => {
    const results = await Promise.all([
      upgradeSecrets(SECRETS, keySet(k1), s.targets, storeOptions(100)),
      upgradeSecrets(SECRETS, keySet(k1), s.targets, storeOptions(100)),
    ]);
    const [a, b] = results.map((r) => r[0]);
    expect([a?.migrationsRun, b?.migrationsRun]).toContainEqual(['001_key_columns', '002_encrypt']);
    expect([a?.migrationsRun, b?.migrationsRun]).toContainEqual([]);
    expect((a?.rowsEncrypted ?? 0) + (b?.rowsEncrypted ?? 0)).toBe(1500);
    const rows = await s.rows();
    expect(new Set(rows.map((r) => r.dbwarden_key_id))).toEqual(new Set(['k1']));
    expect(differing(await decryptRows(keySet(k1), rows), s.originals)).toEqual([]);
  }, 60_000);

  it('gives up waiting for another run with a clear error, having written nothing', async () => {
    const holder = TargetSession.open(s.target);
    try {
      await holder.lock({ waitSeconds: 5, notify: undefined });
      const before = await s.rows();
      const started = Date.now();
      const waiting = upgradeSecrets(SECRETS, keySet(k2, k1), s.targets, {
        ...storeOptions(),
        lockWaitSeconds: 1,
      });
      await expect(waiting).rejects.toThrow(
        "target main1: another dbwarden run held the encrypted store's lock for more than 1s",
      );
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await s.rows()).toEqual(before);
    } finally {
      await holder.close();
    }
  }, 60_000);
});
