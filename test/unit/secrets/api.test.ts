/** The application-facing SecretStore: what an application does with stored keys, before, during and after a rotation. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretStore } from '../../../src/secrets/api.js';
import { SecretValueError } from '../../../src/secrets/errors.js';
import { masterKeySet } from '../../../src/secrets/keys.js';
import { encodePrimaryKey } from '../../../src/secrets/place.js';
import { newKey, place } from './helpers.js';

const k1 = newKey('k1');
const k2 = newKey('k2');
const ACCESS = 'AKIAIOSFODNN7EXAMPLE';

describe('createSecretStore', () => {
  it('loads keys named like dbwarden.yaml does, and round-trips values; NULL stays NULL', async () => {
    const env = { KEY_K1: k1.key.reveal().toString('base64') };
    const store = await createSecretStore({
      masterKey: { current: { id: 'k1', source: { from: 'env', variable: 'KEY_K1' } }, previous: [] },
      env,
    });
    expect(store.currentKeyId).toBe('k1');
    const at = place(encodePrimaryKey(42));
    const { stored, keyId } = await store.encrypt(at, 'secret');
    expect(keyId).toBe('k1');
    expect(await store.decrypt(at, stored)).toBe('secret');
    expect(await store.encrypt(at, null)).toBeNull();
    expect(await store.decrypt(at, null)).toBeNull();
    expect(await store.decrypt(at, (await store.encrypt(at, '')).stored)).toBe('');
  });

  it('classifies values as plaintext, current or previous key, unknown key, malformed', async () => {
    const before = await createSecretStore({ keys: masterKeySet(k1) });
    const during = await createSecretStore({ keys: masterKeySet(k2, [k1]) });
    const old = (await before.encrypt(place(1), 's')).stored;
    const fresh = (await during.encrypt(place(1), 's')).stored;
    expect(during.classify('s')).toEqual({ kind: 'plaintext' });
    expect(during.classify(old)).toEqual({ kind: 'ciphertext', keyId: 'k1', current: false });
    expect(during.classify(fresh)).toEqual({ kind: 'ciphertext', keyId: 'k2', current: true });
    expect(before.classify(fresh)).toEqual({ kind: 'unknown-key', keyId: 'k2' });
    expect(before.classify('dbwarden:1:x')).toMatchObject({ kind: 'malformed' });
  });

  it('finds a row by access key through the blind index before, during and after a rotation', async () => {
    const before = await createSecretStore({ keys: masterKeySet(k1) });
    const during = await createSecretStore({ keys: masterKeySet(k2, [k1]) });
    const after = await createSecretStore({ keys: masterKeySet(k2) });
    // The row as written before the rotation, and as the rotation rewrites it.
    const indexedUnderK1 = before.blindIndex('users', 'access_key', ACCESS);
    const indexedUnderK2 = during.blindIndex('users', 'access_key', ACCESS);
    const finds = (candidates: readonly { index: string }[], index: string): boolean =>
      candidates.some((c) => c.index === index);
    expect(finds(before.lookupCandidates('users', 'access_key', ACCESS), indexedUnderK1)).toBe(true);
    expect(finds(during.lookupCandidates('users', 'access_key', ACCESS), indexedUnderK1)).toBe(true);
    expect(finds(during.lookupCandidates('users', 'access_key', ACCESS), indexedUnderK2)).toBe(true);
    expect(finds(after.lookupCandidates('users', 'access_key', ACCESS), indexedUnderK2)).toBe(true);
    expect(finds(after.lookupCandidates('users', 'access_key', 'AKIAOTHER'), indexedUnderK2)).toBe(false);
  });

  it('refuses a value copied between rows with a typed error', async () => {
    const store = await createSecretStore({ keys: masterKeySet(k1) });
    const { stored } = await store.encrypt(place(1), randomBytes(8).toString('hex'));
    await expect(store.decrypt(place(2), stored)).rejects.toBeInstanceOf(SecretValueError);
  });
});

describe('encodePrimaryKey', () => {
  it('writes single keys as text and composite keys as a JSON array of strings', () => {
    expect(encodePrimaryKey(42)).toBe('42');
    expect(encodePrimaryKey(42n)).toBe('42');
    expect(encodePrimaryKey('abc')).toBe('abc');
    expect(encodePrimaryKey([7])).toBe('7');
    expect(encodePrimaryKey([7, 'eu-west', 9007199254740993n])).toBe('["7","eu-west","9007199254740993"]');
    expect(encodePrimaryKey(['a"b', 'ü\n'])).toBe('["a\\"b","ü\\n"]');
  });

  it('refuses numbers that another language would print differently', () => {
    for (const part of [1.5, Number.NaN, 2 ** 53 + 2])
      expect(() => encodePrimaryKey(part)).toThrow(TypeError);
    expect(() => encodePrimaryKey([])).toThrow(TypeError);
  });
});
