/** Passwords that dbwarden generates for component logins. */
import { randomBytes } from 'node:crypto';

/** Bytes of entropy in a generated password (256 bits). */
export const PASSWORD_BYTES = 32;

/**
 * A new random password: 32 bytes from the CSPRNG as base64url without
 * padding, so 43 characters from `A-Z a-z 0-9 - _`. Printable ASCII (so
 * SASLprep leaves it unchanged) and URL-safe (so it needs no escaping).
 */
export function generatePassword(): string {
  return randomBytes(PASSWORD_BYTES).toString('base64url');
}

/**
 * Whether `value` has the form generatePassword() gives: the canonical
 * base64url encoding (no padding) of exactly PASSWORD_BYTES bytes. A stored
 * password of any other form was not written by dbwarden.
 */
export function isGeneratedPassword(value: unknown): boolean {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(value)) return false;
  const bytes = Buffer.from(value, 'base64url');
  return bytes.length === PASSWORD_BYTES && bytes.toString('base64url') === value;
}

/** How a generated password looks, for messages. */
export const GENERATED_PASSWORD_FORM = `${PASSWORD_BYTES} random bytes as base64url, 43 characters of A-Z a-z 0-9 - _`;
