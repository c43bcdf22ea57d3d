/**
 * Batch crypto: the per-row work of the encrypt migration (encrypt), the
 * downgrade (decrypt) and a rotation (reencrypt). Runs in pool workers, and
 * in-process for small jobs and baselines. One row's failure is that row's
 * result, never the batch's: the engine reports every failed row.
 */
import { SecretValueError, type SecretValueProblem } from './errors.js';
import type { Keyrings } from './keyring.js';
import { type Place, samePlace } from './place.js';
import { classify, decryptValue, encryptValue } from './value.js';

/**
 * - `encrypt`: plaintext in, ciphertext under the current key out (a ciphertext in is an error;
 *   a plaintext that only looks like one, isLookalike, is encrypted as it is);
 * - `decrypt`: ciphertext in (any configured key), plaintext out;
 * - `reencrypt`: ciphertext in, ciphertext under the current key out; already current: unchanged.
 *
 * NULL is no value: it comes out NULL and unchanged for every operation.
 */
export type BatchOp = 'encrypt' | 'decrypt' | 'reencrypt';

export interface BatchItem {
  readonly place: Place;
  readonly value: string | null;
}

export type ItemResult =
  | {
      readonly ok: true;
      readonly value: string | null;
      /** The key the new value is under; null for plaintext and NULL. */
      readonly keyId: string | null;
      /** False when the stored value is already what was asked for: no write needed. */
      readonly changed: boolean;
    }
  | { readonly ok: false; readonly error: SecretValueError };

/** How many rows of one batch are in flight at once: KMS calls and SDK streams overlap, native work is unaffected. */
const ITEM_CONCURRENCY = 8;

export async function processBatch(
  keyrings: Keyrings,
  op: BatchOp,
  items: readonly BatchItem[],
): Promise<ItemResult[]> {
  const results = new Array<ItemResult>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await processItem(keyrings, op, items[i] as BatchItem);
    }
  };
  await Promise.all(Array.from({ length: Math.min(ITEM_CONCURRENCY, items.length) }, lane));
  return results;
}

export async function processItem(keyrings: Keyrings, op: BatchOp, item: BatchItem): Promise<ItemResult> {
  const { place, value } = item;
  if (value === null) return { ok: true, value: null, keyId: null, changed: false };
  try {
    switch (op) {
      case 'encrypt': {
        // A plaintext that only looks like a stored value is encrypted as it is (isLookalike).
        const { stored, keyId } = await encryptValue(keyrings, value, place, { lookalikes: 'encrypt' });
        return { ok: true, value: stored, keyId, changed: true };
      }
      case 'decrypt': {
        const { plaintext } = await decryptValue(keyrings, value, place);
        return { ok: true, value: plaintext, keyId: null, changed: true };
      }
      case 'reencrypt':
        return await reencrypt(keyrings, value, place);
    }
  } catch (error) {
    if (error instanceof SecretValueError) return { ok: false, error };
    throw error;
  }
}

async function reencrypt(keyrings: Keyrings, stored: string, place: Place): Promise<ItemResult> {
  const current = keyrings.current;
  const found = classify(stored);
  // Already under the current key for this very place (say, written by the application mid-rotation).
  if (
    found.kind === 'ciphertext' &&
    keyrings.keyFor({ provider: found.provider, name: found.keyId })?.id === current.id &&
    samePlace(found.place, place)
  ) {
    return { ok: true, value: stored, keyId: current.id, changed: false };
  }
  const { plaintext } = await decryptValue(keyrings, stored, place);
  const { stored: sealed, keyId } = await encryptValue(keyrings, plaintext, place, { lookalikes: 'encrypt' });
  return { ok: true, value: sealed, keyId, changed: true };
}

/** A result as plain data, for postMessage (class instances lose their prototype on the way). */
export type WireResult =
  | {
      readonly ok: true;
      readonly value: string | null;
      readonly keyId: string | null;
      readonly changed: boolean;
    }
  | { readonly ok: false; readonly error: WireValueError };

export interface WireValueError {
  readonly problem: SecretValueProblem;
  readonly detail: string;
  readonly place: Place;
  readonly claimedPlace: Place | undefined;
  readonly keyId: string | undefined;
  readonly hint: string | undefined;
}

export function toWire(result: ItemResult): WireResult {
  if (result.ok) return result;
  const { problem, detail, place, claimedPlace, keyId, hint } = result.error;
  return { ok: false, error: { problem, detail, place, claimedPlace, keyId, hint } };
}

export function fromWire(result: WireResult): ItemResult {
  if (result.ok) return result;
  const { problem, detail, place, claimedPlace, keyId, hint } = result.error;
  const details = {
    problem,
    place,
    ...(claimedPlace === undefined ? {} : { claimedPlace }),
    ...(keyId === undefined ? {} : { keyId }),
  };
  return { ok: false, error: new SecretValueError(detail, details, hint === undefined ? {} : { hint }) };
}
