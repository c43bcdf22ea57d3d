/** Keys and places shared by the secrets unit tests. Keys are random per run: no fixed secret in the repo. */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { SecretValueError } from '../../../src/secrets/errors.js';
import { type CryptoEngine, Keyrings } from '../../../src/secrets/keyring.js';
import { type MasterKey, masterKeySet, rawMasterKey, type RawMasterKey } from '../../../src/secrets/keys.js';
import type { Place } from '../../../src/secrets/place.js';

export function newKey(id: string): RawMasterKey {
  return rawMasterKey(id, randomBytes(32));
}

export function keyrings(
  current: MasterKey,
  previous: MasterKey[] = [],
  engine: CryptoEngine = 'native',
): Keyrings {
  return new Keyrings(masterKeySet(current, previous), { engine });
}

export function place(primaryKey: string | number, column = 'secret_key', table = 'users'): Place {
  return { table, column, primaryKey: String(primaryKey) };
}

export const ENGINES: readonly CryptoEngine[] = ['native', 'sdk'];

/** Runs `fn` expecting a SecretValueError, and returns it. */
export async function valueError(fn: () => Promise<unknown>): Promise<SecretValueError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SecretValueError);
    return error as SecretValueError;
  }
  throw new Error('expected a SecretValueError');
}

/** Every form a key's bytes could leak in: raw, hex, base64. */
export function keyForms(key: RawMasterKey): string[] {
  const bytes = key.key.reveal();
  return [
    bytes.toString('hex'),
    bytes.toString('base64'),
    bytes.toString('base64').slice(0, 20),
    bytes.toString('latin1'),
  ];
}
