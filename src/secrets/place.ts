/**
 * A stored value's place: table, column and primary key. The place is bound
 * into every ciphertext as its encryption context, so a value copied to
 * another row, column or table is refused on decrypt (docs/encryption.md).
 */
import { displayName, printable } from '../util/printable.js';

export interface Place {
  readonly table: string;
  readonly column: string;
  /** The row's primary key as text: encodePrimaryKey() for the canonical form. */
  readonly primaryKey: string;
}

/** One primary key column's value as a driver returns it. */
export type PrimaryKeyPart = string | number | bigint;

/** Encryption context keys. Plain lowercase ASCII: every SDK sorts them the same way. */
export const CONTEXT_KEYS = { table: 'table', column: 'column', primaryKey: 'pk' } as const;

/**
 * The canonical text of a primary key: a single column's value as decimal or
 * as the string itself; a composite key as a compact JSON array of those
 * strings (`["7","eu-west"]`). A table's key is always one or the other, so
 * the two forms never meet in one table.
 */
export function encodePrimaryKey(parts: PrimaryKeyPart | readonly PrimaryKeyPart[]): string {
  if (!Array.isArray(parts)) return encodePart(parts as PrimaryKeyPart);
  const list = parts as readonly PrimaryKeyPart[];
  if (list.length === 0) throw new TypeError('a primary key needs at least one column');
  if (list.length === 1) return encodePart(list[0] as PrimaryKeyPart);
  return JSON.stringify(list.map(encodePart));
}

function encodePart(part: PrimaryKeyPart): string {
  if (typeof part === 'string') return part;
  if (typeof part === 'bigint') return part.toString(10);
  // Other languages format floats differently, and a number past 2^53 has already lost digits.
  if (typeof part === 'number' && Number.isSafeInteger(part)) return String(part);
  throw new TypeError(
    `primary key value of type ${typeof part} is not supported: use integers, bigints or strings (read BIGINT columns as strings)`,
  );
}

/** The encryption context of a place, keys in the order every SDK serializes them. */
export function contextOf(place: Place): Record<string, string> {
  return {
    [CONTEXT_KEYS.column]: place.column,
    [CONTEXT_KEYS.primaryKey]: place.primaryKey,
    [CONTEXT_KEYS.table]: place.table,
  };
}

/** The place an encryption context names, or undefined unless it holds exactly our three keys. */
export function placeOf(context: Readonly<Record<string, string>>): Place | undefined {
  const keys = Object.keys(context);
  const { table, column, primaryKey } = CONTEXT_KEYS;
  if (keys.length !== 3) return undefined;
  const t = context[table];
  const c = context[column];
  const pk = context[primaryKey];
  if (t === undefined || c === undefined || pk === undefined) return undefined;
  return { table: t, column: c, primaryKey: pk };
}

export function samePlace(a: Place, b: Place): boolean {
  return a.table === b.table && a.column === b.column && a.primaryKey === b.primaryKey;
}

/** `users.secret_key, primary key 42`, safe to print whatever the names hold. */
export function formatPlace(place: Place): string {
  const pk = /^-?[0-9]+$/.test(place.primaryKey)
    ? place.primaryKey
    : printable(JSON.stringify(place.primaryKey));
  return `${displayName(place.table)}.${displayName(place.column)}, primary key ${pk}`;
}

/** Throws a TypeError for a place a caller built wrongly (a bug, not bad data). */
export function assertPlace(place: Place): void {
  for (const field of ['table', 'column', 'primaryKey'] as const) {
    if (typeof place[field] !== 'string' || (field !== 'primaryKey' && place[field] === '')) {
      throw new TypeError(`place.${field} must be a non-empty string`);
    }
  }
}
