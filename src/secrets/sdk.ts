/**
 * The AWS Encryption SDK side of the keyrings (@aws-crypto/client-node): raw
 * AES-256 keyrings (namespace "dbwarden", key name = key id) and AWS KMS
 * keyrings, one client, built once and reused for every value.
 *
 * keyring.ts loads this module only when a value needs the SDK (a KMS key,
 * engine 'sdk', a message shape the native codec does not take): the SDK
 * and the AWS SDK it pulls in cost ~25 MB and ~200 ms per thread.
 */
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  type KeyringNode,
  KmsKeyringNode,
  MultiKeyringNode,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
} from '@aws-crypto/client-node';
import { KEY_NAMESPACE } from './keyring.js';
import type { MasterKey } from './keys.js';
import { COMMITTING_SUITE_ID, type OpenFailure } from './message.js';

/** Stored values are small; a bound keeps a corrupted length from allocating much. */
const MAX_BODY_SIZE = 64 * 1024;
const SUITE_ID = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;

// Fixed by the value format: a drifted SDK constant must fail loudly, here.
if (SUITE_ID !== COMMITTING_SUITE_ID) throw new Error('internal: ESDK suite id mismatch');

/**
 * REQUIRE_DECRYPT: the SDK itself refuses a message without key commitment.
 * One data key per message: dbwarden never writes more, and a message with
 * many would make the SDK try each.
 */
const client = buildClient({
  commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
  maxEncryptedDataKeys: 1,
});

/** The SDK keyring for one master key. */
export function keyringFor(key: MasterKey): KeyringNode {
  if (key.kind === 'kms') return new KmsKeyringNode({ generatorKeyId: key.arn });
  return new RawAesKeyringNode({
    keyNamespace: KEY_NAMESPACE,
    keyName: key.id,
    // The SDK wants a buffer of its own (an isolated ArrayBuffer) and may zero it.
    unencryptedMasterKey: new Uint8Array(key.key.reveal()),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
}

export interface SdkOpened {
  readonly plaintext: Buffer;
  readonly suiteId: number;
  readonly context: Readonly<Record<string, string>>;
}

/** Encrypts with the current key's keyring; decrypts with all of them. */
export class SdkCodec {
  readonly #encryptKeyring: KeyringNode;
  readonly #decryptKeyring: KeyringNode;

  /** `keys`: current first. */
  constructor(keys: readonly MasterKey[]) {
    const keyrings = keys.map(keyringFor);
    const [current] = keyrings;
    if (current === undefined) throw new Error('internal: no keys');
    this.#encryptKeyring = current;
    this.#decryptKeyring = new MultiKeyringNode({ children: keyrings });
  }

  async seal(plaintext: Buffer, context: Readonly<Record<string, string>>): Promise<Buffer> {
    const { result } = await client.encrypt(this.#encryptKeyring, plaintext, {
      encryptionContext: { ...context },
      suiteId: SUITE_ID,
      plaintextLength: plaintext.byteLength,
    });
    return result;
  }

  /** What the SDK decrypted and authenticated, or why it could not. */
  async open(message: Buffer): Promise<SdkOpened | OpenFailure> {
    try {
      const { plaintext, messageHeader } = await client.decrypt(this.#decryptKeyring, message, {
        maxBodySize: MAX_BODY_SIZE,
      });
      return { plaintext, suiteId: messageHeader.suiteId, context: messageHeader.encryptionContext };
    } catch (error) {
      // The SDK's one way of saying no keyring could unwrap the data key; the caller knows the key id is configured.
      return (error as Error).message.includes('unencryptedDataKey has not been set')
        ? 'wrong-key'
        : 'undecryptable';
    }
  }
}
