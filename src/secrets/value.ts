/**
 * The stored value format (docs/encryption.md):
 *
 *     dbwarden:1:<base64 of an AWS Encryption SDK message>
 *
 * The prefix holds ':' (in no base64, hex or AWS-style key alphabet), so a
 * plaintext access or secret key never starts with it; dbwarden refuses to
 * encrypt a plaintext starting with "dbwarden:" so that stays true. NULL is
 * no value and stays NULL; the empty string is a value and is encrypted.
 */
import { printable } from '../util/printable.js';
import { SecretValueError, type SecretValueProblem } from './errors.js';
import { type KeyReference, keyReferenceOf, type Keyrings } from './keyring.js';
import {
  COMMITTING_SUITE_ID,
  FRAME_LENGTH,
  type MessageHeader,
  MessageFormatError,
  parseHeader,
} from './message.js';
import { assertPlace, contextOf, formatPlace, type Place, placeOf, samePlace } from './place.js';

export const VALUE_PREFIX = 'dbwarden:1:';
/** Every dbwarden format version starts with this; plaintext may not. */
export const RESERVED_PREFIX = 'dbwarden:';

export type Classification =
  | { readonly kind: 'plaintext' }
  | {
      readonly kind: 'ciphertext';
      /** Raw AES: the key id. KMS: the key ARN (Keyrings.keyFor maps it to the configured id). */
      readonly keyId: string;
      readonly provider: KeyReference['provider'];
      /** Where the ciphertext says it belongs. */
      readonly place: Place;
    }
  | { readonly kind: 'malformed'; readonly reason: string };

/** A ciphertext whose header was read: what decryption needs, parsed once. */
interface ParsedValue {
  readonly message: Buffer;
  readonly header: MessageHeader;
  readonly key: KeyReference;
  readonly place: Place;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Plaintext, ciphertext (with the key it names), or malformed, from the
 * text alone: no key needed, nothing decrypted. "Under an unknown key" is a
 * ciphertext whose keyId no configured key has (SecretStore.classify says so).
 */
export function classify(stored: string): Classification {
  const parsed = parseStored(stored);
  if (parsed === 'plaintext') return { kind: 'plaintext' };
  if (!('message' in parsed)) return { kind: 'malformed', reason: parsed.reason };
  return { kind: 'ciphertext', keyId: parsed.key.name, provider: parsed.key.provider, place: parsed.place };
}

/** Why a value with the prefix cannot be read. */
interface Unreadable {
  readonly problem: 'malformed' | 'wrong-suite';
  readonly reason: string;
  /** text: not even a message (prefix, base64, header); message: a message dbwarden does not accept. */
  readonly stage: 'text' | 'message';
}

const malformed = (reason: string, stage: Unreadable['stage'] = 'text'): Unreadable => ({
  problem: 'malformed',
  reason,
  stage,
});

/** 'plaintext', why the value is unreadable, or the parsed ciphertext. */
function parseStored(stored: string): ParsedValue | Unreadable | 'plaintext' {
  if (!stored.startsWith(RESERVED_PREFIX)) return 'plaintext';
  // Never quote the value: it may be a plaintext that happens to start with the reserved prefix.
  if (!stored.startsWith(VALUE_PREFIX))
    return malformed(`starts with "${RESERVED_PREFIX}" but not "${VALUE_PREFIX}"`);
  const body = stored.slice(VALUE_PREFIX.length);
  if (body.length % 4 !== 0 || !BASE64.test(body)) return malformed('not base64 after the prefix');
  const message = Buffer.from(body, 'base64');
  let header: MessageHeader;
  try {
    header = parseHeader(message);
  } catch (error) {
    if (error instanceof MessageFormatError) return malformed(error.message);
    throw error;
  }
  if (header.suiteId !== COMMITTING_SUITE_ID) {
    const suite = header.suiteId.toString(16).padStart(4, '0');
    return {
      problem: 'wrong-suite',
      reason: `algorithm suite 0x${suite} (signed); dbwarden reads only 0x0478`,
      stage: 'message',
    };
  }
  const [edk, ...more] = header.dataKeys;
  if (edk === undefined || more.length > 0) {
    return malformed(`${header.dataKeys.length} encrypted data keys; dbwarden writes one`, 'message');
  }
  const key = keyReferenceOf(edk);
  if (key === undefined) {
    return malformed(
      `data key of key provider "${printable(edk.providerId)}", not a dbwarden raw AES or KMS key`,
      'message',
    );
  }
  const place = placeOf(header.context);
  if (place === undefined)
    return malformed('encryption context is not a dbwarden place (table, column, pk)', 'message');
  return { message, header, key, place };
}

/**
 * A value that starts with the reserved prefix but is not a message at all
 * (not `dbwarden:1:`, not base64, no readable header): a plaintext that only
 * looks like dbwarden's format. The store encrypts it as the plaintext it
 * is (docs/encryption.md, "Values that only look encrypted"), so that it
 * cannot stop a deploy; a message dbwarden does not accept (another suite,
 * two data keys) is not one.
 */
export function isLookalike(stored: string): boolean {
  const parsed = parseStored(stored);
  return typeof parsed === 'object' && !('message' in parsed) && parsed.stage === 'text';
}

/**
 * Encrypts under the current key, bound to `place`. Throws SecretValueError
 * for a plaintext that could be mistaken for a ciphertext or is not valid
 * Unicode. `lookalikes: 'encrypt'` (the store's batches only) takes a
 * plaintext that only looks like the format (isLookalike) as the plaintext
 * it is; a real message is still refused.
 */
export async function encryptValue(
  keyrings: Keyrings,
  plaintext: string,
  place: Place,
  options: { readonly lookalikes?: 'refuse' | 'encrypt' } = {},
): Promise<{ stored: string; keyId: string }> {
  assertPlace(place);
  if (
    plaintext.startsWith(RESERVED_PREFIX) &&
    !(options.lookalikes === 'encrypt' && isLookalike(plaintext))
  ) {
    const parsed = parseStored(plaintext);
    const problem =
      typeof parsed === 'object' && 'message' in parsed ? 'already-encrypted' : 'reserved-prefix';
    throw valueError(problem, place, problemText[problem]);
  }
  if (LONE_SURROGATE.test(plaintext))
    throw valueError('invalid-plaintext', place, problemText['invalid-plaintext']);
  const message = await keyrings.seal(Buffer.from(plaintext, 'utf8'), contextOf(place));
  return { stored: VALUE_PREFIX + message.toString('base64'), keyId: keyrings.current.id };
}

/**
 * Decrypts a stored value found at `place`. Refuses (SecretValueError) a
 * plaintext, a malformed value, another suite, a ciphertext made for another
 * place (naming both), and a key that is not configured or does not open it.
 */
export async function decryptValue(
  keyrings: Keyrings,
  stored: string,
  place: Place,
): Promise<{ plaintext: string; keyId: string }> {
  assertPlace(place);
  const parsed = parseStored(stored);
  if (parsed === 'plaintext') throw valueError('not-encrypted', place, problemText['not-encrypted']);
  if (!('message' in parsed))
    throw valueError(parsed.problem, place, `not a readable dbwarden value: ${parsed.reason}`);
  const { key: ref, header, message } = parsed;
  if (!samePlace(parsed.place, place)) throw wrongPlace(place, parsed.place, ref.name);
  const key = keyrings.keyFor(ref);
  if (key === undefined) {
    throw valueError('unknown-key', place, `encrypted under key "${ref.name}", which is not configured`, {
      keyId: ref.name,
      hint: `configured keys: ${keyrings.keyIds.join(', ')}; add "${ref.name}" to masterKey.previous`,
    });
  }
  const opened = await keyrings.open(message, header, key);
  if (!Buffer.isBuffer(opened)) {
    if (opened === 'wrong-place') throw wrongPlace(place, parsed.place, key.id);
    throw valueError(opened, place, problemText[opened].replace('{key}', key.id), { keyId: key.id });
  }
  try {
    return { plaintext: utf8.decode(opened), keyId: key.id };
  } catch {
    // Only another tool writes non-UTF-8 under our prefix; report the place, never the bytes.
    throw valueError('invalid-plaintext', place, 'decrypts to bytes that are not UTF-8 text', {
      keyId: key.id,
    });
  } finally {
    opened.fill(0);
  }
}

const problemText: Record<SecretValueProblem, string> = {
  'wrong-place': 'encrypted for another place',
  'unknown-key': 'encrypted under a key that is not configured',
  'wrong-key': 'the configured key "{key}" does not open it (different key material under the same id?)',
  'wrong-suite': 'not encrypted with the committing suite without signature (0x0478)',
  malformed: 'not a readable dbwarden value',
  'not-encrypted': 'holds plaintext where a ciphertext was expected',
  'already-encrypted': 'is already a dbwarden ciphertext; refusing to encrypt it twice',
  'reserved-prefix': `a plaintext may not start with "${RESERVED_PREFIX}" (it would read as a ciphertext)`,
  'invalid-plaintext': 'plaintext is not well-formed Unicode (lone surrogate)',
  undecryptable: 'fails authentication under key "{key}" (corrupted or tampered with)',
};

function wrongPlace(found: Place, claimed: Place, keyId: string): SecretValueError {
  return valueError(
    'wrong-place',
    found,
    `the ciphertext belongs to ${formatPlace(claimed)}: a value copied from another row, column or table is refused`,
    { claimedPlace: claimed, keyId },
  );
}

function valueError(
  problem: SecretValueProblem,
  place: Place,
  message: string,
  extra: { claimedPlace?: Place; keyId?: string; hint?: string } = {},
): SecretValueError {
  const { hint, ...details } = extra;
  return new SecretValueError(message, { problem, place, ...details }, hint === undefined ? {} : { hint });
}

/** Bytes of a dbwarden message besides the plaintext and the place and key id strings (raw AES key, one frame). */
const MESSAGE_OVERHEAD = 241;

/**
 * The exact length in characters of a stored value written with a raw AES
 * key, from UTF-8 byte lengths: what a column must hold. For the widest
 * value, pass the widest plaintext, primary key and key id (ids are at most 64).
 */
export function storedLength(bytes: {
  readonly plaintext: number;
  readonly table: number;
  readonly column: number;
  readonly primaryKey: number;
  readonly keyId: number;
}): number {
  if (bytes.plaintext >= FRAME_LENGTH)
    throw new RangeError(`plaintexts of ${FRAME_LENGTH} bytes or more take several frames`);
  const message =
    MESSAGE_OVERHEAD + bytes.plaintext + bytes.table + bytes.column + bytes.primaryKey + bytes.keyId;
  return VALUE_PREFIX.length + 4 * Math.ceil(message / 3);
}
