import { describe, expect, it } from 'vitest';
import { generatePassword, isGeneratedPassword } from '../../../src/credentials/password.js';

describe('generatePassword', () => {
  it('is 43 base64url characters without padding that decode to 32 bytes', () => {
    const password = generatePassword();
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const bytes = Buffer.from(password, 'base64url');
    expect(bytes).toHaveLength(32);
    expect(bytes.toString('base64url')).toBe(password);
  });

  it('needs no escaping in a URL', () => {
    for (let i = 0; i < 200; i++) {
      const password = generatePassword();
      expect(encodeURIComponent(password)).toBe(password);
    }
  });

  it('never repeats and uses the whole alphabet', () => {
    const passwords = Array.from({ length: 1000 }, generatePassword);
    expect(new Set(passwords).size).toBe(1000);
    // 43,000 characters from a 64-character alphabet: a working generator uses
    // every one (a hex or truncated encoding would not).
    expect(new Set(passwords.join('')).size).toBe(64);
  });
});

describe('isGeneratedPassword', () => {
  it('accepts every password generatePassword makes', () => {
    for (let i = 0; i < 200; i++) expect(isGeneratedPassword(generatePassword())).toBe(true);
  });

  it.each([
    ['a one-character password', 'a'],
    ['a chosen phrase', 'attacker-chosen-pw'],
    ['the empty string', ''],
    ['44 characters', `${'A'.repeat(43)}A`],
    ['42 characters', 'A'.repeat(42)],
    ['padding', `${'A'.repeat(42)}=`],
    ['standard base64 characters', `${'A'.repeat(42)}+`],
    ['43 characters that are not the canonical encoding of 32 bytes', `${'A'.repeat(42)}B`],
    ['a space inside', `${'A'.repeat(20)} ${'A'.repeat(22)}`],
  ])('refuses %s', (_label, value) => {
    expect(isGeneratedPassword(value)).toBe(false);
  });

  it('refuses what is not a string', () => {
    for (const value of [undefined, null, 43, ['x'], { password: generatePassword() }]) {
      expect(isGeneratedPassword(value)).toBe(false);
    }
  });
});
