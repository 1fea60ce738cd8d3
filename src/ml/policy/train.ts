import * as tf from '@tensorflow/tfjs';
import { ExitCode, RfsqError, inputError } from '../../core/errors.js';
import { Prng } from '../prng.js';
import { AdamW, cosineLr } from '../train.js';
import { type DraftReport, type MainReport, evaluateDraft, evaluateMain } from './evaluate.js';
import {
  type CodeShape,
  DraftPolicy,
  MainPolicy,
  type PolicyDataset,
  TOKENIZER_CODE_SHAPE,
  tokensPerLayer,
  validateDataset,
} from './model.js';

export interface PolicyEpochInfo {
  epoch: number;
  epochs: number;
  /** Mean softmax cross-entropy per token over the epoch's batches (teacher-forced for the main model). */
  trainLoss: number;
  /** Token accuracy on the training batches (argmax of the training-mode logits). */
  trainAcc: number;
  lr: number;
  elapsedSeconds: number;
}

interface CommonOptions {
  train: PolicyDataset;
  /** Held-out rows (whole episodes never seen in training); evaluated after the last epoch. */
  heldOut: PolicyDataset;
  obsDim: number;
  epochs: number;
  /** Observations per step (the main model expands each into one query per layer). */
  batchSize: number;
  /** Peak learning rate (Adam, linear warm-up over 2% of the steps, cosine decay). */
  lr: number;
  seed: number;
  /** Default 0. */
  weightDecay?: number;
  /** Hidden width; default 128 (main) / 64 (draft). */
  width?: number;
  /** Default TOKENIZER_CODE_SHAPE (chunk 8, hidden 16, layers 8, levels 7). */
  shape?: CodeShape;
  onEpoch?: (info: PolicyEpochInfo) => void | Promise<void>;
}

export interface TrainMainOptions extends CommonOptions {
  kind: 'main';
}

export interface TrainDraftOptions extends CommonOptions {
  kind: 'draft';
  /** Coarse layers the draft predicts; default 3 (L0..L2). */
  draftLayers?: number;
}

export interface TrainPolicyResult<M, R> {
  model: M;
  /** Evaluation on the held-out set after the last epoch. */
  report: R;
  history: PolicyEpochInfo[];
  /** Wall time including the final held-out evaluation (msPerStep covers training steps only). */
  seconds: number;
  steps: number;
  msPerStep: number;
  backend: string;
}

/**
 * Softmax cross-entropy (mean over tokens) against integer labels as one op; its gradient is
 * (softmax - onehot) / tokens. Also reports the argmax accuracy through `stats`.
 */
function crossEntropyOp(
  labels: Int32Array,
  levels: number,
  stats: { loss: number; acc: number },
): (logits: tf.Tensor) => tf.Scalar {
  return tf.customGrad((...args: unknown[]) => {
    const logits = args[0] as tf.Tensor;
    const z = logits.dataSync();
    const n = labels.length;
    const grad = new Float32Array(z.length);
    let loss = 0;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const o = i * levels;
      let max = -Infinity;
      let best = 0;
      for (let k = 0; k < levels; k++) {
        const v = z[o + k] as number;
        if (v > max) {
          max = v;
          best = k;
        }
      }
      let sum = 0;
      for (let k = 0; k < levels; k++) {
        const e = Math.exp((z[o + k] as number) - max);
        grad[o + k] = e;
        sum += e;
      }
      const y = labels[i] as number;
      if (best === y) correct += 1;
      loss += Math.log(sum) - ((z[o + y] as number) - max);
      for (let k = 0; k < levels; k++) grad[o + k] = (grad[o + k] as number) / sum / n;
      grad[o + y] = (grad[o + y] as number) - 1 / n;
    }
    stats.loss = loss / n;
    stats.acc = correct / n;
    return {
      value: tf.scalar(stats.loss),
      gradFunc: (dy: tf.Tensor) => tf.mul(dy, tf.tensor(grad, logits.shape)),
    };
  }) as (logits: tf.Tensor) => tf.Scalar;
}

type Model = MainPolicy | DraftPolicy;

/** Parameter tensors of the model, in spec order. */
function paramTensors(model: Model): tf.Tensor[] {
  return model.specs.map((s) => tf.tensor(model.params.subarray(s.offset, s.offset + s.size), s.shape));
}

function readGrads(model: Model, g: tf.Tensor[], grads: Float32Array): void {
  model.specs.forEach((s, i) => grads.set((g[i] as tf.Tensor).dataSync(), s.offset));
}

/**
 * One teacher-forced step of the main model: `x` [layers * B, inputDim] rows ordered layer-major (row
 * l * B + b is the query for layer l of the b-th observation), `labels` [layers * B, tokens].
 */
function mainGradients(
  model: MainPolicy,
  x: Float32Array,
  labels: Int32Array,
  batch: number,
  grads: Float32Array,
): { loss: number; acc: number } {
  const { width, shape } = model.config;
  const out = tokensPerLayer(shape) * shape.levels;
  const stats = { loss: NaN, acc: NaN };
  tf.tidy(() => {
    const input = tf.tensor2d(x, [shape.layers * batch, model.inputDim]);
    const ce = crossEntropyOp(labels, shape.levels, stats);
    const f = (...t: tf.Tensor[]): tf.Scalar => {
      const [w0, b0, w1, b1, wh, bh] = t as [
        tf.Tensor2D,
        tf.Tensor1D,
        tf.Tensor2D,
        tf.Tensor1D,
        tf.Tensor3D,
        tf.Tensor2D,
      ];
      const h0 = tf.fused.matMul({ a: input, b: w0, bias: b0, activation: 'relu' });
      const h1 = tf.fused.matMul({ a: h0, b: w1, bias: b1, activation: 'relu' });
      const perLayer = tf.reshape(h1, [shape.layers, batch, width]);
      const logits = tf.add(tf.matMul(perLayer, wh), tf.reshape(bh, [shape.layers, 1, out]));
      return ce(logits);
    };
    const { grads: g } = tf.valueAndGrads(f)(paramTensors(model));
    readGrads(model, g, grads);
  });
  return stats;
}

function draftGradients(
  model: DraftPolicy,
  x: Float32Array,
  labels: Int32Array,
  batch: number,
  grads: Float32Array,
): { loss: number; acc: number } {
  const stats = { loss: NaN, acc: NaN };
  tf.tidy(() => {
    const input = tf.tensor2d(x, [batch, model.config.obsDim]);
    const ce = crossEntropyOp(labels, model.config.shape.levels, stats);
    const f = (...t: tf.Tensor[]): tf.Scalar => {
      const [w0, b0, w1, b1] = t as [tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D];
      const h = tf.fused.matMul({ a: input, b: w0, bias: b0, activation: 'relu' });
      return ce(tf.fused.matMul({ a: h, b: w1, bias: b1 }));
    };
    const { grads: g } = tf.valueAndGrads(f)(paramTensors(model));
    readGrads(model, g, grads);
  });
  return stats;
}

function validateOptions(o: CommonOptions, shape: CodeShape): void {
  const positiveInt = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1)
      throw inputError(`${name} must be a positive integer, got ${String(v)}`);
  };
  positiveInt('epochs', o.epochs);
  positiveInt('batchSize', o.batchSize);
  positiveInt('obsDim', o.obsDim);
  if (!(o.lr > 0) || !Number.isFinite(o.lr))
    throw inputError(`learning rate must be > 0, got ${String(o.lr)}`);
  if (o.weightDecay !== undefined && !(o.weightDecay >= 0))
    throw inputError(`weight decay must be >= 0, got ${String(o.weightDecay)}`);
  validateDataset(o.train, o.obsDim, shape, 'training');
  validateDataset(o.heldOut, o.obsDim, shape, 'held-out');
}

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i] as number)) return false;
  return true;
}

/**
 * Train the main model (teacher forcing: each observation of a batch contributes one query per layer,
 * conditioned on the ground-truth codes of the layers before it) or the draft model (L0..L2 in one pass),
 * with softmax cross-entropy and Adam. Deterministic for a seed and backend. Returns the final model and
 * its held-out report.
 */
export async function trainPolicy(
  options: TrainMainOptions,
): Promise<TrainPolicyResult<MainPolicy, MainReport>>;
export async function trainPolicy(
  options: TrainDraftOptions,
): Promise<TrainPolicyResult<DraftPolicy, DraftReport>>;
export async function trainPolicy(
  options: TrainMainOptions | TrainDraftOptions,
): Promise<TrainPolicyResult<MainPolicy, MainReport> | TrainPolicyResult<DraftPolicy, DraftReport>> {
  const shape = options.shape ?? TOKENIZER_CODE_SHAPE;
  validateOptions(options, shape);
  await tf.ready();
  const { train, obsDim } = options;
  const tokens = tokensPerLayer(shape);
  const { layers } = shape;
  const model: Model =
    options.kind === 'main'
      ? MainPolicy.initialize({ obsDim, shape, width: options.width ?? 128 }, options.seed)
      : DraftPolicy.initialize(
          { obsDim, shape, width: options.width ?? 64, draftLayers: options.draftLayers ?? 3 },
          options.seed,
        );
  const rng = new Prng(options.seed + 1);
  const optimizer = new AdamW(model.numParams);
  const grads = new Float32Array(model.numParams);
  const batchSize = Math.min(options.batchSize, train.count);
  const batchesPerEpoch = Math.max(1, Math.floor(train.count / batchSize));
  const totalSteps = batchesPerEpoch * options.epochs;
  const warmupSteps = Math.floor(totalSteps * 0.02);
  const order = new Uint32Array(train.count).map((_, i) => i);
  const sampleCodes = tokens * layers;

  // Batch buffers, reused across steps.
  const main = model instanceof MainPolicy ? model : undefined;
  const draft = model instanceof DraftPolicy ? model : undefined;
  const x = main
    ? new Float32Array(layers * batchSize * main.inputDim)
    : new Float32Array(batchSize * obsDim);
  const labels = new Int32Array(
    main ? layers * batchSize * tokens : batchSize * (draft as DraftPolicy).draftLayers * tokens,
  );
  const batchObs = new Float32Array(batchSize * obsDim);
  const batchCodes = new Int32Array(batchSize * sampleCodes);

  const history: PolicyEpochInfo[] = [];
  const start = performance.now();
  let trainSeconds = 0;
  let step = 0;
  const diverged = (what: string, epoch: number): RfsqError =>
    new RfsqError(`policy training diverged: ${what} at epoch ${epoch}, step ${step + 1}`, {
      hint: `lower the learning rate (it was ${options.lr})`,
      exitCode: ExitCode.checkFailed,
    });

  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const epochStart = performance.now();
    rng.shuffle(order);
    let lossSum = 0;
    let accSum = 0;
    let lr = options.lr;
    for (let b = 0; b < batchesPerEpoch; b++) {
      for (let i = 0; i < batchSize; i++) {
        const n = order[b * batchSize + i] as number;
        batchObs.set(train.obs.subarray(n * obsDim, (n + 1) * obsDim), i * obsDim);
        batchCodes.set(train.codes.subarray(n * sampleCodes, (n + 1) * sampleCodes), i * sampleCodes);
      }
      let stats: { loss: number; acc: number };
      if (main) {
        x.fill(0);
        for (let l = 0; l < layers; l++) {
          for (let i = 0; i < batchSize; i++) {
            const r = l * batchSize + i;
            main.fillInput(x, r * main.inputDim, batchObs, batchCodes, i, l);
            for (let j = 0; j < tokens; j++)
              labels[r * tokens + j] = batchCodes[i * sampleCodes + j * layers + l] as number;
          }
        }
        stats = mainGradients(main, x, labels, batchSize, grads);
      } else {
        const d = draft as DraftPolicy;
        x.set(batchObs);
        for (let i = 0; i < batchSize; i++)
          for (let l = 0; l < d.draftLayers; l++)
            for (let j = 0; j < tokens; j++)
              labels[(i * d.draftLayers + l) * tokens + j] = batchCodes[
                i * sampleCodes + j * layers + l
              ] as number;
        stats = draftGradients(d, x, labels, batchSize, grads);
      }
      if (!Number.isFinite(stats.loss)) throw diverged(`the loss became ${stats.loss}`, epoch);
      if (!allFinite(grads)) throw diverged('a gradient became non-finite', epoch);
      lr = cosineLr(step, totalSteps, options.lr, warmupSteps);
      optimizer.step(model.params, grads, lr, options.weightDecay ?? 0);
      if (!allFinite(model.params)) throw diverged('a weight became non-finite', epoch);
      lossSum += stats.loss;
      accSum += stats.acc;
      step += 1;
    }
    trainSeconds += (performance.now() - epochStart) / 1000;
    const info: PolicyEpochInfo = {
      epoch,
      epochs: options.epochs,
      trainLoss: lossSum / batchesPerEpoch,
      trainAcc: accSum / batchesPerEpoch,
      lr,
      elapsedSeconds: (performance.now() - start) / 1000,
    };
    history.push(info);
    await options.onEpoch?.(info);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const common = {
    history,
    seconds: (performance.now() - start) / 1000,
    steps: step,
    msPerStep: (trainSeconds * 1000) / Math.max(1, step),
    backend: tf.getBackend(),
  };
  if (main) return { model: main, report: evaluateMain(main, options.heldOut), ...common };
  const d = draft as DraftPolicy;
  return { model: d, report: evaluateDraft(d, options.heldOut), ...common };
}
