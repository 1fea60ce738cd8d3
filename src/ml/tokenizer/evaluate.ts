import type { ChunkSet } from './config.js';
import type { RfsqModel } from './model.js';
import { createQuantizerState, residualQuantize } from './quantizer.js';

/**
 * Evaluation of a trained tokenizer, all in evaluation mode (fixed quantizer constants) on the float64
 * JavaScript path, so no TensorFlow.js is needed.
 */

type Actions = ChunkSet | Float32Array;

function valuesOf(data: Actions): Float32Array {
  return data instanceof Float32Array ? data : data.data;
}

function mse(a: Float32Array, b: Float32Array): number {
  if (a.length === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    sum += d * d;
  }
  return sum / a.length;
}

/** MSE (normalized units) of the evaluation-mode reconstruction. */
export function heldOutMse(model: RfsqModel, data: Actions): number {
  const x = valuesOf(data);
  return mse(model.reconstruct(x), x);
}

/** Per layer: code counts, from codes laid out [..., numLayers]. */
function codeCounts(codes: Int32Array, numLayers: number, numLevels: number): Float64Array[] {
  const counts = Array.from({ length: numLayers }, () => new Float64Array(numLevels));
  for (let i = 0; i < codes.length; i++) {
    const c = counts[i % numLayers] as Float64Array;
    c[codes[i] as number] = (c[codes[i] as number] as number) + 1;
  }
  return counts;
}

function entropyBits(counts: Float64Array, n: number): number {
  let entropy = 0;
  for (const count of counts) {
    if (count > 0) {
      const p = count / n;
      entropy -= p * Math.log2(p);
    }
  }
  return n > 0 ? entropy : 0;
}

export function codeEntropyBits(codes: Int32Array, numLayers: number, numLevels: number): number[] {
  const n = codes.length / numLayers;
  return codeCounts(codes, numLayers, numLevels).map((c) => entropyBits(c, n));
}

/** MSE of decodeFromCodes(encode(x)) against x: reconstruction from the codes alone. */
export function roundtripMse(model: RfsqModel, data: Actions): number {
  const x = valuesOf(data);
  return mse(model.decodeFromCodes(model.encode(x)), x);
}

/** Per-action-dimension MSE of the reconstruction. */
export function perDimensionMse(model: RfsqModel, data: Actions): number[] {
  const x = valuesOf(data);
  const y = model.reconstruct(x);
  const dim = model.config.actionDim;
  const sums = new Float64Array(dim);
  for (let i = 0; i < x.length; i++) {
    const d = (y[i] as number) - (x[i] as number);
    sums[i % dim] = (sums[i % dim] as number) + d * d;
  }
  const rows = x.length / dim;
  return Array.from(sums, (s) => s / rows);
}

export interface LayerStats {
  layer: number;
  /** Std of the residual entering the layer (over rows and latent dims). */
  residualStd: number;
  /** Entropy of the layer's level histogram (pooled over latent dims), in bits; max log2(numLevels). */
  entropyBits: number;
  /** Fraction of the levels used at least once. */
  usedFraction: number;
  /** Fraction of codes equal to the middle level (collapse indicator). */
  middleFraction: number;
}

/** Per-layer residual std and code usage. */
export function layerStats(model: RfsqModel, data: Actions): LayerStats[] {
  const x = valuesOf(data);
  const { latentDim: H, numLayers: L, numLevels } = model.config;
  const z = model.latent(x);
  const rows = z.length / H;
  const sum = new Float64Array(L);
  const sumSq = new Float64Array(L);
  const { codes } = residualQuantize(z, rows, model.quantizer, undefined, { sum, sumSq });
  const counts = codeCounts(codes, L, numLevels);
  const n = rows * H;
  const middle = (numLevels - 1) / 2;
  return counts.map((c, l) => {
    const used = c.filter((count) => count > 0).length;
    const mean = (sum[l] as number) / n;
    const variance = Math.max(0, (sumSq[l] as number) / n - mean * mean);
    const mid = Number.isInteger(middle) ? (c[middle] as number) / n : 0;
    return {
      layer: l,
      residualStd: Math.sqrt(variance),
      entropyBits: entropyBits(c, n),
      usedFraction: used / numLevels,
      middleFraction: mid,
    };
  });
}

export interface ReferenceResult {
  name: string;
  description: string;
  mse: number;
  tokensPerStep: number;
}

/**
 * OpenVLA-style tokenizer: each normalized action dimension uniformly binned into `bins` bins over [-1, 1],
 * decoded to the bin centre. tokens/step = actionDim.
 */
export function binningReference(data: Actions, actionDim: number, bins = 256): ReferenceResult {
  const x = valuesOf(data);
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Math.min(1, Math.max(-1, x[i] as number));
    const bin = Math.min(bins - 1, Math.floor(((v + 1) / 2) * bins));
    y[i] = -1 + ((bin + 0.5) * 2) / bins;
  }
  return {
    name: `uniform-binning-${bins}`,
    description: `OpenVLA-style per-dimension ${bins}-bin uniform binning over [-1, 1]`,
    mse: mse(y, x),
    tokensPerStep: actionDim,
  };
}

/**
 * Residual FSQ with fixed geometric per-layer scales scale_l = numLevels^-l and no offsets, applied in the
 * trained model's encoder latent and decoded with the trained decoder. This keeps the network fixed and
 * changes only the quantizer constants, isolating what the learned (robust) constants buy over a fixed
 * schedule. tokens/step = latentDim * numLayers.
 */
export function fixedScaleReference(model: RfsqModel, data: Actions): ReferenceResult {
  const x = valuesOf(data);
  const { latentDim: H, numLayers: L, numLevels } = model.config;
  const state = createQuantizerState(L, H, numLevels);
  for (let l = 0; l < L; l++) state.scale.fill(Math.pow(numLevels, -l), l * H, (l + 1) * H);
  const z = model.latent(x);
  const { quantized } = residualQuantize(z, z.length / H, state);
  return {
    name: 'rfsq-fixed-geometric',
    description: `residual FSQ in the trained latent with fixed scales ${numLevels}^-l (no learned constants)`,
    mse: mse(model.decodeLatent(quantized), x),
    tokensPerStep: H * L,
  };
}

export interface EvaluationReport {
  variant: string;
  heldOutMse: number;
  roundtripMse: number;
  /** max |decode(encode(x)) - forward(x)|: 0 when the codes are self-contained. */
  maxRoundtripDiff: number;
  perDimensionMse: number[];
  layers: LayerStats[];
  tokensPerStep: number;
  references: ReferenceResult[];
}

export function evaluateTokenizer(model: RfsqModel, data: Actions): EvaluationReport {
  const x = valuesOf(data);
  const { reconstruction, codes } = model.forward(x);
  const decoded = model.decodeFromCodes(codes);
  let maxDiff = 0;
  for (let i = 0; i < decoded.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs((decoded[i] as number) - (reconstruction[i] as number)));
  }
  return {
    variant: model.config.variant,
    heldOutMse: mse(reconstruction, x),
    roundtripMse: mse(decoded, x),
    maxRoundtripDiff: maxDiff,
    perDimensionMse: perDimensionMse(model, x),
    layers: layerStats(model, x),
    tokensPerStep: model.tokensPerStep,
    references: [binningReference(x, model.config.actionDim), fixedScaleReference(model, x)],
  };
}
