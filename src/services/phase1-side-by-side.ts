import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { RfsqError, type ExitCodeValue } from '../core/errors.js';
import type { BackendName } from '../ml/backend.js';
import type { EpochInfo, TrainOptions, TrainResult } from '../ml/tokenizer/train.js';

/** What a worker trains: the options of trainTokenizer without the callbacks, which stay here. */
export type VariantJob = Omit<TrainOptions, 'onEpoch' | 'signal'>;
export type WorkerResult = Omit<TrainResult, 'model'>;

export interface WorkerInput {
  job: VariantJob;
  backend: BackendName;
}
export type ToWorker = { type: 'abort' };
export type FromWorker =
  | { type: 'epoch'; info: EpochInfo }
  | { type: 'done'; result: WorkerResult }
  | { type: 'error'; message: string; hint?: string; exitCode?: ExitCodeValue; stack?: string };

/** The built worker: found from dist/src/services (built) or src/services (tests run the built one). */
const WORKER = [
  fileURLToPath(new URL('./phase1-worker.js', import.meta.url)),
  fileURLToPath(new URL('../../dist/src/services/phase1-worker.js', import.meta.url)),
].find((candidate) => existsSync(candidate));

export interface SideBySide {
  result: Promise<WorkerResult>;
  /** Stops the worker now (another variant failed): its best checkpoint so far is already on disk. */
  stop: () => Promise<void>;
}

/**
 * Trains one variant in a worker thread. Epochs are reported through `onEpoch` as they end; an abort of
 * `signal` reaches the worker, which stops before its next epoch the way training in this thread would.
 */
export function trainInWorker(
  job: VariantJob,
  backend: BackendName,
  onEpoch: (info: EpochInfo) => void,
  signal: AbortSignal | undefined,
): SideBySide {
  if (!WORKER) throw new RfsqError('the Phase 1 worker (dist/src/services/phase1-worker.js) is not built');
  const input: WorkerInput = { job, backend };
  const worker = new Worker(WORKER, { workerData: input });
  const abort = (): void => worker.postMessage({ type: 'abort' } satisfies ToWorker);
  if (signal?.aborted) abort();
  signal?.addEventListener('abort', abort, { once: true });
  const result = new Promise<WorkerResult>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', abort);
      fn();
    };
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'epoch') onEpoch(message.info);
      else if (message.type === 'done') settle(() => resolve(message.result));
      else {
        // An RfsqError keeps its class (exit code, hint); anything else is a bug, with its stack for --debug.
        const error =
          message.exitCode === undefined
            ? Object.assign(new Error(message.message), message.stack ? { stack: message.stack } : {})
            : new RfsqError(message.message, { hint: message.hint, exitCode: message.exitCode });
        settle(() => reject(error));
      }
    });
    worker.on('error', (error) => settle(() => reject(error)));
    worker.on('exit', (code) =>
      settle(() =>
        reject(
          new RfsqError(`the ${job.variant} training thread stopped (exit code ${code}) without a result`),
        ),
      ),
    );
  });
  return { result, stop: async () => void (await worker.terminate()) };
}
