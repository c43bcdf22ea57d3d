/**
 * The crypto pool: batches of thousands of values through every worker, from
 * TypeScript source (through tsx) and from the compiled dist/ worker;
 * bounded in-flight batches; row errors typed, naming the row, never the plaintext.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import type { BatchItem, ItemResult } from '../../../src/secrets/batch.js';
import { CryptoPoolError, SecretValueError } from '../../../src/secrets/errors.js';
import { masterKeySet } from '../../../src/secrets/keys.js';
import { type Batch, CryptoPool } from '../../../src/secrets/pool.js';
import { classify, encryptValue } from '../../../src/secrets/value.js';
import { keyrings, newKey, place } from './helpers.js';

const k1 = newKey('k1');
const k2 = newKey('k2');
const THREADS = Math.max(2, availableParallelism());
const ROWS = 3000;
const BATCH = 200;
const originals = Array.from({ length: ROWS }, (_, i) =>
  i % 97 === 0 ? null : randomBytes(30).toString('base64'),
);

function batches(op: Batch['op'], values: readonly (string | null)[]): Batch[] {
  const out: Batch[] = [];
  for (let start = 0; start < values.length; start += BATCH) {
    const items = values.slice(start, start + BATCH).map((value, i) => ({ place: place(start + i), value }));
    out.push({ op, items });
  }
  return out;
}

/** Runs every batch through pool.map and returns the values in row order. */
async function runAll(pool: CryptoPool, list: Batch[]): Promise<ItemResult[]> {
  const results = new Array<ItemResult>(ROWS);
  for await (const { batch, results: done } of pool.map(list)) {
    const first = Number(batch.items[0]?.place.primaryKey);
    done.forEach((r, i) => (results[first + i] = r));
  }
  return results;
}

function valuesOf(results: readonly ItemResult[]): (string | null)[] {
  return results.map((r) => {
    if (!r.ok) throw r.error;
    return r.value;
  });
}

const pools: CryptoPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

async function startPool(options: Parameters<typeof CryptoPool.start>[0]): Promise<CryptoPool> {
  const pool = await CryptoPool.start(options);
  pools.push(pool);
  return pool;
}

describe('CryptoPool', () => {
  it('encrypts, rotates and decrypts a few thousand values on more than one worker', async () => {
    const before = await startPool({ keys: masterKeySet(k1), threads: THREADS });
    const encrypted = valuesOf(await runAll(before, batches('encrypt', originals)));
    expect(encrypted.filter((v) => v !== null && classify(v).kind !== 'ciphertext')).toEqual([]);
    expect(encrypted.map((v) => v === null)).toEqual(originals.map((v) => v === null));

    const rotating = await startPool({ keys: masterKeySet(k2, [k1]), threads: THREADS });
    const rotated = await runAll(rotating, batches('reencrypt', encrypted));
    expect(rotated.every((r) => r.ok && (r.value === null || r.keyId === 'k2'))).toBe(true);
    // A second pass finds nothing to do: every value is already under k2 for its row.
    const again = await runAll(rotating, batches('reencrypt', valuesOf(rotated)));
    expect(again.every((r) => r.ok && !r.changed)).toBe(true);

    const decrypted = valuesOf(await runAll(rotating, batches('decrypt', valuesOf(rotated))));
    expect(decrypted).toEqual(originals);

    for (const pool of [before, rotating]) {
      const { batchesPerWorker, itemsPerWorker, threads } = pool.stats();
      expect(threads).toBe(THREADS);
      expect(batchesPerWorker.every((n) => n > 0)).toBe(true);
      expect(itemsPerWorker.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(ROWS);
    }
  });

  it('uses every core by default', async () => {
    const pool = await startPool({ keys: masterKeySet(k1) });
    expect(pool.threads).toBe(availableParallelism());
  });

  it('runs the compiled worker from dist/ the same way, with either engine', async () => {
    const worker = new URL('../../../dist/secrets/worker.js', import.meta.url);
    // test/harness/build-dist.ts compiles dist/ before any test file runs.
    expect(existsSync(worker)).toBe(true);
    for (const workerUrl of [worker, undefined]) {
      for (const engine of ['native', 'sdk'] as const) {
        const pool = await startPool({
          keys: masterKeySet(k1),
          threads: 2,
          engine,
          ...(workerUrl && { workerUrl }),
        });
        const encrypted = valuesOf(await pool.run('encrypt', [{ place: place(1), value: 's3cret' }]));
        const decrypted = valuesOf(
          await pool.run('decrypt', [{ place: place(1), value: encrypted[0] ?? null }]),
        );
        expect(decrypted).toEqual(['s3cret']);
      }
    }
  });

  it('returns typed errors per row naming the row, never the plaintext', async () => {
    const plaintext = 'do-not-print-this-secret';
    const ring = keyrings(k1);
    const { stored } = await encryptValue(ring, plaintext, place(1));
    const pool = await startPool({ keys: masterKeySet(k1), threads: 2 });
    const items: BatchItem[] = [
      { place: place(1), value: stored },
      { place: place(2), value: stored }, // copied from row 1
      { place: place(3), value: plaintext }, // not encrypted
      { place: place(4), value: 'dbwarden:1:@@@' },
    ];
    const results = await pool.run('reencrypt', items);
    expect(results[0]).toMatchObject({ ok: true, changed: false, keyId: 'k1' });
    const errors = results.slice(1).map((r) => (r.ok ? undefined : r.error));
    expect(errors.map((e) => e?.problem)).toEqual(['wrong-place', 'not-encrypted', 'malformed']);
    for (const [i, error] of errors.entries()) {
      expect(error).toBeInstanceOf(SecretValueError);
      expect(error?.place).toEqual(place(i + 2));
      expect(error?.message).toContain(`users.secret_key, primary key ${i + 2}`);
      expect(error?.message).not.toContain(plaintext);
    }
    expect(errors[0]?.claimedPlace).toEqual(place(1));
  });

  it('pulls a batch only when a slot is free, so memory stays flat', async () => {
    const maxInFlight = 3;
    const pool = await startPool({ keys: masterKeySet(k1), threads: 2, maxInFlight });
    let pulled = 0;
    let completed = 0;
    let widest = 0;
    function* source(): Generator<Batch> {
      for (let i = 0; i < 40; i++) {
        pulled++;
        widest = Math.max(widest, pulled - completed);
        yield {
          op: 'encrypt',
          items: Array.from({ length: 50 }, (_, j) => ({ place: place(i * 50 + j), value: 'v' })),
        };
      }
    }
    for await (const { results } of pool.map(source())) {
      expect(results).toHaveLength(50);
      completed++;
    }
    expect(completed).toBe(40);
    expect(widest).toBeLessThanOrEqual(maxInFlight);
  });

  it('refuses work once closed', async () => {
    const pool = await CryptoPool.start({ keys: masterKeySet(k1), threads: 1 });
    await pool.close();
    await expect(pool.run('encrypt', [{ place: place(1), value: 'v' }])).rejects.toBeInstanceOf(
      CryptoPoolError,
    );
  });
});
