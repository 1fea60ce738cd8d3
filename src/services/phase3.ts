import { existsSync } from 'node:fs';
import path from 'node:path';
import { inputError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import { comparePaired, describePaired, wilsonInterval, type PairedComparison } from '../core/proportion.js';
import { selectBackend, type BackendRequest } from '../ml/backend.js';
import { loadCheckpoint, type Checkpoint } from '../ml/tokenizer/checkpoint.js';
import type { Decoding, DepthRow, DraftPolicy, MainPolicy } from '../ml/policy/index.js';
// Plain JavaScript (no tfjs): the full policy module loads only when the evaluation runs.
import { chooseDepth } from '../ml/policy/evaluate.js';
import type { TopViewTrack } from '../sim/render.js';
import { writeJsonAtomic } from './files.js';
import { PHASE2_DEFAULTS, PHASE3_DEFAULTS } from '../core/training-defaults.js';
import { missingPolicies, trainPhase2, type Phase2Request } from './phase2.js';

/** Evaluation layouts come from seeds far from the demonstrations' (which count up from 0). */
const EVAL_SEED_OFFSET = 1_000_000;

/** A decoding as the command line asks for it: a depth may be "auto", resolved from the policy's table. */
export interface DecodingRequest {
  method: Decoding['method'];
  depth?: number | 'auto';
  actionEps?: number;
  acceptRatio?: number;
  jacobiInit?: 'draft' | 'middle';
  jacobiEps?: number;
}

/** One arm of a paired evaluation: a policy, the decoder of its codes and a decoding. */
export interface ArmRequest {
  policy: string;
  tokenizer: string;
  decoding: DecodingRequest;
  /** A name for the tables; default: the decoding's. */
  label?: string;
}

export interface DepthChoice {
  actionEps: number;
  depth: number;
  /** The policy's held-out table it was chosen from (Phase 2, MainReport.depthTable). */
  table: DepthRow[];
}

export interface ArmReport {
  label: string;
  policy: string;
  tokenizer: string;
  decoding: Decoding;
  /** Output equal to greedy full-depth decoding by construction. */
  exact: boolean;
  depthChoice?: DepthChoice;
  successRate: number;
  /** Wilson 95% interval of the success rate over these trials. */
  successInterval95: [number, number];
  fineGrainedSuccessRate: number;
  fineGrainedInterval95: [number, number];
  perTask: Record<string, number>;
  /** Per chunk: decoding and the tokenizer's decoder. */
  inferenceMs: { p50: number; p95: number; mean: number };
  /** Sequential main-model steps per chunk. */
  mainPassesPerChunk: number;
  /** Main-model rows (layer queries) per chunk: the compute, where passes are the sequential steps. */
  mainRowsPerChunk: number;
  draftPassesPerChunk: number;
  chunks: number;
  /** Against greedy full-depth decoding of the same policy on the same observation (outside the timing). */
  fidelity: {
    /** Fraction of chunks whose codes equal greedy's. */
    identicalChunks: number;
    /** max |Δa| per chunk, normalized action units, against the greedy chunk through the same decoder. */
    maxAbsDelta: { p50: number; p90: number; p99: number };
  };
  /** Speculative decoding only. */
  acceptanceRate?: number;
  tokenAgreement?: number[];
  /** Trial outcomes in trial order (task by task), 1 = success: the pairs behind every comparison. */
  outcomes: string;
  /** The first trials of each task from above, as `rfsq sim show --out x.svg` draws them, in trial order. */
  rollouts: RolloutPicture[];
}

/** One trial from above: its outcome and its top-view track (end-effector path every few steps, object, target). */
export interface RolloutPicture {
  task: string;
  trial: number;
  /** The layout seed the simulator was reset to. */
  seed: number;
  success: boolean;
  steps: number;
  /** Absent from results written before the report drew rollouts as charts (they held ASCII pictures). */
  track?: TopViewTrack;
}

/** Trials per task drawn into each arm's report (`rollouts`): a few, enough to see what a policy does. */
export const ROLLOUT_PICTURES_PER_TASK = 2;

export interface PairedReport {
  /** The arm compared with the reference arm. */
  arm: number;
  success: PairedComparison;
  fineGrained: PairedComparison;
  /** In words: "not distinguishable from greedy at 480 paired trials (…); non-inferior at …". */
  summary: string;
}

export interface ArmsReport {
  backend: string;
  trials: number;
  margin: number;
  arms: ArmReport[];
  reference: number;
  /** Every other arm against the reference arm, on the same seeds. */
  paired: PairedReport[];
}

export interface ArmsRequest {
  arms: ArmRequest[];
  /** Index of the arm the others are compared with. */
  reference: number;
  trialsPerTask: number;
  seed: number;
  margin: number;
  backend: BackendRequest;
  onTrial?: (done: number, total: number) => void;
}

interface LoadedArm {
  request: ArmRequest;
  main: MainPolicy;
  draft?: DraftPolicy;
  decoder: Checkpoint;
  decoding: Decoding;
  depthChoice?: DepthChoice;
  label: string;
  exact: boolean;
}

/** Turns a decoding request into a decoding, choosing `--depth auto` from the policy's Phase 2 table. */
export function resolveDecoding(
  request: DecodingRequest,
  mainMetrics: Record<string, unknown>,
  layers: number,
  policyDir: string,
): { decoding: Decoding; depthChoice?: DepthChoice } {
  if (request.method === 'speculative') {
    if (request.depth !== undefined || request.jacobiEps !== undefined || request.jacobiInit !== undefined)
      throw inputError(
        'speculative decoding is the plan’s, measured as it is: it takes no depth and no Jacobi options',
        'use --decode greedy or --decode jacobi with --depth',
      );
    return { decoding: { method: 'speculative', acceptRatio: request.acceptRatio ?? 1 } };
  }
  if (request.acceptRatio !== undefined && request.acceptRatio !== 1)
    throw inputError('--accept-ratio applies to speculative decoding only', 'pass --decode speculative');
  let depth = layers;
  let depthChoice: DepthChoice | undefined;
  if (request.depth === 'auto') {
    const table = mainMetrics.depthTable as DepthRow[] | undefined;
    if (!Array.isArray(table) || table.length === 0)
      throw inputError(
        `the main policy in ${policyDir} records no depth table (Phase 2 computes it at the end of training since rfsq 0.1)`,
        'retrain it with `rfsq phase2 train`, or pass --depth K',
      );
    const actionEps = request.actionEps ?? PHASE3_DEFAULTS.actionEps;
    depth = chooseDepth(table, actionEps);
    depthChoice = { actionEps, depth, table };
  } else if (request.depth !== undefined) {
    if (request.depth > layers)
      throw inputError(`--depth ${request.depth} exceeds the policy's ${layers} layers`, `pass 1..${layers}`);
    depth = request.depth;
  }
  const decoding: Decoding =
    request.method === 'greedy'
      ? { method: 'greedy', depth }
      : {
          method: 'jacobi',
          depth,
          init: request.jacobiInit ?? 'draft',
          exitEps: request.jacobiEps ?? 0,
        };
  return { decoding, ...(depthChoice ? { depthChoice } : {}) };
}

/**
 * Closed-loop evaluation of several arms in the simulator, paired: every trial's seed runs every arm in
 * turn (interleaved, so that latency compares side by side under the same load), and every arm is
 * compared with the reference arm on the outcomes of the same seeds.
 */
export async function evaluateArms(request: ArmsRequest): Promise<ArmsReport> {
  const backend = await selectBackend(request.backend);
  if (request.arms.length < 2 || !(request.reference >= 0 && request.reference < request.arms.length))
    throw inputError('a paired evaluation needs two arms or more and a reference among them');
  const policy = await import('../ml/policy/index.js');
  const sim = await import('../sim/index.js');
  const loadedPolicies = new Map<
    string,
    Promise<{ main: MainPolicy; draft?: DraftPolicy; metrics: Record<string, unknown> }>
  >();
  const loadPolicies = (dir: string) => {
    const key = path.resolve(dir);
    if (!loadedPolicies.has(key))
      loadedPolicies.set(
        key,
        (async () => {
          const main = await policy.loadPolicy(path.join(dir, 'main'), 'main');
          // The draft only serves decodings that start from it (speculative, Jacobi from the draft).
          const draftDir = path.join(dir, 'draft');
          const draft = existsSync(path.join(draftDir, 'config.json'))
            ? (await policy.loadPolicy(draftDir, 'draft')).model
            : undefined;
          return { main: main.model, ...(draft ? { draft } : {}), metrics: main.metrics };
        })(),
      );
    return loadedPolicies.get(key)!;
  };
  const arms: LoadedArm[] = [];
  for (const arm of request.arms) {
    // Each arm gets its own model instances, so that pass and row counters stay per arm.
    const loaded = await loadPolicies(arm.policy);
    const main = loaded.main.clone();
    const draft = loaded.draft?.clone();
    const decoder = await loadCheckpoint(arm.tokenizer);
    checkShapes(main, draft, decoder);
    const layers = main.config.shape.layers;
    const { decoding, depthChoice } = resolveDecoding(arm.decoding, loaded.metrics, layers, arm.policy);
    arms.push({
      request: arm,
      main,
      draft,
      decoder,
      decoding,
      ...(depthChoice ? { depthChoice } : {}),
      label: arm.label ?? policy.describeDecoding(decoding, layers),
      exact: policy.isExact(decoding, layers),
    });
  }

  interface Tally {
    times: number[];
    passes: number;
    rows: number;
    draftPasses: number;
    chunks: number;
    identical: number;
    distances: number[];
    accepted: number;
    agreement: number[];
    outcomes: boolean[];
    rollouts: RolloutPicture[];
  }
  const tallies: Tally[] = arms.map((arm) => ({
    times: [],
    passes: 0,
    rows: 0,
    draftPasses: 0,
    chunks: 0,
    identical: 0,
    distances: [],
    accepted: 0,
    agreement: new Array<number>(arm.draft?.draftLayers ?? 0).fill(0),
    outcomes: [],
    rollouts: [],
  }));
  const total = sim.TASK_NAMES.length * request.trialsPerTask * arms.length;
  let done = 0;
  for (const task of sim.TASK_NAMES) {
    const env = await sim.SimEnv.create(task);
    for (let trial = 0; trial < request.trialsPerTask; trial++) {
      for (const [index, arm] of arms.entries()) {
        const tally = tallies[index]!;
        const isGreedy =
          arm.decoding.method === 'greedy' && arm.decoding.depth === arm.main.config.shape.layers;
        const decodeActions = (codes: Int32Array) => arm.decoder.decodeFromCodes(codes);
        const seed = EVAL_SEED_OFFSET + request.seed * 10_000 + trial;
        env.reset(seed);
        const result = await sim.runEpisode(env, (obs) => {
          const start = performance.now();
          const out = policy.decodeWith(arm.main, arm.draft, obs, arm.decoding, decodeActions);
          const normalized = decodeActions(out.codes);
          const actions = arm.decoder.denormalize(normalized);
          tally.times.push(performance.now() - start);
          tally.chunks += 1;
          tally.passes += out.mainPassesPerChunk;
          tally.rows += out.mainRowsPerChunk;
          tally.draftPasses += out.draftPassesPerChunk;
          if (out.acceptanceRate !== undefined) tally.accepted += out.acceptanceRate;
          out.tokenAgreement?.forEach((value, layer) => (tally.agreement[layer]! += value));
          // Outside the timed section: how far this decoding strays from greedy decoding on this input.
          if (isGreedy) {
            tally.identical += 1;
            tally.distances.push(0);
          } else {
            const reference = policy.decodeGreedy(arm.main, obs).codes;
            if (reference.every((code, i) => code === out.codes[i])) tally.identical += 1;
            tally.distances.push(policy.chunkDistances(normalized, decodeActions(reference), 1)[0]!);
          }
          return actions;
        });
        tally.outcomes.push(result.success);
        if (trial < ROLLOUT_PICTURES_PER_TASK)
          tally.rollouts.push({
            task,
            trial,
            seed,
            success: result.success,
            steps: result.steps,
            track: sim.topViewTrack(result.trajectory),
          });
        request.onTrial?.(++done, total);
      }
    }
    env.dispose();
  }

  const taskOf = (i: number) => sim.TASK_NAMES[Math.floor(i / request.trialsPerTask)]!;
  const isFine = (i: number) => sim.TASKS[taskOf(i)].fineGrained;
  const reports: ArmReport[] = arms.map((arm, index) => {
    const tally = tallies[index]!;
    const chunks = Math.max(1, tally.chunks);
    const wins = tally.outcomes.filter(Boolean).length;
    const fine = tally.outcomes.filter((_, i) => isFine(i));
    const fineWins = fine.filter(Boolean).length;
    const sortedTimes = [...tally.times].sort((a, b) => a - b);
    const sortedDistances = [...tally.distances].sort((a, b) => a - b);
    return {
      label: arm.label,
      policy: path.resolve(arm.request.policy),
      tokenizer: path.resolve(arm.request.tokenizer),
      decoding: arm.decoding,
      exact: arm.exact,
      ...(arm.depthChoice ? { depthChoice: arm.depthChoice } : {}),
      successRate: wins / tally.outcomes.length,
      successInterval95: wilsonInterval(wins, tally.outcomes.length),
      fineGrainedSuccessRate: fineWins / fine.length,
      fineGrainedInterval95: wilsonInterval(fineWins, fine.length),
      perTask: Object.fromEntries(
        sim.TASK_NAMES.map((task) => [
          task,
          tally.outcomes.filter((won, i) => won && taskOf(i) === task).length / request.trialsPerTask,
        ]),
      ),
      inferenceMs: {
        p50: policy.percentile(sortedTimes, 0.5),
        p95: policy.percentile(sortedTimes, 0.95),
        mean: tally.times.reduce((a, b) => a + b, 0) / chunks,
      },
      mainPassesPerChunk: tally.passes / chunks,
      mainRowsPerChunk: tally.rows / chunks,
      draftPassesPerChunk: tally.draftPasses / chunks,
      chunks: tally.chunks,
      fidelity: {
        identicalChunks: tally.identical / chunks,
        maxAbsDelta: {
          p50: policy.percentile(sortedDistances, 0.5),
          p90: policy.percentile(sortedDistances, 0.9),
          p99: policy.percentile(sortedDistances, 0.99),
        },
      },
      ...(arm.decoding.method === 'speculative'
        ? {
            acceptanceRate: tally.accepted / chunks,
            tokenAgreement: tally.agreement.map((value) => value / chunks),
          }
        : {}),
      outcomes: tally.outcomes.map((won) => (won ? '1' : '0')).join(''),
      rollouts: tally.rollouts,
    };
  });
  const referenceOutcomes = tallies[request.reference]!.outcomes;
  const referenceLabel = reports[request.reference]!.label;
  const paired: PairedReport[] = tallies.flatMap((tally, arm) => {
    if (arm === request.reference) return [];
    const success = comparePaired(tally.outcomes, referenceOutcomes, request.margin);
    const pick = (outcomes: boolean[]) => outcomes.filter((_, i) => isFine(i));
    const fineGrained = comparePaired(pick(tally.outcomes), pick(referenceOutcomes), request.margin);
    return [{ arm, success, fineGrained, summary: describePaired(success, referenceLabel) }];
  });
  return {
    backend,
    trials: request.trialsPerTask * sim.TASK_NAMES.length,
    margin: request.margin,
    arms: reports,
    reference: request.reference,
    paired,
  };
}

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
  /** The decoding evaluated (its figures are the metrics). */
  decoding: DecodingRequest;
  /**
   * What it is paired with. Default: greedy full-depth decoding of the same policy; for a decoder swap, the
   * same decoding with the policies' own decoder; for another policy, the same decoding.
   */
  versus?: { decoding?: DecodingRequest; policy?: string; tokenizer?: string };
  /** Non-inferiority margin, a difference of rates (PHASE3_DEFAULTS.margin by default). */
  margin: number;
  backend: BackendRequest;
  metricsOut?: string;
  /** Write the whole report (what `--json` prints) here, for `rfsq report`. */
  resultsOut?: string;
  onTrial?: (done: number, total: number) => void;
  /** Progress of the policies trained with trainMissing (minutes of work that must not look hung). */
  onEpoch?: Phase2Request['onEpoch'];
  onStage?: Phase2Request['onStage'];
  onInfo?: (message: string) => void;
}

export interface Phase3Report extends Omit<ArmsReport, 'arms' | 'paired'> {
  decoderSwap: boolean;
  candidate: ArmReport;
  versus: ArmReport;
  comparison: PairedReport;
  metrics: Metrics;
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
  const epochs = request.policyEpochs ?? PHASE2_DEFAULTS.epochs;
  const tokenizer = request.policyTokenizer ?? request.tokenizer;
  request.onInfo?.(
    `training the missing ${missing.join(' and ')} ${missing.length === 1 ? 'policy' : 'policies'} in ${request.policy} on ${tokenizer}'s codes (${epochs} epoch${epochs === 1 ? '' : 's'})`,
  );
  await trainPhase2({
    ...PHASE2_DEFAULTS,
    epochs,
    // Only what is missing: a main model that Phase 2 already trained here is kept.
    models: missing,
    tokenizer,
    data: request.data,
    out: request.policy,
    backend: request.backend,
    ...(request.onEpoch ? { onEpoch: request.onEpoch } : {}),
    ...(request.onStage ? { onStage: request.onStage } : {}),
    ...(request.onInfo ? { onInfo: request.onInfo } : {}),
  });
}

/**
 * `rfsq phase3 eval`: the policy predicts codes, the tokenizer decodes a chunk, the chunk runs open loop,
 * repeat; the requested decoding is paired, seed by seed, with a second arm (see Phase3Request.versus), and
 * the report says whether the two are distinguishable and whether the first is non-inferior.
 */
export async function evaluatePhase3(request: Phase3Request): Promise<Phase3Report> {
  await ensurePolicies(request);
  const decoderSwap =
    request.policyTokenizer !== undefined &&
    path.resolve(request.policyTokenizer) !== path.resolve(request.tokenizer);
  const versusPolicy = request.versus?.policy;
  const otherPolicy =
    versusPolicy !== undefined && path.resolve(versusPolicy) !== path.resolve(request.policy);
  if (otherPolicy && request.versus?.tokenizer === undefined)
    throw inputError('--versus-policy needs the tokenizer that decodes its codes', 'pass --versus-tokenizer');
  if (otherPolicy && missingPolicies(versusPolicy).includes('main'))
    throw inputError(`no main policy in ${versusPolicy}`, 'train it with `rfsq phase2 train`');
  const versusDecoding =
    request.versus?.decoding ?? (decoderSwap || otherPolicy ? request.decoding : { method: 'greedy' });
  const versusTokenizer =
    request.versus?.tokenizer ?? (decoderSwap ? request.policyTokenizer! : request.tokenizer);
  const candidateArm: ArmRequest = {
    policy: request.policy,
    tokenizer: request.tokenizer,
    decoding: request.decoding,
  };
  const versusArm: ArmRequest = {
    policy: versusPolicy ?? request.policy,
    tokenizer: versusTokenizer,
    decoding: versusDecoding,
  };
  const report = await evaluateArms({
    arms: [candidateArm, versusArm],
    reference: 1,
    trialsPerTask: request.trialsPerTask,
    seed: request.seed,
    margin: request.margin,
    backend: request.backend,
    ...(request.onTrial ? { onTrial: request.onTrial } : {}),
  });
  // Names that say which arm is which when only the decoder or the policy differs.
  const [candidate, versus] = report.arms as [ArmReport, ArmReport];
  if (decoderSwap && !request.versus?.decoding) {
    candidate.label = `${candidate.label}, swapped decoder`;
    versus.label = `${versus.label}, own decoder`;
  } else if (otherPolicy && candidate.label === versus.label) {
    candidate.label = `${candidate.label}, ${path.basename(request.policy)}`;
    versus.label = `${versus.label}, ${path.basename(versusPolicy)}`;
  }
  const comparison = report.paired[0]!;
  comparison.summary = describePaired(comparison.success, versus.label);

  const metrics: Metrics = request.baseline
    ? { 'phase3.baseline_success_rate': candidate.successRate }
    : {
        'phase3.success_rate': candidate.successRate,
        'phase3.fine_grained_success_rate': candidate.fineGrainedSuccessRate,
        'phase3.inference_ms': candidate.inferenceMs.p50,
      };
  if (decoderSwap && !request.versus) {
    // Strategy C's gate reads the swap's gain over the baseline from these seed-by-seed pairs.
    // In points, as the gate's threshold is.
    metrics['phase3.swap_paired_delta'] = comparison.success.difference * 100;
    metrics['phase3.swap_paired_delta_ci_low'] = comparison.success.interval95[0] * 100;
    metrics['phase3.swap_paired_delta_ci_high'] = comparison.success.interval95[1] * 100;
    metrics['phase3.swap_paired_trials'] = comparison.success.trials;
  }
  if (request.metricsOut) await writeJsonAtomic(request.metricsOut, metrics);
  const { arms: _arms, paired: _paired, ...rest } = report;
  const phase3: Phase3Report = { ...rest, decoderSwap, candidate, versus, comparison, metrics };
  if (request.resultsOut) await writeJsonAtomic(request.resultsOut, phase3);
  return phase3;
}

function checkShapes(main: MainPolicy, draft: DraftPolicy | undefined, tokenizer: Checkpoint): void {
  const { latentDim, numLayers, numLevels } = tokenizer.config.architecture;
  const shape = main.config.shape;
  if (shape.hidden !== latentDim || shape.layers !== numLayers || shape.levels !== numLevels) {
    throw inputError(
      `the policy predicts codes [chunk, ${shape.hidden}, ${shape.layers}] of ${shape.levels} levels, the tokenizer decodes [chunk, ${latentDim}, ${numLayers}] of ${numLevels}`,
      'pass a tokenizer with the same code shape as the one the policy was trained on',
    );
  }
  if (draft && draft.config.shape.hidden !== shape.hidden) {
    throw inputError(
      'the draft and main policies predict different code shapes',
      'train them on the same tokenizer',
    );
  }
}
