/**
 * The re-encryption section of `npm run bench` (issue 5): the encrypted store's engine on one
 * engine's throwaway database, a `users(id, access_key, secret_key)` table of --rows random
 * AWS-style keys (20 and 40 characters; `access_key` a lookup column with a blind index), and,
 * in this order:
 *
 * 1. crypto floor (baseline), first half: values (2 per row) decrypted under k1, checked against
 *    their place and encrypted under k2 in memory, on a CryptoPool with every core;
 * 2. encrypt: `upgradeSecrets` from plaintext (001_key_columns and 002_encrypt) under k1;
 * 3. rotation: `upgradeSecrets` with k2 current and k1 previous: every row re-encrypted;
 *    then the floor's second half (together: as many values as the table holds), and a sample of
 *    rows verified under k2 (figures of a rotation that broke values mean nothing);
 * 4. rollback k2 -> k1 through the CLI: `dbwarden upgrade` from the compiled build in a fresh child
 *    process (cli-rotation.ts), whose peak RSS is the one the memory target is about;
 * 5. database copy (baseline): the same pipeline (`upgradeSecretsWith`) with a StoreCrypto whose
 *    batches copy every value unchanged: the same keyset reads, batches, transactions and
 *    conditional updates (key id and blind index rewritten), no worker crypto.
 *
 * All of it runs in one CPU layout (affinity.ts): the database server and dbwarden on every core,
 * or each on cores of its own.
 *
 * Before the rotation and the copy the table is settled (PostgreSQL: VACUUM ANALYZE and
 * CHECKPOINT; MariaDB: ANALYZE TABLE), so both start from the same state: every row one
 * ciphertext pair under one key. The process's RSS is sampled every 50 ms, and its peak reported
 * per phase (the crypto workers are threads of this process: included).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { SecretColumns } from '../src/policy/model.js';
import { type BatchItem, type BatchOp, type ItemResult, processBatch } from '../src/secrets/batch.js';
import { Keyrings } from '../src/secrets/keyring.js';
import { type MasterKeySet, masterKeySet, type RawMasterKey, rawMasterKey } from '../src/secrets/keys.js';
import { type Batch, CryptoPool } from '../src/secrets/pool.js';
import { StoreCrypto } from '../src/secrets/store/crypto.js';
import {
  type StoreOptions,
  type StoreProgress,
  type StoreTarget,
  type TargetUpgrade,
  upgradeSecrets,
  verifySecrets,
} from '../src/secrets/store/index.js';
import { upgradeSecretsWith } from '../src/internal.js';
import { urlForDatabase, withClient } from '../test/harness/databases.js';
import { type MysqlServer, startMariadb } from '../test/harness/mariadb.js';
import { withMysql } from '../test/harness/mysql-databases.js';
import type { Layout } from './affinity.js';
import { type CliRotationFigures, rotateThroughCli } from './cli-rotation.js';
import { formatMs, formatRatio } from './stats.js';

const { escapeIdentifier } = pg;

/** Keystone's `keystone-manage credential_migrate`: 20,000 credentials in 27 s on PostgreSQL 15 (issue 5). */
export const KEYSTONE_ROWS_PER_SECOND = 20_000 / 27;
/** Issue 5's targets. */
export const TARGETS = { ofCryptoFloor: 0.8, peakRssMB: 300, timesKeystone: 3 } as const;

/** Rows encrypted once for the crypto floor and then cycled: memory stays flat at any --rows. */
const FLOOR_FIXTURE_ROWS = 5000;
/**
 * MariaDB's buffer pool for this section. The harness gives its servers 128 MB, and InnoDB reads
 * with O_DIRECT, so a 1,000,000-row table of ciphertexts (about 1 GB) would be read from and
 * written back to disk page by page: a server holding such a table has a pool that fits it.
 * PostgreSQL's 128 MB shared_buffers sit on the OS page cache, which does hold it.
 */
const MARIADB_BUFFER_POOL_BYTES = 2 * 1024 ** 3;
/** Rows per INSERT while filling the table. */
const FILL_CHUNK_ROWS = 5000;
/** Rows decrypted under k2 after the rotation. */
const VERIFY_SAMPLE = 200;
const RSS_SAMPLE_MS = 50;
const PROGRESS_EVERY_MS = 10_000;
const MB = 1e6;

const [TABLE, ACCESS_KEY, SECRET_KEY] = ['users', 'access_key', 'secret_key'] as const;
const SECRETS: readonly SecretColumns[] = [
  {
    kind: 'main',
    schema: undefined,
    table: TABLE,
    primaryKey: 'id',
    columns: [ACCESS_KEY, SECRET_KEY],
    lookup: [ACCESS_KEY],
  },
];
const VALUES_PER_ROW = 2;

export interface ReencryptOptions {
  readonly rows: number;
  readonly batchSize: number;
}

// ------------------------------------------------------------------------------ the databases

/** One engine's benchmark database: the store's target, and what the benchmark does to it directly. */
export interface ReencryptDatabase {
  /** For ids in results.json: `postgres` or `mariadb`. */
  readonly id: string;
  /** E.g. "PostgreSQL 15.18". */
  readonly label: string;
  /** The server settings that matter for writes, for the report. */
  readonly settings: string;
  readonly target: StoreTarget;
  /** The server's main process id (it runs on this machine), for pinning it to cores. */
  serverPid(): Promise<number>;
  /** Creates `users` and fills it with `rows` random keys, FILL_CHUNK_ROWS per INSERT. */
  fill(rows: number): Promise<void>;
  /** Between phases: dead rows cleaned up, statistics current, dirty pages written. */
  settle(): Promise<void>;
}

/** `AKIA` and 16 characters of A-Z2-7 (an AWS access key id), and 40 of base64 (a secret key). */
function randomRows(first: number, count: number): [number, string, string][] {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const noise = randomBytes(count * 16);
  return Array.from({ length: count }, (_, i) => {
    let access = 'AKIA';
    for (let c = 0; c < 16; c++) access += alphabet[(noise[i * 16 + c] ?? 0) & 31];
    return [first + i, access, randomBytes(30).toString('base64')];
  });
}

async function fillInChunks(
  rows: number,
  insert: (chunk: [number, string, string][]) => Promise<unknown>,
): Promise<void> {
  for (let first = 1; first <= rows; first += FILL_CHUNK_ROWS) {
    await insert(randomRows(first, Math.min(FILL_CHUNK_ROWS, rows - first + 1)));
  }
}

/** A new database on the plan section's PostgreSQL server, with statement logging off. */
export async function postgresDatabase(
  adminUrl: string,
  version: string,
  suffix: string,
  onCleanup: (what: string, run: () => Promise<void>) => void,
): Promise<ReencryptDatabase> {
  const name = `bench_reencrypt_${process.pid}_${suffix}`;
  const quoted = escapeIdentifier(name);
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${quoted}`));
  onCleanup('drop the re-encryption database', async () => {
    await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`));
  });
  // The harness's servers log every statement (for the tests); a production server does not.
  await withClient(adminUrl, (c) => c.query(`ALTER DATABASE ${quoted} SET log_statement = 'none'`));
  const url = urlForDatabase(adminUrl, name);
  const settings = await withClient(adminUrl, async (c) => {
    const names = ['fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers'];
    const r = await c.query<{ name: string; setting: string }>(
      'select name, current_setting(name) as setting from unnest($1::text[]) as name',
      [names],
    );
    return r.rows.map((row) => `${row.name}=${row.setting}`).join(', ');
  });
  return {
    id: 'postgres',
    label: `PostgreSQL ${version}`,
    settings: `${settings}, log_statement=none`,
    target: { name: 'bench', kind: 'main', engine: 'postgres', url },
    serverPid: () =>
      withClient(adminUrl, async (c) => {
        const r = await c.query<{ dir: string }>("select current_setting('data_directory') as dir");
        // postmaster.pid's first line is the postmaster's process id.
        return Number(readFileSync(`${r.rows[0]?.dir ?? ''}/postmaster.pid`, 'utf8').split('\n')[0]);
      }),
    fill: (rows) =>
      withClient(url, async (c) => {
        await c.query(
          'CREATE TABLE users (id bigint PRIMARY KEY, access_key varchar(64) NOT NULL, secret_key varchar(64))',
        );
        await fillInChunks(rows, (chunk) =>
          c.query('INSERT INTO users SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])', [
            chunk.map((r) => r[0]),
            chunk.map((r) => r[1]),
            chunk.map((r) => r[2]),
          ]),
        );
      }),
    settle: async () => {
      await withClient(url, (c) => c.query('VACUUM (ANALYZE) users'));
      await withClient(adminUrl, (c) => c.query('CHECKPOINT'));
    },
  };
}

/** A throwaway MariaDB of its own (test/harness/mariadb.ts), general log off, and a database on it. */
export async function mariadbDatabase(
  onCleanup: (what: string, run: () => Promise<void>) => void,
): Promise<ReencryptDatabase> {
  const server: MysqlServer = await startMariadb();
  onCleanup('stop the re-encryption MariaDB', () => server.stop());
  // The harness logs every statement for the tests; a production server does not.
  await withMysql(server.adminUrl, (c) => c.query('SET GLOBAL general_log = 0'));
  await withMysql(server.adminUrl, (c) =>
    c.query('SET GLOBAL innodb_buffer_pool_size = ?', [MARIADB_BUFFER_POOL_BYTES]),
  );
  const settings = await withMysql(server.adminUrl, async (c) => {
    const names = [
      'innodb_buffer_pool_size',
      'innodb_flush_method',
      'innodb_flush_log_at_trx_commit',
      'innodb_doublewrite',
      'general_log',
    ];
    const [rows] = await c.query(`SELECT ${names.map((n) => `@@global.${n} AS ${n}`).join(', ')}`);
    const row = (rows as Record<string, unknown>[])[0] ?? {};
    return names.map((n) => `${n}=${String(row[n])}`).join(', ');
  });
  const name = `bench_reencrypt_${process.pid}`;
  await withMysql(server.adminUrl, (c) => c.query(`CREATE DATABASE \`${name}\``));
  const url = server.adminUrl.replace(/\/mysql$/, `/${name}`);
  return {
    id: 'mariadb',
    label: `MariaDB ${server.version}`,
    settings,
    target: { name: 'bench', kind: 'main', engine: 'mysql', url },
    serverPid: () =>
      withMysql(server.adminUrl, async (c) => {
        const [rows] = await c.query('SELECT @@pid_file AS file');
        const file = String((rows as { file: string }[])[0]?.file ?? '');
        return Number(readFileSync(file, 'utf8').trim());
      }),
    fill: (rows) =>
      withMysql(url, async (c) => {
        await c.query(
          'CREATE TABLE users (id BIGINT PRIMARY KEY, access_key VARCHAR(64) NOT NULL, secret_key VARCHAR(64)) ENGINE=InnoDB',
        );
        // mysql2 expands a nested array after VALUES into (..), (..), ...
        await fillInChunks(rows, (chunk) =>
          c.query('INSERT INTO users (id, access_key, secret_key) VALUES ?', [chunk]),
        );
      }),
    settle: () => withMysql(url, (c) => c.query('ANALYZE TABLE users')).then(() => undefined),
  };
}

// ------------------------------------------------------------------------------ measuring

/** CPU time over a phase, in CPU milliseconds: this process (every thread), the rest of the machine, idle. */
export interface CpuUse {
  readonly processMs: number;
  /** Busy time of every other process: the database server, mostly. */
  readonly restMs: number;
  readonly idleMs: number;
}

/** Machine-wide busy and idle CPU time from /proc/stat, in ms; undefined off Linux. */
function machineCpu(): { busyMs: number; idleMs: number } | undefined {
  let fields: number[];
  try {
    fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
  } catch {
    return undefined;
  }
  // user nice system idle iowait irq softirq steal, in USER_HZ ticks (100 per second on Linux).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  return { busyMs: (user + nice + system + irq + softirq + steal) * 10, idleMs: (idle + iowait) * 10 };
}

/** Starts counting CPU; the function returned says what was used since. */
function cpuMeter(): () => CpuUse | undefined {
  const process0 = process.cpuUsage();
  const machine0 = machineCpu();
  return () => {
    const used = process.cpuUsage(process0);
    const machine = machineCpu();
    if (machine0 === undefined || machine === undefined) return undefined;
    const processMs = (used.user + used.system) / 1000;
    const busyMs = machine.busyMs - machine0.busyMs;
    // /proc/stat counts in 10 ms ticks: over a short phase the difference can dip below zero.
    return { processMs, restMs: Math.max(0, busyMs - processMs), idleMs: machine.idleMs - machine0.idleMs };
  };
}

export interface Usage {
  readonly ms: number;
  /** RSS when the phase started: what earlier phases left (V8 returns freed memory to the OS slowly). */
  readonly startRssBytes: number;
  /** The peak of process.memoryUsage.rss() sampled every RSS_SAMPLE_MS (maxRSS would be the process lifetime's). */
  readonly peakRssBytes: number;
  readonly cpu: CpuUse | undefined;
}

/** Runs `fn` and says what it took: time, memory, CPU. */
async function observed<T>(fn: () => Promise<T>): Promise<{ value: T; usage: Usage }> {
  const startRssBytes = process.memoryUsage.rss();
  let peak = startRssBytes;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), RSS_SAMPLE_MS);
  const cpu = cpuMeter();
  const start = performance.now();
  try {
    const value = await fn();
    const ms = performance.now() - start;
    const peakRssBytes = Math.max(peak, process.memoryUsage.rss());
    return { value, usage: { ms, startRssBytes, peakRssBytes, cpu: cpu() } };
  } finally {
    clearInterval(timer);
  }
}

export interface PhaseFigures extends Usage {
  readonly rows: number;
  readonly rowsPerSecond: number;
  /** Rows/s between the first and the last batch written: without pool start, preflight, counting. */
  readonly steadyRowsPerSecond: number | undefined;
  /** Time from the store's first log line about migration 001 to the one about 002 (the DDL). */
  readonly ddlMs: number | undefined;
}

/**
 * Batch progress: the first and last report (for the steady rate), a line on stderr every
 * PROGRESS_EVERY_MS, and log lines timestamped.
 */
class PhaseWatch {
  readonly #label: string;
  readonly #say: (text: string) => void;
  readonly #lines: { at: number; text: string }[] = [];
  #first: { at: number; done: number } | undefined;
  #last: { at: number; done: number } | undefined;
  #lastSaid = performance.now();

  constructor(label: string, say: (text: string) => void) {
    this.#label = label;
    this.#say = say;
  }

  options(batchSize: number): StoreOptions {
    return {
      batchSize,
      progress: (p) => this.#progress(p),
      log: (text) => {
        this.#lines.push({ at: performance.now(), text });
        this.#say(`${this.#label}: ${text}`);
      },
    };
  }

  #progress(p: StoreProgress): void {
    const now = performance.now();
    this.#first ??= { at: now, done: p.done };
    this.#last = { at: now, done: p.done };
    if (now - this.#lastSaid < PROGRESS_EVERY_MS) return;
    this.#lastSaid = now;
    this.#say(
      `${this.#label}: ${p.phase} ${p.done.toLocaleString('en-US')}/${p.total.toLocaleString('en-US')}`,
    );
  }

  steadyRowsPerSecond(): number | undefined {
    const [first, last] = [this.#first, this.#last];
    if (first === undefined || last === undefined || last.at - first.at < 1) return undefined;
    return ((last.done - first.done) / (last.at - first.at)) * 1000;
  }

  ddlMs(): number | undefined {
    const at = (migration: string) =>
      this.#lines.find((l) => l.text.includes(`migration ${migration} up`))?.at;
    const [ddl, encrypt] = [at('001_key_columns'), at('002_encrypt')];
    return ddl === undefined || encrypt === undefined ? undefined : encrypt - ddl;
  }
}

/** Runs one store call, timed, and checks it wrote every row once (otherwise the rate is not per row). */
async function measurePhase(
  label: string,
  rows: number,
  options: ReencryptOptions,
  say: (text: string) => void,
  run: (options: StoreOptions) => Promise<TargetUpgrade[]>,
  written: (result: TargetUpgrade) => number,
): Promise<PhaseFigures> {
  say(`${label}: ${rows.toLocaleString('en-US')} rows`);
  const watch = new PhaseWatch(label, say);
  const { value, usage } = await observed(() => run(watch.options(options.batchSize)));
  const [result] = value;
  if (result === undefined || written(result) !== rows || result.rowsRetried !== 0) {
    throw new Error(
      `${label}: expected ${rows} rows written once, got ${JSON.stringify(result ?? null)}; the figures would mean nothing`,
    );
  }
  return {
    ...usage,
    rows,
    rowsPerSecond: (rows / usage.ms) * 1000,
    steadyRowsPerSecond: watch.steadyRowsPerSecond(),
    ddlMs: watch.ddlMs(),
  };
}

// ------------------------------------------------------------------------------ the baselines

/**
 * The database-cost baseline's crypto: every batch "decrypted" and "encrypted" into itself, in
 * this thread, so the store run does everything but the crypto. It reports the real pool's
 * in-flight limit so the pipeline keeps as many batches between read and write. Blind indexes
 * stay real (HMAC under the current key, in this thread, as in a rotation); the preflight's one
 * decrypt per key id too.
 */
class CopyCrypto extends StoreCrypto {
  readonly #maxInFlight: number;

  constructor(keys: MasterKeySet, maxInFlight: number) {
    super(keys);
    this.#maxInFlight = maxInFlight;
  }

  override maxInFlight(): Promise<number> {
    return Promise.resolve(this.#maxInFlight);
  }

  override run(op: BatchOp, items: readonly BatchItem[]): Promise<ItemResult[]> {
    const keyId = op === 'decrypt' ? null : this.currentKeyId;
    return Promise.resolve(items.map((item) => ({ ok: true, value: item.value, keyId, changed: true })));
  }
}

export interface FloorFigures extends Usage {
  readonly values: number;
  readonly valuesPerSecond: number;
  /** valuesPerSecond / values per row. */
  readonly rowsPerSecond: number;
  readonly threads: number;
  /** The pool's in-flight limit, which the database-copy baseline reports too. */
  readonly maxInFlight: number;
  /** Rows/s of each part the floor was measured in (see benchReencrypt). */
  readonly partsRowsPerSecond: readonly number[];
}

/** FLOOR_FIXTURE_ROWS rows (or fewer) of random keys encrypted under `key`, in reencrypt batches of batchSize rows. */
async function floorFixture(key: RawMasterKey, rows: number, batchSize: number): Promise<Batch[]> {
  const keyrings = new Keyrings(masterKeySet(key));
  const batches: Batch[] = [];
  for (let first = 1; first <= rows; first += batchSize) {
    const plain: BatchItem[] = randomRows(first, Math.min(batchSize, rows - first + 1)).flatMap(
      ([id, access, secret]) => [
        { place: { table: TABLE, column: ACCESS_KEY, primaryKey: String(id) }, value: access },
        { place: { table: TABLE, column: SECRET_KEY, primaryKey: String(id) }, value: secret },
      ],
    );
    const sealed = await processBatch(keyrings, 'encrypt', plain);
    batches.push({
      op: 'reencrypt',
      items: sealed.map((r, i) => ({ place: (plain[i] as BatchItem).place, value: r.ok ? r.value : null })),
    });
  }
  return batches;
}

/** The fixture's batches over and over until `rows` rows are covered (the last one cut to fit). */
function* cycled(fixture: readonly Batch[], rows: number, batchSize: number): Generator<Batch> {
  for (let done = 0, i = 0; done < rows; done += batchSize, i++) {
    const batch = fixture[i % fixture.length] as Batch;
    const take = Math.min(batchSize, rows - done) * VALUES_PER_ROW;
    yield take === batch.items.length ? batch : { op: batch.op, items: batch.items.slice(0, take) };
  }
}

/**
 * In-memory decrypt (k1) + place check + encrypt (k2) of 2 values per row, batches of one engine
 * batch's values, on a CryptoPool with every core (as upgrade starts it): what the engine could
 * reach with a free database. Like bench/crypto.ts's benchCryptoFloor, but on a small fixture
 * cycled instead of every value held at once, so it stays flat at 1,000,000 rows.
 */
async function cryptoFloor(
  k1: RawMasterKey,
  k2: RawMasterKey,
  rows: number,
  batchSize: number,
  say: (text: string) => void,
): Promise<FloorFigures> {
  const fixture = await floorFixture(k1, Math.min(rows, FLOOR_FIXTURE_ROWS), batchSize);
  const pool = await CryptoPool.start({ keys: masterKeySet(k2, [k1]) });
  try {
    // One warm-up batch per worker: JIT and first-use costs are not throughput.
    await Promise.all(fixture.slice(0, pool.threads).map((b) => pool.run(b.op, b.items)));
    const values = rows * VALUES_PER_ROW;
    say(`crypto floor: ${values.toLocaleString('en-US')} values on ${pool.threads} workers`);
    const { usage } = await observed(async () => {
      for await (const { results } of pool.map(cycled(fixture, rows, batchSize))) {
        if (results.some((r) => !r.ok)) throw new Error('crypto floor: a value failed to re-encrypt');
      }
    });
    const valuesPerSecond = (values / usage.ms) * 1000;
    return {
      ...usage,
      values,
      valuesPerSecond,
      rowsPerSecond: valuesPerSecond / VALUES_PER_ROW,
      threads: pool.threads,
      maxInFlight: pool.maxInFlight,
      partsRowsPerSecond: [valuesPerSecond / VALUES_PER_ROW],
    };
  } finally {
    await pool.close();
  }
}

/** Two parts of the floor as one measurement: values and time added up, the larger peak. */
function joinFloors(a: FloorFigures, b: FloorFigures | undefined): FloorFigures {
  if (b === undefined) return a;
  const [values, ms] = [a.values + b.values, a.ms + b.ms];
  const valuesPerSecond = (values / ms) * 1000;
  const cpu =
    a.cpu === undefined || b.cpu === undefined
      ? undefined
      : {
          processMs: a.cpu.processMs + b.cpu.processMs,
          restMs: a.cpu.restMs + b.cpu.restMs,
          idleMs: a.cpu.idleMs + b.cpu.idleMs,
        };
  return {
    ...a,
    values,
    ms,
    valuesPerSecond,
    rowsPerSecond: valuesPerSecond / VALUES_PER_ROW,
    peakRssBytes: Math.max(a.peakRssBytes, b.peakRssBytes),
    cpu,
    partsRowsPerSecond: [...a.partsRowsPerSecond, ...b.partsRowsPerSecond],
  };
}

// ------------------------------------------------------------------------------ the section

export interface ReencryptOutcome {
  readonly id: string;
  readonly label: string;
  readonly layout: { readonly name: string; readonly description: string };
  readonly settings: string;
  readonly rows: number;
  readonly batchSize: number;
  readonly fillMs: number;
  readonly floor: FloorFigures;
  readonly encrypt: PhaseFigures;
  readonly rotation: PhaseFigures;
  /** The rollback k2 -> k1, by `dbwarden upgrade` in a child process. */
  readonly cli: CliRotationFigures;
  readonly copy: PhaseFigures;
  readonly verifiedSample: number;
}

/** The whole section on one database, in one CPU layout (entered here, left before returning). */
export async function benchReencrypt(
  database: ReencryptDatabase,
  options: ReencryptOptions,
  layout: Layout,
  progress: (text: string) => void,
): Promise<ReencryptOutcome> {
  const say = (text: string) => progress(`${database.label}, ${layout.name} cores: ${text}`);
  say(layout.description);
  const leave = layout.enter(await database.serverPid());
  try {
    return await phases(database, options, layout, say);
  } finally {
    leave();
  }
}

async function phases(
  database: ReencryptDatabase,
  options: ReencryptOptions,
  layout: Layout,
  say: (text: string) => void,
): Promise<ReencryptOutcome> {
  const k1 = rawMasterKey('k1', randomBytes(32));
  const k2 = rawMasterKey('k2', randomBytes(32));
  // Same length as k1 and k2: the copy writes a key id of the same size.
  const k3 = rawMasterKey('k3', randomBytes(32));
  const targets = [database.target];

  say(`filling users with ${options.rows.toLocaleString('en-US')} rows`);
  const fillStart = performance.now();
  await database.fill(options.rows);
  const fillMs = performance.now() - fillStart;

  // The floor in two halves around encrypt and rotation: a VM's speed drifts over minutes, and
  // the rotation is compared with the floor of the same stretch of time.
  const firstHalf = Math.ceil(options.rows / 2);
  const floorBefore = await cryptoFloor(k1, k2, firstHalf, options.batchSize, say);
  const encrypt = await measurePhase(
    'encrypt',
    options.rows,
    options,
    say,
    (o) => upgradeSecrets(SECRETS, masterKeySet(k1), targets, o),
    (r) => r.rowsEncrypted,
  );
  await database.settle();
  const rotation = await measurePhase(
    'rotation k1 -> k2',
    options.rows,
    options,
    say,
    (o) => upgradeSecrets(SECRETS, masterKeySet(k2, [k1]), targets, o),
    (r) => r.rowsReencrypted,
  );
  const floor = joinFloors(
    floorBefore,
    options.rows > firstHalf
      ? await cryptoFloor(k1, k2, options.rows - firstHalf, options.batchSize, say)
      : undefined,
  );
  await verifyRotation(masterKeySet(k2), targets, options.batchSize);
  await database.settle();
  say(`rollback k2 -> k1 through the CLI: ${options.rows.toLocaleString('en-US')} rows`);
  const cli = await rotateThroughCli(
    database.target,
    SECRETS,
    { current: k1, previous: [k2] },
    options.rows,
    options.batchSize,
  );
  await verifyRotation(masterKeySet(k1), targets, options.batchSize);
  await database.settle();
  // The table is now under k1; the copy "rotates" it to k3, rewriting every value unchanged.
  const copy = await measurePhase(
    'database copy',
    options.rows,
    options,
    say,
    (o) => upgradeSecretsWith(new CopyCrypto(masterKeySet(k3, [k1]), floor.maxInFlight), SECRETS, targets, o),
    (r) => r.rowsReencrypted,
  );
  return {
    id: database.id,
    label: database.label,
    layout: { name: layout.name, description: layout.description },
    settings: database.settings,
    rows: options.rows,
    batchSize: options.batchSize,
    fillMs,
    floor,
    encrypt,
    rotation,
    cli,
    copy,
    verifiedSample: VERIFY_SAMPLE,
  };
}

/** A sample of rows must decrypt under `keys`' current key: figures of a rotation that broke values mean nothing. */
async function verifyRotation(keys: MasterKeySet, targets: readonly StoreTarget[], batchSize: number) {
  const failures = await verifySecrets(SECRETS, keys, targets, {
    sample: VERIFY_SAMPLE,
    batchSize,
    progress: () => undefined,
    log: () => undefined,
  });
  if (failures.length > 0) {
    const problems = [...new Set(failures.map((f) => f.problem))].join(', ');
    throw new Error(
      `after rotating to ${keys.current.id} ${failures.length} sampled values failed to verify (${problems})`,
    );
  }
}

// ------------------------------------------------------------------------------ the report

export interface ReencryptMetric {
  /** Stable key for results.json, e.g. "postgres.reencrypt.rotation". */
  readonly id: string;
  readonly label: string;
  readonly value: number;
  readonly unit: 'rows/s' | 'values/s' | 'MB' | 'x';
  /** As shown in the value column. */
  readonly shown: string;
  /** rotation / baseline for throughputs (above 1: faster), figure / target for memory. */
  readonly ratio?: number;
  readonly ratioTo?: string;
  readonly notes: string;
}

function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function rate(figures: { rowsPerSecond: number; ms: number }): string {
  return `${count(figures.rowsPerSecond)} rows/s (${formatMs(figures.ms)})`;
}

function steady(figures: PhaseFigures): string {
  return figures.steadyRowsPerSecond === undefined
    ? ''
    : `; ${count(figures.steadyRowsPerSecond)} rows/s from the first batch written to the last`;
}

/** Where the machine's CPU went over a phase: shares of cores x wall time, and CPU time per row. */
function cpuNote(usage: Usage, rows: number): string {
  const cpu = usage.cpu;
  if (cpu === undefined) return '';
  const total = cpu.processMs + cpu.restMs + cpu.idleMs;
  const share = (ms: number) => `${Math.round((ms / total) * 100)}%`;
  const perRowUs = (ms: number) => count((ms * 1000) / rows);
  return `; CPU: dbwarden ${share(cpu.processMs)} (${perRowUs(cpu.processMs)} us/row, main thread and workers), rest of the machine ${share(cpu.restMs)} (${perRowUs(cpu.restMs)} us/row, mostly the database server), idle ${share(cpu.idleMs)}`;
}

function megabytes(bytes: number): number {
  return Math.round(bytes / MB);
}

function met(ok: boolean): string {
  return ok ? 'met' : '**missed**';
}

/** Microseconds per row at a rate. */
function perRow(rowsPerSecond: number): number {
  return 1e6 / rowsPerSecond;
}

export function reencryptMetrics(o: ReencryptOutcome): ReencryptMetric[] {
  const id = (name: string) => `${o.id}.reencrypt.${o.layout.name}.${name}`;
  const ofFloor = o.rotation.rowsPerSecond / o.floor.rowsPerSecond;
  const cliOfFloor = o.cli.rowsPerSecond / o.floor.rowsPerSecond;
  const cliRssMb = megabytes(o.cli.peakRssBytes);
  const ofCopy = o.rotation.rowsPerSecond / o.copy.rowsPerSecond;
  const ofKeystone = o.rotation.rowsPerSecond / KEYSTONE_ROWS_PER_SECOND;
  const [rotationUs, copyUs, floorUs] = [o.rotation, o.copy, o.floor].map((f) => perRow(f.rowsPerSecond));
  const sumUs = (copyUs ?? 0) + (floorUs ?? 0);
  const rss = (
    name: string,
    label: string,
    figures: { startRssBytes: number; peakRssBytes: number },
    note: string,
  ) => {
    const mb = megabytes(figures.peakRssBytes);
    return {
      id: id(`peakRss.${name}`),
      label: `peak RSS: ${label}`,
      value: mb,
      unit: 'MB' as const,
      shown: `${mb} MB`,
      ratio: mb / TARGETS.peakRssMB,
      ratioTo: `of ${TARGETS.peakRssMB} MB`,
      notes: `${megabytes(figures.startRssBytes)} MB when the phase started; ${note}`,
    };
  };
  const ddl = o.encrypt.ddlMs === undefined ? '' : `; of which 001_key_columns ${formatMs(o.encrypt.ddlMs)}`;
  return [
    {
      id: id('encrypt'),
      label: 'encrypt: upgrade from plaintext (001 + 002)',
      value: o.encrypt.rowsPerSecond,
      unit: 'rows/s',
      shown: rate(o.encrypt),
      notes: `${count(o.rows)} rows, ${count(o.rows * VALUES_PER_ROW)} values encrypted under k1, blind index of access_key; upgradeSecrets as the CLI calls it${ddl}${steady(o.encrypt)}${cpuNote(o.encrypt, o.rows)}`,
    },
    {
      id: id('rotation'),
      label: 'rotation k1 -> k2',
      value: o.rotation.rowsPerSecond,
      unit: 'rows/s',
      shown: rate(o.rotation),
      ratio: ofFloor,
      ratioTo: 'crypto floor',
      notes: `target >= ${TARGETS.ofCryptoFloor} of the crypto floor: ${met(ofFloor >= TARGETS.ofCryptoFloor)} (${ofFloor.toFixed(3)}). upgradeSecrets with k2 current, k1 previous: every row decrypted, encrypted again and written; ${o.verifiedSample} random rows verified under k2 afterwards${steady(o.rotation)}${cpuNote(o.rotation, o.rows)}`,
    },
    {
      id: id('rotation.cli'),
      label: 'rollback k2 -> k1: `dbwarden upgrade` (compiled build, fresh process)',
      value: o.cli.rowsPerSecond,
      unit: 'rows/s',
      shown: rate(o.cli),
      ratio: cliOfFloor,
      ratioTo: 'crypto floor',
      notes: `the command an operator runs, k1 current and k2 previous: process start, config and keys, apply (nothing to do), the store lock, every row re-encrypted; timed from spawn to exit. ${o.verifiedSample} random rows verified under k1 afterwards`,
    },
    {
      id: id('peakRss.cli'),
      label: 'peak RSS: `dbwarden upgrade` rotating every row',
      value: cliRssMb,
      unit: 'MB',
      shown: `${cliRssMb} MB`,
      ratio: cliRssMb / TARGETS.peakRssMB,
      ratioTo: `of ${TARGETS.peakRssMB} MB`,
      notes: `the child process's high-water mark (process.resourceUsage().maxRSS, every thread); target < ${TARGETS.peakRssMB} MB at 1,000,000 rows${o.rows >= 1_000_000 ? `: ${met(cliRssMb < TARGETS.peakRssMB)}` : ` (this run: ${count(o.rows)} rows)`}`,
    },
    {
      id: id('rotation.vsCopy'),
      label: 'rotation against the database cost',
      value: ofCopy,
      unit: 'x',
      shown: '',
      ratio: ofCopy,
      ratioTo: 'database copy',
      notes: `per row: rotation ${count(rotationUs ?? 0)} us; database copy ${count(copyUs ?? 0)} us + crypto floor ${count(floorUs ?? 0)} us = ${count(sumUs)} us if nothing overlapped (the database server, this thread and the workers share the cores)`,
    },
    {
      id: id('rotation.vsKeystone'),
      label: "rotation against Keystone's credential_migrate",
      value: ofKeystone,
      unit: 'x',
      shown: '',
      ratio: ofKeystone,
      ratioTo: 'Keystone',
      notes: `target >= ${TARGETS.timesKeystone}x: ${met(ofKeystone >= TARGETS.timesKeystone)}. Keystone: ${count(KEYSTONE_ROWS_PER_SECOND)} credentials/s (20,000 in 27 s on PostgreSQL 15, issue 5), not measured here`,
    },
    rss('encrypt', 'encrypt', o.encrypt, 'process RSS sampled every 50 ms, crypto worker threads included'),
    rss(
      'rotation',
      'rotation (benchmark process)',
      o.rotation,
      'the benchmark process, run from TypeScript through tsx, with what earlier phases left: the target is judged on the CLI above',
    ),
    rss('copy', 'database copy', o.copy, 'no crypto workers'),
    rss('floor', 'crypto floor', o.floor, `${o.floor.threads} workers; a ${FLOOR_FIXTURE_ROWS}-row fixture`),
    {
      id: id('baseline.copy'),
      label: 'baseline: database copy',
      value: o.copy.rowsPerSecond,
      unit: 'rows/s',
      shown: rate(o.copy),
      notes: `the rotation's pipeline (upgradeSecretsWith) with its crypto replaced by a copy in this thread: same keyset reads, ${count(Math.ceil(o.rows / o.batchSize))} batches of ${o.batchSize} rows each in its own transaction, same conditional updates (values unchanged, key id and blind index rewritten), the same in-flight limit (${o.floor.maxInFlight}); run on the table after the rotation${steady(o.copy)}${cpuNote(o.copy, o.rows)}`,
    },
    {
      id: id('baseline.cryptoFloor'),
      label: 'baseline: crypto floor',
      value: o.floor.rowsPerSecond,
      unit: 'rows/s',
      shown: `${count(o.floor.rowsPerSecond)} rows/s (${count(o.floor.valuesPerSecond)} values/s, ${formatMs(o.floor.ms)})`,
      notes: `in memory, no database: ${count(o.floor.values)} values (${VALUES_PER_ROW} per row) decrypted under k1, checked against their place and encrypted under k2 on a CryptoPool of ${o.floor.threads} workers, batches of ${o.batchSize * VALUES_PER_ROW} values; rows/s = values/s / ${VALUES_PER_ROW}; measured in ${o.floor.partsRowsPerSecond.length === 2 ? `two halves, before the encrypt and after the rotation (${o.floor.partsRowsPerSecond.map(count).join(' and ')} rows/s)` : 'one part'}${cpuNote(o.floor, o.rows)}`,
    },
  ];
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function reencryptTable(metrics: readonly ReencryptMetric[]): string {
  const lines = ['| metric | value | ratio to baseline | notes |', '|---|---:|---:|---|'];
  for (const m of metrics) {
    const ratio = m.ratio === undefined ? '' : `${formatRatio(m.ratio)} ${m.ratioTo ?? ''}`;
    lines.push(`| ${cell(m.label)} | ${cell(m.shown)} | ${cell(ratio)} | ${cell(m.notes)} |`);
  }
  return lines.join('\n');
}

/** The section's figures for results.json: the metrics, and every measurement unrounded. */
export function reencryptJson(o: ReencryptOutcome) {
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    label: o.label,
    settings: o.settings,
    rows: o.rows,
    batchSize: o.batchSize,
    fillMs: round(o.fillMs),
    layout: o.layout,
    phases: { floor: o.floor, encrypt: o.encrypt, rotation: o.rotation, cli: o.cli, copy: o.copy },
    metrics: reencryptMetrics(o).map((m) => ({
      ...m,
      value: round(m.value),
      ...(m.ratio === undefined ? {} : { ratio: round(m.ratio) }),
    })),
  };
}
