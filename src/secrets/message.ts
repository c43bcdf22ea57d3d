/**
 * The AWS Encryption SDK message format, version 2, as far as dbwarden needs it:
 *
 * - parseHeader(): a strict parser of the header, so a stored value can be
 *   classified (which key, which place) without decrypting it;
 * - sealFramed() / openFramed(): a native encoder and decoder for the one
 *   shape of message dbwarden writes with a raw AES key (suite 0x0478, one
 *   raw AES-GCM encrypted data key, one final frame). The SDK's stream
 *   machinery costs ~1 ms per small value; these cost tens of microseconds.
 *   They write and accept exactly what the SDK writes and accepts for that
 *   shape (test/unit/secrets/message.test.ts checks both directions);
 *   anything else goes to the SDK.
 *
 * Spec: https://github.com/awslabs/aws-encryption-sdk-specification (data-format/message-header.md,
 * message-body.md, framework/algorithm-suites.md, framework/raw-aes-keyring.md).
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY: committing, no signature. */
export const COMMITTING_SUITE_ID = 0x0478;
/** The same with an ECDSA P-384 signature: readable by the SDK, refused by dbwarden. */
export const SIGNED_COMMITTING_SUITE_ID = 0x0578;
export const MESSAGE_FORMAT_V2 = 0x02;
/** The SDK's default; every dbwarden value fits one (final) frame below it. */
export const FRAME_LENGTH = 4096;

const CONTENT_NON_FRAMED = 0x01;
const CONTENT_FRAMED = 0x02;
const MESSAGE_ID_LENGTH = 32;
const KEY_LENGTH = 32;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const COMMITMENT_LENGTH = 32;
const FINAL_FRAME_MARK = 0xffffffff;
/** Raw AES keyring provider info: key name, tag length in bits (u32), IV length (u32), IV. */
const RAW_AES_INFO_TAIL = 4 + 4 + IV_LENGTH;
const CIPHER = 'aes-256-gcm';

const KEY_LABEL = Buffer.concat([u16(COMMITTING_SUITE_ID), Buffer.from('DERIVEKEY', 'ascii')]);
const COMMIT_LABEL = Buffer.from('COMMITKEY', 'ascii');
const FINAL_FRAME_AAD = Buffer.from('AWSKMSEncryptionClient Final Frame', 'ascii');
const HEADER_AUTH_IV = Buffer.alloc(IV_LENGTH);
/** HKDF's T(1) counter byte: 32 bytes of output need one SHA-512 block. */
const HKDF_FIRST_BLOCK = Buffer.from([1]);
/** Frame IVs are the sequence number, big-endian, left-padded with zeros; ours is frame 1. */
const FIRST_FRAME_IV = (() => {
  const iv = Buffer.alloc(IV_LENGTH);
  iv.writeUInt32BE(1, IV_LENGTH - 4);
  return iv;
})();
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Not a well-formed message. Internal: callers report it as a `malformed` value. */
export class MessageFormatError extends Error {
  override readonly name = 'MessageFormatError';
}

export interface EncryptedDataKey {
  readonly providerId: string;
  readonly providerInfo: Buffer;
  readonly ciphertext: Buffer;
}

export interface MessageHeader {
  readonly suiteId: number;
  readonly messageId: Buffer;
  readonly context: Readonly<Record<string, string>>;
  /** The serialized context without its length: the AAD of a raw AES keyring's data key. */
  readonly contextBytes: Buffer;
  /** Keys in strictly increasing UTF-8 byte order, as every SDK serializes them. */
  readonly contextSorted: boolean;
  readonly dataKeys: readonly EncryptedDataKey[];
  readonly contentType: number;
  readonly frameLength: number;
  /** Suite data: the key commitment. */
  readonly commitment: Buffer;
  /** Bytes [0, headerLength) are authenticated by the tag that follows them. */
  readonly headerLength: number;
}

/** Parses the header of a version 2 message; throws MessageFormatError naming what is wrong. */
export function parseHeader(message: Buffer): MessageHeader {
  const r = new Reader(message);
  const version = r.u8('version');
  if (version === 0x01) {
    throw new MessageFormatError(
      'message format version 1 (a non-committing suite); only version 2 is accepted',
    );
  }
  if (version !== MESSAGE_FORMAT_V2) {
    throw new MessageFormatError(`not an Encryption SDK message (first byte 0x${hex2(version)})`);
  }
  const suiteId = r.u16('algorithm suite');
  if (suiteId !== COMMITTING_SUITE_ID && suiteId !== SIGNED_COMMITTING_SUITE_ID) {
    throw new MessageFormatError(`unknown algorithm suite 0x${hex4(suiteId)} for message format version 2`);
  }
  const messageId = r.bytes(MESSAGE_ID_LENGTH, 'message id');
  const contextBytes = r.bytes(r.u16('encryption context length'), 'encryption context');
  const { context, sorted } = parseContext(contextBytes);
  const dataKeys = parseDataKeys(r);
  const contentType = r.u8('content type');
  if (contentType !== CONTENT_FRAMED && contentType !== CONTENT_NON_FRAMED) {
    throw new MessageFormatError(`unknown content type ${contentType}`);
  }
  const frameLength = r.u32('frame length');
  if (contentType === CONTENT_FRAMED && frameLength === 0) throw new MessageFormatError('frame length 0');
  const commitment = r.bytes(COMMITMENT_LENGTH, 'key commitment');
  const headerLength = r.pos;
  r.bytes(TAG_LENGTH, 'header authentication tag');
  return {
    suiteId,
    messageId,
    context,
    contextBytes,
    contextSorted: sorted,
    dataKeys,
    contentType,
    frameLength,
    commitment,
    headerLength,
  };
}

function parseContext(bytes: Buffer): { context: Record<string, string>; sorted: boolean } {
  const context: Record<string, string> = Object.create(null) as Record<string, string>;
  if (bytes.byteLength === 0) return { context, sorted: true };
  const r = new Reader(bytes);
  const count = r.u16('encryption context count');
  let sorted = true;
  let previous: Buffer | undefined;
  for (let i = 0; i < count; i++) {
    const keyBytes = r.bytes(r.u16('encryption context key length'), 'encryption context key');
    const key = decodeUtf8(keyBytes, 'encryption context key');
    const value = decodeUtf8(
      r.bytes(r.u16('encryption context value length'), 'encryption context value'),
      'encryption context value',
    );
    if (Object.hasOwn(context, key))
      throw new MessageFormatError(`encryption context key "${key}" appears twice`);
    if (previous !== undefined && Buffer.compare(previous, keyBytes) >= 0) sorted = false;
    previous = keyBytes;
    context[key] = value;
  }
  if (r.pos !== bytes.byteLength) throw new MessageFormatError('encryption context longer than its pairs');
  return { context, sorted };
}

function parseDataKeys(r: Reader): EncryptedDataKey[] {
  const count = r.u16('encrypted data key count');
  if (count === 0) throw new MessageFormatError('no encrypted data key');
  const keys: EncryptedDataKey[] = [];
  for (let i = 0; i < count; i++) {
    const providerId = decodeUtf8(
      r.bytes(r.u16('key provider id length'), 'key provider id'),
      'key provider id',
    );
    const providerInfo = r.bytes(r.u16('key provider info length'), 'key provider info');
    const ciphertext = r.bytes(r.u16('encrypted data key length'), 'encrypted data key');
    keys.push({ providerId, providerInfo, ciphertext });
  }
  return keys;
}

/** The key name and wrapping IV in a raw AES keyring's provider info, or undefined if it is not one. */
export function parseRawAesProviderInfo(info: Buffer): { keyName: string; iv: Buffer } | undefined {
  if (info.byteLength <= RAW_AES_INFO_TAIL) return undefined;
  const tail = info.byteLength - RAW_AES_INFO_TAIL;
  if (info.readUInt32BE(tail) !== TAG_LENGTH * 8 || info.readUInt32BE(tail + 4) !== IV_LENGTH)
    return undefined;
  try {
    return { keyName: utf8.decode(info.subarray(0, tail)), iv: info.subarray(tail + 8) };
  } catch {
    // Not UTF-8: not a key name any keyring could have written.
    return undefined;
  }
}

/** A raw AES-256 wrapping key: the keyring's namespace and name, and the key bytes. */
export interface RawWrappingKey {
  readonly namespace: string;
  readonly name: string;
  readonly key: Buffer;
}

/**
 * Encrypts as the SDK would with a raw AES-256 keyring, suite 0x0478, frame
 * length 4096: one data key, one final frame. `context` pairs must be sorted
 * by key (UTF-8 byte order) and `plaintext` shorter than a frame.
 */
export function sealFramed(
  wrapping: RawWrappingKey,
  plaintext: Buffer,
  context: readonly (readonly [string, string])[],
): Buffer {
  if (plaintext.byteLength >= FRAME_LENGTH) throw new RangeError('plaintext does not fit one frame');
  const random = randomBytes(KEY_LENGTH + MESSAGE_ID_LENGTH + IV_LENGTH);
  const dataKey = random.subarray(0, KEY_LENGTH);
  const messageId = random.subarray(KEY_LENGTH, KEY_LENGTH + MESSAGE_ID_LENGTH);
  const wrapIv = random.subarray(KEY_LENGTH + MESSAGE_ID_LENGTH);
  const contextBytes = serializeContext(context);
  const edk = aesGcm(wrapping.key, wrapIv, contextBytes, dataKey);
  const { commitment, derivedKey } = deriveKeys(dataKey, messageId);
  const name = Buffer.from(wrapping.name, 'utf8');
  const namespace = Buffer.from(wrapping.namespace, 'utf8');
  const w = new Writer(
    1 +
      2 +
      MESSAGE_ID_LENGTH +
      2 +
      contextBytes.byteLength +
      2 +
      2 +
      namespace.byteLength +
      2 +
      name.byteLength +
      RAW_AES_INFO_TAIL +
      2 +
      edk.byteLength +
      1 +
      4 +
      COMMITMENT_LENGTH +
      TAG_LENGTH +
      4 +
      4 +
      IV_LENGTH +
      4 +
      plaintext.byteLength +
      TAG_LENGTH,
  );
  w.u8(MESSAGE_FORMAT_V2).u16(COMMITTING_SUITE_ID).put(messageId);
  w.u16(contextBytes.byteLength).put(contextBytes);
  w.u16(1).u16(namespace.byteLength).put(namespace);
  w.u16(name.byteLength + RAW_AES_INFO_TAIL)
    .put(name)
    .u32(TAG_LENGTH * 8)
    .u32(IV_LENGTH)
    .put(wrapIv);
  w.u16(edk.byteLength).put(edk);
  w.u8(CONTENT_FRAMED).u32(FRAME_LENGTH).put(commitment);
  const header = w.written();
  w.put(aesGcm(derivedKey, HEADER_AUTH_IV, header, Buffer.alloc(0)));
  w.u32(FINAL_FRAME_MARK).u32(1).put(FIRST_FRAME_IV).u32(plaintext.byteLength);
  w.put(aesGcm(derivedKey, FIRST_FRAME_IV, frameAad(messageId, plaintext.byteLength), plaintext));
  dataKey.fill(0);
  derivedKey.fill(0);
  return w.done();
}

/** Why openFramed() could not decrypt: a wrong wrapping key, or a body that fails authentication. */
export type OpenFailure = 'wrong-key' | 'undecryptable';

/**
 * Decrypts a message of exactly the shape sealFramed() writes. Returns
 * undefined for any other shape (valid or not), which the caller hands to
 * the SDK, and `{ failure }` when the shape is ours but the crypto does not check out.
 */
export function openFramed(
  message: Buffer,
  header: MessageHeader,
  wrappingKey: Buffer,
): Buffer | { failure: OpenFailure } | undefined {
  const edk = header.dataKeys[0];
  if (!isOurShape(header) || edk === undefined) return undefined;
  const info = parseRawAesProviderInfo(edk.providerInfo);
  const body = parseSingleFinalFrame(message, header);
  if (info === undefined || body === undefined || edk.ciphertext.byteLength !== KEY_LENGTH + TAG_LENGTH) {
    return undefined;
  }
  const dataKey = aesGcmOpen(wrappingKey, info.iv, header.contextBytes, edk.ciphertext);
  if (dataKey === undefined) return { failure: 'wrong-key' };
  const { commitment, derivedKey } = deriveKeys(dataKey, header.messageId);
  dataKey.fill(0);
  try {
    if (!timingSafeEqual(commitment, header.commitment)) return { failure: 'undecryptable' };
    const headerTag = message.subarray(header.headerLength, header.headerLength + TAG_LENGTH);
    const headerOk = aesGcmOpen(
      derivedKey,
      HEADER_AUTH_IV,
      message.subarray(0, header.headerLength),
      headerTag,
    );
    if (headerOk === undefined) return { failure: 'undecryptable' };
    const plaintext = aesGcmOpen(
      derivedKey,
      FIRST_FRAME_IV,
      frameAad(header.messageId, body.length),
      body.sealed,
    );
    return plaintext ?? { failure: 'undecryptable' };
  } finally {
    derivedKey.fill(0);
  }
}

function isOurShape(header: MessageHeader): boolean {
  return (
    header.suiteId === COMMITTING_SUITE_ID &&
    header.dataKeys.length === 1 &&
    header.contentType === CONTENT_FRAMED &&
    header.contextSorted
  );
}

/** The one final frame (sequence number 1, canonical IV) filling the rest of the message exactly. */
function parseSingleFinalFrame(
  message: Buffer,
  header: MessageHeader,
): { sealed: Buffer; length: number } | undefined {
  let pos = header.headerLength + TAG_LENGTH;
  const fixed = 4 + 4 + IV_LENGTH + 4;
  if (message.byteLength < pos + fixed + TAG_LENGTH) return undefined;
  if (message.readUInt32BE(pos) !== FINAL_FRAME_MARK || message.readUInt32BE(pos + 4) !== 1) return undefined;
  if (!message.subarray(pos + 8, pos + 8 + IV_LENGTH).equals(FIRST_FRAME_IV)) return undefined;
  const length = message.readUInt32BE(pos + 8 + IV_LENGTH);
  pos += fixed;
  if (length > header.frameLength || message.byteLength !== pos + length + TAG_LENGTH) return undefined;
  return { sealed: message.subarray(pos), length };
}

/** Serialized pairs (count, then length-prefixed key and value), without the overall length. */
export function serializeContext(pairs: readonly (readonly [string, string])[]): Buffer {
  if (pairs.length === 0) return Buffer.alloc(0);
  const encoded = pairs.map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
  const size = encoded.reduce((n, [k, v]) => n + 4 + k.byteLength + v.byteLength, 2);
  if (size > 0xffff || encoded.some(([k, v]) => k.byteLength > 0xffff || v.byteLength > 0xffff)) {
    throw new RangeError('encryption context longer than 65535 bytes');
  }
  const w = new Writer(size).u16(pairs.length);
  for (const [k, v] of encoded) w.u16(k.byteLength).put(k).u16(v.byteLength).put(v);
  return w.done();
}

/**
 * HKDF-SHA-512 (RFC 5869) with the message id as salt: one extract, two
 * one-block expands. By hand because crypto.hkdfSync extracts again per
 * output and builds KeyObjects: twice the cost, on the hot path.
 */
function deriveKeys(dataKey: Buffer, messageId: Buffer): { commitment: Buffer; derivedKey: Buffer } {
  const prk = createHmac('sha512', messageId).update(dataKey).digest();
  const expand = (info: Buffer, length: number): Buffer =>
    createHmac('sha512', prk).update(info).update(HKDF_FIRST_BLOCK).digest().subarray(0, length);
  const keys = {
    commitment: expand(COMMIT_LABEL, COMMITMENT_LENGTH),
    derivedKey: expand(KEY_LABEL, KEY_LENGTH),
  };
  prk.fill(0);
  return keys;
}

function frameAad(messageId: Buffer, contentLength: number): Buffer {
  const w = new Writer(MESSAGE_ID_LENGTH + FINAL_FRAME_AAD.byteLength + 4 + 8);
  w.put(messageId)
    .put(FINAL_FRAME_AAD)
    .u32(1)
    .u32(Math.floor(contentLength / 2 ** 32))
    .u32(contentLength >>> 0);
  return w.done();
}

/** AES-256-GCM: ciphertext followed by the 16-byte tag. */
function aesGcm(key: Buffer, iv: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
  const cipher = createCipheriv(CIPHER, key, iv, { authTagLength: TAG_LENGTH }).setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** The plaintext of ciphertext-then-tag, or undefined when authentication fails. */
function aesGcmOpen(key: Buffer, iv: Buffer, aad: Buffer, sealed: Buffer): Buffer | undefined {
  const split = sealed.byteLength - TAG_LENGTH;
  const decipher = createDecipheriv(CIPHER, key, iv, { authTagLength: TAG_LENGTH })
    .setAAD(aad)
    .setAuthTag(sealed.subarray(split));
  const head = decipher.update(sealed.subarray(0, split));
  try {
    return Buffer.concat([head, decipher.final()]);
  } catch {
    // GCM authentication failed: the caller decides what that means (wrong key, tampering).
    head.fill(0);
    return undefined;
  }
}

function decodeUtf8(bytes: Buffer, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new MessageFormatError(`${what} is not UTF-8`);
  }
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

class Reader {
  pos = 0;

  constructor(private readonly buf: Buffer) {}

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.byteLength) {
      throw new MessageFormatError(
        `truncated in the ${what} (at byte ${this.pos} of ${this.buf.byteLength})`,
      );
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf.readUInt8(this.pos++);
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

/** Writes into one buffer of a size computed up front: no intermediate concatenations. */
class Writer {
  private readonly buf: Buffer;
  private pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  u8(v: number): this {
    this.pos = this.buf.writeUInt8(v, this.pos);
    return this;
  }

  u16(v: number): this {
    this.pos = this.buf.writeUInt16BE(v, this.pos);
    return this;
  }

  u32(v: number): this {
    this.pos = this.buf.writeUInt32BE(v, this.pos);
    return this;
  }

  put(bytes: Buffer): this {
    this.pos += bytes.copy(this.buf, this.pos);
    return this;
  }

  /** What is written so far (the header, to authenticate it): a view, valid until the next write. */
  written(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  done(): Buffer {
    if (this.pos !== this.buf.byteLength)
      throw new Error(`internal: wrote ${this.pos} of ${this.buf.byteLength} bytes`);
    return this.buf;
  }
}
