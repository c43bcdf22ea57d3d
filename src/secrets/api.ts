/**
 * The Node API an application uses to read and write the values dbwarden
 * keeps encrypted (docs/encryption.md):
 *
 *     const store = await createSecretStore({ masterKey: config.masterKey });
 *     const place = { table: 'users', column: 'secret_key', primaryKey: encodePrimaryKey(user.id) };
 *     const { stored, keyId } = await store.encrypt(place, secret);   // write both columns
 *     const secret = await store.decrypt(place, row.secret_key);
 *     const bidx = store.blindIndex('users', 'access_key', accessKey); // store next to access_key
 *     const rows = await db('users').whereIn('access_key_bidx',
 *       store.lookupCandidates('users', 'access_key', accessKey).map((c) => c.index));
 *
 * One store holds its keyrings for its lifetime: create it once, not per call.
 */
import type { MasterKeys } from '../policy/model.js';
import { type BlindIndexCandidate, BlindIndexer } from './blind-index.js';
import { Keyrings } from './keyring.js';
import { loadMasterKeys, type MasterKeySet } from './keys.js';
import type { Place } from './place.js';
import { classify, decryptValue, encryptValue } from './value.js';

export type SecretStoreOptions =
  | {
      /** Key references as in dbwarden.yaml's masterKey: files, environment variables, KMS ARNs. */
      readonly masterKey: MasterKeys;
      /** Where env: keys are read; default process.env. */
      readonly env?: Readonly<Record<string, string | undefined>>;
    }
  | {
      /** Keys the application already holds: rawMasterKey(), kmsMasterKey(), masterKeySet(). */
      readonly keys: MasterKeySet;
    };

export interface EncryptedValue {
  /** What to store in the column. */
  readonly stored: string;
  /** What to store in the row's key id column. */
  readonly keyId: string;
}

/** A stored value as the store sees it: unknown-key is a ciphertext no configured key can open. */
export type StoredValueKind =
  | { readonly kind: 'plaintext' }
  | { readonly kind: 'ciphertext'; readonly keyId: string; readonly current: boolean }
  | { readonly kind: 'unknown-key'; readonly keyId: string }
  | { readonly kind: 'malformed'; readonly reason: string };

export interface SecretStore {
  /** The key new values are encrypted under. */
  readonly currentKeyId: string;
  /** Current first, then previous (decrypt-only) keys. */
  readonly keyIds: readonly string[];
  /** Encrypts under the current key, bound to `place`. NULL stays NULL. */
  encrypt(place: Place, plaintext: string): Promise<EncryptedValue>;
  encrypt(place: Place, plaintext: string | null): Promise<EncryptedValue | null>;
  /** Decrypts a value read at `place`; refuses a value copied from elsewhere (SecretValueError). NULL stays NULL. */
  decrypt(place: Place, stored: string): Promise<string>;
  decrypt(place: Place, stored: string | null): Promise<string | null>;
  /** What a stored value is, without decrypting it. */
  classify(stored: string): StoredValueKind;
  /** The blind index to store with a lookup column's value (current key). */
  blindIndex(table: string, column: string, value: string): string;
  /** Blind indexes to look a value up by, under every configured key, current first. */
  lookupCandidates(table: string, column: string, value: string): readonly BlindIndexCandidate[];
}

export async function createSecretStore(options: SecretStoreOptions): Promise<SecretStore> {
  const keys = 'keys' in options ? options.keys : await loadMasterKeys(options.masterKey, options.env);
  return new KeyringSecretStore(keys);
}

class KeyringSecretStore implements SecretStore {
  readonly currentKeyId: string;
  readonly keyIds: readonly string[];
  readonly #keys: MasterKeySet;
  readonly #keyrings: Keyrings;
  #indexer: BlindIndexer | undefined;

  constructor(keys: MasterKeySet) {
    this.#keys = keys;
    this.#keyrings = new Keyrings(keys);
    this.currentKeyId = keys.current.id;
    this.keyIds = this.#keyrings.keyIds;
  }

  encrypt(place: Place, plaintext: string): Promise<EncryptedValue>;
  encrypt(place: Place, plaintext: string | null): Promise<EncryptedValue | null>;
  async encrypt(place: Place, plaintext: string | null): Promise<EncryptedValue | null> {
    return plaintext === null ? null : encryptValue(this.#keyrings, plaintext, place);
  }

  decrypt(place: Place, stored: string): Promise<string>;
  decrypt(place: Place, stored: string | null): Promise<string | null>;
  async decrypt(place: Place, stored: string | null): Promise<string | null> {
    return stored === null ? null : (await decryptValue(this.#keyrings, stored, place)).plaintext;
  }

  classify(stored: string): StoredValueKind {
    const found = classify(stored);
    if (found.kind !== 'ciphertext') return found;
    const key = this.#keyrings.keyFor({ provider: found.provider, name: found.keyId });
    if (key === undefined) return { kind: 'unknown-key', keyId: found.keyId };
    return { kind: 'ciphertext', keyId: key.id, current: key.id === this.currentKeyId };
  }

  blindIndex(table: string, column: string, value: string): string {
    return this.#blindIndexer().index(table, column, value).index;
  }

  lookupCandidates(table: string, column: string, value: string): readonly BlindIndexCandidate[] {
    return this.#blindIndexer().candidates(table, column, value);
  }

  /** Built on first use: a store over KMS keys encrypts and decrypts, it only cannot index. */
  #blindIndexer(): BlindIndexer {
    this.#indexer ??= new BlindIndexer(this.#keys);
    return this.#indexer;
  }
}
