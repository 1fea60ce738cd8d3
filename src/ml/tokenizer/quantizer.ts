/**
 * Residual finite scalar quantizer (RFSQ), written as one pass over plain arrays.
 *
 * Both variants share one rule. For layer l and latent dimension h, with constants `mean[l,h]` and
 * `scale[l,h]`:
 *
 *   u      = clip((r_l - mean) / scale, -1, 1)
 *   idx    = floor((u + 1) * (L - 1) / 2 + 0.5)          (nearest of L levels evenly spaced in [-1, 1])
 *   q_l    = level(idx) * scale + mean,  level(i) = -1 + 2 i / (L - 1)
 *   r_l+1  = r_l - q_l,                  r_0 = z (the encoder's tanh output)
 *   output = q_0 + q_1 + ... + q_{L-1}
 *
 * - naive: mean = 0, scale = 1 for every layer (the published plan). After layer 0 the residual is
 *   within half a level step of 0, so later layers collapse to the middle level.
 * - robust: mean and scale = k * std are running statistics (exponential moving average of the batch
 *   mean / variance of each layer's residual, per latent dimension, like BatchNorm's running stats).
 *
 * Why running statistics, not per-vector LayerNorm statistics: the published robust variant normalized
 * each residual vector by its own mean/std, so decoding needed those per-vector numbers, which the codes do
 * not carry: codes alone were undecodable. Here the normalization constants are model constants, saved in
 * the checkpoint (`rfsq.layer_mean`, `rfsq.layer_scale`), so `decode(codes) = sum_l level(idx_l) * scale_l
 * + mean_l` is exactly the reconstruction the forward pass produced. The training forward pass uses the same
 * constants (updated from the batch first, then applied), so training sees exactly what evaluation and
 * decoding do; there is no train/eval mismatch as with batch statistics.
 *
 * Arithmetic is done in float64 from float32 inputs and float32 constants, with a fixed operation order, so
 * that the PyTorch template (templates/pytorch/rfsq_tokenizer.py) reproduces the codes bit for bit.
 */

export interface QuantizerState {
  numLayers: number;
  latentDim: number;
  numLevels: number;
  /** Constant offset per [layer, latent dim], float32, row-major [numLayers, latentDim]. */
  mean: Float32Array;
  /** Constant scale (k * running std) per [layer, latent dim], float32. */
  scale: Float32Array;
  /** Running statistics behind mean/scale (robust variant only). */
  runningMean: Float64Array;
  runningVar: Float64Array;
  /** Number of running-statistics updates so far (0 = never trained). */
  updates: number;
  /**
   * The research code's LayerNorm strategy (imported checkpoints only): each residual vector is normalized
   * by its own mean and std (unbiased, + 1e-5) instead of mean/scale, and decoding, like that code's
   * decode_from_indices, has only the levels (mean = 0, scale = 1): codes alone do not decode.
   */
  perVector?: boolean;
}

/** Floor on the running std so the scale never reaches 0. */
export const MIN_STD = 1e-8;

export function createQuantizerState(
  numLayers: number,
  latentDim: number,
  numLevels: number,
): QuantizerState {
  const n = numLayers * latentDim;
  return {
    numLayers,
    latentDim,
    numLevels,
    mean: new Float32Array(n),
    scale: new Float32Array(n).fill(1),
    runningMean: new Float64Array(n),
    runningVar: new Float64Array(n).fill(1),
    updates: 0,
  };
}

export function cloneQuantizerState(s: QuantizerState): QuantizerState {
  return {
    ...s,
    mean: s.mean.slice(),
    scale: s.scale.slice(),
    runningMean: s.runningMean.slice(),
    runningVar: s.runningVar.slice(),
  };
}

export function levelValue(index: number, numLevels: number): number {
  return -1 + (2 * index) / (numLevels - 1);
}

export function levelValues(numLevels: number): number[] {
  return Array.from({ length: numLevels }, (_, i) => levelValue(i, numLevels));
}

export interface RunningStatsUpdate {
  /** Robust quantizer: running-statistics momentum. */
  momentum: number;
  /** k: how many stds map to the outermost level. */
  sigmas: number;
}

export interface QuantizeResult {
  /** Sum of the per-layer quantized values, float64, [rows, latentDim]. */
  quantized: Float64Array;
  /** Level indices [rows, latentDim, numLayers]. */
  codes: Int32Array;
}

/**
 * Quantize `z` ([rows, latentDim], float32 values) with the residual quantizer. When `update` is given
 * (robust training), each layer's running statistics are first updated from this batch's residuals, then
 * the layer is quantized with the updated constants. `residualStats` (optional, each [numLayers])
 * accumulates the sum and the sum of squares, over rows and dims, of the residual entering each layer.
 */
export function residualQuantize(
  z: ArrayLike<number>,
  rows: number,
  state: QuantizerState,
  update?: RunningStatsUpdate,
  residualStats?: { sum: Float64Array; sumSq: Float64Array },
): QuantizeResult {
  const H = state.latentDim;
  const L = state.numLayers;
  const levels = state.numLevels;
  const half = (levels - 1) / 2;
  const n = rows * H;
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) r[i] = z[i] as number;
  const quantized = new Float64Array(n);
  const codes = new Int32Array(n * L);
  if (state.perVector && update) throw new Error('a per-vector quantizer cannot be trained');
  // Hot loop: the layer's constants and the level values read from float64 arrays (the same numbers).
  const levelTable = Float64Array.from({ length: levels }, (_, idx) => levelValue(idx, levels));
  const layerMean = new Float64Array(H);
  const layerScale = new Float64Array(H);
  for (let l = 0; l < L; l++) {
    const base = l * H;
    if (update && rows > 0) {
      const m = state.updates === 0 ? 1 : update.momentum;
      const mu = new Float64Array(H);
      const ss = new Float64Array(H);
      for (let i = 0; i < n; i += H) {
        for (let h = 0; h < H; h++) mu[h] = (mu[h] as number) + (r[i + h] as number);
      }
      for (let h = 0; h < H; h++) mu[h] = (mu[h] as number) / rows;
      for (let i = 0; i < n; i += H) {
        for (let h = 0; h < H; h++) {
          const d = (r[i + h] as number) - (mu[h] as number);
          ss[h] = (ss[h] as number) + d * d;
        }
      }
      for (let h = 0; h < H; h++) {
        const variance = rows > 1 ? (ss[h] as number) / (rows - 1) : 0;
        const k = base + h;
        state.runningMean[k] = (1 - m) * (state.runningMean[k] as number) + m * (mu[h] as number);
        state.runningVar[k] = (1 - m) * (state.runningVar[k] as number) + m * variance;
        state.mean[k] = state.runningMean[k] as number;
        const std = Math.sqrt(Math.max(state.runningVar[k] as number, MIN_STD * MIN_STD));
        state.scale[k] = update.sigmas * std;
      }
    }
    let sq = 0;
    let sum = 0;
    for (let h = 0; h < H; h++) {
      layerMean[h] = state.mean[base + h] as number;
      layerScale[h] = state.scale[base + h] as number;
    }
    for (let row = 0, i = 0; row < rows; row++) {
      const codeRow = row * H * L + l;
      const vector = state.perVector ? vectorStats(r, i, H) : undefined;
      for (let h = 0; h < H; h++, i++) {
        const mean = vector ? vector.mean : (layerMean[h] as number);
        const scale = vector ? vector.std : (layerScale[h] as number);
        const ri = r[i] as number;
        sq += ri * ri;
        sum += ri;
        let u = (ri - mean) / scale;
        if (u > 1) u = 1;
        else if (u < -1) u = -1;
        const idx = Math.floor((u + 1) * half + 0.5);
        const q = (levelTable[idx] as number) * scale + mean;
        r[i] = ri - q;
        quantized[i] = (quantized[i] as number) + q;
        codes[codeRow + h * L] = idx;
      }
    }
    if (residualStats) {
      residualStats.sum[l] = (residualStats.sum[l] as number) + sum;
      residualStats.sumSq[l] = (residualStats.sumSq[l] as number) + sq;
    }
  }
  if (update) state.updates += 1;
  return { quantized, codes };
}

/** Mean and std + 1e-5 of r[start, start + n) (torch's z.mean(-1), z.std(-1) + 1e-5: unbiased). */
function vectorStats(r: Float64Array, start: number, n: number): { mean: number; std: number } {
  let sum = 0;
  for (let k = start; k < start + n; k++) sum += r[k] as number;
  const mean = sum / n;
  let ss = 0;
  for (let k = start; k < start + n; k++) ss += ((r[k] as number) - mean) ** 2;
  return { mean, std: Math.sqrt(n > 1 ? ss / (n - 1) : 0) + 1e-5 };
}

/** Decode level indices [rows, latentDim, numLayers] back to the quantized latent (float64). */
export function decodeCodes(codes: Int32Array, state: QuantizerState): Float64Array {
  const H = state.latentDim;
  const L = state.numLayers;
  const levels = state.numLevels;
  if (codes.length % (H * L) !== 0) {
    throw new RangeError(`codes length ${codes.length} is not a multiple of latentDim*numLayers = ${H * L}`);
  }
  const rows = codes.length / (H * L);
  const out = new Float64Array(rows * H);
  // Same summation order as residualQuantize (layer 0 first), so the result is bit-identical.
  for (let l = 0; l < L; l++) {
    for (let row = 0; row < rows; row++) {
      for (let h = 0; h < H; h++) {
        const idx = codes[(row * H + h) * L + l] as number;
        if (!(idx >= 0 && idx < levels)) {
          throw new RangeError(`code ${idx} out of range 0..${levels - 1}`);
        }
        const k = l * H + h;
        const i = row * H + h;
        const q = (-1 + (2 * idx) / (levels - 1)) * (state.scale[k] as number) + (state.mean[k] as number);
        out[i] = (out[i] as number) + q;
      }
    }
  }
  return out;
}

/**
 * Optional code-usage regularizer on layer 0: loss = w * (1 - H(p) / log L), where p is the batch-mean
 * soft assignment softmax_j(-(u - level_j)^2 / tau) of the normalized layer-0 input u = (z - mean_0) /
 * scale_0, tau = (level step)^2 / 4. Under the straight-through estimator the residuals entering layers
 * >= 1 have zero gradient with respect to z (r_1 = z - q_0 and dq_0/dz = I), so only layer 0 can be
 * regularized by gradient; the later layers' usage is reported by evaluation instead. Returns the penalty
 * (before weighting) and adds w * d penalty / d z into `gradOut` ([rows, latentDim]).
 */
export function entropyPenalty(
  z: ArrayLike<number>,
  rows: number,
  state: QuantizerState,
  weight: number,
  gradOut: Float64Array,
): number {
  const H = state.latentDim;
  const levels = state.numLevels;
  const step = 2 / (levels - 1);
  const tau = (step * step) / 4;
  const n = rows * H;
  if (n === 0) return 0;
  const lv = levelValues(levels);
  const soft = new Float64Array(n * levels);
  const pbar = new Float64Array(levels);
  const u = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const h = i % H;
    const ui = ((z[i] as number) - (state.mean[h] as number)) / (state.scale[h] as number);
    u[i] = ui;
    let max = -Infinity;
    for (let j = 0; j < levels; j++) {
      const d = ui - (lv[j] as number);
      const a = (-d * d) / tau;
      soft[i * levels + j] = a;
      if (a > max) max = a;
    }
    let total = 0;
    for (let j = 0; j < levels; j++) {
      const e = Math.exp((soft[i * levels + j] as number) - max);
      soft[i * levels + j] = e;
      total += e;
    }
    for (let j = 0; j < levels; j++) {
      const s = (soft[i * levels + j] as number) / total;
      soft[i * levels + j] = s;
      pbar[j] = (pbar[j] as number) + s / n;
    }
  }
  let entropy = 0;
  const g = new Float64Array(levels);
  for (let j = 0; j < levels; j++) {
    const p = Math.max(pbar[j] as number, 1e-12);
    entropy -= p * Math.log(p);
    g[j] = -(Math.log(p) + 1); // dH / d pbar_j
  }
  const logL = Math.log(levels);
  // d penalty / dH = -1 / log L; d pbar_j / d s_ij = 1 / n.
  const coef = (weight * -1) / logL / n;
  for (let i = 0; i < n; i++) {
    let gbar = 0;
    for (let j = 0; j < levels; j++) gbar += (soft[i * levels + j] as number) * (g[j] as number);
    let du = 0;
    for (let j = 0; j < levels; j++) {
      const s = soft[i * levels + j] as number;
      du += s * ((g[j] as number) - gbar) * ((-2 * ((u[i] as number) - (lv[j] as number))) / tau);
    }
    gradOut[i] = (gradOut[i] as number) + (coef * du) / (state.scale[i % H] as number);
  }
  return 1 - entropy / logL;
}
