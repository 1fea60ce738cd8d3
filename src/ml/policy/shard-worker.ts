/**
 * Worker thread that computes the second shard of each main-model batch (see ./shards.ts): tfjs's
 * WebAssembly backend computes on one thread, so with a second core the two halves of a batch run side by
 * side. Weights and gradients live in the optimizer's shared memory; each 'step' message is answered once
 * this shard's gradient is written there.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from '../backend.js';
import { MainPolicy, tokensPerLayer } from './model.js';
import type { FromShardWorker, ShardWorkerInput } from './shards.js';

const port = parentPort;
if (!port) throw new Error('shard-worker.js runs as a worker thread only');
const post = (message: FromShardWorker): void => port.postMessage(message);
const input = workerData as ShardWorkerInput;

try {
  // The parent's choice; `auto` is the request that prefers the GPU build.
  await selectBackend(input.backend === 'tensorflow-gpu' ? 'auto' : input.backend);
  const { mainGradients } = await import('./train.js');
  const model = new MainPolicy(input.config, new Float32Array(input.memory, input.paramsOffset, input.size));
  const { layers, levels } = input.config.shape;
  const shard = {
    x: new Float32Array(input.x),
    labels: new Int32Array(input.labels),
    batch: input.batch,
    probs: new Float32Array(layers * input.batch * tokensPerLayer(input.config.shape) * levels),
    grads: new Float32Array(input.memory, input.gradsOffset, input.size),
  };
  port.on('message', () => {
    try {
      post({ type: 'done', ...mainGradients(model, [shard], input.smoothing, input.meanOver) });
    } catch (error) {
      post({
        type: 'error',
        message: String(error),
        stack: error instanceof Error ? error.stack : undefined,
      });
    }
  });
  post({ type: 'ready' });
} catch (error) {
  post({ type: 'error', message: String(error), stack: error instanceof Error ? error.stack : undefined });
}
