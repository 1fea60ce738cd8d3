import * as tf from '@tensorflow/tfjs';
import { ExitCode, RfsqError, inputError } from '../../core/errors.js';
import { defaultCoolDownFraction } from '../../core/training-defaults.js';
import { saveCheckpoint, type CheckpointMetrics } from './checkpoint.js';
import {
  type ChunkSet,
  type NormalizationStats,
  type QuantizerVariant,
  type RfsqArchitecture,
  type RfsqModelConfig,
  modelConfig,
} from './config.js';
import { heldOutMse } from './evaluate.js';
import { denseOnBackend, mishInPlace } from './float32.js';
import { monitorMseAndCodeUsage } from './monitor.js';
import { type ParamSpec, RfsqModel } from './model.js';
import { AdamW, cosineLr } from '../optimizer.js';
import { Prng } from '../prng.js';
import { entropyPenalty, residualQuantize } from './quantizer.js';

export interface EpochInfo {
  epoch: number;
  /** The fixed budget, or (training to a plateau) the cap until the cool-down fixes the last epoch. */
  epochs: number;
  trainMse: number;
  /**
   * MSE on the validation episodes (eval mode): what picks the best epoch and decides when to stop. NaN
   * without validation episodes.
   */
  validationMse: number;
  /** MSE on the reported held-out episodes (eval mode): recorded for the curve, never used to decide. */
  heldOutMse: number;
  /** Lowest validation MSE so far, and its epoch. */
  bestValidationMse: number;
  bestEpoch: number;
  /** Held-out MSE of the best epoch so far (by validation). */
  bestHeldOutMse: number;
  /**
   * Per-layer entropy of the code histogram on the validation episodes (the held-out ones without
   * validation episodes), in bits (at most log2 of the levels).
   */
  codeUsageBits: number[];
  /** Training to a plateau: true from the first epoch of the final learning-rate decay. */
  coolingDown: boolean;
  lr: number;
  elapsedSeconds: number;
  etaSeconds: number;
  /** Entropy penalty of layer-0 code usage (0 when entropyWeight is 0). */
  entropyPenalty: number;
}

export interface TrainOptions {
  variant: QuantizerVariant;
  /** Normalized training chunks [N, chunk, actionDim]. */
  train: ChunkSet;
  /** Normalized held-out chunks (whole episodes never seen in training), reported, never used to decide. */
  heldOut: ChunkSet;
  /**
   * Normalized validation chunks (episodes in neither train nor held-out): pick the best epoch and decide
   * when to stop. Without them (a fixed budget only) nothing is selected: the last epoch is kept, so the
   * held-out chunks never decide anything.
   */
  validation?: ChunkSet;
  /** Fixed budget: this many epochs, cosine schedule over all of them. Ignored when `plateau` is given. */
  epochs: number;
  /** Train to a plateau of the validation MSE instead of a fixed budget. */
  plateau?: PlateauStopping;
  /** Chunks per batch (each chunk contributes chunkLength rows). */
  batchSize: number;
  /** Peak learning rate of the cosine schedule. */
  lr: number;
  /** Decoupled (AdamW) weight decay. */
  weightDecay: number;
  /** Weight of the optional code-usage entropy regularizer (the plan used 0.05). Default 0. */
  entropyWeight?: number;
  seed: number;
  /** Architecture overrides; the defaults are the plan's sizes. */
  architecture?: Partial<RfsqArchitecture>;
  /** Robust variant: k standard deviations map to the outermost level. */
  sigmas?: number;
  /** Robust variant: running-statistics momentum. */
  emaMomentum?: number;
  /** Fraction of the steps used for linear warm-up before the cosine decay. Default 0.02. */
  warmupFraction?: number;
  /**
   * Called after each epoch: epoch (1-based), training MSE (training mode, mean over batches), held-out
   * MSE (evaluation mode) and the estimated seconds left (an upper bound before a plateau's cool-down). May return a promise, which is awaited.
   */
  onEpoch?: (
    epoch: number,
    trainMse: number,
    heldOutMse: number,
    etaSeconds: number,
    info: EpochInfo,
  ) => void | Promise<void>;
  /** When given, the best model so far (by validation MSE) is written here after every improving epoch. */
  checkpointDir?: string;
  /** Normalization statistics written into the checkpoint's config.json. */
  normalization?: NormalizationStats;
  /** Extra fields written into config.json's `training` section (e.g. dataset name, episode split). */
  extraMeta?: Record<string, unknown>;
  /** Stops training between epochs; the best checkpoint so far is kept. */
  signal?: AbortSignal;
}

/**
 * Train to a plateau (warm-up, stable, decay): linear warm-up, the peak rate until the validation MSE has
 * not improved by `minRelativeGain` for `patience` epochs, then a cosine decay to 0 over
 * `coolDownFraction` of the epochs taken so far, then stop. The decay starts earlier when it would
 * otherwise end past `maxEpochs`, so the cap is never passed and the rate always ends at 0.
 */
export interface PlateauStopping {
  maxEpochs: number;
  patience: number;
  minRelativeGain: number;
  /** Default: grows with the training set (defaultCoolDownFraction in src/core/training-defaults.ts). */
  coolDownFraction?: number;
}

export interface TrainResult {
  /** Best model by validation MSE (evaluation mode). */
  model: RfsqModel;
  bestEpoch: number;
  /** Held-out MSE of the best model. */
  bestHeldOutMse: number;
  bestValidationMse: number;
  /** Epochs actually run. */
  epochs: number;
  /** Why training stopped: the fixed budget, a plateau, or the cap. */
  stoppedBy: 'budget' | 'plateau' | 'cap';
  history: EpochInfo[];
  seconds: number;
  steps: number;
  msPerStep: number;
  backend: string;
}

export interface StepContext {
  model: RfsqModel;
  config: RfsqModelConfig;
  entropyWeight: number;
  /** Filled by the step. */
  entropy: number;
}

/** g *= slope, elementwise, in place: the backward pass of an elementwise activation. */
function scaleBy(g: Float32Array, slope: Float32Array): void {
  for (let i = 0; i < g.length; i++) g[i] = (g[i] as number) * (slope[i] as number);
}

/** The [cols, rows] transpose of a row-major [rows, cols] matrix. */
function transposed(m: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c] as number;
  }
  return t;
}

/**
 * Column sums of a row-major [rows, cols] matrix into out[offset, offset + cols), accumulated in float32
 * row after row: the wasm backend's tf.sum(dy, 0), bit for bit, without its transpose and two kernels.
 */
function columnSums(m: Float32Array, rows: number, cols: number, out: Float32Array, offset: number): void {
  const acc = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) acc[c] = (acc[c] as number) + (m[base + c] as number);
  }
  out.set(acc, offset);
}

/**
 * One training step on `batch` ([rows, actionDim]): forward in training mode, backward, fills `grads` (flat,
 * same layout as model.params). Returns the batch MSE. Creates no tensors that outlive the call.
 *
 * The backward pass is written out by hand instead of taped by tf.valueAndGrads: the network is a chain
 * of four dense layers, so the backend does only the matMuls (forward x W + b, then dW = x^T dy and dx =
 * dy W^T, on the wasm backend's fast non-transposed paths, the transposes made in JavaScript), and
 * everything else (Mish, tanh, the residual quantizer with its straight-through gradient, the loss, the
 * bias gradients) is one JavaScript pass over a Float32Array. The tape's bookkeeping and the backend's
 * transpose and sum kernels were about a quarter of the step (6.3 → 4.6 ms on the demo, under the CPU
 * profiler), and the gradients are the same to the last bit.
 */
export function computeGradients(
  ctx: StepContext,
  batch: Float32Array,
  grads: Float32Array,
): { mse: number; entropy: number } {
  const { model, config } = ctx;
  const rows = batch.length / config.actionDim;
  const [s0, s1, s2, s3] = model.specs as [ParamSpec, ParamSpec, ParamSpec, ParamSpec];
  const p = model.params;
  let mse = NaN;
  tf.tidy(() => {
    const dense = (x: Float32Array, spec: ParamSpec): Float32Array => denseOnBackend(x, rows, p, spec);
    // Writes dW and db of y = x W + b into grads; returns dx unless the input is the data.
    const backward = (x: Float32Array, s: ParamSpec, dyValues: Float32Array, needDx: boolean) => {
      const { inDim, outDim, offset } = s;
      const dy = tf.tensor2d(dyValues, [rows, outDim]);
      const xt = tf.tensor2d(transposed(x, rows, inDim), [inDim, rows]);
      grads.set(tf.matMul(xt, dy).dataSync() as Float32Array, offset);
      columnSums(dyValues, rows, outDim, grads, offset + inDim * outDim);
      if (!needDx) return undefined;
      const wt = tf.tensor2d(transposed(p.subarray(offset, offset + inDim * outDim), inDim, outDim), [
        outDim,
        inDim,
      ]);
      return tf.matMul(dy, wt).dataSync() as Float32Array;
    };

    // Forward.
    const e0 = dense(batch, s0);
    const slope0 = new Float32Array(e0.length);
    mishInPlace(e0, slope0);
    const h = dense(e0, s1);
    const n = h.length;
    const z = new Float32Array(n);
    for (let i = 0; i < n; i++) z[i] = Math.tanh(h[i] as number);
    const state = model.quantizer;
    const update =
      config.variant === 'robust' ? { momentum: config.emaMomentum, sigmas: config.sigmas } : undefined;
    const q = Float32Array.from(residualQuantize(z, rows, state, update).quantized);
    const entropyGrad = new Float64Array(n);
    ctx.entropy = ctx.entropyWeight > 0 ? entropyPenalty(z, rows, state, ctx.entropyWeight, entropyGrad) : 0;
    const d0 = dense(q, s2);
    const slope2 = new Float32Array(d0.length);
    mishInPlace(d0, slope2);
    const y = dense(d0, s3);

    // Loss: mean squared error against the input; dy = 2 (y - x) / n.
    let sum = 0;
    for (let i = 0; i < y.length; i++) {
      const d = (y[i] as number) - (batch[i] as number);
      y[i] = d;
      sum += d * d;
    }
    mse = Math.fround(sum / y.length);
    const s = 2 / y.length;
    for (let i = 0; i < y.length; i++) y[i] = (y[i] as number) * s;

    // Backward.
    const gd0 = backward(d0, s3, y, true)!;
    scaleBy(gd0, slope2);
    const gq = backward(q, s2, gd0, true)!;
    // Straight-through: d quantized / d z = identity; then tanh', plus the entropy regularizer's gradient.
    for (let i = 0; i < n; i++) {
      const zi = z[i] as number;
      gq[i] = ((gq[i] as number) + (entropyGrad[i] as number)) * (1 - zi * zi);
    }
    const ge0 = backward(e0, s1, gq, true)!;
    scaleBy(ge0, slope0);
    backward(batch, s0, ge0, false);
  });
  return { mse, entropy: ctx.entropy };
}

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i] as number)) return false;
  return true;
}

function validateOptions(o: TrainOptions): void {
  const positiveInt = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1)
      throw inputError(`${name} must be a positive integer, got ${String(v)}`);
  };
  positiveInt('epochs', o.epochs);
  if (o.plateau) {
    positiveInt('maxEpochs', o.plateau.maxEpochs);
    positiveInt('patience', o.plateau.patience);
    if (!(o.plateau.minRelativeGain >= 0 && o.plateau.minRelativeGain < 1)) {
      throw inputError(`min relative gain must be in [0, 1), got ${String(o.plateau.minRelativeGain)}`);
    }
    if (o.plateau.coolDownFraction !== undefined && !(o.plateau.coolDownFraction > 0)) {
      throw inputError(`cool-down fraction must be > 0, got ${String(o.plateau.coolDownFraction)}`);
    }
  }
  positiveInt('batchSize', o.batchSize);
  if (!(o.lr > 0) || !Number.isFinite(o.lr))
    throw inputError(`learning rate must be > 0, got ${String(o.lr)}`);
  if (!(o.weightDecay >= 0)) throw inputError(`weight decay must be >= 0, got ${String(o.weightDecay)}`);
  if (o.entropyWeight !== undefined && !(o.entropyWeight >= 0)) {
    throw inputError(`entropy weight must be >= 0, got ${String(o.entropyWeight)}`);
  }
  if (o.train.numChunks < 1) {
    throw inputError('no training chunks', 'check the dataset path and the episode split');
  }
  if (o.heldOut.numChunks < 1) {
    throw inputError('no held-out chunks', 'hold out at least one episode for evaluation');
  }
  if (o.validation && o.validation.numChunks < 1) {
    throw inputError('no validation chunks', 'keep at least one training episode for validation');
  }
  if (o.plateau && !o.validation) {
    throw inputError(
      'training to a plateau needs validation episodes',
      'pass a validation fraction above 0, or a fixed budget with --epochs',
    );
  }
  if (o.train.actionDim !== o.heldOut.actionDim) {
    throw inputError(
      `training and held-out action dims differ (${o.train.actionDim} vs ${o.heldOut.actionDim})`,
    );
  }
}

/** Learning rate of the plateau schedule at a 0-based step, given where the cool-down starts (if it has). */
function plateauLr(
  step: number,
  peak: number,
  warmupSteps: number,
  coolDown: { start: number; steps: number } | undefined,
): number {
  if (coolDown && step >= coolDown.start) return cosineLr(step - coolDown.start, coolDown.steps, peak, 0);
  if (warmupSteps > 0 && step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  return peak;
}

/**
 * Train an RFSQ tokenizer. Deterministic for a given seed and backend. Keeps the best model by validation
 * MSE (evaluation mode), or the last epoch's without validation episodes; on a non-finite loss or parameter it stops with an RfsqError, leaving the last
 * good checkpoint (if `checkpointDir` is set) untouched.
 */
export async function trainTokenizer(options: TrainOptions): Promise<TrainResult> {
  validateOptions(options);
  await tf.ready();
  const { train, heldOut, validation } = options;
  const plateau = options.plateau && {
    ...options.plateau,
    coolDownFraction: options.plateau.coolDownFraction ?? defaultCoolDownFraction(train.numChunks),
  };
  const config = modelConfig(options.variant, {
    ...options.architecture,
    actionDim: train.actionDim,
    ...(options.sigmas !== undefined ? { sigmas: options.sigmas } : {}),
    ...(options.emaMomentum !== undefined ? { emaMomentum: options.emaMomentum } : {}),
  });
  const model = RfsqModel.initialize(config, options.seed);
  const rng = new Prng(options.seed + 1);
  const optimizer = new AdamW(model.numParams);
  const grads = new Float32Array(model.numParams);
  const ctx: StepContext = { model, config, entropyWeight: options.entropyWeight ?? 0, entropy: 0 };

  const rowValues = train.chunkLength * train.actionDim;
  const batchSize = Math.min(options.batchSize, train.numChunks);
  const fullBatches = Math.floor(train.numChunks / batchSize);
  const batchesPerEpoch = fullBatches >= 1 ? fullBatches : 1;
  const maxEpochs = plateau ? plateau.maxEpochs : options.epochs;
  const warmupFraction = options.warmupFraction ?? 0.02;
  // The plateau schedule warms up as the fixed one would over the cap, but for at most one epoch.
  const warmupSteps = plateau
    ? Math.min(batchesPerEpoch, Math.floor(batchesPerEpoch * maxEpochs * warmupFraction))
    : Math.floor(batchesPerEpoch * maxEpochs * warmupFraction);
  const order = new Uint32Array(train.numChunks).map((_, i) => i);
  const batch = new Float32Array(batchSize * rowValues);

  let best: RfsqModel = model.clone();
  let bestValidation = Infinity;
  let bestHeldOut = Infinity;
  let bestEpoch = 0;
  let bestTrainMse = NaN;
  // Plateau detection: the last validation MSE that beat the previous reference by minRelativeGain.
  let reference = Infinity;
  let sinceGain = 0;
  let coolDown: { start: number; steps: number } | undefined;
  let lastEpoch = maxEpochs;
  let stoppedBy: TrainResult['stoppedBy'] = plateau ? 'cap' : 'budget';
  const history: EpochInfo[] = [];
  const start = performance.now();
  let trainSeconds = 0;
  let step = 0;

  const diverged = (what: string, epoch: number): RfsqError => {
    const kept =
      options.checkpointDir && bestEpoch > 0
        ? `the checkpoint in ${options.checkpointDir} still holds the best model (epoch ${bestEpoch})`
        : 'no checkpoint was written';
    return new RfsqError(`training diverged: ${what} at epoch ${epoch}, step ${step + 1}`, {
      hint: `lower the learning rate (it was ${options.lr}); ${kept}`,
      exitCode: ExitCode.checkFailed,
    });
  };
  const save = (curve: EpochInfo[]): Promise<void> =>
    saveCheckpoint(options.checkpointDir!, best, {
      normalization: options.normalization,
      metrics: checkpointMetrics(bestEpoch, bestTrainMse, bestHeldOut, bestValidation, lastEpoch, curve),
      training: trainingMeta({ ...options, plateau }, batchSize),
    });

  // The kept model's held-out MSE, as reported, comes from the float64 evaluation path (the per-epoch
  // figures from the float32 monitor): computed once, when training ends or stops.
  // An improving epoch's checkpoint is written while the next epoch trains (save() takes its snapshot
  // synchronously; the write and its fsyncs took 5-30 ms, a tenth of a small set's epoch); at most one
  // write is in flight, and every write is awaited before the next one and before training ends.
  let pendingSave: Promise<void> = Promise.resolve();
  let firstSaveDone = false;
  const finish = async (curve: EpochInfo[]): Promise<void> => {
    await pendingSave;
    if (bestEpoch === 0) return;
    bestHeldOut = heldOutMse(best, heldOut);
    if (options.checkpointDir) await save(curve);
  };

  try {
    for (let epoch = 1; epoch <= lastEpoch; epoch++) {
      if (options.signal?.aborted) {
        await finish(history);
        throw new RfsqError(`training interrupted before epoch ${epoch}`, {
          hint: options.checkpointDir
            ? `the best model so far is in ${options.checkpointDir}`
            : 'nothing was saved',
          exitCode: ExitCode.interrupted,
        });
      }
      const epochStart = performance.now();
      rng.shuffle(order);
      let mseSum = 0;
      let entropySum = 0;
      let lr = options.lr;
      for (let b = 0; b < batchesPerEpoch; b++) {
        for (let c = 0; c < batchSize; c++) {
          const chunk = order[b * batchSize + c] as number;
          batch.set(train.data.subarray(chunk * rowValues, (chunk + 1) * rowValues), c * rowValues);
        }
        const { mse, entropy } = computeGradients(ctx, batch, grads);
        if (!Number.isFinite(mse)) throw diverged(`the loss became ${mse}`, epoch);
        if (!allFinite(grads)) throw diverged('a gradient became non-finite', epoch);
        lr = plateau
          ? plateauLr(step, options.lr, warmupSteps, coolDown)
          : cosineLr(step, batchesPerEpoch * maxEpochs, options.lr, warmupSteps);
        optimizer.step(model.params, grads, lr, options.weightDecay);
        if (!allFinite(model.params)) throw diverged('a weight became non-finite', epoch);
        mseSum += mse;
        entropySum += entropy;
        step += 1;
      }
      trainSeconds += (performance.now() - epochStart) / 1000;
      const trainMse = mseSum / batchesPerEpoch;
      // Code usage on the episodes that decide (validation), else on the held-out ones (recorded only).
      const evaluated = monitorMseAndCodeUsage(model, heldOut);
      const evalMse = evaluated.mse;
      if (!Number.isFinite(evalMse)) throw diverged(`the held-out MSE became ${evalMse}`, epoch);
      let codeUsageBits = evaluated.codeUsageBits;
      // Without validation episodes nothing is selected: the last epoch is the model kept.
      let validationMse = NaN;
      if (validation) {
        ({ mse: validationMse, codeUsageBits } = monitorMseAndCodeUsage(model, validation));
        if (!Number.isFinite(validationMse)) {
          throw diverged(`the validation MSE became ${validationMse}`, epoch);
        }
      }
      const coolingDown = coolDown !== undefined;
      if (!validation || validationMse < bestValidation) {
        bestValidation = validationMse;
        bestHeldOut = evalMse;
        bestTrainMse = trainMse;
        bestEpoch = epoch;
        best = model.clone();
        if (options.checkpointDir) {
          await pendingSave;
          pendingSave = save(history);
          // Handled here so that a failed write surfaces at its await, not as an unhandled rejection.
          pendingSave.catch(() => undefined);
          // The first write is awaited at once: a bad output path fails before any epoch is reported.
          if (!firstSaveDone) {
            await pendingSave;
            firstSaveDone = true;
          }
        }
      }
      if (plateau && !coolDown) {
        if (validationMse < reference * (1 - plateau.minRelativeGain)) {
          reference = validationMse;
          sinceGain = 0;
        } else sinceGain += 1;
        const coolDownEpochs = Math.max(1, Math.ceil(plateau.coolDownFraction * epoch));
        const capReached = epoch + coolDownEpochs >= maxEpochs;
        if (sinceGain >= plateau.patience || capReached) {
          stoppedBy = sinceGain >= plateau.patience ? 'plateau' : 'cap';
          lastEpoch = Math.min(maxEpochs, epoch + coolDownEpochs);
          coolDown = { start: step, steps: (lastEpoch - epoch) * batchesPerEpoch };
        }
      }
      const elapsed = (performance.now() - start) / 1000;
      const info: EpochInfo = {
        epoch,
        epochs: lastEpoch,
        trainMse,
        validationMse,
        heldOutMse: evalMse,
        bestValidationMse: bestValidation,
        bestEpoch,
        bestHeldOutMse: bestHeldOut,
        codeUsageBits,
        coolingDown,
        lr,
        elapsedSeconds: elapsed,
        etaSeconds: (elapsed / epoch) * (lastEpoch - epoch),
        entropyPenalty: entropySum / batchesPerEpoch,
      };
      history.push(info);
      await options.onEpoch?.(epoch, trainMse, evalMse, info.etaSeconds, info);
      // Let signal handlers and renderers run between epochs.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } catch (error) {
    // A checkpoint write still in flight completes (or fails) before the error leaves.
    await pendingSave.catch(() => undefined);
    throw error;
  }
  // The best epoch's checkpoint was written before the epochs after it: write the whole curve once.
  await finish(history);
  return {
    model: best,
    bestEpoch,
    bestHeldOutMse: bestHeldOut,
    bestValidationMse: bestValidation,
    epochs: history.length,
    stoppedBy,
    history,
    seconds: (performance.now() - start) / 1000,
    steps: step,
    msPerStep: (trainSeconds * 1000) / Math.max(1, step),
    backend: tf.getBackend(),
  };
}

/** The per-epoch curve, as the checkpoint's metrics and `rfsq train --json` carry it. */
export interface CurvePoint {
  epoch: number;
  seconds: number;
  lr: number;
  trainMse: number;
  validationMse: number;
  heldOutMse: number;
  codeUsageBits: number[];
}

export function curveOf(history: readonly EpochInfo[]): CurvePoint[] {
  return history.map((info) => ({
    epoch: info.epoch,
    seconds: info.elapsedSeconds,
    lr: info.lr,
    trainMse: info.trainMse,
    validationMse: info.validationMse,
    heldOutMse: info.heldOutMse,
    codeUsageBits: info.codeUsageBits,
  }));
}

function checkpointMetrics(
  epoch: number,
  trainMse: number,
  evalMse: number,
  validationMse: number,
  epochs: number,
  history: readonly EpochInfo[],
): CheckpointMetrics {
  return { epoch, epochs, trainMse, heldOutMse: evalMse, validationMse, curve: curveOf(history) };
}

function trainingMeta(options: TrainOptions, batchSize: number): Record<string, unknown> {
  return {
    epochs: options.plateau ? null : options.epochs,
    plateau: options.plateau ?? null,
    batchSize,
    lr: options.lr,
    weightDecay: options.weightDecay,
    entropyWeight: options.entropyWeight ?? 0,
    seed: options.seed,
    trainChunks: options.train.numChunks,
    heldOutChunks: options.heldOut.numChunks,
    validationChunks: options.validation?.numChunks ?? null,
    chunkLength: options.train.chunkLength,
    backend: tf.getBackend(),
    ...options.extraMeta,
  };
}
