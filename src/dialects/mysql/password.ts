/**
 * Password hashes made on the client, so the password itself is never in a
 * statement (and so never in a general log, binary log or
 * performance_schema digest): MySQL 8 gets a caching_sha2_password hash,
 * MariaDB a mysql_native_password hash.
 */
import { createHash, randomInt } from 'node:crypto';

/**
 * mysql_native_password: `*` + upper-case hex of SHA1(SHA1(password)), the
 * value MariaDB stores. Not enough to log in by itself, but it is together
 * with a captured unencrypted handshake: keep logs that hold it private.
 */
export function mysqlNativePasswordHash(password: string): string {
  const inner = createHash('sha1').update(password, 'utf8').digest();
  return `*${createHash('sha1').update(inner).digest('hex').toUpperCase()}`;
}

/** MySQL's caching_sha2_password: 5,000 rounds ("005" x 1000) of SHA-256 crypt. */
const CACHING_SHA2_ROUNDS = 5000;
const CACHING_SHA2_SALT_LENGTH = 20;
const SALT_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * `$A$005$<20-character salt><43-character SHA-256 crypt>`: the form MySQL 8
 * keeps in mysql.user.authentication_string and accepts in
 * `IDENTIFIED WITH caching_sha2_password AS '...'`. The salt is drawn from
 * letters and digits only, so the hash is a plain string literal.
 */
export function cachingSha2PasswordHash(password: string, salt = randomSalt()): string {
  if (salt.length !== CACHING_SHA2_SALT_LENGTH)
    throw new TypeError('caching_sha2_password salts have 20 characters');
  return `$A$005$${salt}${sha256CryptDigest(Buffer.from(password, 'utf8'), Buffer.from(salt, 'ascii'), CACHING_SHA2_ROUNDS)}`;
}

function randomSalt(): string {
  let salt = '';
  for (let i = 0; i < CACHING_SHA2_SALT_LENGTH; i++) salt += SALT_ALPHABET[randomInt(SALT_ALPHABET.length)];
  return salt;
}

const sha256 = (...parts: Buffer[]): Buffer => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** `count` bytes of `digest` repeated (the "P" and "S" sequences of the spec). */
function repeatTo(digest: Buffer, count: number): Buffer {
  const out = Buffer.alloc(count);
  for (let i = 0; i < count; i += digest.length) digest.copy(out, i, 0, Math.min(digest.length, count - i));
  return out;
}

/**
 * The 43-character digest of SHA-256 crypt (Ulrich Drepper's "Unix crypt
 * using SHA-256", the `$5$` scheme), without the salt-length cap of 16 that
 * `$5$` applies: MySQL uses 20-byte salts with the same algorithm.
 */
export function sha256CryptDigest(key: Buffer, salt: Buffer, rounds: number): string {
  const b = sha256(key, salt, key);
  const a = createHash('sha256').update(key).update(salt);
  a.update(repeatTo(b, key.length));
  for (let n = key.length; n > 0; n >>= 1) a.update(n & 1 ? b : key);
  let digest = a.digest();

  const dp = repeatTo(sha256(...Array<Buffer>(key.length).fill(key)), key.length);
  const ds = repeatTo(sha256(...Array<Buffer>(16 + (digest[0] ?? 0)).fill(salt)), salt.length);

  for (let i = 0; i < rounds; i++) {
    const c = createHash('sha256');
    c.update(i & 1 ? dp : digest);
    if (i % 3) c.update(ds);
    if (i % 7) c.update(dp);
    c.update(i & 1 ? digest : dp);
    digest = c.digest();
  }
  return cryptBase64(digest);
}

const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The byte shuffle and base-64 of SHA-256 crypt's output. */
function cryptBase64(d: Buffer): string {
  const at = (i: number) => d[i] ?? 0;
  let out = '';
  const put = (b2: number, b1: number, b0: number, chars: number) => {
    let w = (b2 << 16) | (b1 << 8) | b0;
    for (let i = 0; i < chars; i++) {
      out += CRYPT_ALPHABET[w & 0x3f];
      w >>= 6;
    }
  };
  const triples = [
    [0, 10, 20],
    [21, 1, 11],
    [12, 22, 2],
    [3, 13, 23],
    [24, 4, 14],
    [15, 25, 5],
    [6, 16, 26],
    [27, 7, 17],
    [18, 28, 8],
    [9, 19, 29],
  ] as const;
  for (const [x, y, z] of triples) put(at(x), at(y), at(z), 4);
  put(0, at(31), at(30), 3);
  return out;
}
