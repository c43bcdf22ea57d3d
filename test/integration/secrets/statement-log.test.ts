/**
 * Issue 14, finding 6: no statement the store sends carries a plaintext secret. The test servers log
 * every statement (PostgreSQL: log_statement=all, with the bound parameters in DETAIL lines; MariaDB:
 * the general log, with a prepared statement's values substituted). After a marker, the log is
 * searched for every original value: after encrypting and after rotating, none may be there; after
 * a downgrade to plaintext, the values written back are (docs/encryption.md says so).
 * Every search first checks that the log holds the store's UPDATE statements: a search of a log
 * that recorded nothing would pass without proving anything.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, type TestEngine } from '../../harness/engines.js';
import type { StatementLog } from '../../harness/statement-log.js';
import { downgradeSecrets, upgradeSecrets } from '../../../src/secrets/store/index.js';
import { createSecretsDb, k1, k2, keySet, SECRETS, type SecretsDb, storeOptions } from './fixture.js';

const ROWS = 300;

function serverLog(engine: TestEngine): StatementLog {
  // The harness's own servers always log; a server given by URL would make this test meaningless.
  if (engine.statementLog === undefined)
    throw new Error(`${engine.title}: the server's statement log is not readable; this test needs it`);
  return engine.statementLog;
}

/** Puts a marker in the server's log; returns a reader of the log's text after it. */
async function mark(s: SecretsDb, log: StatementLog): Promise<() => Promise<string>> {
  const marker = `dbwarden-log-marker-${randomUUID()}`;
  await s.knex.raw(`SELECT '${marker}'`);
  return async () => {
    await log.statementsAfter(marker); // waits until the server has written it
    const text = log.text();
    return text.slice(text.lastIndexOf(marker));
  };
}

function originalValues(s: SecretsDb): string[] {
  return [...s.originals.values()].flatMap((o) => [
    o.access_key,
    ...(o.secret_key === null ? [] : [o.secret_key]),
  ]);
}

describe.each(ENGINES)('the server statement log during encryption on $title', (engine) => {
  let s: SecretsDb;
  let log: StatementLog;

  beforeAll(async () => {
    log = serverLog(engine);
    s = await createSecretsDb(engine, ROWS);
  }, 120_000);
  afterAll(async () => {
    await s.cleanup();
  });

  const expectStoreUpdates = (text: string) => {
    // The store's lock-and-check read and its batch UPDATE, several batches of them.
    expect(text).toMatch(/FOR UPDATE/);
    expect(text.match(/update [`"]?\S*users[`"]? as t/gi)?.length ?? 0).toBeGreaterThanOrEqual(3);
  };

  it('encrypting logs no plaintext: the old values are never sent back to the server', async () => {
    const after = await mark(s, log);
    const [result] = await upgradeSecrets(SECRETS, keySet(k1), s.targets, storeOptions(100));
    expect(result?.rowsEncrypted).toBe(ROWS);
    const text = await after();
    expectStoreUpdates(text);
    // Non-vacuous the other way too: the ciphertexts written are in the log.
    expect(text).toContain('dbwarden:1:');
    expect(originalValues(s).filter((v) => text.includes(v))).toEqual([]);
  }, 120_000);

  it('rotating k1 -> k2 logs no plaintext', async () => {
    const after = await mark(s, log);
    const [result] = await upgradeSecrets(SECRETS, keySet(k2, k1), s.targets, storeOptions(100));
    expect(result?.rowsReencrypted).toBe(ROWS);
    const text = await after();
    expectStoreUpdates(text);
    expect(originalValues(s).filter((v) => text.includes(v))).toEqual([]);
  }, 120_000);

  it('a downgrade to plaintext writes, and so logs, the plaintexts it writes back (documented)', async () => {
    const after = await mark(s, log);
    await downgradeSecrets(SECRETS, keySet(k2), s.targets, '001_key_columns', storeOptions(100));
    const text = await after();
    expectStoreUpdates(text);
    // Every value written back is in the UPDATE that writes it, and nowhere in a comparison.
    expect(originalValues(s).filter((v) => !text.includes(v))).toEqual([]);
  }, 120_000);
});
