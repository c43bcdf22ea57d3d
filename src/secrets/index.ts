/**
 * The encrypted credential store's building blocks (docs/encryption.md):
 * master keys, the stored value format, blind indexes, batch crypto on a
 * worker pool, and the application-facing SecretStore.
 */
export {
  createSecretStore,
  type EncryptedValue,
  type SecretStore,
  type SecretStoreOptions,
  type StoredValueKind,
} from './api.js';
export { type BatchItem, type BatchOp, type ItemResult, processBatch } from './batch.js';
export {
  BLIND_INDEX_INFO,
  type BlindIndexCandidate,
  BlindIndexer,
  blindIndexWith,
  deriveBlindIndexKey,
} from './blind-index.js';
export { CryptoPoolError, SecretValueError, type SecretValueProblem } from './errors.js';
export { type CryptoEngine, KEY_NAMESPACE, Keyrings, SUITE_ID } from './keyring.js';
export {
  KeyBytes,
  kmsMasterKey,
  type KmsMasterKey,
  loadMasterKeys,
  type MasterKey,
  type MasterKeySet,
  masterKeySet,
  rawMasterKey,
  type RawMasterKey,
} from './keys.js';
export { encodePrimaryKey, type Place, type PrimaryKeyPart } from './place.js';
export { type Batch, CryptoPool, type CryptoPoolOptions, type PoolStats } from './pool.js';
export {
  type Classification,
  classify,
  decryptValue,
  encryptValue,
  storedLength,
  VALUE_PREFIX,
} from './value.js';
