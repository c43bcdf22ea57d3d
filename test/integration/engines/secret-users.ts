/**
 * The `users` table of access and secret keys the CLI-level store tests (upgrade.test.ts,
 * deploy.test.ts) encrypt: its rows, its secrets entry, reading it back, and the check that no
 * output ever held a value or a key.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { expectNoSecrets } from '../../harness/statement-log.js';
import type { Scenario } from './scenario.js';

export interface UserRow {
  readonly id: number;
  readonly access: string;
  readonly secret: string;
}

/** Random AWS-style access keys and 40-character secrets, ids 1..count. */
export function randomUsers(count: number): UserRow[] {
  return Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    access: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secret: randomBytes(30).toString('base64'),
  }));
}

/** An INSERT of the rows into users(id, access_key, secret_key). */
export function insertUsersSql(rows: readonly UserRow[]): string {
  const values = rows.map((o) => `(${o.id}, '${o.access}', '${o.secret}')`).join(', ');
  return `INSERT INTO users (id, access_key, secret_key) VALUES ${values}`;
}

export const USERS_SECRETS = [
  {
    kind: 'main',
    table: 'users',
    primaryKey: 'id',
    columns: ['access_key', 'secret_key'],
    lookup: ['access_key'],
  },
];

/** users as stored, in id order. */
export async function storedUsers(s: Scenario): Promise<UserRow[]> {
  return (await s.sql('SELECT id, access_key, secret_key FROM users ORDER BY id')).map((r) => ({
    id: Number(r.id),
    access: String(r.access_key),
    secret: String(r.secret_key),
  }));
}

/** No output holds a stored value (plaintext or ciphertext) or a master key. */
export function expectNothingLeaked(
  outputs: readonly string[],
  rows: readonly UserRow[],
  keys: readonly string[],
) {
  const all = outputs.join('\n');
  expect(rows.length).toBeGreaterThan(0);
  expectNoSecrets(all, {
    what: 'what the commands printed',
    secrets: [...rows.slice(0, 20).flatMap((o) => [o.secret, o.access]), ...keys, 'dbwarden:1:'],
  });
}
