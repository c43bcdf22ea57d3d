/**
 * One batch of rows through each phase of the re-encryption engine, with the crypto in this thread
 * (no database, no workers): what each row's conditional update writes, which rows fail, and that a
 * failing value keeps its whole row out of the batch. Also the bounded pipeline and the failure log.
 */
import { describe, expect, it } from 'vitest';
import { type BatchItem, type BatchOp, processBatch } from '../../../src/secrets/batch.js';
import { BlindIndexer } from '../../../src/secrets/blind-index.js';
import { SecretValueError } from '../../../src/secrets/errors.js';
import { masterKeySet, type RawMasterKey } from '../../../src/secrets/keys.js';
import { SecretRowsError, SecretStoreError } from '../../../src/secrets/store/errors.js';
import { FailureLog } from '../../../src/secrets/store/pass.js';
import { pipeline } from '../../../src/secrets/store/pipeline.js';
import { type ReadRow, readRow, transformBatch } from '../../../src/secrets/store/rows.js';
import type { SecretTable } from '../../../src/secrets/store/tables.js';
import { classify, decryptValue, encryptValue } from '../../../src/secrets/value.js';
import { keyrings, newKey } from './helpers.js';

const k1 = newKey('k1');
const k2 = newKey('k2');
const table: SecretTable = {
  schema: 'public',
  configuredSchema: undefined,
  table: 'users',
  primaryKey: 'id',
  columns: ['access_key', 'secret_key'],
  lookup: ['access_key'],
};

function crypto(current: RawMasterKey, ...previous: RawMasterKey[]) {
  const rings = keyrings(current, previous);
  const indexer = new BlindIndexer(masterKeySet(current));
  return {
    run: (op: BatchOp, items: readonly BatchItem[]) => processBatch(rings, op, items),
    index: (t: string, column: string, value: string) => indexer.index(t, column, value).index,
    rings,
  };
}

function row(id: number, values: (string | null)[], keyId: string | null = null): ReadRow {
  return { primaryKey: id, primaryKeyText: String(id), values, keyId, blindIndexes: [null] };
}

const place = (id: number, column: string) => ({ table: 'users', column, primaryKey: String(id) });

describe('a batch through each phase', () => {
  const plain = [row(1, ['AKIA1', 'secret1']), row(2, ['AKIA2', null]), row(3, [null, null])];

  it('encrypt: every value under the current key, for its own place; blind index of the plaintext; NULL stays NULL', async () => {
    const c = crypto(k1);
    const { updates, failures } = await transformBatch('encrypt', table, plain, {
      run: c.run,
      blindIndexOf: c.index,
      currentKeyId: 'k1',
    });
    expect(failures).toEqual([]);
    expect(updates.map((u) => [u.primaryKey, u.beforeKeyId, u.afterKeyId])).toEqual([
      [1, null, 'k1'],
      [2, null, 'k1'],
      // Nothing to encrypt: no key id either (NULL is no value).
      [3, null, null],
    ]);
    expect(updates[0]?.before).toEqual(['AKIA1', 'secret1']);
    const [first, second] = updates;
    for (const [i, column] of table.columns.entries()) {
      const stored = first?.after[i] as string;
      expect(classify(stored)).toMatchObject({ kind: 'ciphertext', keyId: 'k1', place: place(1, column) });
      expect((await decryptValue(c.rings, stored, place(1, column))).plaintext).toBe(plain[0]?.values[i]);
    }
    expect(second?.after[1]).toBeNull();
    expect(first?.blindIndexes).toEqual([c.index('users', 'access_key', 'AKIA1')]);
    expect(updates[2]?.blindIndexes).toEqual([null]);
  });

  it('reencrypt: from any configured key to the current one, blind index under the current key', async () => {
    const old = keyrings(k1);
    const sealed = async (id: number, column: string, value: string) =>
      (await encryptValue(old, value, place(id, column))).stored;
    const rows = [
      row(1, [await sealed(1, 'access_key', 'AKIA1'), await sealed(1, 'secret_key', 's1')], 'k1'),
    ];
    const c = crypto(k2, k1);
    const { updates, failures } = await transformBatch('reencrypt', table, rows, {
      run: c.run,
      blindIndexOf: c.index,
      currentKeyId: 'k2',
    });
    expect(failures).toEqual([]);
    expect(updates[0]).toMatchObject({ beforeKeyId: 'k1', afterKeyId: 'k2', before: rows[0]?.values });
    expect(classify(updates[0]?.after[0] as string)).toMatchObject({ keyId: 'k2' });
    expect(
      (await decryptValue(c.rings, updates[0]?.after[1] as string, place(1, 'secret_key'))).plaintext,
    ).toBe('s1');
    expect(updates[0]?.blindIndexes).toEqual([c.index('users', 'access_key', 'AKIA1')]);
  });

  it('decrypt: plaintext back, key id and blind indexes cleared', async () => {
    const c = crypto(k1);
    const encrypted = await transformBatch('encrypt', table, plain.slice(0, 2), {
      run: c.run,
      blindIndexOf: c.index,
      currentKeyId: 'k1',
    });
    const rows = encrypted.updates.map((u) => row(u.primaryKey as number, [...u.after], u.afterKeyId));
    const { updates } = await transformBatch('decrypt', table, rows, {
      run: c.run,
      blindIndexOf: c.index,
      currentKeyId: 'k1',
    });
    expect(updates.map((u) => [u.after, u.afterKeyId, u.blindIndexes])).toEqual([
      [['AKIA1', 'secret1'], null, [null]],
      [['AKIA2', null], null, [null]],
    ]);
  });

  it('a value that fails keeps its whole row out of the batch; the other rows are written', async () => {
    const c = crypto(k1);
    // A real message, but another row's: refused in this row's place.
    const other = (await encryptValue(c.rings, 'secret9', place(9, 'secret_key'))).stored;
    const rows = [row(1, ['AKIA1', other]), row(2, ['AKIA2', 'secret2'])];
    const { updates, failures } = await transformBatch('encrypt', table, rows, {
      run: c.run,
      blindIndexOf: c.index,
      currentKeyId: 'k1',
    });
    expect(updates.map((u) => u.primaryKey)).toEqual([2]);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(SecretValueError);
    expect(failures[0]).toMatchObject({ problem: 'wrong-place', place: place(1, 'secret_key') });
  });

  it('a plaintext that only looks like a stored value is encrypted as it is (issue 14.9b)', async () => {
    const c = crypto(k1);
    const lookalikes = ['dbwarden:not a value', 'dbwarden:1:!!!!', 'dbwarden:1:AAAA', 'dbwarden:2:x'];
    const rows = lookalikes.map((v, i) => row(i + 1, ['AKIA1', v]));
    const { updates, failures } = await transformBatch('encrypt', table, rows, {
      run: c.run,
      blindIndexOf: c.index,
      currentKeyId: 'k1',
    });
    expect(failures).toEqual([]);
    expect(updates).toHaveLength(lookalikes.length);
    for (const [i, update] of updates.entries()) {
      const stored = update.after[1] as string;
      expect(classify(stored).kind).toBe('ciphertext');
      expect((await decryptValue(c.rings, stored, place(i + 1, 'secret_key'))).plaintext).toBe(lookalikes[i]);
    }
    // The Node API still refuses to encrypt one.
    await expect(encryptValue(c.rings, 'dbwarden:not a value', place(1, 'secret_key'))).rejects.toMatchObject(
      {
        problem: 'reserved-prefix',
      },
    );
  });

  it('values are classified on top of the key id: a mixed row is made whole, nothing encrypted twice', async () => {
    const c = crypto(k2, k1);
    const sealed = (await encryptValue(keyrings(k1), 'AKIA1', place(1, 'access_key'))).stored;
    // No key id, yet one value is a ciphertext (a row repaired by hand): encrypt re-encrypts it, once.
    const mixed = [row(1, [sealed, 'secret1'])];
    const { updates } = await transformBatch('encrypt', table, mixed, {
      run: c.run,
      blindIndexOf: c.index,
      currentKeyId: 'k2',
    });
    const [access, secret] = updates[0]?.after as string[];
    expect((await decryptValue(c.rings, access as string, place(1, 'access_key'))).plaintext).toBe('AKIA1');
    expect((await decryptValue(c.rings, secret as string, place(1, 'secret_key'))).plaintext).toBe('secret1');
    expect(updates[0]?.blindIndexes).toEqual([c.index('users', 'access_key', 'AKIA1')]);
    // A key id, yet a plaintext value: decrypt keeps it as it is.
    const down = await transformBatch('decrypt', table, [row(2, [sealed, 'secret2'], 'k1')], {
      run: c.run,
      blindIndexOf: c.index,
      currentKeyId: 'k2',
    });
    expect(down.failures.map((f) => f.message)).toEqual([
      expect.stringContaining('belongs to users.access_key, primary key 1'),
    ]);
    const kept = await transformBatch('decrypt', table, [row(1, [sealed, 'secret1'], 'k1')], {
      run: c.run,
      blindIndexOf: c.index,
      currentKeyId: 'k2',
    });
    expect(kept.updates[0]?.after).toEqual(['AKIA1', 'secret1']);
  });

  it('a ciphertext copied from another row fails on rotation, naming both rows', async () => {
    const stored = (await encryptValue(keyrings(k1), 'secret1', place(1, 'secret_key'))).stored;
    const c = crypto(k2, k1);
    const { updates, failures } = await transformBatch('reencrypt', table, [row(2, [null, stored], 'k1')], {
      run: c.run,
      blindIndexOf: c.index,
      currentKeyId: 'k2',
    });
    expect(updates).toEqual([]);
    expect(failures[0]?.problem).toBe('wrong-place');
    expect(failures[0]?.message).toContain('primary key 2');
    expect(failures[0]?.message).toContain('primary key 1');
  });
});

describe('reading a row', () => {
  it('takes integer and text primary keys, and reads BIGINT as text', () => {
    const raw = { id: 7, access_key: 'a', secret_key: null, dbwarden_key_id: 'k1', access_key_bidx: null };
    expect(readRow('t', table, raw)).toEqual({
      primaryKey: 7,
      primaryKeyText: '7',
      values: ['a', null],
      keyId: 'k1',
      blindIndexes: [null],
    });
    expect(readRow('t', table, { ...raw, id: 'eu-1' }).primaryKeyText).toBe('eu-1');
    expect(readRow('t', table, { ...raw, id: 2n ** 63n - 1n }).primaryKeyText).toBe('9223372036854775807');
    expect(readRow('t', table, { id: 1, access_key: 'a' }, { keyColumns: false }).keyId).toBeNull();
  });

  it('refuses a fractional key and a value that is not text, naming the table and column', () => {
    expect(() => readRow('main1', table, { id: 1.5 })).toThrow(SecretStoreError);
    expect(() => readRow('main1', table, { id: 1, access_key: Buffer.from('x') })).toThrow(
      /target main1: users.access_key, primary key 1: the driver returned a object, not text/,
    );
  });
});

describe('the pipeline', () => {
  async function* numbers(count: number, pulled: number[]): AsyncGenerator<number> {
    for (let i = 0; i < count; i++) {
      pulled.push(i);
      yield i;
    }
  }
  const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

  it('works on at most `limit` batches at once and finishes them all', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await pipeline(numbers(20, []), 3, async (n) => {
      running++;
      most = Math.max(most, running);
      await tick();
      running--;
      done.push(n);
    });
    expect(most).toBe(3);
    expect(done.sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
  });

  it('at the first failure stops reading, lets the running batches finish, then throws it', async () => {
    const pulled: number[] = [];
    const finished: number[] = [];
    const run = pipeline(numbers(100, pulled), 3, async (n) => {
      await tick();
      if (n === 4) throw new Error('batch 4 failed');
      await tick();
      finished.push(n);
    });
    await expect(run).rejects.toThrow('batch 4 failed');
    expect(pulled.length).toBeLessThan(10);
    // Every batch that started and did not fail has finished by the time the error is thrown.
    expect(finished.sort((a, b) => a - b)).toEqual(pulled.filter((n) => n !== 4));
  });
});

describe('failures', () => {
  const error = (problem: 'wrong-place' | 'unknown-key', id: number) =>
    new SecretValueError('it failed', { problem, place: place(id, 'secret_key') });

  it('are counted once per value however many passes meet them', () => {
    const log = new FailureLog();
    log.add('main1', table, error('wrong-place', 1));
    log.add('main1', table, error('wrong-place', 1));
    log.add('main1', table, error('wrong-place', 2));
    expect(log.count).toBe(2);
    expect(log.failures.map((f) => [f.target, f.table, f.column, f.primaryKey, f.problem])).toEqual([
      ['main1', 'users', 'secret_key', '1', 'wrong-place'],
      ['main1', 'users', 'secret_key', '2', 'wrong-place'],
    ]);
  });

  it('exit 2 when every failing value is a key problem, 1 otherwise; rows named, then counted', () => {
    const keyOnly = new FailureLog();
    for (let id = 1; id <= 12; id++) keyOnly.add('main1', table, error('unknown-key', id));
    const keys = new SecretRowsError('re-encrypted', keyOnly.failures, keyOnly.count);
    expect(keys.exitCode).toBe(2);
    expect(keys.message).toMatch(
      /^12 values could not be re-encrypted: target main1: users.secret_key, primary key 1: it failed;/,
    );
    expect(keys.message).toMatch(/; and 2 more$/);

    const mixed = new FailureLog();
    mixed.add('main1', table, error('unknown-key', 1));
    mixed.add('main1', table, error('wrong-place', 2));
    expect(new SecretRowsError('re-encrypted', mixed.failures, mixed.count).exitCode).toBe(1);
  });
});
