/**
 * The encrypted store's whole life on 20,000 rows of random access and secret keys, on each engine:
 * upgrade encrypts every value (no plaintext left, every value decrypts to its original), rotation
 * k1 -> k2 re-encrypts every row and leaves no value under k1, the rollback to k1 works, and a
 * downgrade to base restores the exact values and the exact column definitions.
 * Rows per second of encryption and rotation are printed (measured, not asserted).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../../harness/engines.js';
import {
  downgradeSecrets,
  secretsStatus,
  upgradeSecrets,
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
  type StoredRow,
} from './fixture.js';

const ROWS = 20_000;

function rate(rows: number, ms: number): string {
  return `${Math.round((rows / ms) * 1000)} rows/s (${(ms / 1000).toFixed(1)} s)`;
}

function expectNoPlaintext(rows: readonly StoredRow[]): void {
  const plain = rows.filter(
    (r) =>
      !r.access_key.startsWith('dbwarden:1:') ||
      (r.secret_key !== null && !r.secret_key.startsWith('dbwarden:1:')),
  );
  expect(plain.map((r) => r.id)).toEqual([]);
}

describe.each(ENGINES)('the encrypted store on $title, 20,000 rows', (engine) => {
  let s: SecretsDb;
  let definition: string;

  beforeAll(async () => {
    s = await createSecretsDb(engine, ROWS);
    definition = await s.definition();
  }, 120_000);
  afterAll(async () => {
    await s.cleanup();
  });

  it('upgrade encrypts every value under k1; nothing readable is left; each decrypts to its original', async () => {
    const options = storeOptions();
    const started = Date.now();
    const [result] = await upgradeSecrets(SECRETS, keySet(k1), s.targets, options);
    const ms = Date.now() - started;
    process.stderr.write(`${engine.title}: encrypt ${rate(ROWS, ms)}\n`);

    expect(result).toEqual({
      target: 'main1',
      migrationsRun: ['001_key_columns', '002_encrypt'],
      rowsEncrypted: ROWS,
      rowsReencrypted: 0,
      rowsRetried: 0,
      rowsRepaired: 0,
      repairedRows: [],
    });
    expect(options.reports.at(-1)).toMatchObject({ target: 'main1', table: 'users', phase: 'encrypt' });
    expect(options.reports.at(-1)?.done).toBe(ROWS);

    const rows = await s.rows();
    expectNoPlaintext(rows);
    expect(new Set(rows.map((r) => r.dbwarden_key_id))).toEqual(new Set(['k1']));
    expect(rows.filter((r) => r.access_key_bidx?.length !== 64)).toEqual([]);
    expect(differing(await decryptRows(keySet(k1), rows), s.originals)).toEqual([]);
    // The column dbwarden does not manage is untouched.
    expect(rows.every((r) => r.note === `user ${r.id}`)).toBe(true);

    const status = await secretsStatus(SECRETS, s.targets, keySet(k1));
    expect(status.targets[0]).toEqual({
      target: 'main1',
      migrations: [
        { name: '001_key_columns', applied: true },
        { name: '002_encrypt', applied: true },
      ],
      tables: [
        {
          table: 'users',
          schema: undefined,
          rows: ROWS,
          plaintext: 0,
          byKeyId: { k1: ROWS },
          unreadable: 0,
          mismatched: 0,
          mismatchedRows: [],
        },
      ],
    });
  }, 120_000);

  it('a second upgrade under the same key has nothing to do', async () => {
    const before = await s.rows();
    const started = Date.now();
    const [result] = await upgradeSecrets(SECRETS, keySet(k1), s.targets, storeOptions());
    const noop = Date.now() - started;
    expect(result).toMatchObject({ migrationsRun: [], rowsEncrypted: 0, rowsReencrypted: 0 });
    expect(await s.rows()).toEqual(before);
    // What checking every value's header costs (docs/encryption.md): measured, not asserted.
    const statusStarted = Date.now();
    await secretsStatus(SECRETS, s.targets, keySet(k1));
    const status = Date.now() - statusStarted;
    process.stderr.write(
      `${engine.title}: no-op upgrade ${rate(ROWS, noop)}; status ${rate(ROWS, status)} (every header read by the server)\n`,
    );
  }, 60_000);

  it('rotation k1 -> k2 re-encrypts every row; no value is then under k1', async () => {
    const started = Date.now();
    const [result] = await upgradeSecrets(SECRETS, keySet(k2, k1), s.targets, storeOptions());
    const ms = Date.now() - started;
    process.stderr.write(`${engine.title}: rotation ${rate(ROWS, ms)}\n`);
    expect(result).toMatchObject({
      migrationsRun: [],
      rowsEncrypted: 0,
      rowsReencrypted: ROWS,
      rowsRetried: 0,
    });

    const rows = await s.rows();
    expect(new Set(rows.map((r) => r.dbwarden_key_id))).toEqual(new Set(['k2']));
    // Readable with k2 alone: nothing is left under k1.
    expect(differing(await decryptRows(keySet(k2), rows), s.originals)).toEqual([]);

    const status = await secretsStatus(SECRETS, s.targets, keySet(k2, k1));
    expect(status.targets[0]?.tables[0]?.byKeyId).toEqual({ k2: ROWS });
    expect(status.unusedPreviousKeys).toEqual(['k1']);
    expect(status.previousKeysInUse).toEqual([]);
    expect(status.unknownKeyIds).toEqual([]);
    expect(
      await verifySecrets(SECRETS, keySet(k2, k1), s.targets, { ...storeOptions(), sample: 50 }),
    ).toEqual([]);
  }, 120_000);

  it('rolling back the rotation (k1 current, k2 previous) puts every row back under k1', async () => {
    const [result] = await upgradeSecrets(SECRETS, keySet(k1, k2), s.targets, storeOptions());
    expect(result).toMatchObject({ rowsReencrypted: ROWS });
    const rows = await s.rows();
    expect(new Set(rows.map((r) => r.dbwarden_key_id))).toEqual(new Set(['k1']));
    expect(differing(await decryptRows(keySet(k1), rows), s.originals)).toEqual([]);
    expect((await secretsStatus(SECRETS, s.targets, keySet(k1, k2))).unusedPreviousKeys).toEqual(['k2']);
  }, 120_000);

  it('downgrade to base restores the exact values and the exact column definitions', async () => {
    const options = storeOptions();
    const [result] = await downgradeSecrets(SECRETS, keySet(k1, k2), s.targets, 'base', options);
    expect(result).toEqual({ target: 'main1', migrationsReverted: ['002_encrypt', '001_key_columns'] });
    expect(options.reports.at(-1)).toMatchObject({ phase: 'decrypt', done: ROWS, total: ROWS });

    const rows = await s.rows();
    expect(differing(storedValues(rows), s.originals)).toEqual([]);
    expect(Object.keys(rows[0] ?? {}).sort()).toEqual(['access_key', 'id', 'note', 'secret_key']);
    expect(await s.definition()).toBe(definition);
    expect(await s.knex.schema.hasTable('dbwarden_secret_columns')).toBe(false);

    const status = await secretsStatus(SECRETS, s.targets, keySet(k1));
    expect(status.targets[0]?.migrations.every((m) => !m.applied)).toBe(true);
    expect(status.targets[0]?.tables[0]).toMatchObject({ rows: ROWS, plaintext: ROWS, byKeyId: {} });
  }, 120_000);
});
