/**
 * Master key loading: what is accepted, and that every refusal is invalid
 * input (exit 2) naming the key id, the source and what was found, never the key.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { KmsKeyringNode } from '@aws-crypto/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, InvalidInputError } from '../../../src/errors.js';
import type { MasterKeyRef } from '../../../src/policy/model.js';
import {
  kmsMasterKey,
  loadMasterKeys,
  masterKeySet,
  parseKeyFile,
  parseKeyText,
  rawMasterKey,
} from '../../../src/secrets/keys.js';
import { keyringFor } from '../../../src/secrets/sdk.js';

const FILE_REF: MasterKeyRef = { id: 'k2', source: { from: 'file', path: '/run/secrets/master-key-k2' } };
const ENV_REF: MasterKeyRef = { id: 'k3', source: { from: 'env', variable: 'DBWARDEN_KEY_K3' } };
const ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** A random key plus every form it could leak in. */
function secretKey(): { bytes: Buffer; forms: string[] } {
  const bytes = randomBytes(32);
  const b64 = bytes.toString('base64');
  return {
    bytes,
    forms: [bytes.toString('hex'), b64, b64.slice(0, 16), b64.slice(-16), bytes.toString('latin1')],
  };
}

function refusal(fn: () => unknown): InvalidInputError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).exitCode).toBe(ExitCode.invalidInput);
    return error as InvalidInputError;
  }
  throw new Error('expected an InvalidInputError');
}

async function asyncRefusal(fn: () => Promise<unknown>): Promise<InvalidInputError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return error as InvalidInputError;
  }
  throw new Error('expected an InvalidInputError');
}

function expectNoKey(error: Error, forms: readonly string[]): void {
  const text = `${error.message}\n${(error as InvalidInputError).hint ?? ''}\n${inspect(error)}`;
  for (const form of forms) expect(text).not.toContain(form);
}

describe('key files', () => {
  it('accepts 32 raw bytes, and base64 of 32 bytes with or without padding and surrounding whitespace', () => {
    const { bytes } = secretKey();
    const b64 = bytes.toString('base64');
    const inputs = [bytes, `${b64}\n`, `  ${b64}\r\n`, b64.replace(/=+$/, ''), `${b64}\n\n`];
    for (const input of inputs) {
      expect(parseKeyFile(Buffer.from(input), FILE_REF).reveal().equals(bytes)).toBe(true);
    }
  });

  it('refuses anything else naming the key id, the file and what was found, never the bytes', () => {
    const { bytes, forms } = secretKey();
    const b64 = bytes.toString('base64');
    const cases: [Buffer, RegExp][] = [
      [bytes.subarray(0, 17), /17 bytes, neither 32 raw bytes nor base64 of 32 bytes/],
      [Buffer.concat([bytes, Buffer.from('\n')]), /33 bytes, neither/],
      [Buffer.from(bytes.subarray(0, 31).toString('base64')), /base64 of 31 bytes, not 32/],
      [Buffer.from(`${b64}${b64}`), /base64 of 64 bytes, not 32|neither/],
      [Buffer.from(`${b64.slice(0, 20)} ${b64.slice(20)}`), /neither 32 raw bytes nor base64/],
      [Buffer.alloc(0), /: empty$/],
      [Buffer.from('\n\n  \n'), /of whitespace/],
      [Buffer.alloc(32), /copies of one byte/],
      [Buffer.from('correct horse battery staple 123'), /printable text/],
    ];
    for (const [content, found] of cases) {
      const error = refusal(() => parseKeyFile(content, FILE_REF));
      expect(error.message).toMatch(/^master key "k2" \(file \/run\/secrets\/master-key-k2\): /);
      expect(error.message).toMatch(found);
      expectNoKey(error, forms);
    }
  });
});

describe('key environment variables', () => {
  it('accepts base64 of 32 bytes', () => {
    const { bytes } = secretKey();
    expect(
      parseKeyText(`${bytes.toString('base64')}\n`, ENV_REF)
        .reveal()
        .equals(bytes),
    ).toBe(true);
  });

  it('refuses unset, empty, raw and wrong-length values naming the variable, never the bytes', () => {
    const { bytes, forms } = secretKey();
    const cases: [string | undefined, RegExp][] = [
      [undefined, /: not set$/],
      ['', /: empty$/],
      ['   ', /: empty$/],
      [bytes.toString('hex'), /64 hex digits; hex is not accepted/],
      [bytes.subarray(0, 24).toString('hex'), /base64 of 36 bytes, not 32/],
      [bytes.subarray(0, 16).toString('base64'), /base64 of 16 bytes, not 32/],
      [`${bytes.toString('base64')}!`, /neither 32 raw bytes nor base64/],
    ];
    for (const [value, found] of cases) {
      const error = refusal(() => parseKeyText(value, ENV_REF));
      expect(error.message).toMatch(/^master key "k3" \(environment variable DBWARDEN_KEY_K3\): /);
      expect(error.message).toMatch(found);
      expectNoKey(error, forms);
    }
  });
});

describe('loadMasterKeys', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dbwarden-keys-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the current key from a file and previous keys from files and the environment', async () => {
    const k2 = secretKey();
    const k1 = secretKey();
    const file = path.join(dir, 'k2');
    await writeFile(file, `${k2.bytes.toString('base64')}\n`, { mode: 0o600 });
    const keys = await loadMasterKeys(
      { current: { id: 'k2', source: { from: 'file', path: file } }, previous: [{ ...ENV_REF, id: 'k1' }] },
      { DBWARDEN_KEY_K3: k1.bytes.toString('base64') },
    );
    expect(keys.current).toMatchObject({ id: 'k2', kind: 'raw' });
    expect(keys.current.kind === 'raw' && keys.current.key.reveal().equals(k2.bytes)).toBe(true);
    expect(keys.previous.map((k) => k.id)).toEqual(['k1']);
  });

  it('names a missing file, a directory and a malformed file', async () => {
    const malformed = path.join(dir, 'short');
    await writeFile(malformed, randomBytes(17));
    const cases: [string, RegExp][] = [
      [path.join(dir, 'missing'), /: file not found$/],
      [dir, /: a directory, not a file$/],
      [malformed, /: 17 bytes, neither/],
    ];
    for (const [file, found] of cases) {
      const error = await asyncRefusal(() =>
        loadMasterKeys({ current: { id: 'k7', source: { from: 'file', path: file } }, previous: [] }),
      );
      expect(error.message).toContain(`master key "k7" (file ${file})`);
      expect(error.message).toMatch(found);
    }
  });

  it('refuses a key id used twice, and one key under two ids', async () => {
    const { bytes, forms } = secretKey();
    const env = { A: bytes.toString('base64'), B: randomBytes(32).toString('base64') };
    const twice = await asyncRefusal(() =>
      loadMasterKeys(
        {
          current: { id: 'k1', source: { from: 'env', variable: 'A' } },
          previous: [{ id: 'k1', source: { from: 'env', variable: 'B' } }],
        },
        env,
      ),
    );
    expect(twice.message).toBe('master key id "k1" is configured twice');
    const same = await asyncRefusal(() =>
      loadMasterKeys(
        {
          current: { id: 'k2', source: { from: 'env', variable: 'A' } },
          previous: [{ id: 'k1', source: { from: 'env', variable: 'A' } }],
        },
        env,
      ),
    );
    expect(same.message).toBe('master keys "k2" and "k1" hold the same key');
    expectNoKey(same, forms);
  });
});

describe('key material in memory', () => {
  it('never prints itself: inspect, JSON and string forms are redacted', () => {
    const { bytes, forms } = secretKey();
    const key = rawMasterKey('k1', bytes);
    const printed = [
      inspect(key),
      JSON.stringify(key),
      String(key.key),
      inspect(masterKeySet(key), { depth: 10 }),
    ];
    for (const text of printed) {
      expect(text).toContain('redacted');
      for (const form of forms) expect(text).not.toContain(form);
    }
  });

  it('keeps its own copy of the bytes', () => {
    const { bytes } = secretKey();
    const copy = Buffer.from(bytes);
    const key = rawMasterKey('k1', bytes);
    bytes.fill(0);
    expect(key.key.reveal().equals(copy)).toBe(true);
  });
});

describe('KMS keys', () => {
  it('builds a KMS keyring with the ARN (constructed only: no AWS here, never called)', () => {
    const keyring = keyringFor(kmsMasterKey('kms1', ARN));
    expect(keyring).toBeInstanceOf(KmsKeyringNode);
    expect((keyring as KmsKeyringNode).generatorKeyId).toBe(ARN);
  });

  it('refuses what is not a KMS key ARN, aliases included', () => {
    for (const arn of ['alias/dbwarden', 'arn:aws:kms:eu-west-1:123456789012:alias/dbwarden', 'k1']) {
      expect(refusal(() => kmsMasterKey('kms1', arn)).message).toMatch(
        /^master key "kms1" \(kms\): ".*" is not a KMS key ARN$/,
      );
    }
  });
});
