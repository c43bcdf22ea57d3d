/**
 * SCRAM-SHA-256 verifiers (RFC 5802, RFC 7677) in the exact form PostgreSQL
 * stores in pg_authid.rolpassword, so a login's password can be set with
 * `PASSWORD '<verifier>'` and the plaintext never reaches the server or its logs.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** PostgreSQL's default (scram_iterations) and RFC 7677's minimum. */
export const DEFAULT_SCRAM_ITERATIONS = 4096;
/** PostgreSQL generates 16-byte salts. */
export const SCRAM_SALT_BYTES = 16;

const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;
const BASE64 = '[A-Za-z0-9+/]+={0,2}';
const VERIFIER = new RegExp(`^SCRAM-SHA-256\\$([1-9][0-9]{0,9}):(${BASE64})\\$(${BASE64}):(${BASE64})$`);
const KEY_BYTES = 32;
const MAX_ITERATIONS = 2 ** 31 - 1;

export interface ScramKeys {
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

/**
 * StoredKey and ServerKey for a password, salt and iteration count
 * (RFC 5802 section 3). Exported for tests that check the derivation.
 */
export function scramSha256Keys(password: string, salt: Buffer, iterations: number): ScramKeys {
  checkPassword(password);
  checkIterations(iterations);
  if (salt.length === 0) throw new TypeError('SCRAM salt must not be empty');
  // The password is printable ASCII, which SASLprep (RFC 4013) leaves unchanged.
  const saltedPassword = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, KEY_BYTES, 'sha256');
  const clientKey = hmac(saltedPassword, 'Client Key');
  return {
    storedKey: createHash('sha256').update(clientKey).digest(),
    serverKey: hmac(saltedPassword, 'Server Key'),
  };
}

/**
 * The verifier PostgreSQL stores for a password:
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64).
 * Only printable ASCII passwords are accepted: PostgreSQL applies SASLprep,
 * which this does not implement; dbwarden's own passwords are always ASCII.
 */
export function scramSha256Verifier(
  password: string,
  options: { salt?: Buffer; iterations?: number } = {},
): string {
  const salt = options.salt ?? randomBytes(SCRAM_SALT_BYTES);
  const iterations = options.iterations ?? DEFAULT_SCRAM_ITERATIONS;
  const { storedKey, serverKey } = scramSha256Keys(password, salt, iterations);
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * Whether a stored verifier was made from this password. False for anything
 * that is not a well-formed SCRAM-SHA-256 verifier (an md5 hash, say).
 * Throws a TypeError, like scramSha256Verifier, for a password that is not
 * printable ASCII.
 */
export function scramVerifierMatches(password: string, verifier: string): boolean {
  checkPassword(password);
  const match = VERIFIER.exec(verifier);
  if (!match) return false;
  const [, iterationText = '', saltText = '', storedText = '', serverText = ''] = match;
  const iterations = Number(iterationText);
  if (iterations > MAX_ITERATIONS) return false;
  const salt = Buffer.from(saltText, 'base64');
  const storedKey = Buffer.from(storedText, 'base64');
  const serverKey = Buffer.from(serverText, 'base64');
  if (salt.length === 0 || storedKey.length !== KEY_BYTES || serverKey.length !== KEY_BYTES) return false;
  const actual = scramSha256Keys(password, salt, iterations);
  // Both comparisons always run, so the timing does not tell which one failed.
  const storedOk = timingSafeEqual(actual.storedKey, storedKey);
  const serverOk = timingSafeEqual(actual.serverKey, serverKey);
  return storedOk && serverOk;
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** The message never includes the password. */
function checkPassword(password: string): void {
  if (typeof password !== 'string' || !PRINTABLE_ASCII.test(password)) {
    throw new TypeError(
      'SCRAM password must be a non-empty string of printable ASCII characters (SASLprep is not implemented)',
    );
  }
}

function checkIterations(iterations: number): void {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new TypeError(`SCRAM iteration count must be an integer from 1 to ${MAX_ITERATIONS}`);
  }
}
