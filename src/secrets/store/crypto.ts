/**
 * The crypto a store run uses: the worker pool for batches (started on the
 * first batch, so a run with nothing to do starts no threads), blind
 * indexes under the current key, and single decrypts for the preflight.
 */
import type { BatchItem, BatchOp, ItemResult } from '../batch.js';
import { BlindIndexer } from '../blind-index.js';
import { type CryptoEngine, Keyrings } from '../keyring.js';
import { type MasterKeySet, masterKeySet } from '../keys.js';
import { CryptoPool } from '../pool.js';

export class StoreCrypto {
  readonly keys: MasterKeySet;
  readonly currentKeyId: string;
  readonly #threads: number | undefined;
  readonly #engine: CryptoEngine | undefined;
  #pool: Promise<CryptoPool> | undefined;
  #indexer: BlindIndexer | undefined;
  #keyrings: Keyrings | undefined;

  constructor(keys: MasterKeySet, options: { threads?: number | undefined; engine?: CryptoEngine } = {}) {
    this.keys = keys;
    this.currentKeyId = keys.current.id;
    this.#threads = options.threads;
    this.#engine = options.engine;
  }

  /** Every configured key id, current first. */
  get keyIds(): string[] {
    return [this.keys.current, ...this.keys.previous].map((k) => k.id);
  }

  /** In-flight batches the pool takes at once (how far ahead the reader may run). */
  async maxInFlight(): Promise<number> {
    return (await this.#startedPool()).maxInFlight;
  }

  async run(op: BatchOp, items: readonly BatchItem[]): Promise<ItemResult[]> {
    if (items.length === 0) return [];
    return (await this.#startedPool()).run(op, items);
  }

  /** Under the current key only: a previous key may be KMS without breaking indexing under a raw current key. */
  blindIndex(table: string, column: string, plaintext: string): string {
    this.#indexer ??= new BlindIndexer(masterKeySet(this.keys.current));
    return this.#indexer.index(table, column, plaintext).index;
  }

  /** In this thread: a handful of values (preflight), not worth a worker round trip. */
  keyrings(): Keyrings {
    this.#keyrings ??= new Keyrings(this.keys, this.#engine === undefined ? {} : { engine: this.#engine });
    return this.#keyrings;
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool !== undefined) await (await pool.catch(() => undefined))?.close();
  }

  #startedPool(): Promise<CryptoPool> {
    this.#pool ??= CryptoPool.start({
      keys: this.keys,
      ...(this.#threads === undefined ? {} : { threads: this.#threads }),
      ...(this.#engine === undefined ? {} : { engine: this.#engine }),
    });
    return this.#pool;
  }
}
