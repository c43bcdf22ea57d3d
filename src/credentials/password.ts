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
