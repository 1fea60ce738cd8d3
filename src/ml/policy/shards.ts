import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SimdAdamW } from '../adamw-simd.js';
import type { BackendName } from '../backend.js';
import { type MainPolicy, type MainPolicyConfig, tokensPerLayer } from './model.js';
import type { MainShard } from './train.js';

/*
 * The main model's batch is always computed as two shards (the first half of its observations, then the
 * second), whose gradients the optimizer sums. The second shard runs in a worker thread when the trainer
 * has a second core to itself, or right after the first one in this thread otherwise: the same operations
 * on the same values either way, so a model trains to the same bits on one core or two.
 */

/** Observations in each shard of a batch of `batch`: two halves (the first one larger), or one. */
export function shardSizes(batch: number): number[] {
  return batch >= 2 ? [Math.ceil(batch / 2), Math.floor(batch / 2)] : [batch];
}

/**
 * The shards of a batch, their rows and labels in shared memory (a worker reads them), their gradients
 * the optimizer's per-shard arrays.
 */
export function createMainShards(model: MainPolicy, batch: number, optimizer: SimdAdamW): MainShard[] {
  const { layers, levels } = model.config.shape;
  const tokens = tokensPerLayer(model.config.shape);
  return shardSizes(batch).map((size, s) => ({
    x: new Float32Array(new SharedArrayBuffer(4 * layers * size * model.inputDim)),
    labels: new Int32Array(new SharedArrayBuffer(4 * layers * size * tokens)),
    batch: size,
    probs: new Float32Array(layers * size * tokens * levels),
    grads: optimizer.shardGrads[s] as Float32Array,
  }));
}

/**
 * Writes the rows and labels of the batch (`obs` [batch, obsDim], `codes` [batch, tokens * layers]) into
 * the shards, each layer-major within its shard.
 */
export function fillMainShards(
  model: MainPolicy,
  shards: readonly MainShard[],
  obs: Float32Array,
  codes: Int32Array,
): void {
  const { layers } = model.config.shape;
  const tokens = tokensPerLayer(model.config.shape);
  const sampleCodes = tokens * layers;
  let first = 0;
  for (const { x, labels, batch } of shards) {
    for (let i = 0; i < batch; i++) {
      const n = first + i;
      model.fillInputsAllLayers(x, (l) => (l * batch + i) * model.inputDim, obs, codes, n);
      for (let l = 0; l < layers; l++)
        for (let j = 0; j < tokens; j++)
          labels[(l * batch + i) * tokens + j] = codes[n * sampleCodes + j * layers + l] as number;
    }
    first += batch;
  }
}

/** What the worker is given once (shard-worker.ts). */
export interface ShardWorkerInput {
  backend: BackendName;
  config: MainPolicyConfig;
  /** The optimizer's shared memory, with the weights and the shard's gradient at these offsets. */
  memory: SharedArrayBuffer;
  paramsOffset: number;
  gradsOffset: number;
  size: number;
  x: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  batch: number;
  smoothing: number;
  meanOver: number;
}

export type FromShardWorker =
  | { type: 'ready' }
  | { type: 'done'; loss: number; acc: number }
  | { type: 'error'; message: string; stack?: string };

/** The built worker: found from dist/src/ml/policy (built) or src/ml/policy (tests run the built one). */
const WORKER = [
  fileURLToPath(new URL('./shard-worker.js', import.meta.url)),
  fileURLToPath(new URL('../../../dist/src/ml/policy/shard-worker.js', import.meta.url)),
].find((candidate) => existsSync(candidate));

/** A worker thread that computes one shard's gradient each time it is asked. */
export class ShardWorker {
  private readonly worker: Worker;
  private pending: { resolve: (stats: { loss: number; acc: number }) => void; reject: (e: Error) => void }[] =
    [];
  private failure: Error | undefined;
  private readonly ready: Promise<void>;

  constructor(input: ShardWorkerInput) {
    if (!WORKER) throw new Error('shard-worker.js is not built (npm run build)');
    this.worker = new Worker(WORKER, { workerData: input });
    let markReady: () => void = () => undefined;
    this.ready = new Promise<void>((resolve) => (markReady = resolve));
    const fail = (error: Error): void => {
      this.failure ??= error;
      for (const job of this.pending.splice(0)) job.reject(error);
      markReady();
    };
    this.worker.on('message', (message: FromShardWorker) => {
      if (message.type === 'ready') markReady();
      else if (message.type === 'done') this.pending.shift()?.resolve(message);
      else fail(Object.assign(new Error(message.message), { stack: message.stack }));
    });
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the gradient worker stopped (exit code ${code})`)));
  }

  /** Resolves once the worker has loaded its backend (about half a second), or rejects if it failed. */
  async started(): Promise<void> {
    await this.ready;
    if (this.failure) throw this.failure;
  }

  /**
   * Starts the shard's gradient on the rows now in its buffers, at once (the message is posted before this
   * returns, so the worker computes while the caller does), once started() has resolved. Resolves with the
   * shard's loss and accuracy.
   */
  start(): Promise<{ loss: number; acc: number }> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.worker.postMessage('step');
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('the gradient worker was closed');
    await this.worker.terminate();
  }
}
