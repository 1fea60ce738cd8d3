import path from 'node:path';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { execa } from 'execa';
import { ExitCode, RfsqError, inputError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import { loadCheckpoint, type Checkpoint } from '../ml/tokenizer/checkpoint.js';
import { selectBackend, type BackendRequest } from '../ml/backend.js';
import type { Codebook, DraftReport, MainReport, Policy, PolicyDataset } from '../ml/policy/index.js';
import { writeJsonAtomic } from './files.js';
import { resolveSimData } from './phase1-data.js';
import { rfsqArgv } from './self.js';

/** The tokenizer's code values, which the main model reads earlier layers through. */
export function codebookOf(tokenizer: Checkpoint): Codebook {
  const { mean, scale } = tokenizer.model.quantizer;
  return { codeMean: Array.from(mean), codeScale: Array.from(scale) };
}

export interface PolicyData {
  /** The demonstrations file the data came from (`sim` resolved to the cached default). */
  file: string;
  train: PolicyDataset;
  heldOut: PolicyDataset;
  obsDim: number;
  heldOutEpisodes: number;
  trainEpisodes: number;
}

/**
 * Pairs each observation with the codes of the action chunk that follows it, encoded by the given tokenizer.
 * Every step starts a chunk; a chunk that runs past the episode's end repeats the last action (the arm
 * holds still), because demos stop at success and the last steps (placing and releasing) would otherwise
 * never be a chunk's start. Held-out episodes are the ones the tokenizer held out in Phase 1, so accuracy
 * is measured on episodes no model has seen.
 */
export async function policyData(tokenizer: Checkpoint, data: string): Promise<PolicyData> {
  const { loadSimDemos } = await import('../sim/index.js');
  const file = await resolveSimData(data);
  const demos = await loadSimDemos(file);
  const chunk = Number((tokenizer.config.training as { chunk?: number } | undefined)?.chunk ?? 8);
  const recorded = (tokenizer.config.training as { heldOutEpisodes?: string[] } | undefined)?.heldOutEpisodes;
  const heldOutNames = new Set(recorded ?? []);
  if (heldOutNames.size === 0) {
    throw inputError(
      `tokenizer ${tokenizer.dir} records no held-out episodes`,
      'retrain it with `rfsq train --data sim`',
    );
  }
  const actionDim = tokenizer.config.architecture.actionDim;
  const build = (include: (name: string) => boolean) => {
    const obs: number[] = [];
    const windows: Float32Array[] = [];
    let episodes = 0;
    demos.episodes.forEach((episode, index) => {
      if (!include(`demo_${index}`)) return;
      episodes += 1;
      const normalized = tokenizer.normalize(episode.actions);
      const last = normalized.subarray((episode.steps - 1) * actionDim, episode.steps * actionDim);
      for (let start = 0; start < episode.steps; start++) {
        for (let d = 0; d < demos.obsDim; d++) obs.push(episode.obs[start * demos.obsDim + d]!);
        const window = new Float32Array(chunk * actionDim);
        const end = Math.min(episode.steps, start + chunk);
        window.set(normalized.subarray(start * actionDim, end * actionDim));
        for (let t = end - start; t < chunk; t++) window.set(last, t * actionDim);
        windows.push(window);
      }
    });
    const actions = new Float32Array(windows.length * chunk * actionDim);
    windows.forEach((window, index) => actions.set(window, index * chunk * actionDim));
    const codes = tokenizer.encode(actions);
    return { set: { obs: Float32Array.from(obs), codes, count: windows.length, actions }, episodes };
  };
  const train = build((name) => !heldOutNames.has(name));
  const heldOut = build((name) => heldOutNames.has(name));
  if (heldOut.set.count === 0) {
    throw inputError(
      `none of the tokenizer's held-out episodes is in ${file}`,
      'train the tokenizer on the same data (--data sim)',
    );
  }
  return {
    file,
    train: train.set,
    heldOut: heldOut.set,
    obsDim: demos.obsDim,
    trainEpisodes: train.episodes,
    heldOutEpisodes: heldOut.episodes,
  };
}

export interface Phase2Request {
  models: ('main' | 'draft')[];
  tokenizer: string;
  /** Also train a main model on the naive tokenizer's codes, for phase2.main_token_acc_naive. */
  naiveTokenizer?: string;
  naiveOut?: string;
  data: string;
  out: string;
  epochs: number;
  batchSize: number;
  lr: number;
  labelSmoothing: number;
  seed: number;
  backend: BackendRequest;
  /**
   * Threads for the main model trained in this process (see trainPolicy's `threads`). Default: 2 when it
   * trains alone and there is a second core, else 1.
   */
  threads?: number;
  metricsOut?: string;
  onEpoch?: (label: string, epoch: number, epochs: number, loss: number) => void;
  /** After the last epoch: which part of the held-out evaluation runs (seconds each). */
  onStage?: (label: string, message: string) => void;
  onInfo?: (message: string) => void;
}

export interface Phase2Report {
  backend: string;
  data: { trainRows: number; heldOutRows: number; trainEpisodes: number; heldOutEpisodes: number };
  main?: MainReport & { dir: string; seconds: number };
  draft?: DraftReport & { dir: string; seconds: number };
  naiveMain?: MainReport & { dir: string; seconds: number };
  metrics: Metrics;
}

/** Trains the requested policies on a tokenizer's codes and reports held-out token accuracy per layer. */
export async function trainPhase2(request: Phase2Request): Promise<Phase2Report> {
  const backend = await selectBackend(request.backend);
  const { trainPolicy, savePolicy } = await import('../ml/policy/index.js');
  const tokenizer = await loadCheckpoint(request.tokenizer);
  const data = await policyData(tokenizer, request.data);
  const common = {
    obsDim: data.obsDim,
    epochs: request.epochs,
    batchSize: request.batchSize,
    lr: request.lr,
    labelSmoothing: request.labelSmoothing,
    seed: request.seed,
  };
  const report: Phase2Report = {
    backend,
    data: {
      trainRows: data.train.count,
      heldOutRows: data.heldOut.count,
      trainEpisodes: data.trainEpisodes,
      heldOutEpisodes: data.heldOutEpisodes,
    },
    metrics: {},
  };
  /** Saves a trained policy with its held-out report and the tokenizer it learned, and reports it. */
  const keep = async <R extends object>(
    dir: string,
    result: { model: Policy; report: R; seconds: number },
    tokenizerDir: string,
  ) => {
    await savePolicy(dir, result.model, { ...result.report, tokenizer: path.resolve(tokenizerDir) });
    return { ...result.report, dir: path.resolve(dir), seconds: result.seconds };
  };
  const progress = (label: string) => (info: { epoch: number; epochs: number; trainLoss: number }) =>
    request.onEpoch?.(label, info.epoch, info.epochs, info.trainLoss);
  const evaluating = (label: string, rows: number) => (stage: string, index: number, total: number) =>
    request.onStage?.(label, `evaluating on ${rows} held-out chunks ${index}/${total}: ${stage}`);

  // The models are independent. tfjs's WebAssembly backend uses one thread per process, so with a second
  // core the main model trains here while the others train one after another in a child `rfsq phase2
  // train` each (side by side: about half the wall time of training all three in turn). A main model
  // that trains alone takes the second core for half of each batch instead.
  const sideBySide = availableParallelism() > 1 && request.models.includes('main');
  const othersBeside =
    sideBySide && (request.naiveTokenizer !== undefined || request.models.includes('draft'));
  const mainThreads = request.threads ?? (availableParallelism() > 1 && !othersBeside ? 2 : 1);

  type Trained<R> = R & { dir: string; seconds: number };
  /** A main model on one tokenizer's codes: the requested tokenizer's, or the naive one for comparison. */
  const trainMain = async (
    coder: Checkpoint,
    sets: Pick<PolicyData, 'train' | 'heldOut'>,
    label: string,
    dir: string,
    tokenizerDir: string,
  ): Promise<Trained<MainReport>> => {
    const result = await trainPolicy({
      ...common,
      kind: 'main',
      threads: mainThreads,
      codebook: codebookOf(coder),
      decode: (codes) => coder.decodeFromCodes(codes),
      train: sets.train,
      heldOut: sets.heldOut,
      onEpoch: progress(label),
      onEvaluationStage: evaluating(label, sets.heldOut.count),
    });
    return keep(dir, result, tokenizerDir);
  };
  const trainHere = {
    main: () => trainMain(tokenizer, data, 'main', path.join(request.out, 'main'), request.tokenizer),
    draft: async (): Promise<Trained<DraftReport>> => {
      const result = await trainPolicy({
        ...common,
        kind: 'draft',
        train: data.train,
        heldOut: data.heldOut,
        onEpoch: progress('draft'),
        onEvaluationStage: evaluating('draft', data.heldOut.count),
      });
      return keep(path.join(request.out, 'draft'), result, request.tokenizer);
    },
    naiveMain: async (naiveTokenizer: string): Promise<Trained<MainReport>> => {
      const naive = await loadCheckpoint(naiveTokenizer);
      const naiveData = await policyData(naive, data.file);
      return trainMain(naive, naiveData, 'naive main', naiveMainDir(request), naiveTokenizer);
    },
  };

  const child = (model: 'main' | 'draft', tokenizerDir: string, out: string, label: string) => {
    request.onInfo?.(`${label}: training side by side in a second process`);
    return trainInChild(request, model, tokenizerDir, data.file, out, label);
  };
  // Children run one at a time; each is started as soon as the one before it ends.
  let chain: Promise<unknown> = Promise.resolve();
  const inTurn = <R>(job: () => Promise<R>): Promise<R> => {
    const next = chain.then(job);
    chain = next.catch(() => undefined);
    next.catch(() => undefined); // awaited below; a failure surfaces there
    return next;
  };
  const naiveTokenizer = request.naiveTokenizer;
  // A bad naive checkpoint is an input error now, not after minutes of training.
  if (naiveTokenizer !== undefined) await loadCheckpoint(naiveTokenizer);
  const naiveJob =
    naiveTokenizer !== undefined && sideBySide
      ? inTurn(async () => (await child('main', naiveTokenizer, naiveOutDir(request), 'naive main')).main!)
      : undefined;
  const draftJob =
    request.models.includes('draft') && sideBySide
      ? inTurn(async () => (await child('draft', request.tokenizer, request.out, 'draft')).draft!)
      : undefined;

  if (request.models.includes('main')) {
    report.main = await trainHere.main();
    report.metrics['phase2.main_token_acc'] = report.main.mainTokenAcc;
  }
  if (request.models.includes('draft')) {
    report.draft = await (draftJob ?? trainHere.draft());
    report.metrics['phase2.draft_coarse_acc'] = report.draft.draftCoarseAcc;
  }
  if (naiveTokenizer !== undefined) {
    report.naiveMain = await (naiveJob ?? trainHere.naiveMain(naiveTokenizer));
    report.metrics['phase2.main_token_acc_naive'] = report.naiveMain.mainTokenAcc;
  }
  if (request.metricsOut) await writeJsonAtomic(request.metricsOut, report.metrics);
  return report;
}

function naiveMainDir(request: Phase2Request): string {
  return path.join(naiveOutDir(request), 'main');
}

function naiveOutDir(request: Phase2Request): string {
  return request.naiveOut ?? path.join(request.out, '..', 'naive');
}

/**
 * Trains one model with a child `rfsq phase2 train --model <model> --json` and returns its report. The
 * child is spawned synchronously, so it starts before this process goes back to its own training.
 */
async function trainInChild(
  request: Phase2Request,
  model: 'main' | 'draft',
  tokenizerDir: string,
  dataFile: string,
  out: string,
  label: string,
): Promise<Phase2Report> {
  const [command, ...args] = rfsqArgv([
    'phase2',
    'train',
    '--model',
    model,
    '--tokenizer',
    tokenizerDir,
    '--data',
    dataFile,
    '--out',
    out,
    '--epochs',
    String(request.epochs),
    '--batch-size',
    String(request.batchSize),
    '--lr',
    String(request.lr),
    '--label-smoothing',
    String(request.labelSmoothing),
    '--seed',
    String(request.seed),
    '--backend',
    request.backend,
    // It trains beside the main model: one core each.
    '--threads',
    '1',
    '--json',
  ]);
  const subprocess = execa(command, args, { reject: false, stdin: 'ignore' });
  relayChildProgress(subprocess.stderr, label, request);
  const result = await subprocess;
  if (result.exitCode !== 0) {
    const lines = result.stderr.trim().split('\n');
    const reason = lines.find((line) => line.startsWith('error:')) ?? lines.at(-1);
    throw new RfsqError(
      `training the ${label} model failed: ${reason || `exit code ${String(result.exitCode)}`}`,
      {
        hint: `rerun it alone: rfsq phase2 train --model ${model} --tokenizer ${tokenizerDir} --out ${out}`,
        exitCode: result.exitCode === ExitCode.interrupted ? ExitCode.interrupted : ExitCode.checkFailed,
      },
    );
  }
  const report = JSON.parse(result.stdout) as Phase2Report;
  if (!report[model]) throw new RfsqError(`the ${label} training process reported no ${model} model`);
  return report;
}

/**
 * Passes a side-by-side child's progress on under its own label: once this process's model is done, the
 * child's epochs and evaluation are what the run is waiting for, and they must not look like a hang.
 * The child writes plain progress lines (src/cli/progress.ts: `<ISO time> <label> <details>`).
 */
function relayChildProgress(
  stderr: NodeJS.ReadableStream | null,
  label: string,
  request: Pick<Phase2Request, 'onEpoch' | 'onStage'>,
): void {
  if (!stderr) return;
  let pending = '';
  stderr.setEncoding('utf8');
  stderr.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const epoch = / epoch (\d+)\/(\d+) +loss ([\d.]+)$/.exec(line);
      if (epoch) request.onEpoch?.(label, Number(epoch[1]), Number(epoch[2]), Number(epoch[3]));
      const stage = / (evaluating on .*)$/.exec(line);
      if (stage?.[1]) request.onStage?.(label, stage[1]);
    }
  });
}

/** The policies of the two that Phase 3 needs (main and draft) that a folder does not hold. */
export function missingPolicies(dir: string): ('main' | 'draft')[] {
  return (['main', 'draft'] as const).filter((model) => !existsSync(path.join(dir, model, 'config.json')));
}
