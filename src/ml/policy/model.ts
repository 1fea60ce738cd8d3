import { inputError } from '../../core/errors.js';
import { Prng } from '../prng.js';

/**
 * Phase 2 policies on tokenizer codes, in a miniature: a main model that predicts the codes of one residual
 * layer at a time (autoregressive over layers) and a small draft model that predicts the coarse layers in
 * one pass. Parameters live in one flat Float32Array per model (views per named tensor) so that training
 * (TensorFlow.js, src/ml/policy/train.ts) and checkpoints share them; inference is plain JavaScript with
 * float64 accumulation, two rows at a time with each row's sums made as if it were alone, so a row's
 * logits never depend on which other rows share its pass (the property speculative decoding relies on to
 * reproduce greedy decoding exactly).
 */

/** Shape of one chunk's codes: [chunk, hidden, layers], level indices 0..levels-1. */
export interface CodeShape {
  chunk: number;
  hidden: number;
  layers: number;
  levels: number;
}

/** The RFSQ tokenizer's codes: chunk 8, latent 16, 8 residual layers of 7 levels. */
export const TOKENIZER_CODE_SHAPE: CodeShape = { chunk: 8, hidden: 16, layers: 8, levels: 7 };

/** Tokens per layer of one chunk: chunk * hidden. */
export function tokensPerLayer(shape: CodeShape): number {
  return shape.chunk * shape.hidden;
}

/**
 * Observations paired with codes. obs [count, obsDim]; codes [count, chunk, hidden, layers] (the tokenizer's
 * layout: index ((n * chunk + t) * hidden + h) * layers + l).
 */
export interface PolicyDataset {
  obs: Float32Array;
  codes: Int32Array;
  count: number;
  /** The actions the codes encode, normalized, [count, chunk, actionDim] (for the decoded-action error). */
  actions?: Float32Array;
}

/**
 * Per-dimension observation statistics of the training set. Models see (obs - mean) / std: raw observations
 * mix metres (a 1 cm offset is 0.01) with unit one-hots, and without this the small offsets that decide a
 * placement are invisible to the first layer.
 */
export interface ObsNormalization {
  obsMean: number[];
  obsStd: number[];
}

/** Mean and std per dimension of [count, obsDim] observations; a constant dimension gets std 1. */
export function observationStats(obs: Float32Array, count: number, obsDim: number): ObsNormalization {
  const mean = new Float64Array(obsDim);
  const sq = new Float64Array(obsDim);
  for (let n = 0; n < count; n++)
    for (let d = 0; d < obsDim; d++) mean[d] = (mean[d] as number) + (obs[n * obsDim + d] as number) / count;
  for (let n = 0; n < count; n++)
    for (let d = 0; d < obsDim; d++)
      sq[d] = (sq[d] as number) + ((obs[n * obsDim + d] as number) - (mean[d] as number)) ** 2 / count;
  const obsStd = Array.from(sq, (v) => (Math.sqrt(v) > 1e-6 ? Math.sqrt(v) : 1));
  return { obsMean: Array.from(mean), obsStd };
}

/**
 * The tokenizer's per-layer code values: code c of layer l and latent dimension h stands for
 * (-1 + 2c / (levels - 1)) * scale[l, h] + mean[l, h] (the quantizer's constants, see src/ml/quantizer.ts).
 * The main model reads earlier layers through them, as the partial latent they decode to.
 */
export interface Codebook {
  /** [layers * hidden], row-major [layer, hidden]. */
  codeMean: number[];
  codeScale: number[];
}

/** Levels at their nominal values -1..1 in every layer (mean 0, scale 1): the naive quantizer's codebook. */
export function nominalCodebook(shape: CodeShape): Codebook {
  const size = shape.layers * shape.hidden;
  return { codeMean: new Array<number>(size).fill(0), codeScale: new Array<number>(size).fill(1) };
}

export interface MainPolicyConfig extends ObsNormalization, Codebook {
  kind: 'main';
  obsDim: number;
  shape: CodeShape;
  /** Width of the two ReLU trunk layers. */
  width: number;
}

export interface DraftPolicyConfig extends ObsNormalization {
  kind: 'draft';
  obsDim: number;
  shape: CodeShape;
  /** Width of the single ReLU hidden layer. */
  width: number;
  /** Number of coarse layers predicted (L0..L{draftLayers-1}). */
  draftLayers: number;
}

export type PolicyConfig = MainPolicyConfig | DraftPolicyConfig;

/** One named parameter tensor inside the flat vector. */
export interface ParamSpec {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  /** Fan-in for the uniform(+-1/sqrt(fanIn)) init. */
  fanIn: number;
}

function layout(entries: [string, number[], number][]): { specs: ParamSpec[]; size: number } {
  let offset = 0;
  const specs = entries.map(([name, shape, fanIn]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const spec = { name, shape, offset, size, fanIn };
    offset += size;
    return spec;
  });
  return { specs, size: offset };
}

function validateShape(shape: CodeShape): void {
  for (const key of ['chunk', 'hidden', 'layers'] as const) {
    if (!Number.isInteger(shape[key]) || shape[key] < 1)
      throw inputError(`code shape ${key} must be a positive integer, got ${String(shape[key])}`);
  }
  if (!Number.isInteger(shape.levels) || shape.levels < 2)
    throw inputError(`code shape levels must be an integer >= 2, got ${String(shape.levels)}`);
}

function validateCommon(config: PolicyConfig): void {
  validateShape(config.shape);
  if (!Number.isInteger(config.obsDim) || config.obsDim < 1)
    throw inputError(`obsDim must be a positive integer, got ${String(config.obsDim)}`);
  if (!Number.isInteger(config.width) || config.width < 1)
    throw inputError(`width must be a positive integer, got ${String(config.width)}`);
  for (const key of ['obsMean', 'obsStd'] as const) {
    const values = config[key];
    if (values.length !== config.obsDim || !values.every(Number.isFinite))
      throw inputError(`${key} must hold ${config.obsDim} finite numbers, got ${values.length}`);
  }
  if (!config.obsStd.every((v) => v > 0)) throw inputError('obsStd must be positive');
}

/** Rows a dense layer computes together: one read of each weight serves both (more spill registers). */
const BLOCK = 2;

/**
 * dst[r] = act(x[r] W + b) for a block of up to BLOCK rows (x[r] a row at offset 0, `rows` of them) and a
 * [inDim, outDim] row-major kernel at wOffset. Inputs are taken four at a time (one pass over dst per four
 * kernel rows), and each weight read serves both rows of the block (about 1.5x faster than row by row). A row's sums are the same float64
 * operations in the same order whatever the block holds: a group of four zero inputs adds exactly 0 to a
 * row and is skipped only when it is zero in every row of the block. So a row's result never depends on
 * the rows beside it (the property speculative decoding relies on to reproduce greedy decoding exactly).
 */
function denseBlock(
  x: readonly ArrayLike<number>[],
  rows: number,
  inDim: number,
  w: Float32Array,
  wOffset: number,
  b: Float32Array,
  bOffset: number,
  outDim: number,
  relu: boolean,
  dst: readonly Float64Array[],
): void {
  for (let r = 0; r < rows; r++) {
    const d = dst[r] as Float64Array;
    for (let j = 0; j < outDim; j++) d[j] = b[bOffset + j] as number;
  }
  for (let r0 = 0; r0 < rows; r0 += 2) {
    const xa = x[r0] as ArrayLike<number>;
    const da = dst[r0] as Float64Array;
    const pair = r0 + 1 < rows;
    const xb = (pair ? x[r0 + 1] : xa) as ArrayLike<number>;
    const db = (pair ? dst[r0 + 1] : undefined) as Float64Array | undefined;
    let i = 0;
    for (; i + 4 <= inDim; i += 4) {
      const a0 = xa[i] as number;
      const a1 = xa[i + 1] as number;
      const a2 = xa[i + 2] as number;
      const a3 = xa[i + 3] as number;
      const b0 = xb[i] as number;
      const b1 = xb[i + 1] as number;
      const b2 = xb[i + 2] as number;
      const b3 = xb[i + 3] as number;
      const zeroA = a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0;
      const zeroB = b0 === 0 && b1 === 0 && b2 === 0 && b3 === 0;
      if (zeroA && zeroB) continue;
      const k0 = wOffset + i * outDim;
      const k1 = k0 + outDim;
      const k2 = k1 + outDim;
      const k3 = k2 + outDim;
      if (db === undefined || zeroB) {
        for (let j = 0; j < outDim; j++)
          da[j] =
            (da[j] as number) +
            (a0 * (w[k0 + j] as number) +
              a1 * (w[k1 + j] as number) +
              a2 * (w[k2 + j] as number) +
              a3 * (w[k3 + j] as number));
        continue;
      }
      for (let j = 0; j < outDim; j++) {
        const w0 = w[k0 + j] as number;
        const w1 = w[k1 + j] as number;
        const w2 = w[k2 + j] as number;
        const w3 = w[k3 + j] as number;
        da[j] = (da[j] as number) + (a0 * w0 + a1 * w1 + a2 * w2 + a3 * w3);
        db[j] = (db[j] as number) + (b0 * w0 + b1 * w1 + b2 * w2 + b3 * w3);
      }
    }
    for (; i < inDim; i++) {
      const row = wOffset + i * outDim;
      const ai = xa[i] as number;
      for (let j = 0; j < outDim; j++) da[j] = (da[j] as number) + ai * (w[row + j] as number);
      if (db === undefined) continue;
      const bi = xb[i] as number;
      for (let j = 0; j < outDim; j++) db[j] = (db[j] as number) + bi * (w[row + j] as number);
    }
  }
  if (relu)
    for (let r = 0; r < rows; r++) {
      const d = dst[r] as Float64Array;
      for (let j = 0; j < outDim; j++) if ((d[j] as number) < 0) d[j] = 0;
    }
}

/** Argmax over the last axis (first maximum wins), [rows * tokens, levels] -> [rows * tokens]. */
export function argmaxLevels(logits: Float32Array, levels: number): Int32Array {
  const n = logits.length / levels;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestValue = logits[i * levels] as number;
    for (let k = 1; k < levels; k++) {
      const v = logits[i * levels + k] as number;
      if (v > bestValue) {
        bestValue = v;
        best = k;
      }
    }
    out[i] = best;
  }
  return out;
}

abstract class PolicyBase<C extends PolicyConfig> {
  readonly config: C;
  readonly specs: ParamSpec[];
  params: Float32Array;
  /** Forward calls (passes) since construction; a batched call counts once. */
  passes = 0;
  /** Rows evaluated since construction (one row = one layer query for one observation). */
  rows = 0;

  protected constructor(config: C, entries: [string, number[], number][], params?: Float32Array) {
    this.config = { ...config, shape: { ...config.shape } };
    const { specs, size } = layout(entries);
    this.specs = specs;
    if (params && params.length !== size)
      throw inputError(`parameter vector has ${params.length} values, the architecture needs ${size}`);
    this.params = params ?? new Float32Array(size);
  }

  get numParams(): number {
    return this.params.length;
  }

  get tokens(): number {
    return tokensPerLayer(this.config.shape);
  }

  /** View of a named parameter tensor. */
  param(name: string): Float32Array {
    const s = this.specs.find((x) => x.name === name);
    if (!s) throw new Error(`no parameter ${name}`);
    return this.params.subarray(s.offset, s.offset + s.size);
  }

  /** PyTorch-default init: uniform(+-1/sqrt(fan_in)) for kernels and biases. */
  protected initialize(seed: number): void {
    const rng = new Prng(seed);
    for (const s of this.specs) {
      const bound = 1 / Math.sqrt(s.fanIn);
      for (let i = s.offset; i < s.offset + s.size; i++) this.params[i] = rng.uniform(-bound, bound);
    }
  }

  /** Writes observation row `sample` of `obs`, normalized, at dst[offset..]. */
  normalizeObs(dst: Float32Array, offset: number, obs: Float32Array, sample: number): void {
    const { obsDim, obsMean, obsStd } = this.config;
    for (let d = 0; d < obsDim; d++)
      dst[offset + d] =
        ((obs[sample * obsDim + d] as number) - (obsMean[d] as number)) / (obsStd[d] as number);
  }

  protected checkObs(obs: Float32Array, count: number): void {
    if (obs.length !== count * this.config.obsDim)
      throw inputError(
        `observations have ${obs.length} values, expected ${count} x obsDim ${this.config.obsDim}`,
        'pass observations as a flat Float32Array [count, obsDim]',
      );
  }
}

/** A layer query of one main-model pass: predict layer `layer` of sample `sample`. */
export interface LayerQuery {
  sample: number;
  layer: number;
}

/**
 * Main model: (observation, codes of layers < l, l) -> logits of layer l, [chunk * hidden, levels].
 *
 *   input  = [obs, normalized (obsDim) | the partial latent that layers 0..l-1 decode to, through the
 *             tokenizer's codebook (chunk * hidden; 0 for l = 0) | one-hot of l (layers)]
 *   trunk  = ReLU(input W0 + b0) -> ReLU(. W1 + b1)                       [width]
 *   logits = trunk Wh[l] + bh[l]                                          [tokens * levels]
 *
 * Each layer has its own output head, selected by l (the other heads are not computed).
 */
export class MainPolicy extends PolicyBase<MainPolicyConfig> {
  readonly inputDim: number;

  constructor(config: MainPolicyConfig, params?: Float32Array) {
    validateCommon(config);
    const { obsDim, width, shape } = config;
    for (const key of ['codeMean', 'codeScale'] as const) {
      const values = config[key];
      if (values.length !== shape.layers * shape.hidden || !values.every(Number.isFinite))
        throw inputError(
          `${key} must hold ${shape.layers} x ${shape.hidden} finite numbers, got ${values.length}`,
        );
    }
    const tokens = tokensPerLayer(shape);
    const inputDim = obsDim + tokens + shape.layers;
    super(
      config,
      [
        ['trunk.0.weight', [inputDim, width], inputDim],
        ['trunk.0.bias', [width], inputDim],
        ['trunk.1.weight', [width, width], width],
        ['trunk.1.bias', [width], width],
        ['head.weight', [shape.layers, width, tokens * shape.levels], width],
        ['head.bias', [shape.layers, tokens * shape.levels], width],
      ],
      params,
    );
    this.inputDim = inputDim;
  }

  static initialize(config: Omit<MainPolicyConfig, 'kind'>, seed: number): MainPolicy {
    const model = new MainPolicy({ ...config, kind: 'main' });
    model.initialize(seed);
    return model;
  }

  clone(): MainPolicy {
    return new MainPolicy(this.config, this.params.slice());
  }

  /**
   * Write the input row of query (sample n, layer l) at dst[offset..]: obs row n of `obs` (normalized), and
   * the partial latent of the codes of layers < l of sample n read from `codes` ([count, chunk, hidden,
   * layers]), summed layer 0 first. dst must be zeroed.
   */
  fillInput(
    dst: Float32Array,
    offset: number,
    obs: Float32Array,
    codes: Int32Array,
    sample: number,
    layer: number,
  ): void {
    const { obsDim, shape, codeMean, codeScale } = this.config;
    const tokens = this.tokens;
    const { layers, levels, hidden } = shape;
    this.normalizeObs(dst, offset, obs, sample);
    const base = offset + obsDim;
    const codeBase = sample * tokens * layers;
    const step = 2 / (levels - 1);
    for (let l = 0; l < layer; l++) {
      for (let j = 0; j < tokens; j++) {
        const k = l * hidden + (j % hidden);
        const value = -1 + step * (codes[codeBase + j * layers + l] as number);
        dst[base + j] =
          (dst[base + j] as number) + (value * (codeScale[k] as number) + (codeMean[k] as number));
      }
    }
    dst[base + tokens + layer] = 1;
  }

  /**
   * The input rows of every layer's query for sample n, each written at dst[offsetOf(l)..] (overwritten,
   * no need to zero): the same values as fillInput gives layer by layer, with the partial latent built up
   * once (the same float32 sums, layer 0 first) instead of once per layer.
   */
  fillInputsAllLayers(
    dst: Float32Array,
    offsetOf: (layer: number) => number,
    obs: Float32Array,
    codes: Int32Array,
    sample: number,
  ): void {
    const { obsDim, shape, codeMean, codeScale } = this.config;
    const tokens = this.tokens;
    const { layers, levels, hidden } = shape;
    const codeBase = sample * tokens * layers;
    const step = 2 / (levels - 1);
    const partial = new Float32Array(tokens);
    for (let layer = 0; layer < layers; layer++) {
      const offset = offsetOf(layer);
      this.normalizeObs(dst, offset, obs, sample);
      dst.set(partial, offset + obsDim);
      dst.fill(0, offset + obsDim + tokens, offset + obsDim + tokens + layers);
      dst[offset + obsDim + tokens + layer] = 1;
      if (layer === layers - 1) break;
      for (let j = 0; j < tokens; j++) {
        const k = layer * hidden + (j % hidden);
        const value = -1 + step * (codes[codeBase + j * layers + layer] as number);
        partial[j] = (partial[j] as number) + (value * (codeScale[k] as number) + (codeMean[k] as number));
      }
    }
  }

  /**
   * One forward pass over a batch of layer queries: logits [queries, tokens * levels]. Counts as one pass.
   * `codes` holds, for each sample, the codes of the layers before the queried one.
   */
  logits(obs: Float32Array, codes: Int32Array, count: number, queries: readonly LayerQuery[]): Float32Array {
    this.checkObs(obs, count);
    const { width, shape } = this.config;
    const out = shape.levels * this.tokens;
    const block = Array.from({ length: BLOCK }, () => ({
      input: new Float32Array(this.inputDim),
      h0: new Float64Array(width),
      h1: new Float64Array(width),
      row: new Float64Array(out),
    }));
    const inputs = block.map((slot) => slot.input);
    const h0 = block.map((slot) => slot.h0);
    const h1 = block.map((slot) => slot.h1);
    const rows = block.map((slot) => slot.row);
    const result = new Float32Array(queries.length * out);
    const w0 = this.param('trunk.0.weight');
    const b0 = this.param('trunk.0.bias');
    const w1 = this.param('trunk.1.weight');
    const b1 = this.param('trunk.1.bias');
    const wh = this.param('head.weight');
    const bh = this.param('head.bias');
    for (const q of queries) {
      if (!Number.isInteger(q.layer) || q.layer < 0 || q.layer >= shape.layers)
        throw new RangeError(`layer ${q.layer} out of range`);
      if (!Number.isInteger(q.sample) || q.sample < 0 || q.sample >= count)
        throw new RangeError(`sample ${q.sample} out of range`);
    }
    // Blocks of queries on the same layer (they share its head), in layer order.
    const order = queries.map((_, r) => r).sort((a, b) => queries[a]!.layer - queries[b]!.layer || a - b);
    for (let start = 0; start < order.length;) {
      const layer = queries[order[start]!]!.layer;
      let size = 0;
      while (size < BLOCK && start + size < order.length && queries[order[start + size]!]!.layer === layer) {
        const q = queries[order[start + size]!]!;
        const input = inputs[size]!;
        input.fill(0);
        this.fillInput(input, 0, obs, codes, q.sample, q.layer);
        size += 1;
      }
      denseBlock(inputs, size, this.inputDim, w0, 0, b0, 0, width, true, h0);
      denseBlock(h0, size, width, w1, 0, b1, 0, width, true, h1);
      denseBlock(h1, size, width, wh, layer * width * out, bh, layer * out, out, false, rows);
      for (let r = 0; r < size; r++) result.set(rows[r]!, order[start + r]! * out);
      start += size;
    }
    this.passes += 1;
    this.rows += queries.length;
    return result;
  }

  /** One pass; the argmax codes [queries, tokens]. */
  predict(obs: Float32Array, codes: Int32Array, count: number, queries: readonly LayerQuery[]): Int32Array {
    return argmaxLevels(this.logits(obs, codes, count, queries), this.config.shape.levels);
  }
}

/** Anything that proposes the coarse layers L0..L{draftLayers-1} for a batch of observations. */
export interface Drafter {
  readonly draftLayers: number;
  /** One draft pass: codes [count, tokens, draftLayers] (token-major like the tokenizer's codes). */
  propose(obs: Float32Array, count: number): Int32Array;
}

/**
 * Draft model: observation -> logits of L0..L{draftLayers-1} in one pass.
 *
 *   hidden = ReLU(obs W0 + b0)                            [width]
 *   logits = hidden W1 + b1                               [draftLayers, tokens, levels]
 */
export class DraftPolicy extends PolicyBase<DraftPolicyConfig> implements Drafter {
  constructor(config: DraftPolicyConfig, params?: Float32Array) {
    validateCommon(config);
    const { obsDim, width, shape, draftLayers } = config;
    if (!Number.isInteger(draftLayers) || draftLayers < 1 || draftLayers > shape.layers)
      throw inputError(`draftLayers must be an integer in 1..${shape.layers}, got ${String(draftLayers)}`);
    const out = draftLayers * tokensPerLayer(shape) * shape.levels;
    super(
      config,
      [
        ['mlp.0.weight', [obsDim, width], obsDim],
        ['mlp.0.bias', [width], obsDim],
        ['mlp.1.weight', [width, out], width],
        ['mlp.1.bias', [out], width],
      ],
      params,
    );
  }

  static initialize(config: Omit<DraftPolicyConfig, 'kind'>, seed: number): DraftPolicy {
    const model = new DraftPolicy({ ...config, kind: 'draft' });
    model.initialize(seed);
    return model;
  }

  clone(): DraftPolicy {
    return new DraftPolicy(this.config, this.params.slice());
  }

  get draftLayers(): number {
    return this.config.draftLayers;
  }

  get outputDim(): number {
    return this.config.draftLayers * this.tokens * this.config.shape.levels;
  }

  /** One pass: logits [count, draftLayers, tokens, levels]. */
  logits(obs: Float32Array, count: number): Float32Array {
    this.checkObs(obs, count);
    const { obsDim, width } = this.config;
    const out = this.outputDim;
    const h = Array.from({ length: BLOCK }, () => new Float64Array(width));
    const rows = Array.from({ length: BLOCK }, () => new Float64Array(out));
    const x = Array.from({ length: BLOCK }, () => new Float32Array(obsDim));
    const result = new Float32Array(count * out);
    const w0 = this.param('mlp.0.weight');
    const b0 = this.param('mlp.0.bias');
    const w1 = this.param('mlp.1.weight');
    const b1 = this.param('mlp.1.bias');
    for (let n0 = 0; n0 < count; n0 += BLOCK) {
      const size = Math.min(BLOCK, count - n0);
      for (let r = 0; r < size; r++) this.normalizeObs(x[r]!, 0, obs, n0 + r);
      denseBlock(x, size, obsDim, w0, 0, b0, 0, width, true, h);
      denseBlock(h, size, width, w1, 0, b1, 0, out, false, rows);
      for (let r = 0; r < size; r++) result.set(rows[r]!, (n0 + r) * out);
    }
    this.passes += 1;
    this.rows += count;
    return result;
  }

  propose(obs: Float32Array, count: number): Int32Array {
    const { draftLayers, shape } = this.config;
    const tokens = this.tokens;
    const flat = argmaxLevels(this.logits(obs, count), shape.levels); // [count, draftLayers, tokens]
    const out = new Int32Array(count * tokens * draftLayers);
    for (let n = 0; n < count; n++)
      for (let d = 0; d < draftLayers; d++)
        for (let j = 0; j < tokens; j++)
          out[(n * tokens + j) * draftLayers + d] = flat[(n * draftLayers + d) * tokens + j] as number;
    return out;
  }
}

export type Policy = MainPolicy | DraftPolicy;

/** Check a dataset against a model's shapes (user-caused errors -> inputError). */
export function validateDataset(set: PolicyDataset, obsDim: number, shape: CodeShape, what: string): void {
  if (!Number.isInteger(set.count) || set.count < 1)
    throw inputError(`${what} set has no rows (count ${String(set.count)})`, 'pass at least one observation');
  if (set.obs.length !== set.count * obsDim)
    throw inputError(
      `${what} observations have ${set.obs.length} values, expected ${set.count} x obsDim ${obsDim}`,
    );
  const per = tokensPerLayer(shape) * shape.layers;
  if (set.codes.length !== set.count * per)
    throw inputError(
      `${what} codes have ${set.codes.length} values, expected ${set.count} x ${shape.chunk} x ${shape.hidden} x ${shape.layers}`,
      'codes must be [N, chunk, hidden, layers] level indices from the tokenizer',
    );
  for (let i = 0; i < set.codes.length; i++) {
    const c = set.codes[i] as number;
    if (!(c >= 0 && c < shape.levels))
      throw inputError(`${what} code ${c} at position ${i} is out of range 0..${shape.levels - 1}`);
  }
  for (let i = 0; i < set.obs.length; i++)
    if (!Number.isFinite(set.obs[i] as number))
      throw inputError(`${what} observation value at position ${i} is not finite`);
}
