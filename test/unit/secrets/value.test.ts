/** The stored value format: round trips, place binding, classification, refusals. */
import { buildClient, CommitmentPolicy } from '@aws-crypto/client-node';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import { parseHeader } from '../../../src/secrets/message.js';
import { contextOf } from '../../../src/secrets/place.js';
import { keyringFor } from '../../../src/secrets/sdk.js';
import {
  classify,
  decryptValue,
  encryptValue,
  storedLength,
  VALUE_PREFIX,
} from '../../../src/secrets/value.js';
import { ENGINES, keyrings, newKey, place, valueError } from './helpers.js';

const k1 = newKey('k1');
const k2 = newKey('k2');
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

const PLAINTEXTS = ['', 'AKIAIOSFODNN7EXAMPLE', SECRET, 'ünïcødé ✓ 🔑', 'x'.repeat(4095), 'y'.repeat(5000)];

describe('encryptValue / decryptValue', () => {
  for (const writer of ENGINES) {
    for (const reader of ENGINES) {
      it(`round-trips every plaintext, written by ${writer}, read by ${reader}`, async () => {
        for (const [i, plaintext] of PLAINTEXTS.entries()) {
          const { stored, keyId } = await encryptValue(keyrings(k1, [], writer), plaintext, place(i));
          expect(keyId).toBe('k1');
          expect(stored.startsWith(VALUE_PREFIX)).toBe(true);
          const opened = await decryptValue(keyrings(k1, [], reader), stored, place(i));
          expect(opened).toEqual({ plaintext, keyId: 'k1' });
        }
      });
    }
  }

  it('encrypts the same plaintext to a different value every time', async () => {
    const a = await encryptValue(keyrings(k1), SECRET, place(1));
    const b = await encryptValue(keyrings(k1), SECRET, place(1));
    expect(a.stored).not.toBe(b.stored);
  });

  it('encrypts under the current key only and decrypts under previous keys', async () => {
    const old = await encryptValue(keyrings(k1), SECRET, place(1));
    const rotated = keyrings(k2, [k1]);
    expect(await decryptValue(rotated, old.stored, place(1))).toEqual({ plaintext: SECRET, keyId: 'k1' });
    const fresh = await encryptValue(rotated, SECRET, place(1));
    expect(fresh.keyId).toBe('k2');
    expect(classify(fresh.stored)).toMatchObject({ kind: 'ciphertext', keyId: 'k2' });
  });

  for (const engine of ENGINES) {
    it(`refuses a ciphertext copied to another row, column or table, naming both places (${engine})`, async () => {
      const ring = keyrings(k1, [], engine);
      const { stored } = await encryptValue(ring, SECRET, place(1));
      for (const found of [place(2), place(1, 'access_key'), place(1, 'secret_key', 'ec2_credentials')]) {
        const error = await valueError(() => decryptValue(ring, stored, found));
        expect(error.problem).toBe('wrong-place');
        expect(error.place).toEqual(found);
        expect(error.claimedPlace).toEqual(place(1));
        expect(error.exitCode).toBe(ExitCode.runtimeFailure);
        expect(error.message).toContain('users.secret_key, primary key 1');
        expect(error.message).toContain(`${found.table}.${found.column}, primary key ${found.primaryKey}`);
        expect(error.message).not.toContain(SECRET);
      }
    });

    it(`refuses a key id that is not configured, exit 2 (${engine})`, async () => {
      const { stored } = await encryptValue(keyrings(k2), SECRET, place(1));
      const error = await valueError(() => decryptValue(keyrings(k1, [], engine), stored, place(1)));
      expect(error.problem).toBe('unknown-key');
      expect(error.keyId).toBe('k2');
      expect(error.exitCode).toBe(ExitCode.invalidInput);
      expect(error.message).toContain('"k2"');
    });

    it(`says clearly when the configured key of that id is other key material, exit 2 (${engine})`, async () => {
      const { stored } = await encryptValue(keyrings(k1), SECRET, place(1));
      const impostor = newKey('k1');
      const error = await valueError(() => decryptValue(keyrings(impostor, [], engine), stored, place(1)));
      expect(error.problem).toBe('wrong-key');
      expect(error.exitCode).toBe(ExitCode.invalidInput);
      expect(error.message).toMatch(/configured key "k1" does not open it/);
      expect(error.message).not.toContain(SECRET);
    });

    it(`refuses a tampered body (${engine})`, async () => {
      const { stored } = await encryptValue(keyrings(k1), SECRET, place(1));
      const message = Buffer.from(stored.slice(VALUE_PREFIX.length), 'base64');
      const at = message.length - 20; // inside the encrypted content
      message.writeUInt8(message.readUInt8(at) ^ 0x01, at);
      const tampered = VALUE_PREFIX + message.toString('base64');
      const error = await valueError(() => decryptValue(keyrings(k1, [], engine), tampered, place(1)));
      expect(error.problem).toBe('undecryptable');
    });
  }

  it('refuses a message in the signed committing suite, before and after decryption', async () => {
    // What another tool with the SDK's default suite would write under our namespace and key name.
    const client = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
    const { result } = await client.encrypt(keyringFor(k1), Buffer.from(SECRET), {
      encryptionContext: contextOf(place(1)),
      suiteId: 0x0578,
    });
    const stored = VALUE_PREFIX + result.toString('base64');
    expect(classify(stored)).toMatchObject({ kind: 'malformed', reason: expect.stringContaining('0x0578') });
    for (const engine of ENGINES) {
      const error = await valueError(() => decryptValue(keyrings(k1, [], engine), stored, place(1)));
      expect(error.problem).toBe('wrong-suite');
      // The check on what the SDK authenticated, reached directly: it decrypts 0x0578 happily.
      const opened = await keyrings(k1, [], engine).open(result, parseHeader(result), k1);
      expect(opened).toBe('wrong-suite');
    }
  });

  it('refuses to encrypt a ciphertext again, or a plaintext that would read as one', async () => {
    const { stored } = await encryptValue(keyrings(k1), SECRET, place(1));
    expect((await valueError(() => encryptValue(keyrings(k1), stored, place(1)))).problem).toBe(
      'already-encrypted',
    );
    const reserved = await valueError(() => encryptValue(keyrings(k1), 'dbwarden:my-secret', place(1)));
    expect(reserved.problem).toBe('reserved-prefix');
    expect(reserved.message).not.toContain('my-secret');
    const lone = await valueError(() => encryptValue(keyrings(k1), 'a\uD800b', place(1)));
    expect(lone.problem).toBe('invalid-plaintext');
  });

  it('refuses plaintext where a ciphertext is expected', async () => {
    const error = await valueError(() => decryptValue(keyrings(k1), SECRET, place(1)));
    expect(error.problem).toBe('not-encrypted');
    expect(error.message).not.toContain(SECRET);
  });

  it('predicts the stored length exactly (raw AES keys)', async () => {
    for (const plaintext of ['', 'a', SECRET, 'é'.repeat(100), 'z'.repeat(4095)]) {
      for (const pk of ['1', '123456789012345678', '["7","eu-west"]']) {
        const at = place(pk);
        const { stored } = await encryptValue(keyrings(k1), plaintext, at);
        const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
        expect(stored.length).toBe(
          storedLength({
            plaintext: bytes(plaintext),
            table: bytes(at.table),
            column: bytes(at.column),
            primaryKey: bytes(at.primaryKey),
            keyId: bytes('k1'),
          }),
        );
      }
    }
  });
});

describe('classify', () => {
  it('tells plaintext, ciphertext and malformed values apart without a key', async () => {
    const { stored } = await encryptValue(keyrings(k1), SECRET, place(7));
    expect(classify(stored)).toEqual({
      kind: 'ciphertext',
      keyId: 'k1',
      provider: 'raw-aes',
      place: place(7),
    });
    for (const plaintext of ['', SECRET, 'AKIAIOSFODNN7EXAMPLE', '0123abcd', 'dbwarden', 'DBWARDEN:1:x']) {
      expect(classify(plaintext)).toEqual({ kind: 'plaintext' });
    }
  });

  it('names the key of a ciphertext under a key no one configured', async () => {
    const { stored } = await encryptValue(keyrings(newKey('k9-retired')), SECRET, place(1));
    expect(classify(stored)).toMatchObject({ kind: 'ciphertext', keyId: 'k9-retired' });
  });

  it('gives a reason for each kind of malformed value', async () => {
    const { stored } = await encryptValue(keyrings(k1), SECRET, place(1));
    const message = Buffer.from(stored.slice(VALUE_PREFIX.length), 'base64');
    const v1 = Buffer.from(message);
    v1[0] = 0x01;
    const cases: [string, RegExp][] = [
      ['dbwarden:2:AAAA', /not "dbwarden:1:"/],
      ['dbwarden:', /not "dbwarden:1:"/],
      [`${VALUE_PREFIX}not base64!`, /not base64/],
      [`${VALUE_PREFIX}${stored.slice(VALUE_PREFIX.length)}\n`, /not base64/],
      [VALUE_PREFIX, /truncated in the version/],
      [VALUE_PREFIX + message.subarray(0, 60).toString('base64'), /truncated/],
      [VALUE_PREFIX + v1.toString('base64'), /version 1/],
      [VALUE_PREFIX + Buffer.from('hello world!').toString('base64'), /not an Encryption SDK message/],
    ];
    for (const [value, reason] of cases) {
      const found = classify(value);
      expect(found.kind, value).toBe('malformed');
      expect(found.kind === 'malformed' && found.reason).toMatch(reason);
    }
  });
});
