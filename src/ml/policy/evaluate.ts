import { inputError } from '../../core/errors.js';
import { continueGreedy, decodeGreedy, middleLevel } from './decode.js';
import {
  type DraftPolicy,
  type LayerQuery,
  type MainPolicy,
  type PolicyDataset,
  validateDataset,
} from './model.js';

/**
 * Token accuracy of the policies on a (held-out) set, per residual layer. Three different numbers for the
 * main model, named for what they condition on:
 *
 * - teacher-forced: layer l predicted from the ground-truth codes of layers < l (the training condition);
 * - free-running: greedy decoding from the observation alone, each layer conditioned on the model's own
 *   predictions (what a deployed policy produces). `mainTokenAcc` is this one, over all layers;
 * - given coarse: L{D}..L{layers-1} decoded free-running after the ground-truth L0..L{D-1} (D = 3 by default).
 */

export interface MainReport {
  count: number;
  /** 1 / levels. */
  chance: number;
  /** Free-running token accuracy over all layers (the checklist's phase2.main_token_acc). */
  mainTokenAcc: number;
  /** Free-running accuracy per layer. */
  perLayerFreeRunning: number[];
  /** Teacher-forced token accuracy over all layers. */
  mainTokenAccTeacherForced: number;
  perLayerTeacherForced: number[];
  /** First layer decoded after the ground-truth coarse layers (3: L3..L7 given L0..L2). */
  fineFromLayer: number;
  /** Free-running accuracy over layers fineFromLayer.. when the coarse layers are ground truth. */
  fineTokenAccGivenCoarse: number;
  /** Per layer fineFromLayer..layers-1. */
  perLayerGivenCoarse: number[];
  /**
   * Mean squared error, in normalized action units, between the free-running codes decoded by the
   * tokenizer and the demonstrations' actions: what the policy gets wrong, whatever the codes. Present
   * when the set carries its actions and a decoder is given.
   */
  actionMse?: number;
  /**
   * Depth-limited decoding against full depth on the held-out set (present with a decoder): per depth K,
   * the distribution over chunks of max |Δa| (normalized action units) between the chunk decoded from the
   * free-running layers 0..K-1 (the rest at the middle level) and the full-depth chunk. `--depth auto`
   * picks from it (chooseDepth).
   */
  depthTable?: DepthRow[];
}

export interface DepthRow {
  depth: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] as number;
}

/**
 * Per chunk, max |a - b| over its values: two decodings [count, ...] of the same chunks, sorted ascending.
 */
export function chunkDistances(a: Float32Array, b: Float32Array, count: number): Float64Array {
  const per = a.length / count;
  const out = new Float64Array(count);
  for (let n = 0; n < count; n++) {
    let max = 0;
    for (let i = n * per; i < (n + 1) * per; i++)
      max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
    out[n] = max;
  }
  return out.sort();
}

/**
 * The depth table: full-depth greedy codes truncated to K layers are what depth-limited greedy decoding
 * gives (its first K layers are greedy's), so no extra pass is needed, only one decode per depth.
 */
export function depthTable(
  free: Int32Array,
  count: number,
  shape: { layers: number; levels: number },
  decode: (codes: Int32Array) => Float32Array,
): DepthRow[] {
  const { layers, levels } = shape;
  const full = decode(free);
  const rows: DepthRow[] = [];
  for (let depth = 1; depth <= layers; depth++) {
    const truncated = free.slice();
    for (let i = 0; i < truncated.length; i += layers)
      truncated.fill(middleLevel(levels), i + depth, i + layers);
    const distances =
      depth === layers ? new Float64Array(count) : chunkDistances(decode(truncated), full, count);
    rows.push({
      depth,
      p50: percentile(distances, 0.5),
      p90: percentile(distances, 0.9),
      p99: percentile(distances, 0.99),
      max: distances[count - 1] ?? 0,
    });
  }
  return rows;
}

/** The smallest depth whose held-out p99 chunk distance to full depth is at most `eps`. */
export function chooseDepth(table: readonly DepthRow[], eps: number): number {
  const row = table.find((r) => r.p99 <= eps);
  return row ? row.depth : Math.max(...table.map((r) => r.depth));
}

export interface DraftReport {
  count: number;
  chance: number;
  /** Token accuracy over the draft's layers (L0..L2). */
  draftCoarseAcc: number;
  perLayer: number[];
}

/** Per-layer accuracy of predicted codes [count, tokens, layers] against truth, for layers 0..n-1. */
function perLayerAccuracy(
  pred: Int32Array,
  truth: Int32Array,
  count: number,
  tokens: number,
  layers: number,
): number[] {
  const correct = new Array<number>(layers).fill(0);
  for (let n = 0; n < count; n++)
    for (let j = 0; j < tokens; j++)
      for (let l = 0; l < layers; l++) {
        const i = (n * tokens + j) * layers + l;
        if (pred[i] === truth[i]) correct[l] = (correct[l] as number) + 1;
      }
  return correct.map((c) => c / (count * tokens));
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Called as each part of an evaluation starts: seconds of work each on a large held-out set. */
export type EvaluationStageListener = (stage: string, index: number, total: number) => void;

export function evaluateMain(
  model: MainPolicy,
  set: PolicyDataset,
  coarseLayers = 3,
  decode?: (codes: Int32Array) => Float32Array,
  onStage?: EvaluationStageListener,
): MainReport {
  const { obsDim, shape } = model.config;
  validateDataset(set, obsDim, shape, 'evaluation');
  const { layers } = shape;
  const tokens = model.tokens;
  const { count, obs, codes } = set;

  const stages = decode ? 4 : 3;
  // Teacher forced: every (sample, layer) query conditioned on the ground truth, in blocks of samples.
  onStage?.('teacher-forced accuracy', 1, stages);
  const teacher = new Int32Array(codes.length);
  const block = 64;
  for (let s0 = 0; s0 < count; s0 += block) {
    const queries: LayerQuery[] = [];
    for (let n = s0; n < Math.min(count, s0 + block); n++)
      for (let l = 0; l < layers; l++) queries.push({ sample: n, layer: l });
    const pred = model.predict(obs, codes, count, queries);
    queries.forEach((q, r) => {
      for (let j = 0; j < tokens; j++)
        teacher[(q.sample * tokens + j) * layers + q.layer] = pred[r * tokens + j] as number;
    });
  }
  const perLayerTeacherForced = perLayerAccuracy(teacher, codes, count, tokens, layers);

  onStage?.('free-running decoding', 2, stages);
  const free = decodeGreedy(model, obs).codes;
  const perLayerFreeRunning = perLayerAccuracy(free, codes, count, tokens, layers);

  const fineFromLayer = Math.min(coarseLayers, layers);
  const given = codes.slice();
  onStage?.(`decoding the fine layers given the true L0–L${fineFromLayer - 1}`, 3, stages);
  continueGreedy(model, obs, count, given, new Int32Array(count).fill(fineFromLayer), new Int32Array(count));
  const perLayerGivenCoarse = perLayerAccuracy(given, codes, count, tokens, layers).slice(fineFromLayer);

  let actionMse: number | undefined;
  if (decode) onStage?.('decoded-action error by depth', 4, stages);
  const table = decode ? depthTable(free, count, shape, decode) : undefined;
  if (decode && set.actions) {
    const decoded = decode(free);
    if (decoded.length !== set.actions.length)
      throw inputError(`decoded ${decoded.length} action values, the set holds ${set.actions.length}`);
    let sum = 0;
    for (let i = 0; i < decoded.length; i++)
      sum += ((decoded[i] as number) - (set.actions[i] as number)) ** 2;
    actionMse = sum / decoded.length;
  }

  return {
    count,
    chance: 1 / shape.levels,
    ...(actionMse === undefined ? {} : { actionMse }),
    ...(table ? { depthTable: table } : {}),
    mainTokenAcc: mean(perLayerFreeRunning),
    perLayerFreeRunning,
    mainTokenAccTeacherForced: mean(perLayerTeacherForced),
    perLayerTeacherForced,
    fineFromLayer,
    fineTokenAccGivenCoarse: mean(perLayerGivenCoarse),
    perLayerGivenCoarse,
  };
}

export function evaluateDraft(
  model: DraftPolicy,
  set: PolicyDataset,
  onStage?: EvaluationStageListener,
): DraftReport {
  onStage?.('coarse-layer proposals', 1, 1);
  const { obsDim, shape, draftLayers } = model.config;
  validateDataset(set, obsDim, shape, 'evaluation');
  const tokens = model.tokens;
  const proposal = model.propose(set.obs, set.count); // [count, tokens, draftLayers]
  const truth = new Int32Array(proposal.length);
  for (let n = 0; n < set.count; n++)
    for (let j = 0; j < tokens; j++)
      for (let l = 0; l < draftLayers; l++)
        truth[(n * tokens + j) * draftLayers + l] = set.codes[(n * tokens + j) * shape.layers + l] as number;
  const perLayer = perLayerAccuracy(proposal, truth, set.count, tokens, draftLayers);
  return { count: set.count, chance: 1 / shape.levels, draftCoarseAcc: mean(perLayer), perLayer };
}
