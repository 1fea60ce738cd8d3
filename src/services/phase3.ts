import path from 'node:path';
import { inputError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import { wilsonInterval } from '../core/proportion.js';
import { selectBackend, type BackendRequest } from '../ml/backend.js';
import { loadCheckpoint, type Checkpoint } from '../ml/checkpoint.js';
import type { DraftPolicy, MainPolicy } from '../ml/policy/index.js';
import { writeJsonAtomic } from './files.js';
import { PHASE2_DEFAULTS } from '../core/training-defaults.js';
import { missingPolicies, trainPhase2 } from './phase2.js';

/** Evaluation layouts come from seeds far from the demonstrations' (which count up from 0). */
const EVAL_SEED_OFFSET = 1_000_000;

export interface Phase3Request {
  /** Folder with main/ and draft/ policies. */
  policy: string;
  /** The tokenizer whose decoder turns predicted codes into actions. */
  tokenizer: string;
  /** The tokenizer the policies were trained on (default: the same). A different one is the decoder swap. */
  policyTokenizer?: string;
  /** Train the policies on policyTokenizer's codes when the folder has none ("the existing models"). */
  trainMissing: boolean;
  /** Epochs for policies trained with trainMissing (default: Phase 2's). */
  policyEpochs?: number;
  data: string;
  trialsPerTask: number;
  seed: number;
  /** Write phase3.baseline_success_rate instead of the success metrics. */
  baseline: boolean;
  /** Speculative decoding's token acceptance ratio (1 = exact, see decodeSpeculative). */
  acceptRatio: number;
  backend: BackendRequest;
  metricsOut?: string;
  onTrial?: (done: number, total: number) => void;
}

interface ModeStats {
  successRate: number;
  /** Wilson 95% interval of the success rate over these trials. */
  successInterval95: [number, number];
  fineGrainedSuccessRate: number;
  fineGrainedInterval95: [number, number];
  perTask: Record<string, number>;
  inferenceMs: { p50: number; p95: number; mean: number };
  mainPassesPerChunk: number;
  /** Main-model rows (layer queries) per chunk: the compute, where passes are the sequential steps. */
  mainRowsPerChunk: number;
  chunks: number;
}

export interface Phase3Report {
  backend: string;
  trials: number;
  decoderSwap: boolean;
  speculative: ModeStats & {
    acceptRatio: number;
    acceptanceRate: number;
    /** Per draft layer: fraction of tokens on which the main model agreed with the draft. */
    tokenAgreement: number[];
    /** Fraction of the chunks' tokens equal to what greedy decoding gives for the same observation. */
    greedyTokenMatch: number;
    /** Fraction of chunks decoded exactly as greedy decoding would. */
    greedyChunkMatch: number;
    draftPassesPerChunk: number;
  };
  greedy: ModeStats;
  /** Decoder swap only: greedy decoding decoded by the tokenizer the policies were trained on. */
  ownDecoder?: ModeStats;
  metrics: Metrics;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

async function ensurePolicies(request: Phase3Request): Promise<void> {
  const missing = missingPolicies(request.policy);
  if (missing.length === 0) return;
  if (!request.trainMissing) {
    throw inputError(
      `no ${missing.join(' and ')} ${missing.length === 1 ? 'policy' : 'policies'} in ${request.policy}`,
      'train them with `rfsq phase2 train`, or pass --train-missing',
    );
  }
  await trainPhase2({
    ...PHASE2_DEFAULTS,
    epochs: request.policyEpochs ?? PHASE2_DEFAULTS.epochs,
    // Only what is missing: a main model that Phase 2 already trained here is kept.
    models: missing,
    tokenizer: request.policyTokenizer ?? request.tokenizer,
    data: request.data,
    out: request.policy,
    backend: request.backend,
  });
}

/**
 * Closed-loop evaluation in the simulator: the policy predicts codes, the tokenizer decodes a chunk, the
 * chunk runs open loop, repeat. Every trial runs twice, with and without speculative decoding, on the same
 * seeds, so that success and inference time compare side by side; for a decoder swap, a third time with
 * greedy decoding and the policies' own decoder, so that the swap's cost is measured on the same seeds.
 */
export async function evaluatePhase3(request: Phase3Request): Promise<Phase3Report> {
  const backend = await selectBackend(request.backend);
  await ensurePolicies(request);
  const { loadPolicy, decodeGreedy, decodeSpeculative } = await import('../ml/policy/index.js');
  const sim = await import('../sim/index.js');
  const main = (await loadPolicy(path.join(request.policy, 'main'), 'main')).model;
  const draft = (await loadPolicy(path.join(request.policy, 'draft'), 'draft')).model;
  const tokenizer = await loadCheckpoint(request.tokenizer);
  checkShapes(main, draft, tokenizer);
  const decoderSwap =
    request.policyTokenizer !== undefined &&
    path.resolve(request.policyTokenizer) !== path.resolve(request.tokenizer);
  const ownTokenizer = decoderSwap ? await loadCheckpoint(request.policyTokenizer!) : undefined;
  if (ownTokenizer) checkShapes(main, draft, ownTokenizer);

  const total = sim.TASK_NAMES.length * request.trialsPerTask * (ownTokenizer ? 3 : 2);
  let done = 0;
  const run = async (speculative: boolean, decoder: Checkpoint) => {
    const times: number[] = [];
    let passes = 0;
    let rows = 0;
    let accepted = 0;
    let chunks = 0;
    const agreement = new Array<number>(draft.draftLayers).fill(0);
    let tokensMatching = 0;
    let chunksMatching = 0;
    const successes: Record<string, number> = {};
    for (const task of sim.TASK_NAMES) {
      const env = await sim.SimEnv.create(task);
      successes[task] = 0;
      for (let trial = 0; trial < request.trialsPerTask; trial++) {
        env.reset(EVAL_SEED_OFFSET + request.seed * 10_000 + trial);
        const result = await sim.runEpisode(env, (obs) => {
          const start = performance.now();
          let codes: Int32Array;
          if (speculative) {
            const out = decodeSpeculative(main, draft, obs, { acceptRatio: request.acceptRatio });
            codes = out.codes;
            passes += out.meanMainPassesPerChunk;
            rows += out.mainRows;
            accepted += out.acceptanceRate;
            out.tokenAgreement.forEach((value, layer) => (agreement[layer] = agreement[layer]! + value));
          } else {
            const out = decodeGreedy(main, obs);
            codes = out.codes;
            passes += out.mainPassesPerChunk;
            rows += out.mainRows;
          }
          const actions = decoder.denormalize(decoder.decodeFromCodes(codes));
          times.push(performance.now() - start);
          chunks += 1;
          if (speculative) {
            // Outside the timed section: how far speculation strays from greedy decoding on this input.
            const reference = decodeGreedy(main, obs).codes;
            const same = reference.reduce((n, code, i) => n + (code === codes[i] ? 1 : 0), 0);
            tokensMatching += same / reference.length;
            if (same === reference.length) chunksMatching += 1;
          }
          return actions;
        });
        if (result.success) successes[task]! += 1;
        request.onTrial?.(++done, total);
      }
      env.dispose();
    }
    const fine = sim.TASK_NAMES.filter((task) => sim.TASKS[task].fineGrained);
    const succeeded = (tasks: readonly string[]) => tasks.reduce((sum, task) => sum + successes[task]!, 0);
    const rate = (tasks: readonly string[]) => succeeded(tasks) / (tasks.length * request.trialsPerTask);
    const interval = (tasks: readonly string[]) =>
      wilsonInterval(succeeded(tasks), tasks.length * request.trialsPerTask);
    const sorted = [...times].sort((a, b) => a - b);
    const stats: ModeStats = {
      successRate: rate(sim.TASK_NAMES),
      successInterval95: interval(sim.TASK_NAMES),
      fineGrainedSuccessRate: rate(fine),
      fineGrainedInterval95: interval(fine),
      perTask: Object.fromEntries(
        sim.TASK_NAMES.map((task) => [task, successes[task]! / request.trialsPerTask]),
      ),
      inferenceMs: {
        p50: percentile(sorted, 0.5),
        p95: percentile(sorted, 0.95),
        mean: times.reduce((a, b) => a + b, 0) / Math.max(1, times.length),
      },
      mainPassesPerChunk: passes / Math.max(1, chunks),
      mainRowsPerChunk: rows / Math.max(1, chunks),
      chunks,
    };
    return {
      stats,
      acceptanceRate: accepted / Math.max(1, chunks),
      tokenAgreement: agreement.map((value) => value / Math.max(1, chunks)),
      greedyTokenMatch: tokensMatching / Math.max(1, chunks),
      greedyChunkMatch: chunksMatching / Math.max(1, chunks),
    };
  };
  const speculative = await run(true, tokenizer);
  const greedy = await run(false, tokenizer);
  // What the swap costs: the same policies, decoded by the tokenizer they were trained on.
  const ownDecoder = ownTokenizer && (await run(false, ownTokenizer)).stats;

  const metrics: Metrics = request.baseline
    ? { 'phase3.baseline_success_rate': speculative.stats.successRate }
    : {
        'phase3.success_rate': speculative.stats.successRate,
        'phase3.fine_grained_success_rate': speculative.stats.fineGrainedSuccessRate,
        'phase3.inference_ms': speculative.stats.inferenceMs.p50,
      };
  if (request.metricsOut) await writeJsonAtomic(request.metricsOut, metrics);
  return {
    backend,
    trials: request.trialsPerTask * sim.TASK_NAMES.length,
    decoderSwap,
    speculative: {
      ...speculative.stats,
      acceptRatio: request.acceptRatio,
      acceptanceRate: speculative.acceptanceRate,
      tokenAgreement: speculative.tokenAgreement,
      greedyTokenMatch: speculative.greedyTokenMatch,
      greedyChunkMatch: speculative.greedyChunkMatch,
      draftPassesPerChunk: 1,
    },
    greedy: greedy.stats,
    ...(ownDecoder ? { ownDecoder } : {}),
    metrics,
  };
}

function checkShapes(main: MainPolicy, draft: DraftPolicy, tokenizer: Checkpoint): void {
  const { latentDim, numLayers, numLevels } = tokenizer.config.architecture;
  const shape = main.config.shape;
  if (shape.hidden !== latentDim || shape.layers !== numLayers || shape.levels !== numLevels) {
    throw inputError(
      `the policy predicts codes [chunk, ${shape.hidden}, ${shape.layers}] of ${shape.levels} levels, the tokenizer decodes [chunk, ${latentDim}, ${numLayers}] of ${numLevels}`,
      'pass a tokenizer with the same code shape as the one the policy was trained on',
    );
  }
  if (draft.config.shape.hidden !== shape.hidden) {
    throw inputError(
      'the draft and main policies predict different code shapes',
      'train them on the same tokenizer',
    );
  }
}
