import { inputError } from '../../core/errors.js';
import { argmaxLevels, type Drafter, type LayerQuery, type MainPolicy } from './model.js';

/**
 * Decoding of a chunk's codes from an observation: greedy (optionally depth-limited), the plan's draft
 * speculation, and Jacobi decoding over layers (decodeJacobi, documented there).
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
  /** Main passes per chunk (= the depth decoded: layers by default). */
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
 * Decode layers from[n]..until-1 of every sample n greedily, one batched pass per layer, given the codes of
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
  until = main.config.shape.layers,
): number {
  const { layers } = main.config.shape;
  const tokens = main.tokens;
  let calls = 0;
  let first = until;
  for (let n = 0; n < count; n++) first = Math.min(first, from[n] as number);
  for (let l = first; l < until; l++) {
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

/** The level whose value is 0 before the layer's scale and mean: what a layer left undecoded stands at. */
export function middleLevel(levels: number): number {
  return Math.floor((levels - 1) / 2);
}

function checkDepth(depth: number, layers: number): void {
  if (!Number.isInteger(depth) || depth < 1 || depth > layers)
    throw inputError(`the decoding depth must be an integer in 1..${layers}, got ${String(depth)}`, 'e.g. 3');
}

/**
 * Greedy decoding: one main pass per layer (argmax of each layer given the previous argmaxes). With a depth
 * K below the number of layers (depth-limited decoding), only layers 0..K-1 are decoded, in K passes, and
 * layers K.. stand at the middle level, whose value is the layer's mean: the fine layers are about 3.4x
 * smaller each, so what they would add is what the action-distance table of Phase 2 measures.
 */
export function decodeGreedy(
  main: MainPolicy,
  obs: Float32Array,
  depth = main.config.shape.layers,
): GreedyResult {
  const start = performance.now();
  const count = countOf(main, obs);
  const { layers, levels } = main.config.shape;
  checkDepth(depth, layers);
  const codes = new Int32Array(count * main.tokens * layers);
  if (depth < layers) fillUndecoded(codes, layers, depth, middleLevel(levels));
  const passes = new Int32Array(count);
  const rowsBefore = main.rows;
  const calls = continueGreedy(main, obs, count, codes, new Int32Array(count), passes, depth);
  const ms = performance.now() - start;
  return {
    codes,
    count,
    mainPassesPerChunk: depth,
    mainCalls: calls,
    mainRows: main.rows - rowsBefore,
    ms,
    msPerChunk: ms / count,
  };
}

/** Sets layers from..layers-1 of every token of `codes` ([..., layers]) to `level`. */
function fillUndecoded(codes: Int32Array, layers: number, from: number, level: number): void {
  for (let i = 0; i < codes.length; i += layers) codes.fill(level, i + from, i + layers);
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

export interface JacobiOptions {
  /** Layers decoded (the rest stand at the middle level, as in depth-limited greedy decoding). */
  depth?: number;
  /**
   * The first guess of every layer: the draft's proposal for its layers (one draft pass) and the middle
   * level for the others, or the middle level everywhere.
   */
  init?: 'draft' | 'middle';
  /**
   * Early exit: stop when a sweep moves the decoded chunk by less than this (max |Δa|, normalized action
   * units, through `decodeActions`). 0 (the default) runs to the fixed point, whose output equals greedy's.
   */
  exitEps?: number;
  /** The tokenizer's decoder [count, chunk, hidden, layers] -> normalized actions; needed when exitEps > 0. */
  decodeActions?: (codes: Int32Array) => Float32Array;
}

export interface JacobiResult {
  codes: Int32Array;
  count: number;
  /** Main passes (sweeps) per chunk. */
  mainPassesPerChunk: Int32Array;
  meanMainPassesPerChunk: number;
  /** Draft passes per chunk: 1 when started from the draft, else 0. */
  draftPassesPerChunk: number;
  /** Per chunk: the layers known to equal greedy's when decoding stopped (depth at the fixed point). */
  exactLayers: Int32Array;
  mainCalls: number;
  mainRows: number;
  ms: number;
  msPerChunk: number;
}

/**
 * Jacobi decoding over layers. Every layer starts from a guess; each pass (sweep) recomputes, in one batched
 * call, every layer not yet known to be exact, each conditioned on the previous sweep's codes of the layers
 * before it. Layer l depends only on layers < l, so the system is triangular and its fixed point is greedy's
 * output. Bookkeeping of the exact prefix e (layers 0..e-1 equal greedy's and are not recomputed): a sweep
 * computes layer e from an exact prefix, so it is exact; if it did not change, layer e+1 was computed from
 * an exact prefix too, and so on: e advances past the first layer that changed, by at least one per sweep.
 * So a chunk takes at most `depth` passes, as many as greedy, and fewer when guesses or early sweeps are
 * already right; rows per pass are the layers still open (more rows than greedy: on a CPU, where time
 * follows rows, it is slower; on an accelerator, where a pass costs about the same for any number of rows,
 * passes bound latency). With exitEps > 0 a chunk also stops when a sweep moved its decoded actions by less
 * than exitEps, and is then no longer guaranteed equal to greedy's.
 */
export function decodeJacobi(
  main: MainPolicy,
  draft: Drafter | undefined,
  obs: Float32Array,
  options: JacobiOptions = {},
): JacobiResult {
  const start = performance.now();
  const count = countOf(main, obs);
  const { layers, levels } = main.config.shape;
  const tokens = main.tokens;
  const depth = options.depth ?? layers;
  checkDepth(depth, layers);
  const init = options.init ?? 'draft';
  const exitEps = options.exitEps ?? 0;
  if (!(exitEps >= 0)) throw inputError(`the early-exit threshold must be ≥ 0, got ${String(exitEps)}`);
  if (exitEps > 0 && !options.decodeActions)
    throw inputError(
      'Jacobi early exit needs the tokenizer decoder to measure how far a sweep moved the chunk',
    );
  const rowsBefore = main.rows;
  let codes = new Int32Array(count * tokens * layers).fill(middleLevel(levels));
  let draftPasses = 0;
  if (init === 'draft') {
    if (!draft)
      throw inputError(
        'Jacobi decoding from the draft needs a draft policy',
        'or start from the middle level',
      );
    const d = Math.min(draft.draftLayers, depth);
    const proposal = draft.propose(obs, count);
    draftPasses = 1;
    for (let n = 0; n < count; n++)
      for (let j = 0; j < tokens; j++)
        for (let l = 0; l < d; l++)
          codes[(n * tokens + j) * layers + l] = proposal[(n * tokens + j) * draft.draftLayers + l] as number;
  }
  const exact = new Int32Array(count);
  const passes = new Int32Array(count);
  const stopped = new Uint8Array(count);
  let calls = 0;
  let actions = exitEps > 0 ? options.decodeActions!(codes) : undefined;
  const perChunk = actions ? actions.length / count : 0;
  for (;;) {
    const queries: LayerQuery[] = [];
    for (let n = 0; n < count; n++)
      if (!stopped[n]) for (let l = exact[n] as number; l < depth; l++) queries.push({ sample: n, layer: l });
    if (queries.length === 0) break;
    const pred = main.predict(obs, codes, count, queries);
    calls += 1;
    const next = codes.slice();
    const changed = new Uint8Array(count * layers);
    queries.forEach((q, r) => {
      for (let j = 0; j < tokens; j++) {
        const i = (q.sample * tokens + j) * layers + q.layer;
        const value = pred[r * tokens + j] as number;
        if (value !== codes[i]) changed[q.sample * layers + q.layer] = 1;
        next[i] = value;
      }
    });
    const nextActions = actions ? options.decodeActions!(next) : undefined;
    for (let n = 0; n < count; n++) {
      if (stopped[n]) continue;
      passes[n] = (passes[n] as number) + 1;
      let e = (exact[n] as number) + 1;
      while (e < depth && !changed[n * layers + e - 1]) e += 1;
      exact[n] = e;
      if (e >= depth) stopped[n] = 1;
      else if (actions && nextActions) {
        let moved = 0;
        for (let i = n * perChunk; i < (n + 1) * perChunk; i++)
          moved = Math.max(moved, Math.abs((nextActions[i] as number) - (actions[i] as number)));
        if (moved < exitEps) stopped[n] = 1;
      }
    }
    codes = next;
    actions = nextActions;
  }
  const ms = performance.now() - start;
  let passSum = 0;
  for (let n = 0; n < count; n++) passSum += passes[n] as number;
  return {
    codes,
    count,
    mainPassesPerChunk: passes,
    meanMainPassesPerChunk: passSum / count,
    draftPassesPerChunk: draftPasses,
    exactLayers: exact,
    mainCalls: calls,
    mainRows: main.rows - rowsBefore,
    ms,
    msPerChunk: ms / count,
  };
}

/** A decoding of a chunk's codes, as Phase 3 and the benchmark name it. */
export type Decoding =
  | { method: 'greedy'; depth?: number }
  | { method: 'speculative'; acceptRatio?: number }
  | { method: 'jacobi'; depth?: number; init?: 'draft' | 'middle'; exitEps?: number };

export interface DecodeOutcome {
  codes: Int32Array;
  /** Per chunk, averaged over the chunks decoded together. */
  mainPassesPerChunk: number;
  mainRowsPerChunk: number;
  draftPassesPerChunk: number;
  /** Speculative decoding only: accepted draft layers / draft layers, and token agreement per draft layer. */
  acceptanceRate?: number;
  tokenAgreement?: number[];
}

/** Decode with any decoding; `decodeActions` (the tokenizer's decoder) serves Jacobi's early exit. */
export function decodeWith(
  main: MainPolicy,
  draft: Drafter | undefined,
  obs: Float32Array,
  decoding: Decoding,
  decodeActions?: (codes: Int32Array) => Float32Array,
): DecodeOutcome {
  if (decoding.method === 'greedy') {
    const out = decodeGreedy(main, obs, decoding.depth);
    return {
      codes: out.codes,
      mainPassesPerChunk: out.mainPassesPerChunk,
      mainRowsPerChunk: out.mainRows / out.count,
      draftPassesPerChunk: 0,
    };
  }
  if (decoding.method === 'jacobi') {
    const out = decodeJacobi(main, draft, obs, { ...decoding, ...(decodeActions ? { decodeActions } : {}) });
    return {
      codes: out.codes,
      mainPassesPerChunk: out.meanMainPassesPerChunk,
      mainRowsPerChunk: out.mainRows / out.count,
      draftPassesPerChunk: out.draftPassesPerChunk,
    };
  }
  if (!draft)
    throw inputError(
      'speculative decoding needs a draft policy',
      'train one with `rfsq phase2 train --model draft`',
    );
  const out = decodeSpeculative(main, draft, obs, { acceptRatio: decoding.acceptRatio ?? 1 });
  return {
    codes: out.codes,
    mainPassesPerChunk: out.meanMainPassesPerChunk,
    mainRowsPerChunk: out.mainRows / out.count,
    draftPassesPerChunk: out.draftPassesPerChunk,
    acceptanceRate: out.acceptanceRate,
    tokenAgreement: out.tokenAgreement,
  };
}

/** Whether a decoding's output equals greedy full-depth decoding's by construction. */
export function isExact(decoding: Decoding, layers: number): boolean {
  if (decoding.method === 'speculative') return (decoding.acceptRatio ?? 1) === 1;
  if ((decoding.depth ?? layers) !== layers) return false;
  return decoding.method === 'greedy' || (decoding.exitEps ?? 0) === 0;
}

/** A short name: "greedy", "greedy, depth 3", "Jacobi from the draft, exit ε 0.02", "speculative (exact)". */
export function describeDecoding(decoding: Decoding, layers: number): string {
  const depth =
    decoding.method !== 'speculative' && (decoding.depth ?? layers) < layers
      ? `, depth ${decoding.depth}`
      : '';
  if (decoding.method === 'greedy') return `greedy${depth}`;
  if (decoding.method === 'speculative') {
    const ratio = decoding.acceptRatio ?? 1;
    return `speculative (${ratio === 1 ? 'exact' : `accept ratio ${ratio}`})`;
  }
  const eps = decoding.exitEps ?? 0;
  return `Jacobi from the ${decoding.init === 'middle' ? 'middle level' : 'draft'}${depth}${eps > 0 ? `, exit ε ${eps}` : ' (exact)'}`;
}
