/**
 * A worker_threads pool for batch crypto, one worker per core by default.
 *
 * At most `maxInFlight` batches are dispatched or waiting at a time (run()
 * waits for a slot; map() pulls the next batch only when one is free), so
 * memory stays flat however many rows go through. Workers get the key
 * material once, at start, in workerData; nothing here logs it.
 *
 * The worker entry is worker.js beside this file once compiled (dist/);
 * from TypeScript source (vitest, tsx) it is worker.ts, loaded through tsx
 * (a devDependency) because plain Node cannot run .ts in a worker.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type BatchItem, type BatchOp, fromWire, type ItemResult } from './batch.js';
import { CryptoPoolError } from './errors.js';
import type { CryptoEngine } from './keyring.js';
import type { MasterKeySet } from './keys.js';
import type { BatchRequest, BatchResponse, WireKey, WorkerInit, WorkerStatus } from './pool-protocol.js';

export interface CryptoPoolOptions {
  readonly keys: MasterKeySet;
  /** Default: os.availableParallelism(). */
  readonly threads?: number;
  /** Batches dispatched or queued at once, across workers. Default: 2 per worker, so none idles between batches. */
  readonly maxInFlight?: number;
  readonly engine?: CryptoEngine;
  /** The worker module, to run a specific build (tests run dist/secrets/worker.js this way). */
  readonly workerUrl?: URL;
}

export interface Batch {
  readonly op: BatchOp;
  readonly items: readonly BatchItem[];
}

export interface PoolStats {
  readonly threads: number;
  /** Batches each worker completed, by worker. */
  readonly batchesPerWorker: readonly number[];
  readonly itemsPerWorker: readonly number[];
}

interface Pending {
  readonly resolve: (results: ItemResult[]) => void;
  readonly reject: (error: Error) => void;
  readonly items: number;
}

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  batches: number;
  items: number;
}

export class CryptoPool {
  readonly threads: number;
  readonly maxInFlight: number;
  readonly #slots: Slot[];
  #nextId = 1;
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];
  #failure: CryptoPoolError | undefined;
  #closing = false;

  private constructor(slots: Slot[], maxInFlight: number) {
    this.#slots = slots;
    this.threads = slots.length;
    this.maxInFlight = maxInFlight;
    for (const slot of slots) this.#listen(slot);
  }

  /** Starts the workers and waits until each holds its keyrings. */
  static async start(options: CryptoPoolOptions): Promise<CryptoPool> {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new TypeError('threads must be a positive integer');
    const maxInFlight = options.maxInFlight ?? 2 * threads;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1)
      throw new TypeError('maxInFlight must be a positive integer');
    const entry = options.workerUrl ? { url: options.workerUrl } : defaultEntry();
    const engine = options.engine ?? 'native';
    const workers = Array.from({ length: threads }, () => spawn(entry, options.keys, engine));
    const started = await Promise.allSettled(workers.map(ready));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw failed.reason;
    }
    const slots = workers.map((worker) => ({
      worker,
      pending: new Map<number, Pending>(),
      batches: 0,
      items: 0,
    }));
    return new CryptoPool(slots, maxInFlight);
  }

  /** Processes one batch on the least busy worker; waits first while maxInFlight batches are out. */
  async run(op: BatchOp, items: readonly BatchItem[]): Promise<ItemResult[]> {
    await this.#acquire();
    try {
      return await this.#dispatch(op, items);
    } finally {
      this.#release();
    }
  }

  /**
   * Processes batches as they come, pulling the next one from `batches` only
   * when a slot is free; yields each batch with its results as it completes
   * (not necessarily in order).
   */
  async *map<B extends Batch>(
    batches: Iterable<B> | AsyncIterable<B>,
  ): AsyncGenerator<{ batch: B; results: ItemResult[] }, void, undefined> {
    interface Done {
      batch: B;
      results: ItemResult[];
      done: Promise<Done>;
    }
    const source = toAsyncIterator(batches);
    const pending = new Set<Promise<Done>>();
    let exhausted = false;
    for (;;) {
      while (!exhausted && pending.size < this.maxInFlight) {
        const next = await source.next();
        if (next.done === true) {
          exhausted = true;
          break;
        }
        const batch = next.value;
        const done: Promise<Done> = this.run(batch.op, batch.items).then((results) => ({
          batch,
          results,
          done,
        }));
        // Raced below; a rejection not raced before the generator ends must not go unhandled.
        done.catch(() => undefined);
        pending.add(done);
      }
      if (pending.size === 0) return;
      const finished = await Promise.race(pending);
      pending.delete(finished.done);
      yield { batch: finished.batch, results: finished.results };
    }
  }

  stats(): PoolStats {
    return {
      threads: this.threads,
      batchesPerWorker: this.#slots.map((s) => s.batches),
      itemsPerWorker: this.#slots.map((s) => s.items),
    };
  }

  /** Stops the workers; batches still out are rejected. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#fail(new CryptoPoolError('crypto pool closed'));
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }

  async #acquire(): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (this.#inFlight >= this.maxInFlight) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    if (this.#failure) throw this.#failure;
    this.#inFlight++;
  }

  #release(): void {
    this.#inFlight--;
    this.#waiting.shift()?.();
  }

  #dispatch(op: BatchOp, items: readonly BatchItem[]): Promise<ItemResult[]> {
    const slot = this.#slots.reduce((best, s) => (s.pending.size < best.pending.size ? s : best));
    const id = this.#nextId++;
    return new Promise<ItemResult[]>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject, items: items.length });
      slot.worker.ref();
      slot.worker.postMessage({ id, op, items } satisfies BatchRequest);
    });
  }

  #listen(slot: Slot): void {
    slot.worker.on('message', (response: BatchResponse) => this.#settle(slot, response));
    slot.worker.on('error', (error) =>
      this.#fail(new CryptoPoolError(`crypto worker failed: ${error.message}`)),
    );
    slot.worker.on('exit', (code) => {
      if (!this.#closing) this.#fail(new CryptoPoolError(`crypto worker exited unexpectedly (code ${code})`));
    });
    // An idle pool must not keep the process alive; dispatch refs the worker again.
    slot.worker.unref();
  }

  #settle(slot: Slot, response: BatchResponse): void {
    const pending = slot.pending.get(response.id);
    if (pending === undefined) return;
    slot.pending.delete(response.id);
    if (slot.pending.size === 0) slot.worker.unref();
    if ('error' in response) {
      pending.reject(new CryptoPoolError(`crypto worker: ${response.error.name}: ${response.error.message}`));
      return;
    }
    slot.batches++;
    slot.items += pending.items;
    pending.resolve(response.results.map(fromWire));
  }

  /** After a worker fails, every batch out and every later call fails: the engine stops and reruns. */
  #fail(error: CryptoPoolError): void {
    this.#failure ??= error;
    for (const slot of this.#slots) {
      for (const pending of slot.pending.values()) pending.reject(this.#failure);
      slot.pending.clear();
    }
    for (const wake of this.#waiting.splice(0)) wake();
  }
}

type Entry = { readonly url: URL } | { readonly code: string };

/** worker.js beside this module (compiled), or worker.ts through tsx (TypeScript source). */
function defaultEntry(): Entry {
  if (import.meta.url.endsWith('.js')) return { url: new URL('./worker.js', import.meta.url) };
  let tsx: string;
  try {
    tsx = import.meta.resolve('tsx/esm/api');
  } catch (error) {
    throw new CryptoPoolError(
      'running from TypeScript source, the crypto pool needs tsx to load its worker',
      {
        hint: 'install dev dependencies, or run the compiled build (npm run build)',
        cause: error,
      },
    );
  }
  const target = new URL('./worker.ts', import.meta.url).href;
  return {
    code: `import(${JSON.stringify(tsx)}).then((m) => m.register()).then(() => import(${JSON.stringify(target)}))`,
  };
}

/**
 * Each worker's V8 young generation, in MB. A batch's strings live for one message, so a small
 * young generation costs little; V8's default grows to tens of MB per isolate under the
 * workers' allocation rate, and that is most of a long rotation's peak RSS (docs/performance.md).
 */
const WORKER_YOUNG_GENERATION_MB = 12;

function spawn(entry: Entry, keys: MasterKeySet, engine: CryptoEngine): Worker {
  const wireKeys: WireKey[] = [keys.current, ...keys.previous].map((k) =>
    k.kind === 'raw' ? { id: k.id, kind: 'raw', bytes: new Uint8Array(k.key.reveal()) } : k,
  );
  const workerData: WorkerInit = { keys: wireKeys, engine };
  const resourceLimits = { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB };
  const worker =
    'url' in entry
      ? new Worker(entry.url, { workerData, resourceLimits })
      : new Worker(entry.code, { eval: true, workerData, resourceLimits });
  // workerData was cloned into the worker by the constructor: zero this copy of the keys.
  for (const k of wireKeys) if (k.kind === 'raw') k.bytes.fill(0);
  return worker;
}

function ready(worker: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (message: string): void =>
      reject(new CryptoPoolError(`crypto worker did not start: ${message}`));
    worker.once('message', (status: WorkerStatus) =>
      status.type === 'ready' ? resolve() : fail(status.message),
    );
    worker.once('error', (error) => fail(error.message));
    worker.once('exit', (code) => fail(`exited with code ${code}`));
  });
}

function toAsyncIterator<T>(source: Iterable<T> | AsyncIterable<T>): AsyncIterator<T> | Iterator<T> {
  return Symbol.asyncIterator in source
    ? (source as AsyncIterable<T>)[Symbol.asyncIterator]()
    : (source as Iterable<T>)[Symbol.iterator]();
}
