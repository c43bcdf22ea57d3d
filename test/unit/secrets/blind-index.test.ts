/**
 * Blind indexes: the documented recipe (docs/encryption.md) with its test
 * vector, checked against an independent RFC 5869 HKDF, and lookups across a rotation.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import {
  BLIND_INDEX_INFO,
  BlindIndexer,
  blindIndexInfo,
  blindIndexWith,
  deriveBlindIndexKey,
} from '../../../src/secrets/blind-index.js';
import { kmsMasterKey, masterKeySet, rawMasterKey } from '../../../src/secrets/keys.js';

/** The test vector of docs/encryption.md: key bytes 0x00..0x1f and 0x80..0x9f (test keys, nowhere else). */
const VECTOR = {
  k1: Buffer.from(Array.from({ length: 32 }, (_, i) => i)),
  k2: Buffer.from(Array.from({ length: 32 }, (_, i) => 0x80 + i)),
  table: 'users',
  column: 'access_key',
  value: 'AKIAIOSFODNN7EXAMPLE',
  info: '646277617264656e20626c696e6420696e646578207631007573657273006163636573735f6b6579',
  derivedK1: '20a47667ed75e39d429a7cfc32b96bc9632574ccf2359971bf00fed3e6fe6c23',
  indexK1: 'b51d99643b988301c71b4f2f7b30e1e9f7f4f8c3ef52cd65f91380c7cb8ed4f1',
  indexK2: 'b262d62427e072e3050c22a517cadf216a16c07eaea347496759fe9f82ba1d9c',
};

/** RFC 5869 written out with HMAC alone, as another language would. */
function rfc5869(ikm: Buffer, salt: Buffer, info: Buffer, length: number): Buffer {
  const prk = createHmac('sha256', salt.length === 0 ? Buffer.alloc(32) : salt)
    .update(ikm)
    .digest();
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(blocks).length < length; i++) {
    previous = createHmac('sha256', prk)
      .update(Buffer.concat([previous, info, Buffer.from([i])]))
      .digest();
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

describe('blind index recipe', () => {
  it('matches the documented test vector', () => {
    const info = blindIndexInfo(VECTOR.table, VECTOR.column);
    expect(info.toString('hex')).toBe(VECTOR.info);
    expect(info.toString('utf8')).toBe(`${BLIND_INDEX_INFO}\0users\0access_key`);
    const derived = deriveBlindIndexKey(VECTOR.k1, VECTOR.table, VECTOR.column);
    expect(derived.toString('hex')).toBe(VECTOR.derivedK1);
    expect(rfc5869(VECTOR.k1, Buffer.alloc(0), info, 32).toString('hex')).toBe(VECTOR.derivedK1);
    expect(blindIndexWith(derived, VECTOR.value)).toBe(VECTOR.indexK1);
  });

  it('gives lookup candidates under every key, current first, during and after a rotation', () => {
    const k1 = rawMasterKey('k1', VECTOR.k1);
    const k2 = rawMasterKey('k2', VECTOR.k2);
    const before = new BlindIndexer(masterKeySet(k1));
    const during = new BlindIndexer(masterKeySet(k2, [k1]));
    const after = new BlindIndexer(masterKeySet(k2));
    const stored = before.index(VECTOR.table, VECTOR.column, VECTOR.value);
    expect(stored).toEqual({ keyId: 'k1', index: VECTOR.indexK1 });
    expect(during.candidates(VECTOR.table, VECTOR.column, VECTOR.value)).toEqual([
      { keyId: 'k2', index: VECTOR.indexK2 },
      { keyId: 'k1', index: VECTOR.indexK1 },
    ]);
    expect(after.candidates(VECTOR.table, VECTOR.column, VECTOR.value)).toEqual([
      { keyId: 'k2', index: VECTOR.indexK2 },
    ]);
  });

  it('differs per table, column and value, and is 64 lowercase hex digits', () => {
    const indexer = new BlindIndexer(masterKeySet(rawMasterKey('k1', VECTOR.k1)));
    const indexes = [
      indexer.index('users', 'access_key', 'a').index,
      indexer.index('users', 'secret_key', 'a').index,
      indexer.index('ec2', 'access_key', 'a').index,
      indexer.index('users', 'access_key', 'A').index,
      // Where the 0x00 separators prevent "users"+"xaccess_key" meeting "usersx"+"access_key".
      indexer.index('usersx', 'access_key', 'a').index,
      indexer.index('users', 'xaccess_key', 'a').index,
    ];
    expect(new Set(indexes).size).toBe(indexes.length);
    for (const index of indexes) expect(index).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses KMS keys: they cannot key an HMAC outside KMS', () => {
    const kms = kmsMasterKey(
      'kms1',
      'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    );
    expect(() => new BlindIndexer(masterKeySet(kms))).toThrow(InvalidInputError);
  });
});
