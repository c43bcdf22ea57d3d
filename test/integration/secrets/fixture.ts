/**
 * A secrets table on one engine of the table (test/harness/engines.ts) for the encrypted store's
 * integration tests: its own database, a `users` table of random access and secret keys with varied
 * column types (so restoring them is checked), the facade's arguments, and ways to read back what
 * the database holds and decrypt it.
 */
import { randomBytes, randomInt } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import type { TestDatabase } from '../../harness/databases.js';
import type { TestEngine } from '../../harness/engines.js';
import type { SecretColumns } from '../../../src/policy/model.js';
import type { BatchItem } from '../../../src/secrets/batch.js';
import { type MasterKeySet, rawMasterKey, type RawMasterKey } from '../../../src/secrets/keys.js';
import { CryptoPool } from '../../../src/secrets/pool.js';
import type { StoreOptions, StoreProgress, StoreTarget } from '../../../src/secrets/store/index.js';

export interface Original {
  readonly access_key: string;
  readonly secret_key: string | null;
}

/** A row as stored, with dbwarden's columns when they exist. */
export interface StoredRow {
  readonly id: number;
  readonly access_key: string;
  readonly secret_key: string | null;
  readonly note: string | null;
  readonly dbwarden_key_id?: string | null;
  readonly access_key_bidx?: string | null;
}

/**
 * The table on each engine: a NOT NULL varchar with a default (and on MySQL another character set and
 * a comment), a text column with a collation on PostgreSQL, and a column dbwarden must not touch.
 */
const USERS_DDL: Readonly<Record<TestEngine['family'], string>> = {
  postgres: `create table users (
      id int primary key,
      access_key varchar(64) not null default '',
      secret_key text collate "C",
      note text)`,
  mysql: `create table users (
      id int primary key,
      access_key varchar(64) character set latin1 not null default '' comment 'AWS-style access key',
      secret_key text,
      note text)`,
};

export const SECRETS: readonly SecretColumns[] = [
  {
    kind: 'main',
    schema: undefined,
    table: 'users',
    primaryKey: 'id',
    columns: ['access_key', 'secret_key'],
    lookup: ['access_key'],
  },
];

export const k1 = rawMasterKey('k1', randomBytes(32));
export const k2 = rawMasterKey('k2', randomBytes(32));

export function keySet(current: RawMasterKey, ...previous: RawMasterKey[]): MasterKeySet {
  return { current, previous };
}

/** `AKIA` and 16 characters of A-Z2-7, like an AWS access key id. */
export function accessKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return `AKIA${Array.from({ length: 16 }, () => alphabet[randomInt(alphabet.length)]).join('')}`;
}

/** 40 characters of base64, like an AWS secret key. */
export function secretKey(): string {
  return randomBytes(30).toString('base64');
}

export interface SecretsDb {
  readonly engine: TestEngine;
  readonly db: TestDatabase;
  readonly knex: Knex;
  readonly target: StoreTarget;
  readonly targets: readonly StoreTarget[];
  /** By id: what the application stored. */
  readonly originals: Map<number, Original>;
  rows(): Promise<StoredRow[]>;
  /** Every column's definition and the table's indexes, as the catalog shows them. */
  definition(): Promise<string>;
  cleanup(): Promise<void>;
}

/** A fresh database with `users` holding `count` rows (every 97th without a secret key). */
export async function createSecretsDb(engine: TestEngine, count: number): Promise<SecretsDb> {
  const db = await engine.createDatabase();
  const knex = knexFactory({
    client: engine.family === 'postgres' ? 'pg' : 'mysql2',
    connection: db.url,
    pool: { min: 0, max: 4 },
  });
  await knex.raw(USERS_DDL[engine.family]);
  const originals = new Map<number, Original>();
  for (let id = 1; id <= count; id++)
    originals.set(id, { access_key: accessKey(), secret_key: id % 97 === 0 ? null : secretKey() });
  const rows = [...originals].map(([id, o]) => ({ id, ...o, note: `user ${id}` }));
  for (let i = 0; i < rows.length; i += 2000) await knex('users').insert(rows.slice(i, i + 2000));
  const target: StoreTarget = { name: 'main1', kind: 'main', engine: engine.family, url: db.url };
  return {
    engine,
    db,
    knex,
    target,
    targets: [target],
    originals,
    rows: () => knex<StoredRow>('users').select('*').orderBy('id'),
    definition: () => tableDefinition(engine, knex),
    async cleanup() {
      await knex.destroy();
      await db.drop();
    },
  };
}

async function tableDefinition(engine: TestEngine, knex: Knex): Promise<string> {
  if (engine.family === 'mysql') {
    const [rows] = (await knex.raw('SHOW CREATE TABLE users')) as [Record<string, string>[]];
    return rows[0]?.['Create Table'] ?? '';
  }
  const columns = await knex.raw<{ rows: unknown[] }>(
    `select a.attname, format_type(a.atttypid, a.atttypmod) as type, co.collname, a.attnotnull,
            pg_get_expr(d.adbin, d.adrelid) as def
       from pg_attribute a
       left join pg_collation co on co.oid = a.attcollation
       left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where a.attrelid = 'users'::regclass and a.attnum > 0 and not a.attisdropped
      order by a.attnum`,
  );
  const indexes = await knex.raw<{ rows: unknown[] }>(
    "select indexdef from pg_indexes where tablename = 'users' order by indexname",
  );
  return JSON.stringify({ columns: columns.rows, indexes: indexes.rows });
}

/** Facade options that keep every progress report (and log line) for the test to look at. */
export function storeOptions(batchSize = 500): StoreOptions & {
  readonly reports: StoreProgress[];
  readonly lines: string[];
} {
  const reports: StoreProgress[] = [];
  const lines: string[] = [];
  return {
    batchSize,
    progress: (p) => reports.push(p),
    log: (line) => lines.push(line),
    reports,
    lines,
  };
}

/** Every value decrypted on a crypto pool (both cores), by id; a value that does not decrypt throws. */
export async function decryptRows(
  keys: MasterKeySet,
  rows: readonly StoredRow[],
): Promise<Map<number, Original>> {
  const pool = await CryptoPool.start({ keys });
  try {
    const items: BatchItem[] = rows.flatMap((r) =>
      (['access_key', 'secret_key'] as const).map((column) => ({
        place: { table: 'users', column, primaryKey: String(r.id) },
        value: r[column],
      })),
    );
    const batches = [];
    for (let i = 0; i < items.length; i += 1000)
      batches.push({ op: 'decrypt' as const, items: items.slice(i, i + 1000) });
    const plain = new Map<string, string | null>();
    for await (const { batch, results } of pool.map(batches)) {
      results.forEach((result, k) => {
        const { place } = batch.items[k] as BatchItem;
        if (!result.ok) throw result.error;
        plain.set(`${place.primaryKey}/${place.column}`, result.value);
      });
    }
    return new Map(
      rows.map((r) => [
        r.id,
        {
          access_key: plain.get(`${r.id}/access_key`) as string,
          secret_key: plain.get(`${r.id}/secret_key`) ?? null,
        },
      ]),
    );
  } finally {
    await pool.close();
  }
}

/** Rows whose values are not the originals, as ids (a short list reads better than 20,000 diffs). */
export function differing(
  actual: ReadonlyMap<number, Original>,
  expected: ReadonlyMap<number, Original>,
): number[] {
  const ids = new Set([...actual.keys(), ...expected.keys()]);
  return [...ids].filter((id) => {
    const a = actual.get(id);
    const e = expected.get(id);
    return a?.access_key !== e?.access_key || a?.secret_key !== e?.secret_key;
  });
}

/** The values as stored (for plaintext comparisons). */
export function storedValues(rows: readonly StoredRow[]): Map<number, Original> {
  return new Map(rows.map((r) => [r.id, { access_key: r.access_key, secret_key: r.secret_key }]));
}
