/**
 * verify --secrets' progress, on every engine: the total is the table's row
 * count from the first report on (not the rows done so far, which made the
 * bar always full and its ETA 0 s), or the sample's size with --sample.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../../harness/engines.js';
import { upgradeSecrets, verifySecrets } from '../../../src/secrets/store/index.js';
import { createSecretsDb, k1, keySet, SECRETS, type SecretsDb, storeOptions } from './fixture.js';

const ROWS = 120;

describe.each(ENGINES)('verify --secrets progress on $title', (engine) => {
  let s: SecretsDb;

  beforeAll(async () => {
    s = await createSecretsDb(engine, ROWS);
  }, 120_000);
  afterAll(async () => {
    await s.cleanup();
  });

  it('on plaintext rows (before any migration), every report has the row count as its total', async () => {
    const options = storeOptions(25);
    const failures = await verifySecrets(SECRETS, keySet(k1), s.targets, options);
    expect(failures.length).toBeGreaterThan(ROWS);
    // One report per batch of 25 (batches may finish in any order), each with the table's row count.
    expect(options.reports).toHaveLength(5);
    expect(options.reports.map((r) => r.total)).toEqual([ROWS, ROWS, ROWS, ROWS, ROWS]);
    expect(options.reports[0]?.done).toBeLessThan(ROWS);
    expect(options.reports.at(-1)?.done).toBe(ROWS);
  });

  it('on encrypted rows, the first report already has the total: the bar starts below 100%', async () => {
    await upgradeSecrets(SECRETS, keySet(k1), s.targets, storeOptions());
    const options = storeOptions(10);
    expect(await verifySecrets(SECRETS, keySet(k1), s.targets, options)).toEqual([]);
    const [first] = options.reports;
    expect(first).toMatchObject({ target: 'main1', table: 'users', phase: 'decrypt', total: ROWS });
    expect(first?.done).toBeLessThan(ROWS);
    expect(options.reports.every((r) => r.total === ROWS)).toBe(true);
    expect(options.reports.at(-1)?.done).toBe(ROWS);
  });

  it('with --sample, the total is the sample read', async () => {
    const options = { ...storeOptions(10), sample: 30 };
    expect(await verifySecrets(SECRETS, keySet(k1), s.targets, options)).toEqual([]);
    expect(options.reports.map((r) => [r.done, r.total])).toEqual([[30, 30]]);
  });
});
