/**
 * Worker thread that trains one Phase 1 variant (see trainInWorker in ./phase1-side-by-side.ts). tfjs's
 * WebAssembly backend computes on one thread, so the naive and Robust tokenizers, which are independent,
 * train side by side on two cores.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fileSystemError, RfsqError } from '../core/errors.js';
import { selectBackend } from '../ml/backend.js';
import type { FromWorker, ToWorker, WorkerInput } from './phase1-side-by-side.js';

const port = parentPort;
if (!port) throw new Error('phase1-worker.js runs as a worker thread only');
const post = (message: FromWorker): void => port.postMessage(message);
const { job, backend } = workerData as WorkerInput;
const controller = new AbortController();
port.on('message', (message: ToWorker) => {
  if (message.type === 'abort') controller.abort();
});

try {
  // The parent's choice; `auto` is the request that prefers the GPU build.
  await selectBackend(backend === 'tensorflow-gpu' ? 'auto' : backend);
  const { trainTokenizer } = await import('../ml/tokenizer/train.js');
  // The model itself stays here: the parent reads the checkpoint, which training writes.
  const { model: _model, ...result } = await trainTokenizer({
    ...job,
    signal: controller.signal,
    onEpoch: (_epoch, _train, _heldOut, _eta, info) => post({ type: 'epoch', info }),
  });
  post({ type: 'done', result });
} catch (thrown) {
  // A filesystem error on a path the user gave becomes its one-line message here: its code and path
  // do not survive the trip to the parent.
  const error = fileSystemError(thrown) ?? thrown;
  post({
    type: 'error',
    message: error instanceof Error ? error.message : String(error),
    ...(error instanceof RfsqError ? { hint: error.hint, exitCode: error.exitCode } : {}),
    stack: error instanceof Error ? error.stack : undefined,
  });
} finally {
  port.close();
}
