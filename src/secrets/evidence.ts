/**
 * Pure: what the values themselves say about the key they are under, as
 * the server reads it from each message header (SecretsDialect.keyEvidence),
 * without decrypting. The key-id column only chooses rows quickly; this is
 * what status counts and what rotation checks the column against
 * (docs/encryption.md, "Evidence, not the key-id column").
 */
import type { MasterKey, MasterKeySet } from './keys.js';
import { classify } from './value.js';

/** A value as its header shows it. */
export type ValueEvidence =
  | { readonly kind: 'plaintext' }
  | { readonly kind: 'unreadable' }
  /** keyId: the configured key's id, or the key name (raw AES) or ARN (KMS) when none is configured. */
  | { readonly kind: 'key'; readonly keyId: string };

const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex');

/** The evidence text of a value under `key` (what keyEvidence returns for it). */
export function evidenceOf(key: MasterKey): string {
  return key.kind === 'raw' ? `r:${hex(key.id)}` : `a:${hex(key.arn)}`;
}

/** The bytes a message's data key section starts with under a key (keyPattern), and its evidence text. */
export interface KeyPattern {
  /** keyEvidence's text for the key (what status groups by). */
  readonly evidence: string;
  readonly bytes: Buffer;
}

/**
 * One data key (count 1), then its provider id and provider info: raw AES,
 * `dbwarden` and the key name followed by the tag length (128 bits) and IV
 * length (12); KMS, `aws-kms` and the key ARN (docs/encryption.md).
 */
export function keyPattern(key: MasterKey): KeyPattern {
  if (key.kind === 'raw') return rawKeyPattern(key.id);
  const arn = Buffer.from(key.arn, 'utf8');
  const bytes = Buffer.concat([u16(1), u16(7), Buffer.from('aws-kms', 'utf8'), u16(arn.length), arn]);
  return { evidence: evidenceOf(key), bytes };
}

/** A raw AES key's pattern from its id alone (its bytes are not needed: a header names, never holds, the key). */
export function rawKeyPattern(id: string): KeyPattern {
  const name = Buffer.from(id, 'utf8');
  const bytes = Buffer.concat([
    u16(1),
    u16(8),
    Buffer.from('dbwarden', 'utf8'),
    u16(name.length + 20),
    name,
    Buffer.from('000000800000000c', 'hex'),
  ]);
  return { evidence: `r:${name.toString('hex')}`, bytes };
}

/**
 * Where a value of one table and column under one key shows its key in the
 * stored text, without decoding anything (SecretsDialect.valueUnder). The
 * header is version, suite, a 32-byte message id, the context's length (2
 * bytes) and the context, whose length is 27 + the UTF-8 bytes of column,
 * primary key text and table; so the data key section starts at byte
 * `offset` + the primary key's bytes, and the stored text holds it from
 * character 12 + floor(at / 3) * 4 (after `dbwarden:1:`), where the base64
 * of the context's last at % 3 bytes (the table name's end: known) and the
 * pattern is. Only whole groups of three known bytes are compared.
 */
export interface HeaderWindow {
  /** What every stored message's text starts with (MESSAGE_START). */
  readonly start: string;
  readonly offset: number;
  /** Expected base64 for at % 3 = 0, 1, 2. */
  readonly expected: readonly [string, string, string];
}

export function headerWindow(table: string, column: string, pattern: KeyPattern): HeaderWindow {
  const tableBytes = Buffer.from(table, 'utf8');
  const columnBytes = Buffer.from(column, 'utf8');
  // The context ends with the pair ("table", table): keys sort as column, pk, table.
  const tail = Buffer.concat([u16(5), Buffer.from('table', 'utf8'), u16(tableBytes.length), tableBytes]);
  const expected = [0, 1, 2].map((r) => {
    const known = Buffer.concat([tail.subarray(tail.length - r), pattern.bytes]);
    return known.subarray(0, Math.floor(known.length / 3) * 3).toString('base64');
  }) as [string, string, string];
  return { start: MESSAGE_START, offset: 37 + 27 + columnBytes.length + tableBytes.length, expected };
}

/** The stored text every dbwarden message starts with: prefix, then the base64 of version 2 and suite 0x0478. */
export const MESSAGE_START = 'dbwarden:1:AgR4';

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);

/** The server's evidence text read back; null for NULL. */
export function readEvidence(text: unknown, keys: MasterKeySet | undefined): ValueEvidence | null {
  if (text === null || text === undefined) return null;
  const value = String(text);
  if (value === 'p') return { kind: 'plaintext' };
  const match = /^([ra]):((?:[0-9a-f]{2})+)$/.exec(value);
  if (match === null) return { kind: 'unreadable' };
  const name = Buffer.from(match[2] as string, 'hex').toString('utf8');
  const configured = keys === undefined ? [] : [keys.current, ...keys.previous];
  const key =
    match[1] === 'r'
      ? configured.find((k) => k.kind === 'raw' && k.id === name)
      : configured.find((k) => k.kind === 'kms' && k.arn === name);
  return { kind: 'key', keyId: key?.id ?? name };
}

/** What a row's values say together: the one key all are under, plaintext, or a mix. */
export type RowEvidence =
  | { readonly kind: 'empty' }
  | { readonly kind: 'plaintext' }
  | { readonly kind: 'key'; readonly keyId: string }
  | { readonly kind: 'mixed'; readonly keyIds: readonly string[]; readonly plaintext: boolean }
  | { readonly kind: 'unreadable'; readonly keyIds: readonly string[] };

export function rowEvidence(values: readonly (ValueEvidence | null)[]): RowEvidence {
  const present = values.filter((v): v is ValueEvidence => v !== null);
  if (present.length === 0) return { kind: 'empty' };
  const keyIds = [...new Set(present.flatMap((v) => (v.kind === 'key' ? [v.keyId] : [])))].sort();
  if (present.some((v) => v.kind === 'unreadable')) return { kind: 'unreadable', keyIds };
  const plaintext = present.some((v) => v.kind === 'plaintext');
  if (keyIds.length === 0) return { kind: 'plaintext' };
  if (keyIds.length === 1 && !plaintext) return { kind: 'key', keyId: keyIds[0] as string };
  return { kind: 'mixed', keyIds, plaintext };
}

/** Whether the row's key-id column says what its values do (NULL: plaintext or no value). */
export function columnAgrees(keyIdColumn: string | null, evidence: RowEvidence): boolean {
  switch (evidence.kind) {
    case 'empty':
    case 'plaintext':
      return keyIdColumn === null;
    case 'key':
      return keyIdColumn === evidence.keyId;
    default:
      return false;
  }
}

/** For messages: what the values are under, in words. */
export function describeEvidence(evidence: RowEvidence): string {
  switch (evidence.kind) {
    case 'empty':
      return 'no value';
    case 'plaintext':
      return 'plaintext';
    case 'key':
      return `values under key "${evidence.keyId}"`;
    case 'mixed':
      return `a mix of ${[...evidence.keyIds.map((k) => `key "${k}"`), ...(evidence.plaintext ? ['plaintext'] : [])].join(' and ')}`;
    case 'unreadable':
      return 'a value that only looks like a dbwarden ciphertext';
  }
}

/** A stored value's evidence as this process reads it (the same header the server reads). */
export function storedEvidence(stored: string, keys: MasterKeySet): ValueEvidence {
  const found = classify(stored);
  if (found.kind === 'plaintext') return { kind: 'plaintext' };
  if (found.kind === 'malformed') return { kind: 'unreadable' };
  const key = [keys.current, ...keys.previous].find((k) =>
    found.provider === 'raw-aes'
      ? k.kind === 'raw' && k.id === found.keyId
      : k.kind === 'kms' && k.arn === found.keyId,
  );
  return { kind: 'key', keyId: key?.id ?? found.keyId };
}
