/**
 * Per-dimension normalization to [-1, 1] using the 1st and 99th percentiles (as OpenVLA's
 * "BOUNDS_Q99"): low -> -1, high -> +1, then clipped to [-1, 1]. Compute the stats on the TRAIN
 * split only, then apply them to both splits.
 */
import { inputError } from '../../core/errors.js';
import { checkNotEmpty } from './validate.js';
import { episodeDim, type Episode } from './types.js';

export interface NormStats {
  /** 1st percentile per dimension. */
  low: number[];
  /** 99th percentile per dimension. */
  high: number[];
}

/** Ranges narrower than this are treated as constant dimensions (no division). */
export const MIN_RANGE = 1e-8;

/** Quantile with linear interpolation between closest ranks (numpy's default "linear" method). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new Error('quantile of an empty array');
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo]!;
  return a + (sorted[hi]! - a) * (pos - lo);
}

/** 1st/99th percentile per dimension over all steps of `episodes` (pass the train split). */
export function computeNormStats(
  episodes: readonly Episode[],
  options: { lowQ?: number; highQ?: number } = {},
): NormStats {
  const lowQ = options.lowQ ?? 0.01;
  const highQ = options.highQ ?? 0.99;
  checkNotEmpty(episodes, 'the training split');
  const nonEmpty = episodes.filter((e) => e.steps > 0);
  const dim = episodeDim(nonEmpty[0]!)!;
  const total = nonEmpty.reduce((a, e) => a + e.steps, 0);
  const low: number[] = [];
  const high: number[] = [];
  const column = new Float64Array(total);
  for (let d = 0; d < dim; d++) {
    let k = 0;
    for (const e of nonEmpty) {
      for (let t = 0; t < e.steps; t++) column[k++] = e.actions[t * dim + d]!;
    }
    column.sort();
    low.push(quantile(column, lowQ));
    high.push(quantile(column, highQ));
  }
  return { low, high };
}

function checkDims(actions: Float32Array, stats: NormStats): number {
  const dim = stats.low.length;
  if (dim === 0 || stats.high.length !== dim || actions.length % dim !== 0) {
    throw inputError(
      `Normalization stats have ${dim} dimensions but the actions (${actions.length} values) do not split into rows of ${dim}`,
      'Use the stats computed for this dataset (same action dimension), or recompute them.',
    );
  }
  return dim;
}

/** Maps row-major actions [steps, dim] to [-1, 1] per dim; constant dims (high == low) map to 0. */
export function normalize(actions: Float32Array, stats: NormStats): Float32Array {
  const dim = checkDims(actions, stats);
  const out = new Float32Array(actions.length);
  for (let i = 0; i < actions.length; i++) {
    const d = i % dim;
    const low = stats.low[d]!;
    const range = stats.high[d]! - low;
    if (range < MIN_RANGE) {
      out[i] = 0;
      continue;
    }
    const v = (2 * (actions[i]! - low)) / range - 1;
    out[i] = v < -1 ? -1 : v > 1 ? 1 : v;
  }
  return out;
}

/** Inverse of `normalize` (values clipped there stay at low/high); constant dims map back to low. */
export function denormalize(normalized: Float32Array, stats: NormStats): Float32Array {
  const dim = checkDims(normalized, stats);
  const out = new Float32Array(normalized.length);
  for (let i = 0; i < normalized.length; i++) {
    const d = i % dim;
    const low = stats.low[d]!;
    const range = stats.high[d]! - low;
    out[i] = range < MIN_RANGE ? low : ((normalized[i]! + 1) / 2) * range + low;
  }
  return out;
}

/** Normalizes every episode (returns new episodes; the input is not modified). */
export function normalizeEpisodes(episodes: readonly Episode[], stats: NormStats): Episode[] {
  return episodes.map((e) => ({ ...e, actions: normalize(e.actions, stats) }));
}
