/**
 * A secrets table whose primary key is text, on each engine: on MySQL/MariaDB in a character set
 * and case-insensitive collation of its own, which the batch update's JSON table must declare to
 * find the rows by key (and use the index). Keys with quotes, backslashes, non-ASCII letters and
 * mixed case; encrypt, rotation and downgrade each leave every value where it was, readable.
 */
import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../../harness/databases.js';
import { ENGINES, type TestEngine } from '../../harness/engines.js';
import type { SecretColumns } from '../../../src/policy/model.js';
import { mysqlSecrets, renderConditionalUpdate } from '../../../src/dialects/mysql/secrets.js';
import { createSecretStore } from '../../../src/secrets/api.js';
import { downgradeSecrets, type StoreTarget, upgradeSecrets } from '../../../src/secrets/store/index.js';
import { tablesFor, updateShape } from '../../../src/secrets/store/tables.js';
import { k1, k2, keySet, secretKey, storeOptions } from './fixture.js';

const DDL: Readonly<Record<TestEngine['family'], string>> = {
  postgres: 'create table creds (name varchar(40) primary key, secret varchar(64))',
  mysql:
    'CREATE TABLE creds (name VARCHAR(40) CHARACTER SET latin1 COLLATE latin1_swedish_ci PRIMARY KEY, secret VARCHAR(64))',
};

const SECRETS: readonly SecretColumns[] = [
  { kind: 'main', schema: undefined, table: 'creds', primaryKey: 'name', columns: ['secret'], lookup: [] },
];

/** Names that differ only in case would collide under MySQL's collation: one of each. */
const NAMES = ["O'Brien", 'back\\slash', 'Zoë', 'MixedCase', 'quote"d', 'plain', 'tab\there', '123'];
/** More rows than one batch (batches of 3 below), so keyset pagination over text keys is used. */
const BATCH_SIZE = 3;

describe.each(ENGINES)('the encrypted store on a text primary key on $title', (engine) => {
  let db: TestDatabase;
  let knex: Knex;
  let targets: StoreTarget[];
  const originals = new Map(NAMES.map((name) => [name, secretKey()]));

  beforeAll(async () => {
    db = await engine.createDatabase();
    knex = knexFactory({
      client: engine.family === 'postgres' ? 'pg' : 'mysql2',
      connection: db.url,
      pool: { min: 0, max: 2 },
    });
    await knex.raw(DDL[engine.family]);
    await knex('creds').insert([...originals].map(([name, secret]) => ({ name, secret })));
    targets = [{ name: 'main1', kind: 'main', engine: engine.family, url: db.url }];
  });

  afterAll(async () => {
    await knex?.destroy();
    await db?.drop();
  });

  /** Each row's stored value, decrypted at its own place under `keys`; and the key ids found. */
  async function readBack(keys: ReturnType<typeof keySet>) {
    const store = await createSecretStore({ keys });
    const rows = await knex<{ name: string; secret: string; dbwarden_key_id: string }>('creds').select('*');
    const values = new Map<string, string>();
    for (const row of rows)
      values.set(
        row.name,
        await store.decrypt({ table: 'creds', column: 'secret', primaryKey: row.name }, row.secret),
      );
    return { values, keyIds: new Set(rows.map((r) => r.dbwarden_key_id)) };
  }

  it('encrypts every row, batch by batch, each value bound to its own key', async () => {
    const [result] = await upgradeSecrets(SECRETS, keySet(k1), targets, storeOptions(BATCH_SIZE));
    expect(result?.rowsEncrypted).toBe(NAMES.length);
    const { values, keyIds } = await readBack(keySet(k1));
    expect(values).toEqual(originals);
    expect(keyIds).toEqual(new Set(['k1']));
  });

  it('rotates every row to k2', async () => {
    const [result] = await upgradeSecrets(SECRETS, keySet(k2, k1), targets, storeOptions(BATCH_SIZE));
    expect(result?.rowsReencrypted).toBe(NAMES.length);
    expect(result?.rowsRetried).toBe(0);
    const { values, keyIds } = await readBack(keySet(k2));
    expect(values).toEqual(originals);
    expect(keyIds).toEqual(new Set(['k2']));
  });

  it('decrypts every row back to its original on downgrade to base', async () => {
    await downgradeSecrets(SECRETS, keySet(k2), targets, 'base', storeOptions(BATCH_SIZE));
    const rows = await knex<{ name: string; secret: string }>('creds').select('name', 'secret');
    expect(new Map(rows.map((r) => [r.name, r.secret]))).toEqual(originals);
  });
});

describe.each(ENGINES.filter((e) => e.family === 'mysql'))("the batch update's join on $title", (engine) => {
  it('finds each row of a text primary key through the index, in the collation of the table', async () => {
    const db = await engine.createDatabase();
    const knex = knexFactory({ client: 'mysql2', connection: db.url, pool: { min: 0, max: 1 } });
    try {
      await knex.raw(DDL.mysql);
      const rows = Array.from({ length: 5000 }, (_, i) => ({ name: `user${i}`, secret: `s${i}` }));
      for (let i = 0; i < rows.length; i += 1000) await knex('creds').insert(rows.slice(i, i + 1000));
      await knex.raw('ANALYZE TABLE creds');
      const [table] = tablesFor(SECRETS, { kind: 'main' }, await mysqlSecrets.defaultSchema(knex));
      if (table === undefined) throw new Error('no secrets table');
      const pk = (await mysqlSecrets.readColumns(knex, table))?.get('name');
      expect(pk?.sqlType).toBe('varchar(40) CHARACTER SET latin1 COLLATE latin1_swedish_ci');
      // The key id and blind index columns do not exist here: EXPLAIN needs only the join.
      const shape = {
        ...updateShape(table, pk?.sqlType ?? ''),
        keyIdColumn: 'secret',
        blindIndexColumns: [],
      };
      const { sql, bindings } = renderConditionalUpdate(shape, [
        {
          primaryKey: 'USER7',
          primaryKeyText: 'USER7',
          before: ['s7'],
          beforeKeyId: 's7',
          after: ['x'],
          afterKeyId: 'x',
          blindIndexes: [],
        },
      ]);
      const [plan] = (await knex.raw(`EXPLAIN ${sql}`, [...bindings])) as [Record<string, unknown>[]];
      const creds = plan.find((row) => row.table === 't');
      expect(creds).toMatchObject({ key: 'PRIMARY' });
      expect(['eq_ref', 'ref']).toContain(creds?.type);
    } finally {
      await knex.destroy();
      await db.drop();
    }
  });
});
