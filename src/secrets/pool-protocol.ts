/** Messages between the crypto pool (pool.ts) and its workers (worker.ts). Plain data only. */
import type { BatchItem, BatchOp, WireResult } from './batch.js';
import type { CryptoEngine } from './keyring.js';

/** Key material for a worker: current first. Raw key bytes are copied, then zeroed on both sides. */
export type WireKey =
  | { readonly id: string; readonly kind: 'raw'; readonly bytes: Uint8Array }
  | { readonly id: string; readonly kind: 'kms'; readonly arn: string };

export interface WorkerInit {
  readonly keys: readonly WireKey[];
  readonly engine: CryptoEngine;
}

export type WorkerStatus = { readonly type: 'ready' } | { readonly type: 'failed'; readonly message: string };

export interface BatchRequest {
  readonly id: number;
  readonly op: BatchOp;
  readonly items: readonly BatchItem[];
}

export type BatchResponse =
  | { readonly id: number; readonly results: readonly WireResult[] }
  | { readonly id: number; readonly error: { readonly name: string; readonly message: string } };
