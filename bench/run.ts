/**
 * `npm run bench:phase1`: the default `rfsq train` (to a plateau) against the plan's training loop in PyTorch
 * (bench/pytorch_train.py: 100 epochs, batch 64, AdamW 3e-3, warm-up + cosine) on the same normalized
 * chunks of several datasets, and rfsq at the plan's config beside them (equal work, PLAN_FLAGS), plus bulk
 * encode throughput, decode latency and peak memory.
 *
 * Every figure is measured in this run. Training runs are real processes, interleaved per dataset and round
 * (rfsq, then PyTorch) so that the ratios compare runs made side by side on a noisy machine; each ratio is
 * the median of the per-round ratios.
 *
 *   npm run bench:phase1 [-- --datasets demo,sim,libero60,libero500] [-- --reps <n>] [-- --json <file>]
 *                        [-- --rss-probe]
 *
 * --datasets   which datasets (default all four): demo (embedded, 50 episodes), sim (the simulator's
 *              demonstrations), libero60 / libero500 (LIBERO-layout HDF5 written by bench/write_libero_like.py
 *              with h5py: sinusoidal actions, 60 / 500 demos)
 * --reps       rounds per dataset (default 1)
 * --json       also write the figures to this JSON file
 * --rss-probe  measure peak RSS with in-process probes even when /usr/bin/time exists
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { GNU_TIME, loadAverage, measure, median, type RssMethod } from './measure.js';
import { loadCheckpoint } from '../src/ml/tokenizer/checkpoint.js';
import { chunkSet } from '../src/ml/tokenizer/config.js';
import { writeNpy } from '../src/ml/data/npy.js';
import { heldOutMse, roundtripMse } from '../src/ml/tokenizer/evaluate.js';
import { DEFAULT_TRAINING, type TrainReport, type TrainedVariant } from '../src/services/phase1.js';
import { prepareData, type PreparedData } from '../src/services/phase1-data.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'bin', 'rfsq.js');
const PYTORCH_SCRIPT = path.join(ROOT, 'bench', 'pytorch_train.py');
const LIBERO_WRITER = path.join(ROOT, 'bench', 'write_libero_like.py');
const PYTHON = '/usr/bin/python3';
const TORCH_THREADS = 2;

/**
 * The plan's Step 1 loop: 100 epochs, batch 64. The plan names no learning rate; 3e-3 (Adam's usual scale
 * for this model) stands for the seed config's.
 */
const PLAN = { epochs: 100, batchSize: 64, lr: 3e-3, weightDecay: DEFAULT_TRAINING.weightDecay, seed: 0 };
/**
 * rfsq at the plan's config, the same work as the PyTorch loop: its epochs, batch, rate, warm-up and cosine,
 * on the same chunks (the training and validation episodes: no validation split, the last epoch kept).
 */
const PLAN_FLAGS = [
  ...['--epochs', String(PLAN.epochs), '--batch-size', String(PLAN.batchSize), '--lr', String(PLAN.lr)],
  ...['--weight-decay', String(PLAN.weightDecay), '--seed', String(PLAN.seed), '--validation-fraction', '0'],
];

const DATASETS = ['demo', 'sim', 'libero60', 'libero500'] as const;
type DatasetName = (typeof DATASETS)[number];
const LIBERO_DEMOS: Partial<Record<DatasetName, number>> = { libero60: 60, libero500: 500 };
/** Time-to-quality thresholds on the Robust held-out MSE. */
const QUALITY = [2e-4, 5e-5] as const;

const ENCODE_ACTIONS = 200_000;
const ENCODE_REPS = 5;
const DECODE_WARMUP = 500;
const DECODE_REPS = 2000;
const GOAL_TIME_RATIO = 0.5;
const GOAL_DECODE_P50_MS = 1;

interface Args {
  datasets: DatasetName[];
  reps: number;
  json: string | undefined;
  rssProbe: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { datasets: [...DATASETS], reps: 1, json: undefined, rssProbe: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--reps') {
      const reps = Number(argv[++i]);
      if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps needs a positive integer');
      args.reps = reps;
    } else if (flag === '--datasets') {
      const names = (argv[++i] ?? '').split(',').filter(Boolean);
      const unknown = names.filter((n) => !(DATASETS as readonly string[]).includes(n));
      if (names.length === 0 || unknown.length > 0) {
        throw new Error(`--datasets takes a comma-separated subset of ${DATASETS.join(',')}`);
      }
      args.datasets = names as DatasetName[];
    } else if (flag === '--json') {
      const file = argv[++i];
      if (!file) throw new Error('--json needs a file name');
      args.json = file;
    } else if (flag === '--rss-probe') {
      args.rssProbe = true;
    } else {
      throw new Error(`unknown flag ${flag}; use --datasets <list>, --reps <n>, --json <file>, --rss-probe`);
    }
  }
  return args;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')}: ${err.trim()}`)),
    );
  });
}

async function pytorchAvailable(): Promise<string | null> {
  if (!existsSync(PYTHON)) return `${PYTHON} does not exist`;
  return new Promise((resolve) => {
    const child = spawn(PYTHON, ['-c', 'import torch, numpy'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
    child.on('error', (error) => resolve(error.message));
    child.on('close', (code) =>
      resolve(code === 0 ? null : err.trim().split('\n').pop() || `exit code ${code}`),
    );
  });
}

// ---------------------------------------------------------------------------------------------------------
// Training runs

interface CurvePoint {
  seconds: number;
  heldOutMse: number;
}

interface VariantFigures {
  bestHeldOutMse: number;
  seconds: number;
  msPerStep: number;
  epochs: number;
  curve: CurvePoint[];
}

interface TrainingRun {
  wallSeconds: number;
  peakRssKb: number | null;
  naive: VariantFigures;
  robust: VariantFigures;
}

interface PytorchReport {
  torch: string;
  threads: number;
  trainChunks: number;
  heldOutChunks: number;
  variants: (VariantFigures & { variant: string; finalHeldOutMse: number; bestEpoch: number })[];
  maxRssKb: number;
}

function variantOf<T extends { variant: string }>(variants: T[], name: string, label: string): T {
  const found = variants.find((v) => v.variant === name);
  if (!found) throw new Error(`${label} reported no ${name} variant`);
  return found;
}

const rfsqFigures = (v: TrainedVariant): VariantFigures => ({
  bestHeldOutMse: v.bestHeldOutMse,
  seconds: v.seconds,
  msPerStep: v.msPerStep,
  epochs: v.epochs,
  curve: v.curve,
});

async function runRfsq(
  data: string,
  numEpisodes: number | undefined,
  out: string,
  method: RssMethod,
  rssFile: string,
  label: string,
  flags: string[] = [],
): Promise<{ run: TrainingRun; report: TrainReport }> {
  const episodes = numEpisodes === undefined ? [] : ['--num-episodes', String(numEpisodes)];
  const args = [
    CLI,
    'train',
    '--variant',
    'both',
    '--data',
    data,
    ...episodes,
    ...flags,
    '--out',
    out,
    '--json',
  ];
  const m = await measure(process.execPath, args, method, rssFile, label);
  const report = JSON.parse(m.stdout) as TrainReport;
  return {
    report,
    run: {
      wallSeconds: m.wallSeconds,
      peakRssKb: m.peakRssKb,
      naive: rfsqFigures(variantOf(report.variants, 'naive', label)),
      robust: rfsqFigures(variantOf(report.variants, 'robust', label)),
    },
  };
}

async function runPytorch(
  trainNpy: string,
  heldOutNpy: string,
  method: RssMethod,
  rssFile: string,
  label: string,
): Promise<{ run: TrainingRun; report: PytorchReport }> {
  const args = [
    PYTORCH_SCRIPT,
    '--train',
    trainNpy,
    '--held-out',
    heldOutNpy,
    '--epochs',
    String(PLAN.epochs),
    '--batch-size',
    String(PLAN.batchSize),
    '--lr',
    String(PLAN.lr),
    '--weight-decay',
    String(PLAN.weightDecay),
    '--seed',
    String(PLAN.seed),
    '--threads',
    String(TORCH_THREADS),
  ];
  const m = await measure(PYTHON, args, method, rssFile, label);
  const report = JSON.parse(m.stdout) as PytorchReport;
  return {
    report,
    run: {
      wallSeconds: m.wallSeconds,
      peakRssKb: m.peakRssKb ?? report.maxRssKb,
      naive: variantOf(report.variants, 'naive', label),
      robust: variantOf(report.variants, 'robust', label),
    },
  };
}

/** Seconds (the trainer's own clock) until the held-out MSE first reaches `threshold`, or null. */
function timeToQuality(curve: CurvePoint[], threshold: number): number | null {
  return curve.find((point) => point.heldOutMse <= threshold)?.seconds ?? null;
}

// ---------------------------------------------------------------------------------------------------------
// Statistics and formatting

/** Nearest-rank percentile of an ascending-sorted array. */
function percentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] as number;
}

function summarize(runs: TrainingRun[]) {
  const pick = (f: (r: TrainingRun) => number) => median(runs.map(f));
  const rss = runs.map((r) => r.peakRssKb).filter((v): v is number => v !== null);
  /** Median over rounds; a round that never reached the threshold counts as infinitely slow. */
  const toQuality = (threshold: number): number | null => {
    const t = median(runs.map((r) => timeToQuality(r.robust.curve, threshold) ?? Infinity));
    return Number.isFinite(t) ? t : null;
  };
  return {
    wallSeconds: pick((r) => r.wallSeconds),
    inProcessSeconds: pick((r) => r.naive.seconds + r.robust.seconds),
    naiveMse: pick((r) => r.naive.bestHeldOutMse),
    robustMse: pick((r) => r.robust.bestHeldOutMse),
    epochs: `${pick((r) => r.naive.epochs)} + ${pick((r) => r.robust.epochs)}`,
    msPerStep: pick((r) => (r.naive.msPerStep + r.robust.msPerStep) / 2),
    peakRssKb: rss.length > 0 ? Math.max(...rss) : null,
    toQuality: QUALITY.map(toQuality),
  };
}

type Summary = ReturnType<typeof summarize>;

const sci = (v: number): string => v.toExponential(3);
const secs = (v: number): string => v.toFixed(2);
const mb = (kb: number | null): string => (kb === null ? 'n/a' : (kb / 1024).toFixed(0));
const status = (ok: boolean): string => (ok ? 'MET' : 'NOT MET');
const maybe = (v: number | null): string => (v === null ? 'not reached' : secs(v));
const load = (): string => loadAverage(', ');

function table(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [] } });
}

// ---------------------------------------------------------------------------------------------------------

interface DatasetResult {
  name: DatasetName;
  description: string;
  episodes: { train: number; validation: number; heldOut: number };
  chunks: { train: number; validation: number; heldOut: number };
  rfsq: TrainingRun[];
  /** rfsq at the plan's config (PLAN_FLAGS): equal work to the PyTorch loop. */
  rfsqPlan: TrainingRun[];
  pytorch: TrainingRun[];
  /** |round trip - forward pass| of the last rfsq Robust checkpoint on the held-out chunks. */
  roundtripGap: number;
  recomputedRobustMse: number;
}

/** The source `rfsq train --data` takes for a dataset, writing the LIBERO-like files on first use. */
async function datasetSource(name: DatasetName, tmp: string): Promise<string> {
  const demos = LIBERO_DEMOS[name];
  if (demos === undefined) return name;
  const file = path.join(tmp, `${name}.hdf5`);
  if (!existsSync(file)) {
    await run(PYTHON, [LIBERO_WRITER, '--out', file, '--demos', String(demos), '--seed', String(demos)]);
  }
  return file;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const method: RssMethod = !args.rssProbe && existsSync(GNU_TIME) ? 'gnu-time' : 'probe';
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'rfsq-bench-'));
  const log = (message: string): void => void process.stderr.write(`[bench] ${message}\n`);
  const loadBefore = load();
  try {
    const torchMissing = await pytorchAvailable();
    const rssFile = path.join(tmp, 'rss.txt');
    const results: DatasetResult[] = [];
    let torchInfo: PytorchReport | undefined;
    let backend = '';
    let inference: { checkpoint: string; data: PreparedData } | undefined;
    for (const name of args.datasets) {
      const source = await datasetSource(name, tmp);
      const numEpisodes = name === 'demo' ? DEFAULT_TRAINING.numEpisodes : undefined;
      // The exact normalized chunks `rfsq train` uses: same loader, split and normalization.
      const data = await prepareData({ ...DEFAULT_TRAINING, data: source, numEpisodes });
      const { chunkLength, actionDim } = data.train;
      const { validation } = data;
      if (!validation) throw new Error('the default config keeps no validation episodes');
      // The plan's loop has no validation split: it trains on rfsq's training and validation episodes.
      const planTrain = new Float32Array(data.train.data.length + validation.data.length);
      planTrain.set(data.train.data);
      planTrain.set(validation.data, data.train.data.length);
      const trainNpy = path.join(tmp, `${name}-train.npy`);
      const heldOutNpy = path.join(tmp, `${name}-held_out.npy`);
      await writeNpy(trainNpy, planTrain, [
        planTrain.length / (chunkLength * actionDim),
        chunkLength,
        actionDim,
      ]);
      await writeNpy(heldOutNpy, data.heldOut.data, [data.heldOut.numChunks, chunkLength, actionDim]);
      const result: DatasetResult = {
        name,
        description: data.description,
        episodes: {
          train: data.trainEpisodes.length,
          validation: data.validationEpisodes.length,
          heldOut: data.heldOutEpisodes.length,
        },
        chunks: {
          train: data.train.numChunks,
          validation: validation.numChunks,
          heldOut: data.heldOut.numChunks,
        },
        rfsq: [],
        rfsqPlan: [],
        pytorch: [],
        roundtripGap: NaN,
        recomputedRobustMse: NaN,
      };
      let out = '';
      for (let rep = 1; rep <= args.reps; rep++) {
        log(`${name} round ${rep}/${args.reps}: rfsq train, default config (load ${load()})`);
        out = path.join(tmp, `${name}-rfsq-${rep}`);
        const r = await runRfsq(source, numEpisodes, out, method, rssFile, `rfsq train on ${name}`);
        if (
          r.report.trainChunks !== data.train.numChunks ||
          r.report.heldOutChunks !== data.heldOut.numChunks
        ) {
          throw new Error(
            `rfsq train on ${name} used ${r.report.trainChunks}/${r.report.heldOutChunks} chunks, the exported data has ${data.train.numChunks}/${data.heldOut.numChunks}`,
          );
        }
        backend = r.report.backend;
        result.rfsq.push(r.run);
        log(`${name} round ${rep}/${args.reps}: rfsq train, the plan's config (load ${load()})`);
        const planOut = path.join(tmp, `${name}-rfsq-plan-${rep}`);
        const atPlan = await runRfsq(
          source,
          numEpisodes,
          planOut,
          method,
          rssFile,
          `rfsq train (plan config) on ${name}`,
          PLAN_FLAGS,
        );
        if (atPlan.report.trainChunks !== data.train.numChunks + validation.numChunks)
          throw new Error(
            `rfsq train at the plan's config on ${name} used ${atPlan.report.trainChunks} training chunks, the plan's loop ${data.train.numChunks + validation.numChunks}`,
          );
        result.rfsqPlan.push(atPlan.run);
        if (!torchMissing) {
          log(`${name} round ${rep}/${args.reps}: PyTorch, plan loop (load ${load()})`);
          const t = await runPytorch(trainNpy, heldOutNpy, method, rssFile, `PyTorch on ${name}`);
          result.pytorch.push(t.run);
          torchInfo = t.report;
        }
      }
      const checkpoint = await loadCheckpoint(path.join(out, 'robust'));
      result.recomputedRobustMse = heldOutMse(checkpoint.model, data.heldOut);
      result.roundtripGap = Math.abs(
        roundtripMse(checkpoint.model, data.heldOut) - result.recomputedRobustMse,
      );
      results.push(result);
      // Each dataset's figures as soon as they exist: a long run shows what it has measured so far.
      const figures = (label: string, runs: TrainingRun[]): string =>
        runs
          .map(
            (r) =>
              `${label} ${secs(r.wallSeconds)} s wall, robust ${sci(r.robust.bestHeldOutMse)}, naive ${sci(r.naive.bestHeldOutMse)}`,
          )
          .join('; ');
      log(
        `${name} done (load ${load()}): ${figures('rfsq', result.rfsq)}; ${figures('PyTorch', result.pytorch)}`,
      );
      inference ??= { checkpoint: path.join(out, 'robust'), data };
    }
    if (!inference) throw new Error('no training run');

    // Inference on the first dataset's trained Robust checkpoint.
    log('encode throughput and decode latency');
    const checkpoint = await loadCheckpoint(inference.checkpoint);
    const { train: trainSet, heldOut: heldOutSet } = inference.data;
    const { chunkLength, actionDim } = trainSet;
    const data = { train: trainSet, heldOut: chunkSet(heldOutSet.data, chunkLength, actionDim) };
    const source = new Float32Array(data.train.data.length + data.heldOut.data.length);
    source.set(data.train.data);
    source.set(data.heldOut.data, data.train.data.length);
    const chunkValues = chunkLength * actionDim;
    const encodeChunks = Math.ceil(ENCODE_ACTIONS / chunkLength);
    const bulk = new Float32Array(encodeChunks * chunkValues);
    for (let offset = 0; offset < bulk.length; offset += source.length) {
      bulk.set(source.subarray(0, Math.min(source.length, bulk.length - offset)), offset);
    }
    const encodedActions = encodeChunks * chunkLength;
    checkpoint.encode(bulk.subarray(0, 1000 * chunkValues));
    const encodeRates: number[] = [];
    let codes: Int32Array = new Int32Array(0);
    for (let rep = 0; rep < ENCODE_REPS; rep++) {
      const start = performance.now();
      codes = checkpoint.encode(bulk);
      encodeRates.push(encodedActions / ((performance.now() - start) / 1000));
    }
    const { latentDim, numLayers } = checkpoint.model.config;
    const chunkCodes = codes.slice(0, chunkLength * latentDim * numLayers);
    let sink = 0;
    for (let i = 0; i < DECODE_WARMUP; i++) sink += checkpoint.decodeFromCodes(chunkCodes)[0] as number;
    const latencies: number[] = [];
    for (let i = 0; i < DECODE_REPS; i++) {
      const start = process.hrtime.bigint();
      sink += checkpoint.decodeFromCodes(chunkCodes)[0] as number;
      latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    if (!Number.isFinite(sink)) throw new Error('decode produced non-finite values');
    latencies.sort((a, b) => a - b);
    const decodeP50 = percentile(latencies, 50);
    const decodeP99 = percentile(latencies, 99);
    const encodeRate = median(encodeRates);
    const benchRssKb = process.resourceUsage().maxRSS;

    // ------------------------------------------------------------------------------------------------------
    // Report
    const lines: string[] = [];
    lines.push(
      `rfsq Phase 1 benchmark: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}, ` +
        `${backend} backend` +
        (torchInfo
          ? `, PyTorch ${torchInfo.torch} (Debian python3-torch, reference BLAS, ${torchInfo.threads} threads)`
          : ''),
    );
    lines.push(`Load average (1, 5, 15 min): ${loadBefore} at the start, ${load()} at the end.`);
    const plateau = DEFAULT_TRAINING.plateau;
    lines.push(
      `rfsq default = no flags: to a plateau (cap ${plateau.maxEpochs} epochs, patience ${plateau.patience}, min gain ${plateau.minRelativeGain}, ` +
        `a decay training chunks / 2000 times the epochs taken, between 1× and 4×), batch ${DEFAULT_TRAINING.batchSize}, lr ${DEFAULT_TRAINING.lr}; ` +
        `PyTorch = the plan's loop, ${PLAN.epochs} epochs, batch ${PLAN.batchSize}, AdamW ${PLAN.lr}, cosine, on rfsq's training + validation episodes.`,
    );
    lines.push(
      `rfsq, plan's config = equal work: \`rfsq train ${PLAN_FLAGS.join(' ')}\`, the same epochs, batches, schedule and chunks as the PyTorch loop ` +
        "(normalized with those chunks' own percentiles, so its MSEs are in slightly different units: compare its wall time).",
    );
    lines.push(
      `${args.reps} interleaved round(s) per dataset, medians shown. MSE: Robust/naive held-out MSE, normalized units, eval mode; ` +
        'rfsq: at the epoch its validation MSE picked; PyTorch: its best epoch on the held-out set itself (favours PyTorch).',
    );
    if (torchMissing)
      lines.push(`PyTorch: not available (${torchMissing}); its rows and ratios are skipped.`);
    lines.push('');

    const training = table([
      'dataset',
      'trainer',
      'wall s',
      'epochs',
      'ms/step',
      'naive MSE',
      'robust MSE',
      ...QUALITY.map((q) => `s to robust ≤ ${q.toExponential(0)}`),
      'peak RSS MB',
    ]);
    const goals = table([
      'dataset',
      "wall at the plan's config: rfsq / PyTorch",
      'wall: rfsq / PyTorch',
      'robust MSE: rfsq / PyTorch',
      'round trip',
      'goal',
    ]);
    const summaries = results.map((result) => {
      const rfsq = summarize(result.rfsq);
      const torch = result.pytorch.length > 0 ? summarize(result.pytorch) : undefined;
      const row = (trainer: string, s: Summary) => [
        result.name,
        trainer,
        secs(s.wallSeconds),
        s.epochs,
        s.msPerStep.toFixed(2),
        sci(s.naiveMse),
        sci(s.robustMse),
        ...s.toQuality.map(maybe),
        mb(s.peakRssKb),
      ];
      const atPlan = summarize(result.rfsqPlan);
      training.push(row('rfsq default', rfsq));
      training.push(row("rfsq, plan's config", atPlan));
      if (torch) training.push(row('PyTorch plan', torch));
      const exact = result.roundtripGap === 0;
      let ratio: number | null = null;
      if (torch) {
        ratio = median(
          result.rfsq.map((r, i) => r.wallSeconds / (result.pytorch[i] as TrainingRun).wallSeconds),
        );
        const mseRatio = rfsq.robustMse / torch.robustMse;
        const equalWork = median(
          result.rfsqPlan.map((r, i) => r.wallSeconds / (result.pytorch[i] as TrainingRun).wallSeconds),
        );
        goals.push([
          result.name,
          equalWork.toFixed(2),
          ratio.toFixed(2),
          mseRatio.toFixed(2),
          exact ? 'exact' : `differs by ${sci(result.roundtripGap)}`,
          status(ratio <= GOAL_TIME_RATIO && mseRatio <= 1 && exact),
        ]);
      }
      return { name: result.name, rfsq, rfsqPlan: atPlan, pytorch: torch ?? null, wallRatio: ratio };
    });
    lines.push(training.toString());
    lines.push(
      'wall s: the whole process (naive + robust), startup included. s to robust ≤ x: the Robust run’s own clock',
      '(training + per-epoch evaluation) until its held-out MSE first reached x. Datasets:',
      ...results.map(
        (r) =>
          `  ${r.name}: ${r.description}; ${r.episodes.train}/${r.episodes.validation}/${r.episodes.heldOut} train/validation/held-out episodes ` +
          `(${r.chunks.train}/${r.chunks.validation}/${r.chunks.heldOut} chunks of ${chunkLength}); last Robust checkpoint re-evaluated in-process: ${sci(r.recomputedRobustMse)}`,
      ),
      `peak RSS: ${
        method === 'gnu-time'
          ? `${GNU_TIME} -f %M of each process (max over rounds)`
          : 'Node children: process.resourceUsage().maxRSS via a --import probe; Python: its own ru_maxrss'
      }.`,
      '',
    );
    if (!torchMissing) {
      lines.push(
        `Goal per dataset: wall ratio ≤ ${GOAL_TIME_RATIO}, Robust held-out MSE ratio ≤ 1, round trip exact (decode(encode(x)) = forward pass).`,
      );
      lines.push(goals.toString());
    }
    const inferenceTable = table(['figure', 'measured', 'goal', 'status']);
    inferenceTable.push(
      [
        `encode throughput (${encodedActions} actions, median of ${ENCODE_REPS})`,
        `${Math.round(encodeRate).toLocaleString('en-US')} actions/s`,
        '—',
        '',
      ],
      [
        `decode latency per chunk [1, ${chunkLength}, ${latentDim}, ${numLayers}] (${DECODE_REPS} reps)`,
        `p50 ${decodeP50.toFixed(3)} ms, p99 ${decodeP99.toFixed(3)} ms`,
        `p50 ≤ ${GOAL_DECODE_P50_MS} ms`,
        status(decodeP50 <= GOAL_DECODE_P50_MS),
      ],
      ['peak RSS of this bench process', `${mb(benchRssKb)} MB`, '—', ''],
    );
    lines.push(inferenceTable.toString());
    process.stdout.write(`${lines.join('\n')}\n`);

    if (args.json) {
      const figures = {
        machine: {
          cpu: os.cpus()[0]?.model ?? null,
          cores: os.availableParallelism(),
          node: process.version,
          loadBefore,
          loadAfter: load(),
        },
        backend,
        torch: torchInfo ? { version: torchInfo.torch, threads: torchInfo.threads } : null,
        rssMethod: method,
        reps: args.reps,
        datasets: results,
        summary: summaries,
        encode: { actions: encodedActions, actionsPerSecond: encodeRates },
        decode: { reps: DECODE_REPS, p50Ms: decodeP50, p99Ms: decodeP99 },
        benchPeakRssKb: benchRssKb,
      };
      await writeFile(args.json, `${JSON.stringify(figures, null, 2)}\n`);
      log(`figures written to ${args.json}`);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
