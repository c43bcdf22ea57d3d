/**
 * The native codec against the AWS Encryption SDK, both directions: the SDK
 * reads what sealFramed() writes, openFramed() reads what the SDK writes
 * (without falling back), and parseHeader() agrees with the SDK's header.
 */
import { randomBytes } from 'node:crypto';
import { buildClient, CommitmentPolicy } from '@aws-crypto/client-node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KEY_NAMESPACE, SUITE_ID } from '../../../src/secrets/keyring.js';
import {
  FRAME_LENGTH,
  MessageFormatError,
  openFramed,
  parseHeader,
  parseRawAesProviderInfo,
  sealFramed,
} from '../../../src/secrets/message.js';
import { contextOf, type Place } from '../../../src/secrets/place.js';
import { keyringFor } from '../../../src/secrets/sdk.js';
import { newKey } from './helpers.js';

const client = buildClient({
  commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT,
  maxEncryptedDataKeys: 1,
});
const key = newKey('k-interop');
const wrapping = { namespace: KEY_NAMESPACE, name: key.id, key: key.key.reveal() };
const keyring = keyringFor(key);

const places = fc.record({
  table: fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' }),
  column: fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' }),
  primaryKey: fc.string({ maxLength: 40, unit: 'grapheme' }),
});
const plaintexts = fc.uint8Array({ maxLength: FRAME_LENGTH - 1 }).map((a) => Buffer.from(a));

function sortedPairs(p: Place): [string, string][] {
  return Object.entries(contextOf(p)).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

describe('native codec and the AWS Encryption SDK', () => {
  it('the SDK decrypts what sealFramed writes, and sees the same header', async () => {
    await fc.assert(
      fc.asyncProperty(places, plaintexts, async (p, plaintext) => {
        const message = sealFramed(wrapping, plaintext, sortedPairs(p));
        const { plaintext: opened, messageHeader } = await client.decrypt(keyring, message);
        expect(opened.equals(plaintext)).toBe(true);
        const ours = parseHeader(message);
        expect(messageHeader.suiteId).toBe(SUITE_ID);
        expect({ ...messageHeader.encryptionContext }).toEqual({ ...ours.context });
        expect(ours.context).toEqual(contextOf(p));
        expect(messageHeader.frameLength).toBe(ours.frameLength);
        expect(Buffer.from(messageHeader.messageId).equals(ours.messageId)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('openFramed decrypts what the SDK writes natively, without falling back', async () => {
    await fc.assert(
      fc.asyncProperty(places, plaintexts, async (p, plaintext) => {
        const { result } = await client.encrypt(keyring, plaintext, {
          encryptionContext: contextOf(p),
          suiteId: SUITE_ID,
        });
        const header = parseHeader(result);
        const [edk] = header.dataKeys;
        expect(edk?.providerId).toBe(KEY_NAMESPACE);
        expect(parseRawAesProviderInfo(edk?.providerInfo ?? Buffer.alloc(0))?.keyName).toBe(key.id);
        const opened = openFramed(result, header, key.key.reveal());
        expect(Buffer.isBuffer(opened) && opened.equals(plaintext)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('parseHeader throws only MessageFormatError on truncated or random input', () => {
    const message = sealFramed(
      wrapping,
      randomBytes(40),
      sortedPairs({ table: 't', column: 'c', primaryKey: '1' }),
    );
    const headerEnd = parseHeader(message).headerLength + 16;
    for (let length = 0; length < headerEnd; length++) {
      expect(() => parseHeader(message.subarray(0, length))).toThrow(MessageFormatError);
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        try {
          parseHeader(Buffer.from(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(MessageFormatError);
        }
      }),
    );
  });

  it('openFramed never returns a plaintext for a message with any single bit flipped', () => {
    const plaintext = randomBytes(40);
    const message = sealFramed(
      wrapping,
      plaintext,
      sortedPairs({ table: 'users', column: 'secret_key', primaryKey: '9' }),
    );
    for (let byte = 0; byte < message.length; byte++) {
      const flipped = Buffer.from(message);
      flipped.writeUInt8(flipped.readUInt8(byte) ^ (1 << (byte % 8)), byte);
      let outcome: unknown;
      try {
        outcome = openFramed(flipped, parseHeader(flipped), key.key.reveal());
      } catch (error) {
        outcome = error;
      }
      expect(Buffer.isBuffer(outcome), `byte ${byte}`).toBe(false);
    }
  });

  it('openFramed reports a wrong wrapping key as such', () => {
    const message = sealFramed(
      wrapping,
      randomBytes(10),
      sortedPairs({ table: 't', column: 'c', primaryKey: '1' }),
    );
    expect(openFramed(message, parseHeader(message), randomBytes(32))).toEqual({ failure: 'wrong-key' });
  });
});
