/**
 * Keyrings over the configured master keys, and the two ways to use them:
 *
 * - the native codec (message.ts) for raw AES keys: the same messages as the
 *   SDK, without its per-call stream overhead (~20x faster per small value);
 * - the AWS Encryption SDK (sdk.ts), loaded on first need: KMS keys, the
 *   'sdk' engine, and any message shape the native codec does not take.
 *
 * Encryption uses the current key only; decryption any configured key.
 */
import type { MasterKey, MasterKeySet, RawMasterKey } from './keys.js';
import {
  COMMITTING_SUITE_ID,
  type EncryptedDataKey,
  FRAME_LENGTH,
  type MessageHeader,
  type OpenFailure,
  openFramed,
  parseRawAesProviderInfo,
  sealFramed,
} from './message.js';
import type { SdkCodec } from './sdk.js';

/** Raw AES keyrings' namespace (the message's key provider id). */
export const KEY_NAMESPACE = 'dbwarden';
/** The key provider id the SDK's KMS keyring writes; its provider info is the key ARN. */
export const KMS_PROVIDER_ID = 'aws-kms';
/** ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY: the only suite dbwarden writes or reads. */
export const SUITE_ID = COMMITTING_SUITE_ID;

/** Why a message did not open: see SecretValueProblem for each. */
export type OpenProblem = OpenFailure | 'wrong-suite' | 'wrong-place';

/** 'native': raw AES keys through message.ts, KMS through the SDK. 'sdk': everything through the SDK. */
export type CryptoEngine = 'native' | 'sdk';

/** Who holds the key a message names: a raw AES key (by name) or KMS (by ARN). */
export interface KeyReference {
  readonly provider: 'raw-aes' | 'aws-kms';
  /** Raw AES: the key name, which is the dbwarden key id. KMS: the key ARN. */
  readonly name: string;
}

/** The key a data key names, or undefined when no keyring dbwarden uses could have written it. */
export function keyReferenceOf(edk: EncryptedDataKey): KeyReference | undefined {
  if (edk.providerId === KEY_NAMESPACE) {
    const info = parseRawAesProviderInfo(edk.providerInfo);
    return info && { provider: 'raw-aes', name: info.keyName };
  }
  if (edk.providerId === KMS_PROVIDER_ID)
    return { provider: 'aws-kms', name: edk.providerInfo.toString('utf8') };
  return undefined;
}

export class Keyrings {
  readonly current: MasterKey;
  /** Current first, then previous keys in configured order. */
  readonly keys: readonly MasterKey[];
  readonly engine: CryptoEngine;
  #sdk: Promise<SdkCodec> | undefined;

  constructor(set: MasterKeySet, options: { engine?: CryptoEngine } = {}) {
    this.current = set.current;
    this.keys = [set.current, ...set.previous];
    this.engine = options.engine ?? 'native';
  }

  get keyIds(): readonly string[] {
    return this.keys.map((k) => k.id);
  }

  /** The configured key a message's data key names, or undefined if none. */
  keyFor(ref: KeyReference): MasterKey | undefined {
    return this.keys.find((k) =>
      ref.provider === 'raw-aes'
        ? k.kind === 'raw' && k.id === ref.name
        : k.kind === 'kms' && k.arn === ref.name,
    );
  }

  /** Encrypts under the current key; `context` as place.contextOf() builds it (sorted keys). */
  async seal(plaintext: Buffer, context: Readonly<Record<string, string>>): Promise<Buffer> {
    const current = this.current;
    if (this.engine === 'native' && current.kind === 'raw' && plaintext.byteLength < FRAME_LENGTH) {
      return sealFramed(wrappingKey(current), plaintext, sortedPairs(context));
    }
    return (await this.#sdkCodec()).seal(plaintext, context);
  }

  /**
   * Decrypts a message whose header was parsed and checked (suite, place,
   * known key) by the caller; checks suite and context again on what the SDK
   * authenticated. Returns why it failed rather than throwing.
   */
  async open(message: Buffer, header: MessageHeader, key: MasterKey): Promise<Buffer | OpenProblem> {
    if (this.engine === 'native' && key.kind === 'raw') {
      const opened = openFramed(message, header, key.key.reveal());
      if (Buffer.isBuffer(opened)) return opened;
      if (opened !== undefined) return opened.failure;
    }
    return this.#openWithSdk(message, header);
  }

  async #openWithSdk(message: Buffer, header: MessageHeader): Promise<Buffer | OpenProblem> {
    const opened = await (await this.#sdkCodec()).open(message);
    if (typeof opened === 'string') return opened;
    // The SDK decrypts any committing suite and ignores the context: both are ours to check.
    const problem =
      opened.suiteId !== SUITE_ID
        ? 'wrong-suite'
        : sameContext(opened.context, header.context)
          ? undefined
          : 'wrong-place';
    if (problem === undefined) return opened.plaintext;
    opened.plaintext.fill(0);
    return problem;
  }

  /** The SDK's keyrings, built on first use and then reused for every value. */
  #sdkCodec(): Promise<SdkCodec> {
    this.#sdk ??= import('./sdk.js').then(({ SdkCodec }) => new SdkCodec(this.keys));
    return this.#sdk;
  }
}

function wrappingKey(key: RawMasterKey): { namespace: string; name: string; key: Buffer } {
  return { namespace: KEY_NAMESPACE, name: key.id, key: key.key.reveal() };
}

/** Context pairs in UTF-8 byte order of their keys, as the message format requires. */
function sortedPairs(context: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(context).sort(([a], [b]) =>
    Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')),
  );
}

function sameContext(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
