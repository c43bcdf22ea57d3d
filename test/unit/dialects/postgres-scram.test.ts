/**
 * SCRAM-SHA-256 verifiers, checked against RFC 7677 section 3's exchange:
 * the keys in our verifier must reproduce the RFC's ClientProof and
 * ServerSignature, which were computed by someone else.
 */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SCRAM_ITERATIONS,
  scramSha256Keys,
  scramSha256Verifier,
  scramVerifierMatches,
} from '../../../src/dialects/postgres/scram.js';

const RFC = {
  password: 'pencil',
  salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
  iterations: 4096,
  clientFirstBare: 'n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinalWithoutProof: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  clientProof: 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverSignature: '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};
const AUTH_MESSAGE = `${RFC.clientFirstBare},${RFC.serverFirst},${RFC.clientFinalWithoutProof}`;

const hmac = (key: Buffer, data: string) => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();
const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((byte, i) => byte ^ (b[i] ?? 0)));

function parseVerifier(verifier: string) {
  const match = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier);
  expect(match).not.toBeNull();
  const [, iterations = '', salt = '', storedKey = '', serverKey = ''] = match ?? [];
  return {
    iterations: Number(iterations),
    salt: Buffer.from(salt, 'base64'),
    storedKey: Buffer.from(storedKey, 'base64'),
    serverKey: Buffer.from(serverKey, 'base64'),
  };
}

describe('scramSha256Verifier against RFC 7677', () => {
  const verifier = scramSha256Verifier(RFC.password, { salt: RFC.salt, iterations: RFC.iterations });
  const { iterations, salt, storedKey, serverKey } = parseVerifier(verifier);

  it('has PostgreSQL’s layout with the given salt and iteration count', () => {
    expect(verifier.startsWith('SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$')).toBe(true);
    expect(iterations).toBe(4096);
    expect(salt.equals(RFC.salt)).toBe(true);
    expect(storedKey).toHaveLength(32);
    expect(serverKey).toHaveLength(32);
  });

  it('has a StoredKey that verifies the RFC’s ClientProof', () => {
    const clientSignature = hmac(storedKey, AUTH_MESSAGE);
    const clientKey = xor(Buffer.from(RFC.clientProof, 'base64'), clientSignature);
    expect(sha256(clientKey).toString('base64')).toBe(storedKey.toString('base64'));
  });

  it('has a ServerKey that produces the RFC’s ServerSignature', () => {
    expect(hmac(serverKey, AUTH_MESSAGE).toString('base64')).toBe(RFC.serverSignature);
  });

  it('fails the RFC check for another password', () => {
    const other = parseVerifier(scramSha256Verifier('pencil2', { salt: RFC.salt, iterations: 4096 }));
    expect(hmac(other.serverKey, AUTH_MESSAGE).toString('base64')).not.toBe(RFC.serverSignature);
  });

  it('agrees with scramSha256Keys', () => {
    const keys = scramSha256Keys(RFC.password, RFC.salt, RFC.iterations);
    expect(keys.storedKey.equals(storedKey)).toBe(true);
    expect(keys.serverKey.equals(serverKey)).toBe(true);
  });
});

describe('scramSha256Verifier defaults', () => {
  it('uses 4096 iterations and a fresh 16-byte salt each time', () => {
    const a = parseVerifier(scramSha256Verifier('secret'));
    const b = parseVerifier(scramSha256Verifier('secret'));
    expect(DEFAULT_SCRAM_ITERATIONS).toBe(4096);
    expect(a.iterations).toBe(4096);
    expect(a.salt).toHaveLength(16);
    expect(a.salt.equals(b.salt)).toBe(false);
    expect(a.storedKey.equals(b.storedKey)).toBe(false);
  });

  it('honours a custom iteration count', () => {
    const verifier = scramSha256Verifier('secret', { iterations: 10 });
    expect(parseVerifier(verifier).iterations).toBe(10);
    expect(scramVerifierMatches('secret', verifier)).toBe(true);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects %s iterations', (iterations) => {
    expect(() => scramSha256Verifier('secret', { iterations })).toThrow(TypeError);
  });

  it('rejects an empty salt', () => {
    expect(() => scramSha256Verifier('secret', { salt: Buffer.alloc(0) })).toThrow(TypeError);
  });
});

describe('scramVerifierMatches', () => {
  const verifier = scramSha256Verifier('correct horse', { iterations: 64 });

  it('accepts the password the verifier was made from', () => {
    expect(scramVerifierMatches('correct horse', verifier)).toBe(true);
  });

  it('rejects any other password', () => {
    expect(scramVerifierMatches('correct horsE', verifier)).toBe(false);
    expect(scramVerifierMatches('correct horse ', verifier)).toBe(false);
  });

  it('rejects the RFC verifier with a tampered ServerKey', () => {
    const rfc = scramSha256Verifier(RFC.password, { salt: RFC.salt });
    const parts = parseVerifier(rfc);
    const flipped = Buffer.from(parts.serverKey);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    const tampered = `SCRAM-SHA-256$4096:${RFC.salt.toString('base64')}$${parts.storedKey.toString('base64')}:${flipped.toString('base64')}`;
    expect(scramVerifierMatches(RFC.password, rfc)).toBe(true);
    expect(scramVerifierMatches(RFC.password, tampered)).toBe(false);
  });

  it.each([
    ['an md5 hash', 'md5c5f8a8b8d2c9e0b1a2f3e4d5c6b7a8f9'],
    ['an empty string', ''],
    ['a truncated verifier', 'SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ=='],
    ['zero iterations', 'SCRAM-SHA-256$0:W22ZaJ0SNY7soEsUEjb6gQ==$AAAA:AAAA'],
    ['keys of the wrong length', 'SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$AAAA:AAAA'],
  ])('is false for %s', (_label, stored) => {
    expect(scramVerifierMatches('pencil', stored)).toBe(false);
  });
});

describe('passwords SASLprep would change', () => {
  it.each([
    ['non-ASCII', 'pässwörd-geheim'],
    ['a control character', 'geheim\u0007word'],
    ['a non-ASCII space', 'geheim\u00a0word'],
    ['an empty password', ''],
  ])('rejects %s without echoing it', (_label, password) => {
    let error: unknown;
    try {
      scramSha256Verifier(password);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TypeError);
    const message = (error as TypeError).message;
    expect(message).toMatch(/printable ASCII/);
    if (password !== '') expect(message).not.toContain('geheim');
    expect(() => scramVerifierMatches(password, scramSha256Verifier('x'))).toThrow(TypeError);
  });

  it('accepts every printable ASCII character', () => {
    const all = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
    expect(scramVerifierMatches(all, scramSha256Verifier(all, { iterations: 2 }))).toBe(true);
  });
});
