/**
 * Master keys: loaded from a file (32 raw bytes, or base64 of 32 bytes) or an
 * environment variable (base64 of 32 bytes), or named by an AWS KMS key ARN.
 *
 * Anything else is invalid input (exit 2) with a message naming the key id,
 * where it was read from and what was found there, never the bytes.
 */
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { inspect } from 'node:util';
import { InvalidInputError } from '../errors.js';
import type { MasterKeyRef, MasterKeys, MasterKeySource } from '../policy/model.js';
import { printable } from '../util/printable.js';

export const MASTER_KEY_LENGTH = 32;
/** Longer than any base64 of 32 bytes with whitespace: stops a wrong path (a log, /dev/zero) early. */
const MAX_KEY_FILE_BYTES = 4096;
const GENERATE_HINT = 'generate a key with: head -c 32 /dev/urandom | base64';

/**
 * 32 key bytes that do not print themselves: console.log, util.inspect and
 * JSON.stringify show a placeholder, so a key never reaches a log by accident.
 */
export class KeyBytes {
  readonly #bytes: Buffer;

  constructor(bytes: Uint8Array) {
    if (bytes.byteLength !== MASTER_KEY_LENGTH) {
      throw new TypeError(`a master key has ${MASTER_KEY_LENGTH} bytes, not ${bytes.byteLength}`);
    }
    // Our own copy (the caller may reuse or zero its buffer), outside Node's shared small-buffer pool.
    this.#bytes = Buffer.alloc(MASTER_KEY_LENGTH);
    this.#bytes.set(bytes);
  }

  /** The key itself, for keyrings and key derivation only. Never print or store it. */
  reveal(): Buffer {
    return this.#bytes;
  }

  equals(other: KeyBytes): boolean {
    return this.#bytes.equals(other.#bytes);
  }

  toJSON(): string {
    return '[KeyBytes: redacted]';
  }

  toString(): string {
    return '[KeyBytes: redacted]';
  }

  [inspect.custom](): string {
    return '[KeyBytes: redacted]';
  }
}

export interface RawMasterKey {
  readonly id: string;
  readonly kind: 'raw';
  readonly key: KeyBytes;
}

export interface KmsMasterKey {
  readonly id: string;
  readonly kind: 'kms';
  readonly arn: string;
}

export type MasterKey = RawMasterKey | KmsMasterKey;

/** Current (encrypts and decrypts) and previous keys (decrypt only), ids unique. */
export interface MasterKeySet {
  readonly current: MasterKey;
  readonly previous: readonly MasterKey[];
}

/** A key an application already holds as bytes. Throws InvalidInputError unless it is 32 usable bytes. */
export function rawMasterKey(id: string, bytes: Uint8Array): RawMasterKey {
  const problem = rawKeyProblem(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (problem !== undefined) throw keyError(id, 'the bytes given', problem);
  return { id, kind: 'raw', key: new KeyBytes(bytes) };
}

const KMS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[A-Za-z0-9-]+$/;

/** An AWS KMS key named by its key ARN (not an alias: decryption matches the key ARN). */
export function kmsMasterKey(id: string, arn: string): KmsMasterKey {
  if (!KMS_ARN.test(arn)) {
    throw keyError(id, 'kms', `"${printable(arn)}" is not a KMS key ARN`, {
      hint: 'use arn:aws:kms:REGION:ACCOUNT:key/KEY-ID (aliases cannot decrypt)',
    });
  }
  return { id, kind: 'kms', arn };
}

/** Checks ids are unique and no two raw keys share their bytes, and freezes the set. */
export function masterKeySet(current: MasterKey, previous: readonly MasterKey[] = []): MasterKeySet {
  const all = [current, ...previous];
  all.forEach((key, i) => {
    const first = all.findIndex((k) => k.id === key.id);
    if (first !== i) {
      throw new InvalidInputError(`master key id "${printable(key.id)}" is configured twice`, {
        hint: 'every key, current and previous, needs its own id',
      });
    }
    const twin = all.slice(0, i).find((k) => sameMaterial(k, key));
    if (twin !== undefined) {
      throw new InvalidInputError(
        `master keys "${printable(twin.id)}" and "${printable(key.id)}" hold the same key`,
        { hint: 'a rotation needs a newly generated key; ' + GENERATE_HINT },
      );
    }
  });
  return Object.freeze({ current, previous: Object.freeze([...previous]) });
}

function sameMaterial(a: MasterKey, b: MasterKey): boolean {
  if (a.kind === 'raw' && b.kind === 'raw') return a.key.equals(b.key);
  if (a.kind === 'kms' && b.kind === 'kms') return a.arn === b.arn;
  return false;
}

/** Loads every configured key; the first problem found throws InvalidInputError. */
export async function loadMasterKeys(
  config: MasterKeys,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<MasterKeySet> {
  const current = await loadMasterKey(config.current, env);
  const previous: MasterKey[] = [];
  for (const ref of config.previous) previous.push(await loadMasterKey(ref, env));
  return masterKeySet(current, previous);
}

export async function loadMasterKey(
  ref: MasterKeyRef,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<MasterKey> {
  const { source } = ref;
  switch (source.from) {
    case 'file':
      return { id: ref.id, kind: 'raw', key: parseKeyFile(await readKeyFile(ref.id, source.path), ref) };
    case 'env':
      return { id: ref.id, kind: 'raw', key: parseKeyText(env[source.variable], ref) };
    case 'kms':
      return kmsMasterKey(ref.id, source.arn);
  }
}

/** A key file's bytes: 32 raw bytes, or base64 of 32 bytes with optional surrounding whitespace. */
export function parseKeyFile(content: Buffer, ref: MasterKeyRef): KeyBytes {
  if (content.byteLength === 0) throw keyError(ref.id, ref.source, 'empty');
  if (content.byteLength === MASTER_KEY_LENGTH) {
    const problem = rawKeyProblem(content);
    if (problem !== undefined) throw keyError(ref.id, ref.source, problem);
    return new KeyBytes(content);
  }
  const decoded = decodeBase64Key(content);
  if (typeof decoded === 'string') throw keyError(ref.id, ref.source, decoded);
  return decoded;
}

/** An environment variable's value: base64 of 32 bytes, optional surrounding whitespace. */
export function parseKeyText(text: string | undefined, ref: MasterKeyRef): KeyBytes {
  if (text === undefined) throw keyError(ref.id, ref.source, 'not set');
  if (text.trim() === '') throw keyError(ref.id, ref.source, 'empty');
  const decoded = decodeBase64Key(Buffer.from(text, 'utf8'));
  if (typeof decoded === 'string') throw keyError(ref.id, ref.source, decoded);
  return decoded;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The key, or what was found instead (a description that never holds the bytes). */
function decodeBase64Key(content: Buffer): KeyBytes | string {
  const text = content.toString('latin1').trim();
  const length = `${content.byteLength} ${content.byteLength === 1 ? 'byte' : 'bytes'}`;
  if (text === '') return `${length} of whitespace`;
  if (/^[0-9a-fA-F]{64}$/.test(text)) return '64 hex digits; hex is not accepted, use base64 of the 32 bytes';
  if (!BASE64.test(text) || (text.includes('=') && text.length % 4 !== 0)) {
    return `${length}, neither ${MASTER_KEY_LENGTH} raw bytes nor base64 of ${MASTER_KEY_LENGTH} bytes`;
  }
  const bytes = Buffer.from(text, 'base64');
  // Buffer ignores stray trailing bits; a canonical round trip proves the text was exact base64.
  if (bytes.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, '')) {
    return `${length}, not canonical base64`;
  }
  if (bytes.byteLength !== MASTER_KEY_LENGTH) {
    return `base64 of ${bytes.byteLength} bytes, not ${MASTER_KEY_LENGTH}`;
  }
  const problem = rawKeyProblem(bytes);
  const key = problem ?? new KeyBytes(bytes);
  // KeyBytes holds its own copy: leave no second copy of the key in this buffer.
  bytes.fill(0);
  return key;
}

/** Catches placeholders and passphrases that happen to be 32 bytes long. */
function rawKeyProblem(bytes: Buffer): string | undefined {
  if (bytes.byteLength !== MASTER_KEY_LENGTH) {
    return `${bytes.byteLength} bytes, not ${MASTER_KEY_LENGTH}`;
  }
  if (bytes.every((b) => b === bytes[0]))
    return `${MASTER_KEY_LENGTH} copies of one byte (a placeholder, not a key)`;
  // A random key is all printable ASCII with probability (95/256)^32, about 1e-14.
  if (bytes.every((b) => b >= 0x20 && b < 0x7f)) {
    return `${MASTER_KEY_LENGTH} bytes of printable text (a passphrase, or base64 of 24 bytes?), not random key bytes`;
  }
  return undefined;
}

async function readKeyFile(id: string, file: string): Promise<Buffer> {
  const source: MasterKeySource = { from: 'file', path: file };
  let handle;
  try {
    handle = await open(file, fsConstants.O_RDONLY);
  } catch (error) {
    throw keyError(id, source, describeFsError(error));
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw keyError(id, source, 'a directory, not a file');
    if (!stat.isFile()) throw keyError(id, source, 'not a regular file');
    if (stat.size > MAX_KEY_FILE_BYTES) {
      throw keyError(id, source, `${stat.size} bytes, neither 32 raw bytes nor base64 of 32 bytes`);
    }
    return await handle.readFile();
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw keyError(id, source, describeFsError(error));
  } finally {
    await handle.close();
  }
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'file not found';
    case 'EACCES':
    case 'EPERM':
      return 'not readable (permission denied)';
    case 'EISDIR':
      return 'a directory, not a file';
    default:
      return `cannot be read (${code ?? 'unknown error'})`;
  }
}

function describeSource(source: MasterKeySource | string): string {
  if (typeof source === 'string') return source;
  switch (source.from) {
    case 'file':
      return `file ${printable(source.path)}`;
    case 'env':
      return `environment variable ${printable(source.variable)}`;
    case 'kms':
      return 'kms';
  }
}

/**
 * A configured master key that could not be loaded (missing, unreadable, not
 * a key). Its hint suggests generating a key; the store replaces that when
 * values are under the id (src/secrets/store/missing-key.ts): a new key
 * would never open them.
 */
export class MasterKeyError extends InvalidInputError {
  readonly keyId: string;
  /** Where the key was read from and what was found there, without the hint. */
  readonly problem: string;

  constructor(keyId: string, problem: string, hint: string) {
    super(problem, { hint });
    this.keyId = keyId;
    this.problem = problem;
  }
}

function keyError(
  id: string,
  source: MasterKeySource | string,
  found: string,
  options: { hint?: string } = {},
): MasterKeyError {
  return new MasterKeyError(
    id,
    `master key "${printable(id)}" (${describeSource(source)}): ${found}`,
    options.hint ?? GENERATE_HINT,
  );
}
