import { inputError } from '../../core/errors.js';
import { argmaxLevels, type Drafter, type LayerQuery, type MainPolicy } from './model.js';

/**
 * Greedy and speculative decoding of a chunk's codes from an observation.
 *
 * Accounting. One main-model pass = one call of MainPolicy.logits, whatever the number of rows (layer
 * queries) in it. Several observations are decoded together; a batched call counts as one pass for every
 * chunk that has a row in it, so the per-chunk figures below are what one chunk decoded alone would cost.
 *
 * - greedy: one pass per layer, `layers` (8) passes per chunk, 8 rows.
 * - speculative: one draft pass proposes L0..L{D-1} (D = 3). One verification pass evaluates D + 1 queries,
 *   l = 0..D, query l conditioned on the draft's proposals for layers < l. Layer l is accepted when the
 *   main model's argmax equals the draft for EVERY token of that layer (agreement is per layer); the accepted
 *   layers k are the longest such prefix. The verification pass already holds the main model's prediction
 *   for layer k (the first rejected one, or L{D} when all are accepted), conditioned on the accepted prefix,
 *   which is greedy's own prefix; decoding then continues with one pass per remaining layer k+1..layers-1.
 *   With an acceptRatio below 1 a token also passes when the main model rates it nearly as likely as its
 *   argmax (see SpeculativeOptions).
 *   Main passes per chunk = 1 + (layers - 1 - k): 8 when k = 0, 7, 6, and 5 when k = 3. Rows per chunk =
 *   (D + 1) + (layers - 1 - k): the saving is in sequential passes (latency), not in rows (FLOPs).
 *
 * Exactness: every row is computed on its own (no cross-row interaction, see model.ts), so a query with the
 * same inputs yields the same argmax in any pass; by induction over the accepted prefix the output equals
 * greedy decoding's output token for token.
 */

export interface GreedyResult {
  /** Codes [count, chunk, hidden, layers]. */
  codes: Int32Array;
  count: number;
  /** Main passes per chunk (= layers). */
  mainPassesPerChunk: number;
  /** Batched main-model calls made. */
  mainCalls: number;
  /** Rows (layer queries) the main model evaluated in total. */
  mainRows: number;
  ms: number;
  msPerChunk: number;
}

export interface SpeculativeResult {
  codes: Int32Array;
  count: number;
  /** Accepted draft layers per chunk (0..draftLayers). */
  acceptedLayers: Int32Array;
  /** Mean accepted layers / draftLayers. */
  acceptanceRate: number;
  /** Per draft layer: mean fraction of tokens equal to the main model's argmax in the verification pass. */
  tokenAgreement: number[];
  /** Main passes per chunk: 1 + (layers - 1 - accepted). */
  mainPassesPerChunk: Int32Array;
  meanMainPassesPerChunk: number;
  /** Draft passes per chunk (1). */
  draftPassesPerChunk: number;
  mainCalls: number;
  draftCalls: number;
  mainRows: number;
  ms: number;
  msPerChunk: number;
}

function countOf(main: MainPolicy, obs: Float32Array): number {
  const { obsDim } = main.config;
  if (obs.length === 0 || obs.length % obsDim !== 0)
    throw inputError(
      `observations have ${obs.length} values, not a positive multiple of obsDim ${obsDim}`,
      'pass observations as a flat Float32Array [count, obsDim]',
    );
  return obs.length / obsDim;
}

/**
 * Decode layers from[n]..layers-1 of every sample n greedily, one batched pass per layer, given the codes of
 * layers < from[n] already in `codes`. Adds one to passes[n] for every pass that has a row of sample n.
 * Returns the number of calls made.
 */
export function continueGreedy(
  main: MainPolicy,
  obs: Float32Array,
  count: number,
  codes: Int32Array,
  from: Int32Array,
  passes: Int32Array,
): number {
  const { layers } = main.config.shape;
  const tokens = main.tokens;
  let calls = 0;
  let first = layers;
  for (let n = 0; n < count; n++) first = Math.min(first, from[n] as number);
  for (let l = first; l < layers; l++) {
    const queries: LayerQuery[] = [];
    for (let n = 0; n < count; n++) if ((from[n] as number) <= l) queries.push({ sample: n, layer: l });
    if (queries.length === 0) continue;
    const pred = main.predict(obs, codes, count, queries);
    calls += 1;
    queries.forEach((q, r) => {
      passes[q.sample] = (passes[q.sample] as number) + 1;
      for (let j = 0; j < tokens; j++)
        codes[(q.sample * tokens + j) * layers + l] = pred[r * tokens + j] as number;
    });
  }
  return calls;
}

/** Greedy decoding: one main pass per layer (argmax of each layer given the previous argmaxes). */
export function decodeGreedy(main: MainPolicy, obs: Float32Array): GreedyResult {
  const start = performance.now();
  const count = countOf(main, obs);
  const { layers } = main.config.shape;
  const codes = new Int32Array(count * main.tokens * layers);
  const passes = new Int32Array(count);
  const rowsBefore = main.rows;
  const calls = continueGreedy(main, obs, count, codes, new Int32Array(count), passes);
  const ms = performance.now() - start;
  return {
    codes,
    count,
    mainPassesPerChunk: layers,
    mainCalls: calls,
    mainRows: main.rows - rowsBefore,
    ms,
    msPerChunk: ms / count,
  };
}

export interface SpeculativeOptions {
  /**
   * Acceptance of a draft token: the main model must give it at least `acceptRatio` times the probability
   * of its own top choice at that position (Medusa's "typical acceptance", in likelihood-ratio form). A
   * layer is accepted when all of its tokens are. 1 (the default) accepts only the main model's argmax,
   * so the output equals decodeGreedy's. Below 1, a draft token the main model rates nearly as likely as
   * its favourite (a near tie, typically a value on a level boundary) stands; a token the main model is
   * sure against still rejects the layer. Accepted layers keep the draft's tokens and the main model
   * continues from exactly that prefix, so the output is no longer guaranteed equal to greedy's.
   */
  acceptRatio?: number;
}

/**
 * Speculative decoding with a draft of the coarse layers. With the default acceptRatio of 1 the output
 * equals decodeGreedy's.
 */
export function decodeSpeculative(
  main: MainPolicy,
  draft: Drafter,
  obs: Float32Array,
  options: SpeculativeOptions = {},
): SpeculativeResult {
  const ratio = options.acceptRatio ?? 1;
  if (!(ratio > 0 && ratio <= 1))
    throw inputError(`the acceptance ratio must be in (0, 1], got ${String(ratio)}`, 'e.g. 0.5');
  const start = performance.now();
  const count = countOf(main, obs);
  const { layers, levels } = main.config.shape;
  const tokens = main.tokens;
  const d = draft.draftLayers;
  if (!Number.isInteger(d) || d < 1 || d > layers)
    throw inputError(`the draft predicts ${d} layers; the main model has ${layers}`);
  const rowsBefore = main.rows;

  // 1. One draft pass.
  const proposal = draft.propose(obs, count); // [count, tokens, d]
  if (proposal.length !== count * tokens * d)
    throw inputError(`the draft proposed ${proposal.length} codes, expected ${count} x ${tokens} x ${d}`);
  const codes = new Int32Array(count * tokens * layers);
  for (let n = 0; n < count; n++)
    for (let j = 0; j < tokens; j++)
      for (let l = 0; l < d; l++)
        codes[(n * tokens + j) * layers + l] = proposal[(n * tokens + j) * d + l] as number;

  // 2. One verification pass: queries l = 0..d (l < layers) per chunk, conditioned on the proposals.
  const verifyLayers = Math.min(d + 1, layers);
  const queries: LayerQuery[] = [];
  for (let n = 0; n < count; n++)
    for (let l = 0; l < verifyLayers; l++) queries.push({ sample: n, layer: l });
  const logits = main.logits(obs, codes, count, queries); // [count * verifyLayers, tokens, levels]
  const verified = argmaxLevels(logits, levels);
  // p(c) >= ratio * p(top)  <=>  logit(c) >= logit(top) + ln(ratio); with ratio 1, only the argmax passes.
  const margin = Math.log(ratio);
  const accepted = new Int32Array(count);
  const passes = new Int32Array(count).fill(1);
  const from = new Int32Array(count);
  const agreement = new Float64Array(d);
  for (let n = 0; n < count; n++) {
    const row = (l: number): number => (n * verifyLayers + l) * tokens;
    let k = 0;
    let prefixAccepted = true;
    for (let l = 0; l < d; l++) {
      let agreeing = 0;
      let allPass = true;
      for (let j = 0; j < tokens; j++) {
        const proposed = codes[(n * tokens + j) * layers + l] as number;
        const top = verified[row(l) + j] as number;
        if (top === proposed) {
          agreeing += 1;
          continue;
        }
        const o = (row(l) + j) * levels;
        if (ratio === 1 || (logits[o + proposed] as number) < (logits[o + top] as number) + margin)
          allPass = false;
      }
      agreement[l] = (agreement[l] as number) + agreeing / tokens;
      if (prefixAccepted && allPass) k += 1;
      else prefixAccepted = false;
    }
    accepted[n] = k;
    // The accepted layers keep the draft's tokens (all equal to the main model's when exact); layer k takes
    // the main model's prediction from this pass, which was conditioned on exactly that prefix.
    if (k < layers)
      for (let j = 0; j < tokens; j++) codes[(n * tokens + j) * layers + k] = verified[row(k) + j] as number;
    // Discard proposals beyond the accepted prefix (they are overwritten below anyway).
    for (let l = k + 1; l < d; l++) for (let j = 0; j < tokens; j++) codes[(n * tokens + j) * layers + l] = 0;
    from[n] = k + 1;
  }

  // 3. The remaining layers, one pass each.
  const calls = 1 + continueGreedy(main, obs, count, codes, from, passes);
  const ms = performance.now() - start;
  let acceptedSum = 0;
  let passSum = 0;
  for (let n = 0; n < count; n++) {
    acceptedSum += accepted[n] as number;
    passSum += passes[n] as number;
  }
  return {
    codes,
    count,
    acceptedLayers: accepted,
    acceptanceRate: acceptedSum / (count * d),
    tokenAgreement: Array.from(agreement, (v) => v / count),
    mainPassesPerChunk: passes,
    meanMainPassesPerChunk: passSum / count,
    draftPassesPerChunk: 1,
    mainCalls: calls,
    draftCalls: 1,
    mainRows: main.rows - rowsBefore,
    ms,
    msPerChunk: ms / count,
  };
}
