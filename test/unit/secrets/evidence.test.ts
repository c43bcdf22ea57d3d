/**
 * The pure half of the store's evidence (src/secrets/evidence.ts): the bytes the server looks
 * for where a message's data key starts, checked against messages dbwarden and the SDK write; what a
 * row's values say together; when the key-id column agrees with them.
 */
import { describe, expect, it } from 'vitest';
import { masterKeySet } from '../../../src/secrets/keys.js';
import {
  columnAgrees,
  headerWindow,
  keyPattern,
  rawKeyPattern,
  readEvidence,
  rowEvidence,
  storedEvidence,
} from '../../../src/secrets/evidence.js';
import { encryptValue, VALUE_PREFIX } from '../../../src/secrets/value.js';
import { ENGINES, keyrings, newKey, place } from './helpers.js';

const k1 = newKey('k1');
const k2 = newKey('k2');

describe.each(ENGINES)('the data key pattern, messages written by the %s engine', (engine) => {
  it('sits right after the encryption context, and names only its own key', async () => {
    for (const pk of ['7', '9'.repeat(300), 'é-ü', '12', '123']) {
      const { stored } = await encryptValue(keyrings(k1, [], engine), 'secret', place(pk));
      const message = Buffer.from(stored.slice(VALUE_PREFIX.length), 'base64');
      const at = 37 + message.readUInt16BE(35);
      const mine = keyPattern(k1).bytes;
      expect(message.subarray(at, at + mine.length)).toEqual(mine);
      expect(message.subarray(at, at + keyPattern(k2).bytes.length)).not.toEqual(keyPattern(k2).bytes);
      // Found in the stored text where headerWindow says, without decoding.
      const window = headerWindow('users', 'secret_key', keyPattern(k1));
      const atFromPk = window.offset + Buffer.byteLength(pk, 'utf8');
      expect(atFromPk).toBe(at);
      const expected = window.expected[at % 3] as string;
      const from = 11 + Math.floor(at / 3) * 4;
      expect(stored.startsWith(window.start)).toBe(true);
      expect(stored.slice(from, from + expected.length)).toBe(expected);
      const other = headerWindow('users', 'secret_key', keyPattern(k2)).expected[at % 3] as string;
      expect(stored.slice(from, from + other.length)).not.toBe(other);
    }
  });
});

describe('evidence', () => {
  const keys = masterKeySet(k2, [k1]);

  it('a raw key pattern needs only the id', () => {
    expect(rawKeyPattern('k1')).toEqual(keyPattern(k1));
    expect(keyPattern(k1).evidence).toBe(`r:${Buffer.from('k1').toString('hex')}`);
  });

  it('reads the server text back, unknown key ids by name', () => {
    expect(readEvidence(null, keys)).toBeNull();
    expect(readEvidence('p', keys)).toEqual({ kind: 'plaintext' });
    expect(readEvidence('m', keys)).toEqual({ kind: 'unreadable' });
    expect(readEvidence(keyPattern(k1).evidence, keys)).toEqual({ kind: 'key', keyId: 'k1' });
    expect(readEvidence(`r:${Buffer.from('k3').toString('hex')}`, keys)).toEqual({
      kind: 'key',
      keyId: 'k3',
    });
  });

  it('a row is under one key only when every value is; the column must say just that', async () => {
    const sealed = (await encryptValue(keyrings(k1), 'x', place(1))).stored;
    const under = storedEvidence(sealed, keys);
    expect(under).toEqual({ kind: 'key', keyId: 'k1' });
    expect(storedEvidence('dbwarden:nope', keys)).toEqual({ kind: 'unreadable' });
    const plain = { kind: 'plaintext' } as const;
    expect(rowEvidence([under, null])).toEqual({ kind: 'key', keyId: 'k1' });
    expect(rowEvidence([under, plain])).toEqual({ kind: 'mixed', keyIds: ['k1'], plaintext: true });
    expect(rowEvidence([null, null])).toEqual({ kind: 'empty' });
    expect(columnAgrees('k1', rowEvidence([under, null]))).toBe(true);
    expect(columnAgrees('k2', rowEvidence([under, null]))).toBe(false);
    expect(columnAgrees('k1', rowEvidence([under, plain]))).toBe(false);
    expect(columnAgrees(null, rowEvidence([plain, null]))).toBe(true);
    expect(columnAgrees('k2', rowEvidence([plain, null]))).toBe(false);
  });
});
