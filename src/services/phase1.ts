import { availableParallelism } from 'node:os';
import path from 'node:path';
import { inputError } from '../core/errors.js';
import { improvementPct, type Metrics } from '../core/metrics.js';
import { selectBackend, type BackendName, type BackendRequest } from '../ml/backend.js';
import { loadCheckpoint, type Checkpoint } from '../ml/tokenizer/checkpoint.js';
import type { QuantizerVariant } from '../ml/tokenizer/config.js';
import { evaluateTokenizer, type EvaluationReport } from '../ml/tokenizer/evaluate.js';
import type { CurvePoint, EpochInfo, PlateauStopping, TrainResult } from '../ml/tokenizer/train.js';
import { writeJsonAtomic } from './files.js';
import type { VariantJob, WorkerResult } from './phase1-side-by-side.js';
import {
  datasetIdentity,
  isTrainingDataset,
  recordedDataPath,
  type RecordedDataset,
} from './dataset-identity.js';
import { heldOutFor, prepareData, type DataOptions } from './phase1-data.js';

export { DEFAULT_TRAINING } from '../core/training-defaults.js';

export interface TrainRequest extends DataOptions {
  variants: QuantizerVariant[];
  /** A fixed budget of epochs; without it, training runs to a plateau (`plateau`). */
  epochs?: number;
  plateau: PlateauStopping;
  batchSize: number;
  lr: number;
  weightDecay: number;
  entropyWeight: number;
  out: string;
  backend: BackendRequest;
  signal?: AbortSignal;
  onEpoch?: (variant: QuantizerVariant, info: EpochInfo) => void;
}

export interface TrainedVariant {
  variant: QuantizerVariant;
  checkpoint: string;
  /** Held-out MSE of the best epoch, picked by validation MSE. */
  bestHeldOutMse: number;
  bestValidationMse: number;
  bestEpoch: number;
  /** Epochs run. */
  epochs: number;
  stoppedBy: TrainResult['stoppedBy'];
  seconds: number;
  msPerStep: number;
  /** Per-epoch training, validation and held-out MSE and per-layer code usage (validation). */
  curve: CurvePoint[];
}

export interface TrainReport {
  backend: BackendName;
  data: {
    source: string;
    description: string;
    trainEpisodes: number;
    validationEpisodes: number;
    heldOutEpisodes: number;
  };
  trainChunks: number;
  validationChunks: number;
  heldOutChunks: number;
  variants: TrainedVariant[];
}

/**
 * Trains each requested variant on the same split; each keeps its best checkpoint by validation MSE. Two
 * variants train side by side in worker threads when there is a second core (tfjs's WebAssembly backend
 * computes on one thread, and the variants are independent): the same figures, in about half the time.
 */
export async function trainVariants(request: TrainRequest): Promise<TrainReport> {
  const backend = await selectBackend(request.backend);
  const prepared = await prepareData(request);
  const { curveOf, trainTokenizer } = await import('../ml/tokenizer/train.js');
  // Recorded so that `rfsq compare` recognises this dataset by content, however it is named later.
  const dataIdentity = await datasetIdentity(request.data);
  const jobFor = (variant: QuantizerVariant): VariantJob => ({
    variant,
    train: prepared.train,
    heldOut: prepared.heldOut,
    validation: prepared.validation,
    epochs: request.epochs ?? request.plateau.maxEpochs,
    ...(request.epochs === undefined ? { plateau: request.plateau } : {}),
    batchSize: request.batchSize,
    lr: request.lr,
    weightDecay: request.weightDecay,
    entropyWeight: request.entropyWeight,
    seed: request.seed,
    checkpointDir: path.join(request.out, variant),
    normalization: prepared.normalization,
    extraMeta: {
      data: recordedDataPath(request.data),
      dataIdentity,
      dataDescription: prepared.description,
      numEpisodes: request.numEpisodes ?? null,
      seed: request.seed,
      chunk: request.chunk,
      heldOutFraction: request.heldOutFraction,
      validationFraction: request.validationFraction,
      trainEpisodes: prepared.trainEpisodes,
      validationEpisodes: prepared.validationEpisodes,
      heldOutEpisodes: prepared.heldOutEpisodes,
    },
  });
  const onEpoch = (variant: QuantizerVariant) => (info: EpochInfo) => request.onEpoch?.(variant, info);

  let results: WorkerResult[];
  const sideBySide = request.variants.length > 1 && availableParallelism() > 1;
  if (sideBySide) {
    const { trainInWorker } = await import('./phase1-side-by-side.js');
    const workers = request.variants.map((variant) =>
      trainInWorker(jobFor(variant), backend, onEpoch(variant), request.signal),
    );
    try {
      results = await Promise.all(workers.map((worker) => worker.result));
    } catch (error) {
      // Interrupted: each worker stops before its next epoch, writing its best checkpoint first. Another
      // failure: the other variant would train for nothing; its best checkpoint so far is on disk.
      if (request.signal?.aborted) await Promise.allSettled(workers.map((worker) => worker.result));
      else await Promise.all(workers.map((worker) => worker.stop()));
      throw error;
    }
  } else {
    results = [];
    for (const variant of request.variants) {
      results.push(
        await trainTokenizer({
          ...jobFor(variant),
          signal: request.signal,
          onEpoch: (_epoch, _train, _heldOut, _eta, info) => onEpoch(variant)(info),
        }),
      );
    }
  }
  const variants = results.map((result, i): TrainedVariant => ({
    variant: request.variants[i]!,
    checkpoint: path.join(request.out, request.variants[i]!),
    bestHeldOutMse: result.bestHeldOutMse,
    bestValidationMse: result.bestValidationMse,
    bestEpoch: result.bestEpoch,
    epochs: result.epochs,
    stoppedBy: result.stoppedBy,
    seconds: result.seconds,
    msPerStep: result.msPerStep,
    curve: curveOf(result.history),
  }));
  return {
    backend,
    data: {
      source: request.data,
      description: prepared.description,
      trainEpisodes: prepared.trainEpisodes.length,
      validationEpisodes: prepared.validationEpisodes.length,
      heldOutEpisodes: prepared.heldOutEpisodes.length,
    },
    trainChunks: prepared.train.numChunks,
    validationChunks: prepared.validation?.numChunks ?? 0,
    heldOutChunks: prepared.heldOut.numChunks,
    variants,
  };
}

export interface CompareRequest {
  naive: string;
  robust: string;
  /** Held-out data; default: the dataset and held-out episodes recorded in the Robust checkpoint. */
  data?: string;
  metricsOut?: string;
  /** Write the whole report (what `--json` prints) here, for `rfsq report`. */
  resultsOut?: string;
}

export interface CompareReport {
  data: { source: string; episodes: number; chunks: number; heldOutOnly: boolean };
  naive: EvaluationReport & { checkpoint: string };
  robust: EvaluationReport & { checkpoint: string };
  improvementPct: number;
  metrics: Metrics;
  metricsOut: string | null;
  warnings: string[];
}

interface RecordedTraining extends RecordedDataset {
  numEpisodes?: number | null;
  seed?: number;
  chunk?: number;
  heldOutEpisodes?: string[];
}

function recordedTraining(checkpoint: Checkpoint): RecordedTraining {
  return (checkpoint.config.training ?? {}) as RecordedTraining;
}

async function loadVariant(dir: string, expected: QuantizerVariant, flag: string): Promise<Checkpoint> {
  const checkpoint = await loadCheckpoint(dir);
  if (checkpoint.config.variant !== expected) {
    throw inputError(
      `${flag} ${dir} is a ${checkpoint.config.variant} checkpoint, not ${expected}`,
      'pass the naive checkpoint to --naive and the Robust one to --robust',
    );
  }
  if (!checkpoint.normalization) {
    throw inputError(`checkpoint ${dir} has no normalization statistics`, 'retrain it with `rfsq train`');
  }
  return checkpoint;
}

/**
 * The plan's test_layernorm_improvement, measured honestly: both tokenizers on the same held-out
 * episodes, each normalized with its own statistics, plus the round trip from codes alone.
 */
export async function compareCheckpoints(request: CompareRequest): Promise<CompareReport> {
  const naive = await loadVariant(request.naive, 'naive', '--naive');
  const robust = await loadVariant(request.robust, 'robust', '--robust');
  const recorded = recordedTraining(robust);
  const source = request.data ?? recorded.data;
  if (!source) {
    throw inputError(
      `checkpoint ${request.robust} does not record its dataset`,
      'pass the held-out data with --data',
    );
  }
  // Held-out episodes are only known for the dataset the checkpoint was trained on; any other dataset
  // is unseen as a whole. Which dataset it is goes by content, not by how the path was spelled.
  const sameData = await isTrainingDataset(source, recorded, request.robust);
  if (sameData && recorded.heldOutEpisodes === undefined) {
    throw inputError(
      `checkpoint ${request.robust} does not record which episodes of ${source} were held out`,
      'retrain it with `rfsq train`, or pass --data with episodes it was not trained on',
    );
  }
  const options = {
    numEpisodes: sameData ? (recorded.numEpisodes ?? undefined) : undefined,
    seed: recorded.seed ?? 0,
    chunk: recorded.chunk ?? 8,
    episodes: sameData ? recorded.heldOutEpisodes : undefined,
  };
  const naiveData = await heldOutFor(source, options, naive.normalization!);
  const robustData = await heldOutFor(source, options, robust.normalization!);
  if (robustData.set.numChunks === 0) {
    throw inputError(`no held-out chunks in ${source}`, 'pass --data with episodes at least one chunk long');
  }
  const warnings: string[] = [];
  const naiveHeldOut = recordedTraining(naive).heldOutEpisodes;
  if (sameData && naiveHeldOut && String(naiveHeldOut) !== String(recorded.heldOutEpisodes)) {
    warnings.push(
      'the two checkpoints were trained on different episode splits; the naive one may have seen some of these held-out episodes',
    );
  }
  const naiveReport = evaluateTokenizer(naive.model, naiveData.set);
  const robustReport = evaluateTokenizer(robust.model, robustData.set);
  const improvement = improvementPct(naiveReport.heldOutMse, robustReport.heldOutMse);
  const metrics: Metrics = {
    'phase1.naive_mse': naiveReport.heldOutMse,
    'phase1.robust_mse': robustReport.heldOutMse,
    'phase1.improvement_pct': improvement,
    'phase1.roundtrip_mse': robustReport.roundtripMse,
    'phase1.checkpoint': path.resolve(request.robust),
  };
  if (request.metricsOut) await writeJsonAtomic(request.metricsOut, metrics);
  const report: CompareReport = {
    data: {
      source,
      episodes: robustData.episodes.length,
      chunks: robustData.set.numChunks,
      heldOutOnly: sameData && recorded.heldOutEpisodes !== undefined,
    },
    naive: { ...naiveReport, checkpoint: path.resolve(request.naive) },
    robust: { ...robustReport, checkpoint: path.resolve(request.robust) },
    improvementPct: improvement,
    metrics,
    metricsOut: request.metricsOut ? path.resolve(request.metricsOut) : null,
    warnings,
  };
  if (request.resultsOut) await writeJsonAtomic(request.resultsOut, report);
  return report;
}
