/**
 * The crypto floor of re-encryption: in-memory decrypt (old key) + check of
 * the place + encrypt (new key) of N stored values, no database. The
 * re-encryption engine cannot beat it; issue 5 asks for at least 0.8 of it.
 *
 * Measured, on the same values:
 * - pool: CryptoPool on every core (os.availableParallelism()), batches of --batch;
 * - single thread: the same batches through processBatch() in this thread;
 * - SDK single thread: the same with every message through @aws-crypto/client-node's
 *   streams instead of the native codec (fewer values: it is ~10x slower), for scale.
 *
 * Standalone: `npx tsx bench/crypto.ts [--values N] [--batch N]`; or call benchCryptoFloor().
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { type BatchItem, processBatch } from '../src/secrets/batch.js';
import { Keyrings } from '../src/secrets/keyring.js';
import { type MasterKeySet, masterKeySet, rawMasterKey } from '../src/secrets/keys.js';
import { type Batch, CryptoPool } from '../src/secrets/pool.js';
import { formatMs } from './stats.js';

export interface CryptoFloorOptions {
  readonly values: number;
  readonly batchSize: number;
  /** Values for the SDK-path baseline (slow); 0 skips it. */
  readonly sdkValues: number;
}

export interface Throughput {
  readonly values: number;
  readonly ms: number;
  readonly valuesPerSecond: number;
}

export interface CryptoFloorResult {
  readonly threads: number;
  readonly pool: Throughput;
  readonly singleThread: Throughput;
  readonly sdkSingleThread: Throughput | undefined;
  /** Peak resident set size over the run, MiB. */
  readonly peakRssMiB: number;
}

const DEFAULTS: CryptoFloorOptions = { values: 100_000, batchSize: 1000, sdkValues: 5000 };

export async function benchCryptoFloor(
  options: Partial<CryptoFloorOptions> = {},
): Promise<CryptoFloorResult> {
  const { values, batchSize, sdkValues } = { ...DEFAULTS, ...options };
  const k1 = rawMasterKey('k1', randomBytes(32));
  const k2 = rawMasterKey('k2', randomBytes(32));
  const rotation = masterKeySet(k2, [k1]);
  const stored = await encryptFixture(masterKeySet(k1), values, batchSize);
  const rss = peakRss();

  const pool = await CryptoPool.start({ keys: rotation });
  let poolRun: Throughput;
  try {
    // One warm-up batch per worker: JIT and first-use costs are not throughput.
    await Promise.all(stored.slice(0, pool.threads).map((b) => pool.run('reencrypt', b.items)));
    poolRun = await measure(values, async () => {
      for await (const { results } of pool.map(stored)) assertAllOk(results);
    });
  } finally {
    await pool.close();
  }

  const singleThread = await measure(values, () => inThread(new Keyrings(rotation), stored));
  const sdkBatches = stored.slice(0, Math.ceil(sdkValues / batchSize));
  const sdkSingleThread =
    sdkValues > 0
      ? await measure(countItems(sdkBatches), () =>
          inThread(new Keyrings(rotation, { engine: 'sdk' }), sdkBatches),
        )
      : undefined;
  return { threads: pool.threads, pool: poolRun, singleThread, sdkSingleThread, peakRssMiB: rss.stop() };
}

/** N random access/secret keys (20 and 40 characters, like AWS's), encrypted under the old key. */
async function encryptFixture(keys: MasterKeySet, values: number, batchSize: number): Promise<Batch[]> {
  const keyrings = new Keyrings(keys);
  const batches: Batch[] = [];
  for (let start = 0; start < values; start += batchSize) {
    const plain: BatchItem[] = [];
    for (let i = start; i < Math.min(values, start + batchSize); i++) {
      const secret =
        i % 2 === 0
          ? `AKIA${randomBytes(12).toString('hex').toUpperCase()}`
          : randomBytes(30).toString('base64');
      plain.push({
        place: {
          table: 'users',
          column: i % 2 === 0 ? 'access_key' : 'secret_key',
          primaryKey: String(i >> 1),
        },
        value: secret,
      });
    }
    const sealed = await processBatch(keyrings, 'encrypt', plain);
    batches.push({
      op: 'reencrypt',
      items: sealed.map((r, i) => ({ place: (plain[i] as BatchItem).place, value: r.ok ? r.value : null })),
    });
  }
  return batches;
}

async function inThread(keyrings: Keyrings, batches: readonly Batch[]): Promise<void> {
  for (const batch of batches) assertAllOk(await processBatch(keyrings, batch.op, batch.items));
}

function assertAllOk(results: readonly { ok: boolean }[]): void {
  if (results.some((r) => !r.ok))
    throw new Error('a value failed to re-encrypt: the figures would mean nothing');
}

function countItems(batches: readonly Batch[]): number {
  return batches.reduce((n, b) => n + b.items.length, 0);
}

async function measure(values: number, fn: () => Promise<void>): Promise<Throughput> {
  const start = performance.now();
  await fn();
  const ms = performance.now() - start;
  return { values, ms, valuesPerSecond: (values / ms) * 1000 };
}

/** Samples RSS every 50 ms until stopped (worker threads share the process: they are included). */
function peakRss(): { stop: () => number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.round(Math.max(peak, process.memoryUsage.rss()) / 1024 ** 2);
    },
  };
}

export function formatCryptoFloor(result: CryptoFloorResult): string {
  const line = (name: string, t: Throughput | undefined, note: string): string =>
    t === undefined
      ? `| ${name} | skipped | | ${note} |`
      : `| ${name} | ${Math.round(t.valuesPerSecond).toLocaleString('en-US')} values/s | ${formatMs(t.ms)} for ${t.values.toLocaleString('en-US')} | ${note} |`;
  const ratio = (result.pool.valuesPerSecond / result.singleThread.valuesPerSecond).toFixed(2);
  return [
    '| re-encrypt (decrypt + place check + encrypt), in memory | throughput | time | notes |',
    '|---|---|---|---|',
    line(`pool, ${result.threads} workers`, result.pool, `the crypto floor; ${ratio}x single thread`),
    line('single thread, native codec', result.singleThread, 'processBatch in the main thread'),
    line(
      'single thread, AWS Encryption SDK streams',
      result.sdkSingleThread,
      'every message through @aws-crypto/client-node',
    ),
    '',
    `peak RSS ${result.peakRssMiB} MiB; ${availableParallelism()} cores available`,
    '',
  ].join('\n');
}

function parseArgs(argv: readonly string[]): Partial<CryptoFloorOptions> {
  const options: { values?: number; batchSize?: number; sdkValues?: number } = {};
  for (let i = 0; i < argv.length; i += 2) {
    const value = Number(argv[i + 1]);
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${argv[i]} needs a whole number`);
    if (argv[i] === '--values') options.values = value;
    else if (argv[i] === '--batch') options.batchSize = value;
    else if (argv[i] === '--sdk-values') options.sdkValues = value;
    else throw new Error(`unknown option ${argv[i]}; use --values N, --batch N, --sdk-values N`);
  }
  return options;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(formatCryptoFloor(await benchCryptoFloor(parseArgs(process.argv.slice(2)))));
}
