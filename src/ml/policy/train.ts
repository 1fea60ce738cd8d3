import * as tf from '@tensorflow/tfjs';
import { ExitCode, RfsqError, inputError } from '../../core/errors.js';
import { Prng } from '../prng.js';
import { SimdAdamW } from '../adamw-simd.js';
import { activeBackend } from '../backend.js';
import { cosineLr } from '../optimizer.js';
import {
  type DraftReport,
  type EvaluationStageListener,
  type MainReport,
  evaluateDraft,
  evaluateMain,
} from './evaluate.js';
import {
  type CodeShape,
  type Codebook,
  DraftPolicy,
  MainPolicy,
  nominalCodebook,
  observationStats,
  type ParamSpec,
  type PolicyDataset,
  TOKENIZER_CODE_SHAPE,
  tokensPerLayer,
  validateDataset,
} from './model.js';
import { ShardWorker, createMainShards, fillMainShards, shardSizes } from './shards.js';

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
  /** Target mass on the neighbouring levels (see softmaxCrossEntropy); default 0. */
  labelSmoothing?: number;
  /**
   * Threads for the main model's steps (default 1): with 2, the second half of each batch is computed in a
   * worker thread on the WebAssembly or CPU backend. The trained model is the same bits either way (see
   * ./shards.ts). Give 2 only when a second core is free: the pipeline trains other models beside it.
   */
  threads?: number;
  onEpoch?: (info: PolicyEpochInfo) => void | Promise<void>;
  /** Each part of the held-out evaluation after the last epoch, as it starts. */
  onEvaluationStage?: EvaluationStageListener;
}

export interface TrainMainOptions extends CommonOptions {
  kind: 'main';
  /** The tokenizer's code values (default: nominal levels, mean 0 and scale 1 in every layer). */
  codebook?: Codebook;
  /** The tokenizer's decoder, for the held-out decoded-action error (MainReport.actionMse). */
  decode?: (codes: Int32Array) => Float32Array;
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

/** Per-token loss cap where a float32 softmax underflows to 0: -log of the smallest float32 (2^-149). */
const MIN_PROBABILITY = 2 ** -149;

/**
 * Softmax cross-entropy (mean over tokens) against integer labels, from the softmax itself: `probs`
 * [tokens, levels] holds softmax(logits), computed on the backend (one vectorized kernel, about 3x faster
 * than Math.exp over the values in JavaScript), and is overwritten with the gradient with respect to the
 * logits, (softmax - target) / tokens. Also returns the argmax accuracy. One pass over the values.
 *
 * With `smoothing` s > 0 the target keeps 1 - s on the label and gives s to its neighbouring levels (s/2
 * each, all of s to the one neighbour of an end level). Levels are ordered values, so being one level off
 * is a smaller error than being three off; the plain one-hot target treats both alike. A probability that
 * underflows float32 counts as 2^-149 in the loss (at most 103 per token), never as an infinite loss.
 */
export function softmaxCrossEntropy(
  probs: Float32Array,
  labels: Int32Array,
  levels: number,
  smoothing = 0,
  meanOver = labels.length,
): { loss: number; acc: number; grad: Float32Array } {
  const n = labels.length;
  const grad = probs;
  let loss = 0;
  let correct = 0;
  const invN = 1 / meanOver;
  const keep = 1 - smoothing;
  const logOf = (p: number) => Math.log(p > MIN_PROBABILITY ? p : MIN_PROBABILITY);
  for (let i = 0; i < n; i++) {
    const o = i * levels;
    let max = grad[o] as number;
    let best = 0;
    for (let k = 1; k < levels; k++) {
      const v = grad[o + k] as number;
      if (v > max) {
        max = v;
        best = k;
      }
    }
    const y = labels[i] as number;
    if (best === y) correct += 1;
    // loss = -sum_k t_k log p_k, read before the values become the gradient (p - t) / n.
    loss -= keep * logOf(grad[o + y] as number);
    const share = y > 0 && y < levels - 1 ? smoothing / 2 : smoothing;
    if (smoothing > 0 && y > 0) loss -= share * logOf(grad[o + y - 1] as number);
    if (smoothing > 0 && y < levels - 1) loss -= share * logOf(grad[o + y + 1] as number);
    for (let k = 0; k < levels; k++) grad[o + k] = (grad[o + k] as number) * invN;
    grad[o + y] = (grad[o + y] as number) - keep * invN;
    if (smoothing > 0 && y > 0) grad[o + y - 1] = (grad[o + y - 1] as number) - share * invN;
    if (smoothing > 0 && y < levels - 1) grad[o + y + 1] = (grad[o + y + 1] as number) - share * invN;
  }
  return { loss: loss / n, acc: correct / n, grad };
}

type Model = MainPolicy | DraftPolicy;

/** Parameter tensors of the model, in spec order. */
function paramTensors(model: Model): tf.Tensor[] {
  return model.specs.map((s) => tf.tensor(model.params.subarray(s.offset, s.offset + s.size), s.shape));
}

function writeGrads(model: Model, g: tf.Tensor[], grads: Float32Array): void {
  model.specs.forEach((s, i) => grads.set((g[i] as tf.Tensor).dataSync(), s.offset));
}

/*
 * The backward passes below are written by hand with 2-D, non-transposed matMuls on explicitly transposed
 * operands: on the WebAssembly backend only that form reaches the fast (XNNPACK) kernel, while autodiff's
 * transposed and batched matMuls take a generic path about 7x slower (measured: 44 ms against 6.7 ms for
 * the input layer's weight gradient of one step).
 */

/**
 * Backward through h = relu(x W + b): returns [dW, db, dx], dx only when W's transpose `wT` is given (made
 * once per step by the caller: a tensor used again is packed for XNNPACK once).
 */
function reluDenseBackward(
  x: tf.Tensor,
  h: tf.Tensor,
  dh: tf.Tensor,
  wT?: tf.Tensor,
): [tf.Tensor, tf.Tensor, tf.Tensor | undefined] {
  const da = tf.mul(dh, tf.step(h));
  return [tf.matMul(tf.transpose(x), da), tf.sum(da, 0), wT ? tf.matMul(da, wT) : undefined];
}

/**
 * One shard of a main-model batch (the batch is split in two, see trainPolicy): its input rows, labels,
 * and the arrays its gradient pass writes.
 */
export interface MainShard {
  /** [layers * batch, inputDim] rows, layer-major within the shard (row l * batch + b: layer l of obs b). */
  x: Float32Array;
  /** [layers * batch, tokens]. */
  labels: Int32Array;
  /** Observations in this shard. */
  batch: number;
  /** [layers * batch * tokens * levels]: the softmax of the logits, then their gradient. */
  probs: Float32Array;
  /** This shard's gradient, as a part of the whole batch's mean (see softmaxCrossEntropy's meanOver). */
  grads: Float32Array;
}

/**
 * The teacher-forced gradient of the main model for each shard, into the shard's own `grads`; the loss
 * and accuracy are means over every token of the shards. `meanOver` is the whole batch's token count
 * (the shards' gradients add up to the batch mean's).
 *
 * The weights are uploaded once for all shards, each layer's head as its own 2-D tensor, and the logits
 * and gradients move per layer straight between tensors and the flat buffers: no stack, unstack or concat
 * copies of the head weights (measured: 54 ms per training step at batch 64 against 68). The WebAssembly
 * backend packs the right operand of a matMul for XNNPACK once per tensor, at about 12 ns a value (as long
 * as the product itself for a head), while a transpose costs about 3.5 ns a value. So the big head W is
 * never the right operand: the logits come transposed, z^T = W^T h1^T (W^T made once per step, h1^T of a
 * shard is 4k values), and so does the gradient through the head, dh1^T = W d^T.
 */
export function mainGradients(
  model: MainPolicy,
  shards: readonly MainShard[],
  smoothing: number,
  meanOver: number,
): { loss: number; acc: number } {
  const { shape, width } = model.config;
  const { layers, levels } = shape;
  const out = tokensPerLayer(shape) * levels;
  const spec = (name: string) => model.specs.find((s) => s.name === name) as ParamSpec;
  const [sw0, sb0, sw1, sb1, swh, sbh] = [
    'trunk.0.weight',
    'trunk.0.bias',
    'trunk.1.weight',
    'trunk.1.bias',
    'head.weight',
    'head.bias',
  ].map(spec) as [ParamSpec, ParamSpec, ParamSpec, ParamSpec, ParamSpec, ParamSpec];
  const view = (s: ParamSpec, from = 0, size = s.size) =>
    model.params.subarray(s.offset + from, s.offset + from + size);
  const headSize = width * out;
  let lossSum = 0;
  let correctSum = 0;
  let tokensSum = 0;
  tf.tidy(() => {
    const w0 = tf.tensor2d(view(sw0), [model.inputDim, width]);
    const b0 = tf.tensor1d(view(sb0));
    const w1 = tf.tensor2d(view(sw1), [width, width]);
    const b1 = tf.tensor1d(view(sb1));
    const w1T = tf.transpose(w1);
    const heads = Array.from({ length: layers }, (_, l) =>
      tf.tensor2d(view(swh, l * headSize, headSize), [width, out]),
    );
    const headsT = heads.map((head) => tf.transpose(head));
    const headBiases = Array.from({ length: layers }, (_, l) => tf.tensor1d(view(sbh, l * out, out)));
    for (const { x, labels, batch, probs, grads } of shards) {
      tf.tidy(() => {
        const input = tf.tensor2d(x, [layers * batch, model.inputDim]);
        const h0 = tf.fused.matMul({ a: input, b: w0, bias: b0, activation: 'relu' });
        const h1 = tf.fused.matMul({ a: h0, b: w1, bias: b1, activation: 'relu' });
        // Each layer's rows of h1, transposed: the right operand of its logits and its head's gradient.
        const h1TPerLayer = tf.split(h1, layers, 0).map((rows) => tf.transpose(rows));
        for (let l = 0; l < layers; l++) {
          const zT = tf.matMul(headsT[l]!, h1TPerLayer[l]!);
          const z = tf.add(tf.transpose(zT), headBiases[l]!);
          probs.set(tf.softmax(z.reshape([-1, levels])).dataSync() as Float32Array, l * batch * out);
        }
        const ce = softmaxCrossEntropy(probs, labels, levels, smoothing, meanOver);
        lossSum += ce.loss * labels.length;
        correctSum += ce.acc * labels.length;
        tokensSum += labels.length;
        const dh1TransposedPerLayer: tf.Tensor[] = [];
        for (let l = 0; l < layers; l++) {
          const d = tf.tensor2d(ce.grad.subarray(l * batch * out, (l + 1) * batch * out), [batch, out]);
          grads.set(tf.matMul(h1TPerLayer[l]!, d).dataSync(), swh.offset + l * headSize);
          grads.set(tf.sum(d, 0).dataSync(), sbh.offset + l * out);
          dh1TransposedPerLayer.push(tf.matMul(heads[l]!, tf.transpose(d)));
        }
        const dh1 = tf.transpose(tf.concat(dh1TransposedPerLayer, 1));
        const [dW1, db1, dh0] = reluDenseBackward(h0, h1, dh1, w1T);
        const [dW0, db0] = reluDenseBackward(input, h0, dh0!);
        grads.set(dW0.dataSync(), sw0.offset);
        grads.set(db0.dataSync(), sb0.offset);
        grads.set(dW1.dataSync(), sw1.offset);
        grads.set(db1.dataSync(), sb1.offset);
      });
    }
  });
  return { loss: lossSum / tokensSum, acc: correctSum / tokensSum };
}

function draftGradients(
  model: DraftPolicy,
  x: Float32Array,
  labels: Int32Array,
  batch: number,
  smoothing: number,
  grads: Float32Array,
  probs: Float32Array,
): { loss: number; acc: number } {
  let stats = { loss: NaN, acc: NaN };
  tf.tidy(() => {
    const [w0, b0, w1, b1] = paramTensors(model) as [tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D];
    const input = tf.tensor2d(x, [batch, model.config.obsDim]);
    const h = tf.fused.matMul({ a: input, b: w0, bias: b0, activation: 'relu' });
    const logits = tf.fused.matMul({ a: h, b: w1, bias: b1 });
    probs.set(tf.softmax(logits.reshape([-1, model.config.shape.levels])).dataSync() as Float32Array);
    const ce = softmaxCrossEntropy(probs, labels, model.config.shape.levels, smoothing);
    stats = ce;
    const dLogits = tf.tensor2d(ce.grad, [batch, logits.shape[1] as number]);
    const dW1 = tf.matMul(tf.transpose(h), dLogits);
    const db1 = tf.sum(dLogits, 0);
    const [dW0, db0] = reluDenseBackward(input, h, tf.matMul(dLogits, tf.transpose(w1)));
    writeGrads(model, [dW0, db0, dW1, db1], grads);
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
  if (o.labelSmoothing !== undefined && !(o.labelSmoothing >= 0 && o.labelSmoothing < 1))
    throw inputError(`label smoothing must be in [0, 1), got ${String(o.labelSmoothing)}`);
  validateDataset(o.train, o.obsDim, shape, 'training');
  validateDataset(o.heldOut, o.obsDim, shape, 'held-out');
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
  const obsStats = observationStats(train.obs, train.count, obsDim);
  const model: Model =
    options.kind === 'main'
      ? MainPolicy.initialize(
          {
            obsDim,
            ...obsStats,
            ...(options.codebook ?? nominalCodebook(shape)),
            shape,
            width: options.width ?? 128,
          },
          options.seed,
        )
      : DraftPolicy.initialize(
          { obsDim, ...obsStats, shape, width: options.width ?? 64, draftLayers: options.draftLayers ?? 3 },
          options.seed,
        );
  const rng = new Prng(options.seed + 1);
  // The model trains on the optimizer's own arrays (no copy per step); detached again after training.
  const optimizer = new SimdAdamW(
    model.numParams,
    model instanceof MainPolicy ? (shardSizes(Math.min(options.batchSize, train.count)).length as 1 | 2) : 1,
  );
  optimizer.params.set(model.params);
  model.params = optimizer.params;
  const grads = optimizer.grads;
  const batchSize = Math.min(options.batchSize, train.count);
  const batchesPerEpoch = Math.max(1, Math.floor(train.count / batchSize));
  const totalSteps = batchesPerEpoch * options.epochs;
  const warmupSteps = Math.floor(totalSteps * 0.02);
  const order = new Uint32Array(train.count).map((_, i) => i);
  const sampleCodes = tokens * layers;
  const smoothing = options.labelSmoothing ?? 0;

  // Batch buffers, reused across steps (the main model's are its shards').
  const main = model instanceof MainPolicy ? model : undefined;
  const draft = model instanceof DraftPolicy ? model : undefined;
  const x = new Float32Array(draft ? batchSize * obsDim : 0);
  const labels = new Int32Array(draft ? batchSize * draft.draftLayers * tokens : 0);
  const batchObs = new Float32Array(batchSize * obsDim);
  const probs = new Float32Array(labels.length * shape.levels);
  const batchCodes = new Int32Array(batchSize * sampleCodes);
  const shards = main ? createMainShards(main, batchSize, optimizer) : [];
  const batchTokens = layers * batchSize * tokens;
  const backendName = activeBackend() ?? 'wasm';
  const second = shards[1];
  const shardWorker =
    main && second && (options.threads ?? 1) >= 2 && (backendName === 'wasm' || backendName === 'cpu')
      ? new ShardWorker({
          backend: backendName,
          config: main.config,
          memory: optimizer.params.buffer as SharedArrayBuffer,
          paramsOffset: optimizer.params.byteOffset,
          gradsOffset: second.grads.byteOffset,
          size: model.numParams,
          x: second.x.buffer as SharedArrayBuffer,
          labels: second.labels.buffer as SharedArrayBuffer,
          batch: second.batch,
          smoothing,
          meanOver: batchTokens,
        })
      : undefined;

  // The worker's start-up (loading its backend) is set-up, not training time.
  await shardWorker?.started().catch(async (error: unknown) => {
    await shardWorker.close();
    throw error;
  });
  const history: PolicyEpochInfo[] = [];
  const start = performance.now();
  let trainSeconds = 0;
  let step = 0;
  const diverged = (what: string, epoch: number): RfsqError =>
    new RfsqError(`policy training diverged: ${what} at epoch ${epoch}, step ${step + 1}`, {
      hint: `lower the learning rate (it was ${options.lr})`,
      exitCode: ExitCode.checkFailed,
    });

  try {
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
          fillMainShards(main, shards, batchObs, batchCodes);
          if (shardWorker) {
            const inWorker = shardWorker.start();
            // Awaited below; if this thread's half throws first, the worker's rejection is not unhandled.
            inWorker.catch(() => undefined);
            const here = mainGradients(main, shards.slice(0, 1), smoothing, batchTokens);
            const there = await inWorker;
            const [a, b] = [shards[0]!.labels.length, second!.labels.length];
            stats = {
              loss: (here.loss * a + there.loss * b) / (a + b),
              acc: (here.acc * a + there.acc * b) / (a + b),
            };
          } else stats = mainGradients(main, shards, smoothing, batchTokens);
        } else {
          const d = draft as DraftPolicy;
          for (let i = 0; i < batchSize; i++) d.normalizeObs(x, i * obsDim, batchObs, i);
          for (let i = 0; i < batchSize; i++)
            for (let l = 0; l < d.draftLayers; l++)
              for (let j = 0; j < tokens; j++)
                labels[(i * d.draftLayers + l) * tokens + j] = batchCodes[
                  i * sampleCodes + j * layers + l
                ] as number;
          stats = draftGradients(d, x, labels, batchSize, smoothing, grads, probs);
        }
        if (!Number.isFinite(stats.loss)) throw diverged(`the loss became ${stats.loss}`, epoch);
        lr = cosineLr(step, totalSteps, options.lr, warmupSteps);
        const check = optimizer.step(model.params, grads, lr, options.weightDecay ?? 0);
        if (!check.gradsFinite) throw diverged('a gradient became non-finite', epoch);
        if (!check.paramsFinite) throw diverged('a weight became non-finite', epoch);
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
  } finally {
    await shardWorker?.close();
  }
  model.params = model.params.slice();
  const decode = options.kind === 'main' ? options.decode : undefined;
  const report = main
    ? evaluateMain(main, options.heldOut, 3, decode, options.onEvaluationStage)
    : evaluateDraft(draft as DraftPolicy, options.heldOut, options.onEvaluationStage);
  const common = {
    history,
    seconds: (performance.now() - start) / 1000,
    steps: step,
    msPerStep: (trainSeconds * 1000) / Math.max(1, step),
    backend: tf.getBackend(),
  };
  return main
    ? { model: main, report: report as MainReport, ...common }
    : { model: draft as DraftPolicy, report: report as DraftReport, ...common };
}
