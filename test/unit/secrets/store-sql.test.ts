/**
 * The encrypted store's SQL as text, per engine (no database): the conditional batch update, the
 * key-column DDL, and the reads every engine shares. What they must hold: NULL-safe comparisons of
 * every secret column and the key id, one statement setting all of a row, values always bound.
 */
import { describe, expect, it } from 'vitest';
import {
  renderAlterTable as mysqlAlter,
  renderConditionalUpdate as renderMysqlConditionalUpdate,
  storeLockName,
  widenedType,
} from '../../../src/dialects/mysql/secrets.js';
import {
  renderAlterTable as postgresAlter,
  renderConditionalUpdate,
} from '../../../src/dialects/postgres/secrets.js';
import type { ColumnFacts, RowUpdate } from '../../../src/secrets/store/dialect.js';
import {
  countPending,
  evidenceCounts,
  lockRows,
  pendingCondition,
  selectBatch,
  stillAsRead,
} from '../../../src/dialects/store-sql.js';
import {
  blindIndexColumn,
  indexName,
  type SecretTable,
  tablesFor,
  updateShape,
} from '../../../src/secrets/store/tables.js';

const table: SecretTable = {
  schema: 'nova',
  configuredSchema: undefined,
  table: 'users',
  primaryKey: 'id',
  columns: ['access_key', 'secret_key'],
  lookup: ['access_key'],
};
const shape = updateShape(table, 'integer');
/** A text primary key keeps its character set and collation in the JSON table (readColumns' sqlType). */
const mysqlShape = updateShape(table, 'varchar(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci');

const rows: RowUpdate[] = [
  {
    primaryKey: 1,
    primaryKeyText: '1',
    before: ['AKIA1', 'secret1'],
    beforeKeyId: null,
    after: ['dbwarden:1:a', 'dbwarden:1:b'],
    afterKeyId: 'k1',
    blindIndexes: ['f'.repeat(64)],
  },
  {
    primaryKey: 2,
    primaryKeyText: '2',
    before: ['AKIA2', null],
    beforeKeyId: null,
    after: ['dbwarden:1:c', null],
    afterKeyId: 'k1',
    blindIndexes: ['e'.repeat(64)],
  },
];

const doubleQuote = (name: string) => `"${name.replaceAll('"', '""')}"`;

function facts(name: string, maxOctets: number, nullable: boolean): ColumnFacts {
  return {
    name,
    current: { definition: '', maxChars: 64, maxOctets, charset: 'latin1' },
    sqlType: 'varchar(64)',
    isText: true,
    isWide: false,
    indexed: false,
    nullable,
  };
}

describe('PostgreSQL conditional update', () => {
  const { sql, bindings } = renderConditionalUpdate(shape, rows);

  it('is one statement over parallel arrays, setting every column of a row at once, by primary key', () => {
    expect(sql).toBe(
      'update "nova"."users" as t set "access_key" = v.n0, "secret_key" = v.n1, "dbwarden_key_id" = v.nk, "access_key_bidx" = v.b0' +
        ' from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[])' +
        ' as v(pk, n0, n1, nk, b0)' +
        ' where t."id" = v.pk::integer',
    );
  });

  it('binds the new values only, NULLs included, column by column: no old value', () => {
    expect(bindings).toEqual([
      ['1', '2'],
      ['dbwarden:1:a', 'dbwarden:1:c'],
      ['dbwarden:1:b', null],
      ['k1', 'k1'],
      ['f'.repeat(64), 'e'.repeat(64)],
    ]);
    expect(JSON.stringify(bindings)).not.toContain('AKIA');
    expect(JSON.stringify(bindings)).not.toContain('secret1');
  });
});

describe('MySQL conditional update', () => {
  const { sql, bindings } = renderMysqlConditionalUpdate(mysqlShape, rows);

  it('is one statement joined to the batch as a JSON table, by primary key', () => {
    expect(sql).toBe(
      "UPDATE `nova`.`users` AS t JOIN JSON_TABLE(CONVERT(? USING utf8mb4), '$[*]' COLUMNS (" +
        "p varchar(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci PATH '$.p'," +
        " n0 LONGTEXT PATH '$.n0', n1 LONGTEXT PATH '$.n1'," +
        " nk VARCHAR(64) PATH '$.nk', b0 VARCHAR(64) PATH '$.b0')) AS v ON t.`id` = v.p" +
        ' SET t.`access_key` = v.n0, t.`secret_key` = v.n1, t.`dbwarden_key_id` = v.nk, t.`access_key_bidx` = v.b0',
    );
  });

  it('binds the rows as one JSON document in bytes, a NULL as a key left out, no old value', () => {
    expect(bindings).toHaveLength(1);
    const [document] = bindings;
    expect(Buffer.isBuffer(document)).toBe(true);
    expect(JSON.parse((document as Buffer).toString('utf8'))).toEqual([
      { p: 1, n0: 'dbwarden:1:a', n1: 'dbwarden:1:b', nk: 'k1', b0: 'f'.repeat(64) },
      { p: 2, n0: 'dbwarden:1:c', nk: 'k1', b0: 'e'.repeat(64) },
    ]);
    expect((document as Buffer).toString('utf8')).not.toContain('AKIA');
    expect(sql).not.toContain('AKIA');
  });
});

describe('the guard against concurrent writers', () => {
  it("locks the batch's rows by primary key, binding nothing else", () => {
    expect(lockRows(doubleQuote, shape, [1, 2])).toEqual({
      sql:
        'SELECT "id", "access_key", "secret_key", "dbwarden_key_id" FROM "nova"."users"' +
        ' WHERE "id" IN (?, ?) ORDER BY "id" FOR UPDATE',
      bindings: [1, 2],
    });
  });

  it('keeps the rows that still hold exactly what was read, NULL-safe and case-sensitive', () => {
    const current = [
      { id: 1, access_key: 'AKIA1', secret_key: 'secret1', dbwarden_key_id: null },
      { id: 2, access_key: 'AKIA2', secret_key: null, dbwarden_key_id: null },
    ];
    expect(stillAsRead(shape, current, rows).map((r) => r.primaryKey)).toEqual([1, 2]);
    const changed = [
      { id: 1, access_key: 'akia1', secret_key: 'secret1', dbwarden_key_id: null },
      { id: 2, access_key: 'AKIA2', secret_key: '', dbwarden_key_id: null },
    ];
    expect(stillAsRead(shape, changed, rows)).toEqual([]);
    const rekeyed = [{ id: 1, access_key: 'AKIA1', secret_key: 'secret1', dbwarden_key_id: 'k9' }];
    expect(stillAsRead(shape, rekeyed, rows)).toEqual([]);
    // A row deleted meanwhile is not written.
    expect(
      stillAsRead(shape, [current[1] as Record<string, unknown>], rows).map((r) => r.primaryKey),
    ).toEqual([2]);
  });
});

describe('key column DDL', () => {
  const add = [
    { name: 'dbwarden_key_id', kind: 'key-id' as const, index: 'i_kid' },
    { name: 'access_key_bidx', kind: 'blind-index' as const, index: 'i_bidx' },
  ];

  it('PostgreSQL: one ALTER TABLE (defaults dropped, types widened to text), then the indexes', () => {
    expect(
      postgresAlter(table, { add, widen: [facts('secret_key', 256, true)], restore: [], drop: [] }),
    ).toEqual([
      'alter table "nova"."users" add column if not exists "dbwarden_key_id" varchar(64),' +
        ' add column if not exists "access_key_bidx" varchar(64),' +
        ' alter column "secret_key" drop default, alter column "secret_key" type text',
      'create index if not exists "i_kid" on "nova"."users" ("dbwarden_key_id")',
      'create index if not exists "i_bidx" on "nova"."users" ("access_key_bidx")',
    ]);
  });

  it('PostgreSQL: restores the recorded type, collation and default, without USING (no silent truncation)', () => {
    const original = {
      definition: JSON.stringify({
        type: 'character varying(64)',
        collation: '"pg_catalog"."C"',
        default: "''::character varying",
      }),
      maxChars: 64,
      maxOctets: null,
      charset: null,
    };
    const [statement] = postgresAlter(table, {
      add: [],
      widen: [],
      restore: [{ column: 'access_key', original }],
      drop: ['dbwarden_key_id'],
    });
    expect(statement).toBe(
      'alter table "nova"."users" alter column "access_key" type character varying(64) collate "pg_catalog"."C",' +
        ` alter column "access_key" set default ''::character varying, drop column if exists "dbwarden_key_id"`,
    );
    expect(statement).not.toMatch(/using/i);
  });

  it('MySQL: every change in one ALTER TABLE; widened to binary-collated text keeping NOT NULL', () => {
    expect(mysqlAlter(table, { add, widen: [facts('access_key', 64, false)], restore: [], drop: [] })).toBe(
      'ALTER TABLE `nova`.`users` ADD COLUMN `dbwarden_key_id` VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,' +
        ' ADD INDEX `i_kid` (`dbwarden_key_id`),' +
        ' ADD COLUMN `access_key_bidx` VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,' +
        ' ADD INDEX `i_bidx` (`access_key_bidx`),' +
        ' MODIFY COLUMN `access_key` TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL',
    );
    expect(mysqlAlter(table, { add: [], widen: [], restore: [], drop: [] })).toBeUndefined();
  });

  it('MySQL: restores the exact SHOW CREATE TABLE definition', () => {
    const definition = "`access_key` varchar(64) CHARACTER SET latin1 NOT NULL DEFAULT '' COMMENT 'ak'";
    const original = { definition, maxChars: 64, maxOctets: 64, charset: 'latin1' };
    expect(
      mysqlAlter(table, {
        add: [],
        widen: [],
        restore: [{ column: 'access_key', original }],
        drop: ['access_key_bidx'],
      }),
    ).toBe(`ALTER TABLE \`nova\`.\`users\` MODIFY COLUMN ${definition}, DROP COLUMN \`access_key_bidx\``);
  });

  it('MySQL: a text type whose byte limit holds the ciphertext of the longest original value', () => {
    expect(widenedType(256)).toBe('TEXT');
    expect(widenedType(65_535)).toBe('MEDIUMTEXT');
    expect(widenedType(16_777_215)).toBe('LONGTEXT');
    expect(widenedType(null)).toBe('LONGTEXT');
  });

  it('MySQL: the store lock is one name per database, short enough for GET_LOCK', () => {
    expect(storeLockName('nova')).toMatch(/^dbwarden-store-[0-9a-f]{40}$/);
    expect(storeLockName('nova')).not.toBe(storeLockName('nova_cell1'));
    expect(storeLockName('x'.repeat(64)).length).toBeLessThanOrEqual(64);
  });
});

describe('reads every engine shares', () => {
  const current = { evidence: 'r:6b32', under: (c: string) => `under(${c})` };

  it('selects what a phase still has to do by key id, checking the rows it says are done against their headers', () => {
    const encrypt = pendingCondition(doubleQuote, { table, phase: 'encrypt', currentKeyId: 'k2', current });
    expect(encrypt).toEqual({
      sql: '"dbwarden_key_id" IS NULL AND ("access_key" IS NOT NULL OR "secret_key" IS NOT NULL)',
      bindings: [],
    });
    const reencrypt = pendingCondition(doubleQuote, {
      table,
      phase: 'reencrypt',
      currentKeyId: 'k2',
      current,
    });
    expect(reencrypt).toEqual({
      sql:
        '("dbwarden_key_id" IS NOT NULL AND "dbwarden_key_id" <> ?) OR ("dbwarden_key_id" = ? AND' +
        ' (("access_key" IS NOT NULL AND NOT under(access_key)) OR ("secret_key" IS NOT NULL AND NOT under(secret_key))))',
      bindings: ['k2', 'k2'],
    });
    expect(pendingCondition(doubleQuote, { table, phase: 'decrypt', currentKeyId: 'k2', current }).sql).toBe(
      `"dbwarden_key_id" IS NOT NULL OR "access_key" LIKE 'dbwarden:1:%' OR "secret_key" LIKE 'dbwarden:1:%'`,
    );

    expect(selectBatch(doubleQuote, table, reencrypt, 500, 100)).toEqual({
      sql:
        'SELECT "id", "access_key", "secret_key", "dbwarden_key_id", "access_key_bidx" FROM "nova"."users"' +
        ` WHERE "id" > ? AND (${reencrypt.sql}) ORDER BY "id" LIMIT ?`,
      bindings: [500, ...reencrypt.bindings, 100],
    });
    expect(selectBatch(doubleQuote, table, encrypt, undefined, 100).bindings).toEqual([100]);
    expect(countPending(doubleQuote, table, reencrypt).bindings).toEqual(reencrypt.bindings);
  });

  it("counts rows by key-id column and by what each value's header says: configured keys first, cheaply", () => {
    const counts = evidenceCounts(doubleQuote, { table, keys: [current], other: (c) => `ev(${c})` });
    expect(counts.sql).toBe(
      'SELECT "dbwarden_key_id" AS key_id,' +
        ` CASE WHEN "access_key" IS NULL THEN NULL WHEN under(access_key) THEN 'r:6b32' WHEN LEFT("access_key", 9) <> 'dbwarden:' THEN 'p' ELSE ev(access_key) END AS e0,` +
        ` CASE WHEN "secret_key" IS NULL THEN NULL WHEN under(secret_key) THEN 'r:6b32' WHEN LEFT("secret_key", 9) <> 'dbwarden:' THEN 'p' ELSE ev(secret_key) END AS e1,` +
        ' COUNT(*) AS n, MIN("id") AS first_pk FROM "nova"."users" GROUP BY 1, 2, 3',
    );
    const others = evidenceCounts(doubleQuote, {
      table,
      keys: [current],
      other: (c) => `ev(${c})`,
      onlyOthers: true,
    });
    expect(others.sql).toContain(
      ` WHERE ("access_key" IS NOT NULL AND NOT LEFT("access_key", 9) <> 'dbwarden:' AND NOT under(access_key))` +
        ` OR ("secret_key" IS NOT NULL AND NOT LEFT("secret_key", 9) <> 'dbwarden:' AND NOT under(secret_key)) GROUP BY`,
    );
    expect(counts.bindings).toEqual([]);
    expect(() =>
      evidenceCounts(doubleQuote, { table, keys: [{ ...current, evidence: "r:'; drop" }], other: (c) => c }),
    ).toThrow(TypeError);
  });
});

describe('names', () => {
  it('applies a secrets entry to the targets of its kind, in the default schema unless it names one', () => {
    const secrets = [
      {
        kind: 'main',
        schema: undefined,
        table: 'users',
        primaryKey: 'id',
        columns: ['a', 'b'],
        lookup: ['b'],
      },
      { kind: 'api', schema: 'other', table: 'creds', primaryKey: 'id', columns: ['s'], lookup: [] },
    ];
    expect(tablesFor(secrets, { kind: 'main' }, 'public')).toEqual([
      {
        schema: 'public',
        configuredSchema: undefined,
        table: 'users',
        primaryKey: 'id',
        columns: ['a', 'b'],
        lookup: ['b'],
      },
    ]);
    expect(tablesFor(secrets, { kind: 'api' }, 'public')[0]?.schema).toBe('other');
    expect(blindIndexColumn('access_key')).toBe('access_key_bidx');
  });

  it('index names are unique per schema, table and column, and fit every engine', () => {
    const long = { schema: 's', table: 't'.repeat(63) };
    const names = [
      indexName(table, 'dbwarden_key_id'),
      indexName(table, 'access_key_bidx'),
      indexName({ schema: 'other', table: 'users' }, 'dbwarden_key_id'),
      indexName(long, 'c'.repeat(63)),
    ];
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name.length).toBeLessThanOrEqual(63);
    expect(names[0]).toMatch(/^dbw_[0-9a-f]{12}_users_dbwarden_key_id$/);
  });
});
