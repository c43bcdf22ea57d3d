/**
 * Issue 14, finding 5: the store does not take the key-id column's word. Each value's own message
 * header says which key it is under; the server reads it (SecretsDialect.keyEvidence) for status and
 * for choosing the rows a rotation must do, and every batch checks it again in this process.
 * - the server's reading of a header agrees with dbwarden's own parser, for every kind of value;
 * - a key id changed by hand on a row still under k1 does not make the rotation skip it, status
 *   count it under k2, or k1 look unused; the row is named and repaired;
 * - a plaintext written into a row whose key id says k2 is found and encrypted ("nothing to do"
 *   is said only when the values say so).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../../harness/engines.js';
import { Keyrings } from '../../../src/secrets/keyring.js';
import { encryptValue } from '../../../src/secrets/value.js';
import { evidenceOf, readEvidence, storedEvidence } from '../../../src/secrets/evidence.js';
import { secretsStatus, upgradeSecrets } from '../../../src/secrets/store/index.js';
import { TargetSession } from '../../../src/secrets/store/session.js';
import {
  createSecretsDb,
  decryptRows,
  differing,
  k1,
  k2,
  keySet,
  SECRETS,
  type SecretsDb,
  storeOptions,
} from './fixture.js';

const ROWS = 200;

describe.each(ENGINES)('evidence from the values themselves on $title', (engine) => {
  let s: SecretsDb;

  beforeAll(async () => {
    s = await createSecretsDb(engine, ROWS);
    await upgradeSecrets(SECRETS, keySet(k1), s.targets, storeOptions(50));
  }, 120_000);
  afterAll(async () => {
    await s.cleanup();
  });

  it("the server reads each header as dbwarden's parser does, for every kind of value", async () => {
    const sealed = async (id: number, text: string) =>
      (
        await encryptValue(new Keyrings(keySet(k2, k1)), text, {
          table: 'users',
          column: 'note',
          primaryKey: String(id),
        })
      ).stored;
    const k2Value = await sealed(1, 'x');
    const longPlace = await encryptValue(new Keyrings(keySet(k1)), 'y', {
      table: 'users',
      column: 'note',
      primaryKey: '9'.repeat(300),
    });
    const body = k2Value.slice('dbwarden:1:'.length);
    const samples = [
      'plain text',
      '',
      'dbwarden:',
      'dbwarden:not a value',
      'dbwarden:2:AAAA',
      'dbwarden:1:',
      'dbwarden:1:!!!!',
      'dbwarden:1:AAA',
      'dbwarden:1:AAAA',
      `dbwarden:1:${body.slice(0, 40)}`,
      `dbwarden:1:${body.slice(0, 120)}`,
      `dbwarden:1:${body.slice(4)}`,
      k2Value,
      longPlace.stored,
      (await s.knex('users').where({ id: 3 }).first()).access_key as string,
    ];
    const session = TargetSession.open(s.target);
    try {
      const quote = session.dialect.quoteIdent;
      await s.knex('users').update({ note: null });
      for (const [i, value] of samples.entries())
        await s
          .knex('users')
          .where({ id: i + 1 })
          .update({ note: value });
      const rows = await session.select('read evidence', {
        sql: `SELECT ${quote('id')} AS id, ${quote('note')} AS note, ${session.dialect.keyEvidence('note')} AS e FROM ${quote('users')} WHERE ${quote('id')} <= ? ORDER BY ${quote('id')}`,
        bindings: [samples.length],
      });
      const server = rows.map((r) => readEvidence(r.e, keySet(k2, k1)));
      const local = samples.map((v) => storedEvidence(v, keySet(k2, k1)));
      expect(server).toEqual(local);
      // Not vacuous: the samples hold every kind.
      expect(new Set(local.map((e) => (e.kind === 'key' ? e.keyId : e.kind)))).toEqual(
        new Set(['plaintext', 'unreadable', 'k1', 'k2']),
      );
      expect(rows.filter((r) => r.e === evidenceOf(k2)).map((r) => Number(r.id))).toEqual([13]);
    } finally {
      await s.knex('users').update({ note: null });
      await session.close();
    }
  }, 60_000);

  it('a key id changed by hand: status counts the row by its value, the rotation repairs it, naming it', async () => {
    await s.knex('users').where({ id: 8 }).update({ dbwarden_key_id: 'k2' });
    const before = await secretsStatus(SECRETS, s.targets, keySet(k2, k1));
    expect(before.targets[0]?.tables[0]).toMatchObject({
      byKeyId: { k1: ROWS },
      mismatched: 1,
      mismatchedRows: ['8'],
    });
    expect(before.unusedPreviousKeys).toEqual([]);
    expect(before.previousKeysInUse).toEqual(['k1']);

    const options = storeOptions(50);
    const [result] = await upgradeSecrets(SECRETS, keySet(k2, k1), s.targets, options);
    expect(result?.rowsReencrypted).toBe(ROWS);
    // Named once on the log and once in the result, by table and primary key.
    expect(result).toMatchObject({ rowsRepaired: 1, repairedRows: [{ table: 'users', primaryKey: '8' }] });
    expect(options.lines.filter((l) => l.includes('row 8:'))).toEqual([
      'target main1: users row 8: dbwarden_key_id says key id "k2", but the row holds values under key "k1": written again under "k2"',
    ]);
    // Readable with k2 alone: row 8 was not skipped.
    expect(differing(await decryptRows(keySet(k2), await s.rows()), s.originals)).toEqual([]);
    const after = await secretsStatus(SECRETS, s.targets, keySet(k2, k1));
    expect(after.targets[0]?.tables[0]).toMatchObject({ byKeyId: { k2: ROWS }, mismatched: 0 });
    expect(after.unusedPreviousKeys).toEqual(['k1']);
  }, 60_000);

  it('a plaintext written under a key id is found and encrypted; only then is there nothing to do', async () => {
    const original = s.originals.get(9)?.secret_key;
    await s.knex('users').where({ id: 9 }).update({ secret_key: original });
    const status = await secretsStatus(SECRETS, s.targets, keySet(k2, k1));
    expect(status.targets[0]?.tables[0]).toMatchObject({
      plaintext: 1,
      mismatched: 1,
      mismatchedRows: ['9'],
    });

    const options = storeOptions(50);
    const [result] = await upgradeSecrets(SECRETS, keySet(k2, k1), s.targets, options);
    expect(result).toMatchObject({ rowsEncrypted: 0, rowsReencrypted: 1 });
    expect(
      options.lines.some((l) => l.startsWith('target main1: users row 9: dbwarden_key_id says key id "k2"')),
    ).toBe(true);
    const [row9] = await s.knex('users').where({ id: 9 }).select('secret_key');
    expect(row9.secret_key.startsWith('dbwarden:1:')).toBe(true);
    expect(differing(await decryptRows(keySet(k2), await s.rows()), s.originals)).toEqual([]);

    const [again] = await upgradeSecrets(SECRETS, keySet(k2, k1), s.targets, storeOptions(50));
    expect(again).toMatchObject({ rowsEncrypted: 0, rowsReencrypted: 0 });
  }, 60_000);
});
