/**
 * Blind indexes: a deterministic keyed hash of a lookup column's plaintext,
 * stored next to its ciphertext, so an application can still find a row by
 * access key without decrypting every row.
 *
 *     key   = HKDF-SHA-256(ikm = master key (32 bytes), salt = empty,
 *                          info = "dbwarden blind index v1" 0x00 table 0x00 column, length = 32)
 *     index = lowercase hex of HMAC-SHA-256(key, UTF-8 bytes of the value)   (64 characters)
 *
 * One key per master key id, table and column: an index computed under k1 is
 * unrelated to one under k2 or to another column's. During a rotation a row
 * carries the index of the key that encrypted it, so a lookup tries the
 * index under every configured key (lookupCandidates). Hex, not base64:
 * MySQL's default collations compare case-insensitively.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { InvalidInputError } from '../errors.js';
import { printable } from '../util/printable.js';
import type { MasterKey, MasterKeySet, RawMasterKey } from './keys.js';

export const BLIND_INDEX_INFO = 'dbwarden blind index v1';
const KEY_LENGTH = 32;

/** The HKDF info for one column: the label, then table and column, each after a 0x00 byte. */
export function blindIndexInfo(table: string, column: string): Buffer {
  if (table.includes('\0') || column.includes('\0'))
    throw new TypeError('table and column names cannot hold NUL');
  return Buffer.from(`${BLIND_INDEX_INFO}\0${table}\0${column}`, 'utf8');
}

/** The per-column HMAC key derived from a master key's 32 bytes. */
export function deriveBlindIndexKey(masterKey: Uint8Array, table: string, column: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', masterKey, Buffer.alloc(0), blindIndexInfo(table, column), KEY_LENGTH),
  );
}

/** The index of one value under a derived key: 64 lowercase hex characters. */
export function blindIndexWith(derivedKey: Uint8Array, value: string): string {
  return createHmac('sha256', derivedKey).update(value, 'utf8').digest('hex');
}

export interface BlindIndexCandidate {
  readonly keyId: string;
  /** 64 lowercase hex characters. */
  readonly index: string;
}

/**
 * Blind indexes under a key set, derived keys cached per key, table and column.
 * Needs raw keys: a KMS key never leaves KMS, so it cannot key an HMAC here.
 */
export class BlindIndexer {
  readonly #keys: readonly RawMasterKey[];
  readonly #derived = new Map<string, Buffer>();

  constructor(keys: MasterKeySet) {
    this.#keys = [keys.current, ...keys.previous].map(requireRaw);
  }

  /** The index under the current key: what to store when writing the value. */
  index(table: string, column: string, value: string): BlindIndexCandidate {
    return this.#under(this.#keys[0] as RawMasterKey, table, column, value);
  }

  /** The index under every configured key, current first: what to look a value up by. */
  candidates(table: string, column: string, value: string): readonly BlindIndexCandidate[] {
    return this.#keys.map((key) => this.#under(key, table, column, value));
  }

  #under(key: RawMasterKey, table: string, column: string, value: string): BlindIndexCandidate {
    // JSON keeps the cache key unambiguous whatever the names hold.
    const cacheKey = JSON.stringify([key.id, table, column]);
    let derived = this.#derived.get(cacheKey);
    if (derived === undefined) {
      derived = deriveBlindIndexKey(key.key.reveal(), table, column);
      this.#derived.set(cacheKey, derived);
    }
    return { keyId: key.id, index: blindIndexWith(derived, value) };
  }
}

function requireRaw(key: MasterKey): RawMasterKey {
  if (key.kind === 'raw') return key;
  throw new InvalidInputError(
    `master key "${printable(key.id)}" is a KMS key: blind indexes for lookup columns need a file or env key`,
    { hint: 'use a raw key (file: or env:) for tables with lookup columns' },
  );
}
