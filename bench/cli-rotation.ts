/**
 * A rotation the way an operator runs it: `dbwarden upgrade` from the compiled build (bin/ and
 * dist/), in a fresh child process, on the benchmark's table. Its peak RSS is the figure issue 5's
 * memory target is about: the benchmark process itself runs from TypeScript through tsx and
 * keeps what its earlier phases grew, so its own peak says little about dbwarden's.
 *
 * The child's peak comes from `process.resourceUsage().maxRSS` (the kernel's high-water mark of
 * the whole process, every thread included), written on exit by a preload (maxrss-preload.mjs).
 * Its deployment has one component without databases, so apply creates nothing on the server and
 * the run is the store's work: migrations (none pending) and the re-encryption.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { SecretColumns } from '../src/policy/model.js';
import type { RawMasterKey } from '../src/secrets/keys.js';
import type { StoreTarget } from '../src/secrets/store/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PRELOAD = fileURLToPath(new URL('./maxrss-preload.mjs', import.meta.url));
const BIN = path.join(root, 'bin', 'dbwarden.js');

export interface CliRotationFigures {
  readonly ms: number;
  readonly rows: number;
  readonly rowsPerSecond: number;
  /** The child's lifetime peak (kernel high-water mark), every thread included. */
  readonly peakRssBytes: number;
}

/** What the child's `upgrade --format json` prints (the fields read here). */
interface UpgradeJson {
  readonly ok: boolean;
  readonly secrets: readonly { readonly rowsReencrypted: number; readonly rowsRetried: number }[];
}

/** A 0700 directory with the config, one database-less policy and the key files (0600). */
function writeDeployment(
  dir: string,
  secrets: readonly SecretColumns[],
  current: RawMasterKey,
  previous: readonly RawMasterKey[],
): string {
  const keyFile = (key: RawMasterKey) => {
    const file = path.join(dir, `key-${key.id}`);
    fs.writeFileSync(file, key.key.reveal(), { mode: 0o600 });
    return { id: key.id, file };
  };
  fs.mkdirSync(path.join(dir, 'policies'), { mode: 0o700 });
  fs.writeFileSync(
    path.join(dir, 'policies', 'worker.yaml'),
    stringify({ component: 'worker', description: 'no databases: apply creates nothing' }),
  );
  const config = path.join(dir, 'dbwarden.yaml');
  fs.writeFileSync(
    config,
    stringify({
      app: 'benchcli',
      policies: './policies',
      targets: [{ name: 'bench', kind: 'main', url: '${BENCH_TARGET_URL}' }],
      credentials: { dir: './credentials' },
      secrets: secrets.map((s) => ({
        kind: s.kind,
        table: s.table,
        primaryKey: s.primaryKey,
        columns: s.columns,
        lookup: s.lookup,
      })),
      masterKey: { current: keyFile(current), previous: previous.map(keyFile) },
    }),
    { mode: 0o600 },
  );
  return config;
}

/** Runs `dbwarden upgrade` with `current` and `previous` keys; every one of `rows` rows must be re-encrypted once. */
export async function rotateThroughCli(
  target: StoreTarget,
  secrets: readonly SecretColumns[],
  keys: { current: RawMasterKey; previous: readonly RawMasterKey[] },
  rows: number,
  batchSize: number,
): Promise<CliRotationFigures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbwarden-bench-cli-'));
  try {
    const config = writeDeployment(dir, secrets, keys.current, keys.previous);
    const rssFile = path.join(dir, 'maxrss');
    const start = performance.now();
    const { code, stdout, stderr } = await run(
      [
        '--import',
        PRELOAD,
        BIN,
        'upgrade',
        '--config',
        config,
        '--format',
        'json',
        '--batch-size',
        String(batchSize),
      ],
      { ...process.env, BENCH_TARGET_URL: target.url, BENCH_MAXRSS_FILE: rssFile },
    );
    const ms = performance.now() - start;
    if (code !== 0) {
      throw new Error(`dbwarden upgrade exited ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
    }
    const result = JSON.parse(stdout) as UpgradeJson;
    const [only] = result.secrets;
    if (!result.ok || only === undefined || only.rowsReencrypted !== rows || only.rowsRetried !== 0) {
      throw new Error(
        `dbwarden upgrade: expected ${rows} rows re-encrypted once, got ${JSON.stringify(result.secrets)}`,
      );
    }
    const maxRssKb = Number(fs.readFileSync(rssFile, 'utf8'));
    return { ms, rows, rowsPerSecond: (rows / ms) * 1000, peakRssBytes: maxRssKb * 1024 };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function run(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
