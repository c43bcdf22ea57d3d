/**
 * The store run (the built facade, in a process of its own: store-child.js) killed with SIGKILL at
 * several points of the encrypt migration, of a rotation and of a downgrade, in a loop: after every kill each row
 * is either wholly as it was or wholly done (its key id says which, and its values agree), and the
 * rerun finishes with every value equal to its original, none lost, none encrypted twice.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../../harness/engines.js';
import type { RawMasterKey } from '../../../src/secrets/keys.js';
import { classify } from '../../../src/secrets/value.js';
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
  type StoredRow,
} from './fixture.js';

const ROWS = 4000;
const BATCH = 100;
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'store-child.js');

/** Where to kill: when the store logs a line containing `log`, or after `batches` progress reports. */
type KillPoint = { readonly log: string } | { readonly batches: number };

interface ChildRun {
  /** Resolves true when the point is reached, false if the process ended first. */
  reached: Promise<boolean>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill(): void;
}

function runChild(
  s: SecretsDb,
  keys: readonly RawMasterKey[],
  point?: KillPoint,
  command: 'upgrade' | 'downgrade' = 'upgrade',
): ChildRun {
  const job = {
    command,
    to: 'base',
    keys: keys.map((k) => ({ id: k.id, key: k.key.reveal().toString('base64') })),
    target: s.target,
    secrets: SECRETS,
    batchSize: BATCH,
  };
  const child = spawn(process.execPath, [CHILD], {
    env: { PATH: process.env.PATH, DBWARDEN_STORE_JOB: JSON.stringify(job) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let pending = '';
  let batches = 0;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  const reached = new Promise<boolean>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('progress ')) batches++;
        if (point === undefined) continue;
        if ('log' in point ? line.startsWith('log ') && line.includes(point.log) : batches >= point.batches) {
          child.kill('SIGKILL');
          resolve(true);
        }
      }
    });
    void exited.then(() => resolve(false));
  });
  return { reached, exited, kill: () => child.kill('SIGKILL') };
}

/** Runs the child to its end; fails the test (with its stderr) unless it succeeds. */
async function runToEnd(
  s: SecretsDb,
  keys: readonly RawMasterKey[],
  command: 'upgrade' | 'downgrade' = 'upgrade',
): Promise<void> {
  const { code, stderr } = await runChild(s, keys, undefined, command).exited;
  expect(stderr).toBe('');
  expect(code).toBe(0);
}

/**
 * Every row wholly plaintext (no key id, the original values as they were) or wholly encrypted (a
 * key id of `allowed`, every value a ciphertext under that very key, decrypting to the original).
 */
async function expectWholeRows(s: SecretsDb, allowed: readonly RawMasterKey[]): Promise<{ plain: number }> {
  const rows = await s.rows();
  const plain = rows.filter((r) => (r.dbwarden_key_id ?? null) === null);
  const encrypted = rows.filter((r) => (r.dbwarden_key_id ?? null) !== null);
  const wrongPlain = plain.filter((r) => {
    const o = s.originals.get(r.id);
    return r.access_key !== o?.access_key || r.secret_key !== o.secret_key;
  });
  expect(wrongPlain.map((r) => r.id)).toEqual([]);
  const ids = allowed.map((k) => k.id);
  const underOtherKey = encrypted.filter(
    (r) =>
      !ids.includes(r.dbwarden_key_id as string) ||
      [r.access_key, r.secret_key].some((v) => v !== null && keyIdOf(v) !== r.dbwarden_key_id),
  );
  expect(underOtherKey.map((r) => r.id)).toEqual([]);
  const [current, ...previous] = allowed as [RawMasterKey, ...RawMasterKey[]];
  const decrypted = await decryptRows(keySet(current, ...previous), encrypted);
  expect(
    differing(decrypted, new Map(encrypted.map((r) => [r.id, s.originals.get(r.id) ?? missing(r)]))),
  ).toEqual([]);
  return { plain: plain.length };
}

function keyIdOf(stored: string): string | undefined {
  const found = classify(stored);
  return found.kind === 'ciphertext' ? found.keyId : undefined;
}

function missing(row: StoredRow): never {
  throw new Error(`row ${row.id} is not one the test inserted`);
}

describe.each(ENGINES)('store runs killed with SIGKILL on $title', (engine) => {
  let s: SecretsDb;
  let definition: string;

  beforeAll(async () => {
    s = await createSecretsDb(engine, ROWS);
    definition = await s.definition();
  }, 120_000);
  afterAll(async () => {
    await s.cleanup();
  });

  it('killed during the migrations at several points, the rerun finishes the encryption', async () => {
    const points: KillPoint[] = [
      { log: '001_key_columns up' },
      { batches: 1 },
      { batches: 4 },
      { batches: 9 },
    ];
    let left = ROWS;
    for (const point of points) {
      const run = runChild(s, [k1], point);
      const reached = await run.reached;
      const { signal, stderr } = await run.exited;
      expect(stderr).toBe('');
      expect(reached, `reached ${JSON.stringify(point)} before the run ended`).toBe(true);
      expect(signal).toBe('SIGKILL');
      const { plain } = await expectWholeRows(s, [k1]);
      // Each kill after a batch leaves fewer plaintext rows behind: the reruns resume, they do not start over.
      expect(plain).toBeLessThanOrEqual(left);
      left = plain;
    }
    expect(left).toBeLessThan(ROWS);
    expect(left).toBeGreaterThan(0);

    await runToEnd(s, [k1]);
    const rows = await s.rows();
    expect(new Set(rows.map((r) => r.dbwarden_key_id))).toEqual(new Set(['k1']));
    expect(differing(await decryptRows(keySet(k1), rows), s.originals)).toEqual([]);
  }, 180_000);

  it('killed during a rotation at several points, the rerun finishes it', async () => {
    for (const batches of [2, 5, 10]) {
      const run = runChild(s, [k2, k1], { batches });
      expect(await run.reached, `reached batch ${batches} before the run ended`).toBe(true);
      expect((await run.exited).signal).toBe('SIGKILL');
      const { plain } = await expectWholeRows(s, [k2, k1]);
      expect(plain).toBe(0);
    }
    const keyIds = new Set((await s.rows()).map((r) => r.dbwarden_key_id));
    expect(keyIds).toEqual(new Set(['k1', 'k2']));

    await runToEnd(s, [k2, k1]);
    const rows = await s.rows();
    expect(new Set(rows.map((r) => r.dbwarden_key_id))).toEqual(new Set(['k2']));
    expect(differing(await decryptRows(keySet(k2), rows), s.originals)).toEqual([]);
  }, 180_000);

  it('killed during a downgrade to base, the rerun restores the exact values and definitions', async () => {
    const points: KillPoint[] = [{ batches: 3 }, { batches: 8 }, { log: '001_key_columns down' }];
    for (const point of points) {
      const run = runChild(s, [k2], point, 'downgrade');
      expect(await run.reached, `reached ${JSON.stringify(point)} before the run ended`).toBe(true);
      expect((await run.exited).signal).toBe('SIGKILL');
      await expectWholeRows(s, [k2]);
    }
    await runToEnd(s, [k2], 'downgrade');
    expect(differing(storedValues(await s.rows()), s.originals)).toEqual([]);
    expect(await s.definition()).toBe(definition);
  }, 180_000);
});
