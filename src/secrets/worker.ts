/**
 * A crypto pool worker (pool.ts starts it). Gets the key material once, in
 * workerData, and then processes batches one at a time, in arrival order.
 * Nothing here logs: results and errors go back to the pool only.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { processBatch, toWire } from './batch.js';
import { Keyrings } from './keyring.js';
import { type MasterKey, masterKeySet, rawMasterKey } from './keys.js';
import type { BatchRequest, BatchResponse, WorkerInit, WorkerStatus } from './pool-protocol.js';

const port = ownPort();

function ownPort(): MessagePort {
  if (parentPort === null) {
    throw new Error('src/secrets/worker is a worker_threads entry point, not a module to import');
  }
  return parentPort;
}

function keyringsFrom(init: WorkerInit): Keyrings {
  const keys: MasterKey[] = init.keys.map((k) =>
    k.kind === 'raw' ? rawMasterKey(k.id, k.bytes) : { id: k.id, kind: 'kms', arn: k.arn },
  );
  // rawMasterKey copied the bytes: leave no second copy in workerData.
  for (const k of init.keys) if (k.kind === 'raw') k.bytes.fill(0);
  const [current, ...previous] = keys;
  if (current === undefined) throw new Error('worker started without keys');
  return new Keyrings(masterKeySet(current, previous), { engine: init.engine });
}

async function handle(keyrings: Keyrings, request: BatchRequest): Promise<BatchResponse> {
  try {
    const results = await processBatch(keyrings, request.op, request.items);
    return { id: request.id, results: results.map(toWire) };
  } catch (error) {
    // Not a row's problem (those are results): a bug or a bad request. Its message names no value.
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    return { id: request.id, error: { name, message } };
  }
}

/** Never rejects: a rejected link would stall every batch queued after it. */
async function respond(keyrings: Keyrings, request: BatchRequest): Promise<void> {
  const response = await handle(keyrings, request);
  try {
    port.postMessage(response);
  } catch (error) {
    const message = `results could not be sent: ${(error as Error).message}`;
    port.postMessage({
      id: request.id,
      error: { name: 'CryptoPoolError', message },
    } satisfies BatchResponse);
  }
}

function start(): void {
  let keyrings: Keyrings;
  try {
    keyrings = keyringsFrom(workerData as WorkerInit);
  } catch (error) {
    port.postMessage({ type: 'failed', message: (error as Error).message } satisfies WorkerStatus);
    return;
  }
  // One batch at a time: the first one queued finishes first, so the engine can write it back soonest.
  let queue = Promise.resolve();
  port.on('message', (request: BatchRequest) => {
    queue = queue.then(() => respond(keyrings, request));
  });
  port.postMessage({ type: 'ready' } satisfies WorkerStatus);
}

start();
