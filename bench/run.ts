/**
 * `npm run bench`: training time and quality of `rfsq train` against the same training in PyTorch
 * (bench/pytorch_train.py) on the same data, bulk encode throughput, decode latency and peak memory.
 *
 * Every figure is measured in this run. Training runs are real processes, interleaved (rfsq default config,
 * rfsq plan config, PyTorch plan config, then again) so that the ratios compare runs made side by side on
 * a noisy machine; each ratio is the median of the per-round ratios.
 *
 *   npm run bench [-- --reps <n>] [-- --json <file>] [-- --rss-probe]
 *
 * --reps       rounds of the three training runs (default 3)
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
import { GNU_TIME, measure, type RssMethod } from './measure.js';
import { loadCheckpoint } from '../src/ml/tokenizer/checkpoint.js';
import { writeNpy } from '../src/ml/data/npy.js';
import { heldOutMse } from '../src/ml/tokenizer/evaluate.js';
import { DEFAULT_TRAINING, type TrainReport } from '../src/services/phase1.js';
import { prepareData } from '../src/services/phase1-data.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'bin', 'rfsq.js');
const PYTORCH_SCRIPT = path.join(ROOT, 'bench', 'pytorch_train.py');
const PYTHON = '/usr/bin/python3';
const TORCH_THREADS = 2;

/**
 * The plan's Step 1 command: `--num-episodes 50 --epochs 100`, batch 64. The plan names no learning
 * rate; 3e-3 (Adam's usual scale for this model) stands for the seed config's.
 */
const PLAN = { ...DEFAULT_TRAINING, numEpisodes: 50, epochs: 100, batchSize: 64, lr: 3e-3 };
const PLAN_FLAGS = [
  '--num-episodes',
  String(PLAN.numEpisodes),
  '--epochs',
  String(PLAN.epochs),
  '--batch-size',
  String(PLAN.batchSize),
  '--lr',
  String(PLAN.lr),
];

const ENCODE_ACTIONS = 200_000;
const ENCODE_REPS = 5;
const DECODE_WARMUP = 500;
const DECODE_REPS = 2000;
const GOAL_TIME_RATIO = 0.5;
const GOAL_DECODE_P50_MS = 1;

interface Args {
  reps: number;
  json: string | undefined;
  rssProbe: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { reps: 3, json: undefined, rssProbe: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--reps') {
      const reps = Number(argv[++i]);
      if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps needs a positive integer');
      args.reps = reps;
    } else if (flag === '--json') {
      const file = argv[++i];
      if (!file) throw new Error('--json needs a file name');
      args.json = file;
    } else if (flag === '--rss-probe') {
      args.rssProbe = true;
    } else {
      throw new Error(`unknown flag ${flag}; use --reps <n>, --json <file>, --rss-probe`);
    }
  }
  return args;
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

interface VariantFigures {
  bestHeldOutMse: number;
  seconds: number;
  msPerStep: number;
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

async function runRfsq(
  flags: string[],
  out: string,
  method: RssMethod,
  rssFile: string,
  label: string,
): Promise<{ run: TrainingRun; report: TrainReport }> {
  const args = [CLI, 'train', '--variant', 'both', '--data', 'demo', ...flags, '--out', out, '--json'];
  const m = await measure(process.execPath, args, method, rssFile, label);
  const report = JSON.parse(m.stdout) as TrainReport;
  return {
    report,
    run: {
      wallSeconds: m.wallSeconds,
      peakRssKb: m.peakRssKb,
      naive: variantOf(report.variants, 'naive', label),
      robust: variantOf(report.variants, 'robust', label),
    },
  };
}

async function runPytorch(
  trainNpy: string,
  heldOutNpy: string,
  method: RssMethod,
  rssFile: string,
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
  const m = await measure(PYTHON, args, method, rssFile, 'PyTorch training');
  const report = JSON.parse(m.stdout) as PytorchReport;
  return {
    report,
    run: {
      wallSeconds: m.wallSeconds,
      peakRssKb: m.peakRssKb ?? report.maxRssKb,
      naive: variantOf(report.variants, 'naive', 'PyTorch'),
      robust: variantOf(report.variants, 'robust', 'PyTorch'),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Statistics and formatting

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Nearest-rank percentile of an ascending-sorted array. */
function percentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] as number;
}

function summarize(runs: TrainingRun[]) {
  const pick = (f: (r: TrainingRun) => number) => median(runs.map(f));
  const walls = runs.map((r) => r.wallSeconds);
  const rss = runs.map((r) => r.peakRssKb).filter((v): v is number => v !== null);
  return {
    wallSeconds: pick((r) => r.wallSeconds),
    wallMin: Math.min(...walls),
    wallMax: Math.max(...walls),
    inProcessSeconds: pick((r) => r.naive.seconds + r.robust.seconds),
    naiveMse: pick((r) => r.naive.bestHeldOutMse),
    robustMse: pick((r) => r.robust.bestHeldOutMse),
    msPerStep: pick((r) => (r.naive.msPerStep + r.robust.msPerStep) / 2),
    peakRssKb: rss.length > 0 ? Math.max(...rss) : null,
  };
}

type Summary = ReturnType<typeof summarize>;

const sci = (v: number): string => v.toExponential(3);
const secs = (v: number): string => v.toFixed(2);
const mb = (kb: number | null): string => (kb === null ? 'n/a' : (kb / 1024).toFixed(0));
const status = (ok: boolean): string => (ok ? 'MET' : 'NOT MET');

function table(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [] } });
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const method: RssMethod = !args.rssProbe && existsSync(GNU_TIME) ? 'gnu-time' : 'probe';
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'rfsq-bench-'));
  const log = (message: string): void => void process.stderr.write(`[bench] ${message}\n`);
  try {
    // The exact normalized chunks `rfsq train` uses: same loader, split and normalization.
    const data = await prepareData({
      data: 'demo',
      numEpisodes: PLAN.numEpisodes,
      chunk: PLAN.chunk,
      seed: PLAN.seed,
      heldOutFraction: PLAN.heldOutFraction,
    });
    const { chunkLength, actionDim } = data.train;
    const trainNpy = path.join(tmp, 'train.npy');
    const heldOutNpy = path.join(tmp, 'held_out.npy');
    await writeNpy(trainNpy, data.train.data, [data.train.numChunks, chunkLength, actionDim]);
    await writeNpy(heldOutNpy, data.heldOut.data, [data.heldOut.numChunks, chunkLength, actionDim]);

    const torchMissing = await pytorchAvailable();
    const rssFile = path.join(tmp, 'rss.txt');
    const rfsqDefault: TrainingRun[] = [];
    const rfsqPlan: TrainingRun[] = [];
    const pytorch: TrainingRun[] = [];
    let torchInfo: PytorchReport | undefined;
    let planOut = '';
    let defaultReport: TrainReport | undefined;
    for (let rep = 1; rep <= args.reps; rep++) {
      log(`round ${rep}/${args.reps}: rfsq train, default config`);
      const d = await runRfsq(
        [],
        path.join(tmp, `default-${rep}`),
        method,
        rssFile,
        'rfsq train (default config)',
      );
      rfsqDefault.push(d.run);
      defaultReport = d.report;
      log(`round ${rep}/${args.reps}: rfsq train, plan config`);
      planOut = path.join(tmp, `plan-${rep}`);
      const p = await runRfsq(PLAN_FLAGS, planOut, method, rssFile, 'rfsq train (plan config)');
      rfsqPlan.push(p.run);
      if (!torchMissing) {
        log(`round ${rep}/${args.reps}: PyTorch, plan config`);
        const t = await runPytorch(trainNpy, heldOutNpy, method, rssFile);
        pytorch.push(t.run);
        torchInfo = t.report;
      }
    }
    if (!defaultReport) throw new Error('no training run');
    if (
      defaultReport.trainChunks !== data.train.numChunks ||
      defaultReport.heldOutChunks !== data.heldOut.numChunks
    ) {
      throw new Error(
        `rfsq train used ${defaultReport.trainChunks}/${defaultReport.heldOutChunks} chunks, the exported data has ${data.train.numChunks}/${data.heldOut.numChunks}`,
      );
    }

    // Inference on the trained robust checkpoint of the last plan-config run.
    log('encode throughput and decode latency');
    const checkpoint = await loadCheckpoint(path.join(planOut, 'robust'));
    const recomputedMse = heldOutMse(checkpoint.model, data.heldOut);
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
    const def = summarize(rfsqDefault);
    const plan = summarize(rfsqPlan);
    const torch: Summary | undefined = pytorch.length > 0 ? summarize(pytorch) : undefined;
    const perRound = (runs: TrainingRun[]) =>
      runs.map((r, i) => r.wallSeconds / (pytorch[i] as TrainingRun).wallSeconds);
    const ratioDefault = torch ? median(perRound(rfsqDefault)) : undefined;
    const ratioPlan = torch ? median(perRound(rfsqPlan)) : undefined;

    const lines: string[] = [];
    lines.push(
      `rfsq benchmark: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}, ` +
        `${defaultReport.backend} backend` +
        (torchInfo ? `, PyTorch ${torchInfo.torch} (${torchInfo.threads} threads)` : ''),
    );
    lines.push(
      `Data: demo, ${data.trainEpisodes.length} training episodes (${data.train.numChunks} chunks of ${chunkLength}), ` +
        `${data.heldOutEpisodes.length} held-out episodes (${data.heldOut.numChunks} chunks); ` +
        `${args.reps} interleaved round(s), medians shown.`,
    );
    lines.push(
      `Configs: default = ${DEFAULT_TRAINING.epochs} epochs, batch ${DEFAULT_TRAINING.batchSize}, lr ${DEFAULT_TRAINING.lr} (no flags); ` +
        `plan = --num-episodes ${PLAN.numEpisodes} --epochs ${PLAN.epochs} --batch-size ${PLAN.batchSize} (lr ${PLAN.lr}, wd ${PLAN.weightDecay}).`,
    );
    if (torchMissing)
      lines.push(`PyTorch: not available (${torchMissing}); its rows and ratios are skipped.`);
    lines.push('');

    const training = table([
      'training (naive + robust)',
      'wall s (min–max)',
      'in-process s',
      'ms/step',
      'naive MSE',
      'robust MSE',
      'peak RSS MB',
    ]);
    const row = (name: string, s: Summary) => [
      name,
      `${secs(s.wallSeconds)} (${secs(s.wallMin)}–${secs(s.wallMax)})`,
      secs(s.inProcessSeconds),
      s.msPerStep.toFixed(2),
      sci(s.naiveMse),
      sci(s.robustMse),
      mb(s.peakRssKb),
    ];
    training.push(row('rfsq, default config', def), row('rfsq, plan config', plan));
    if (torch) training.push(row('PyTorch, plan config', torch));
    lines.push(training.toString());
    lines.push(
      'wall s: the whole process, startup included. in-process s: the trainers’ own timers (training + per-epoch',
      'held-out evaluation, both variants). MSE: best held-out MSE over the epochs (normalized units), eval mode.',
      `peak RSS: ${
        method === 'gnu-time'
          ? `${GNU_TIME} -f %M of each process (max over rounds)`
          : 'Node children: process.resourceUsage().maxRSS via a --import probe; Python: its own ru_maxrss'
      }.`,
      `Check: the last plan-config robust checkpoint, evaluated in-process on the exported held-out chunks: ` +
        `${sci(recomputedMse)} (rfsq train reported ${sci(rfsqPlan[rfsqPlan.length - 1]!.robust.bestHeldOutMse)}).`,
      '',
    );

    const goals = table(['figure', 'measured', 'goal', 'status']);
    if (torch && ratioDefault !== undefined && ratioPlan !== undefined) {
      const range = (r: number[]) => `${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)}`;
      const mseOk = def.robustMse <= torch.robustMse;
      goals.push(
        [
          'time: rfsq default / PyTorch plan',
          `${ratioDefault.toFixed(2)} (${range(perRound(rfsqDefault))})`,
          `≤ ${GOAL_TIME_RATIO}`,
          status(ratioDefault <= GOAL_TIME_RATIO),
        ],
        [
          'robust MSE: rfsq default vs PyTorch plan',
          `${sci(def.robustMse)} vs ${sci(torch.robustMse)} (×${(def.robustMse / torch.robustMse).toFixed(2)})`,
          'no worse',
          status(mseOk),
        ],
        [
          'goal 1: faster by 2× and no worse',
          '',
          'both above',
          status(ratioDefault <= GOAL_TIME_RATIO && mseOk),
        ],
        ['time: rfsq plan / PyTorch plan', `${ratioPlan.toFixed(2)} (${range(perRound(rfsqPlan))})`, '—', ''],
        [
          'robust MSE: rfsq plan vs PyTorch plan',
          `${sci(plan.robustMse)} vs ${sci(torch.robustMse)} (×${(plan.robustMse / torch.robustMse).toFixed(2)})`,
          '—',
          '',
        ],
      );
    }
    goals.push(
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
    lines.push(goals.toString());
    process.stdout.write(`${lines.join('\n')}\n`);

    if (args.json) {
      const results = {
        machine: {
          cpu: os.cpus()[0]?.model ?? null,
          cores: os.availableParallelism(),
          node: process.version,
        },
        backend: defaultReport.backend,
        torch: torchInfo ? { version: torchInfo.torch, threads: torchInfo.threads } : null,
        rssMethod: method,
        reps: args.reps,
        training: { rfsqDefault, rfsqPlan, pytorchPlan: pytorch },
        summary: { rfsqDefault: def, rfsqPlan: plan, pytorchPlan: torch ?? null },
        ratios: {
          rfsqDefaultOverPytorchPlan: ratioDefault ?? null,
          rfsqPlanOverPytorchPlan: ratioPlan ?? null,
        },
        encode: { actions: encodedActions, actionsPerSecond: encodeRates },
        decode: { reps: DECODE_REPS, p50Ms: decodeP50, p99Ms: decodeP99 },
        benchPeakRssKb: benchRssKb,
        recomputedRobustHeldOutMse: recomputedMse,
      };
      await writeFile(args.json, `${JSON.stringify(results, null, 2)}\n`);
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
