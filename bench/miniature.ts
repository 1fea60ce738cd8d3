/**
 * `npm run bench:miniature` (also the second half of `npm run bench`): the local template's strategies run
 * end to end in fresh projects, as a user runs them (`rfsq init --template local`, then `rfsq run
 * --strategy S --yes`): demo collection included, nothing cached. It prints the wall time of every step,
 * the peak RSS, and the measured figures, naive against Robust; then, in strategy A's project, every
 * decoding side by side on the same seeds (passes, rows, draft passes, latency, fidelity to greedy and
 * success paired against greedy), Robust against naive, and the decoder swap against the policies' own
 * decoder, each with 120 trials per task (480 paired trials) by default.
 *
 *   npm run bench:miniature [-- --strategies A,B,C] [-- --trials <per task>] [-- --json <file>]
 *   npm run bench:miniature -- --project <dir>     # Phase 3 tables only, in a project A already trained
 *   npm run bench:strategy-a                       # strategy A end to end only (--strategies A --trials 0)
 *
 * Budget: strategy A within 10 minutes (goal 3, issue 17) and B within 5 on two cores, peak RSS under 2 GB. Decoding
 * goal: a mode with at least 2.5x fewer main passes per chunk than greedy that is non-inferior (margin -5
 * points) at 480 paired trials, and an exact mode with fewer than 8 sequential passes.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { GNU_TIME, loadAverage, measure, type RssMethod } from './measure.js';
import { formatPoints } from '../src/core/proportion.js';
import { PHASE3_DEFAULTS } from '../src/core/training-defaults.js';
import type {
  ArmReport,
  ArmRequest,
  ArmsReport,
  DecodingRequest,
  PairedReport,
} from '../src/services/phase3.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'bin', 'rfsq.js');
const GOALS = {
  A: { limitSeconds: 600, goalSeconds: 180 },
  B: { limitSeconds: 300, goalSeconds: 300 },
} as const;
const RSS_LIMIT_MB = 2048;

type Strategy = 'A' | 'B' | 'C';

interface StepTiming {
  step: string;
  status: string;
  seconds: number;
}

interface StrategyRun {
  strategy: Strategy;
  dir: string;
  wallSeconds: number;
  /** User + system CPU seconds of the whole run (GNU time), null without it. */
  cpuSeconds: number | null;
  peakRssKb: number | null;
  exitCode: number;
  steps: StepTiming[];
  metrics: Record<string, unknown>;
}

interface BenchArgs {
  strategies: Strategy[];
  json: string | undefined;
  /** Phase 3 trials per task (4 tasks): 120 gives the 480 paired trials the comparisons need. */
  trials: number;
  /** A project that `rfsq run --strategy A` already trained: only the Phase 3 tables, no strategy runs. */
  project: string | undefined;
}

function parseArgs(argv: string[]): BenchArgs {
  let strategies: Strategy[] = ['A', 'B'];
  let json: string | undefined;
  let trials = 120;
  let project: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--strategies') {
      const list = (argv[++i] ?? '').split(',').map((s) => s.trim().toUpperCase());
      if (list.length === 0 || !list.every((s): s is Strategy => s === 'A' || s === 'B' || s === 'C'))
        throw new Error('--strategies takes a comma-separated list of A, B and C');
      strategies = list;
    } else if (flag === '--json') {
      json = argv[++i];
      if (!json) throw new Error('--json needs a file name');
    } else if (flag === '--trials') {
      trials = Number(argv[++i]);
      if (!Number.isInteger(trials) || trials < 0)
        throw new Error('--trials takes trials per task, e.g. 120 (0: no Phase 3 tables)');
    } else if (flag === '--project') {
      project = argv[++i];
      if (!project || !existsSync(path.join(project, '.rfsq', 'state.json')))
        throw new Error('--project takes a project folder that `rfsq run --strategy A` ran in');
    } else {
      throw new Error(
        `unknown flag ${String(flag)}; use --strategies A,B,C, --trials <per task>, --project <dir> or --json <file>`,
      );
    }
  }
  return { strategies, json, trials, project };
}

const log = (message: string) => process.stderr.write(`[bench:miniature] ${message}\n`);

/** Runs `rfsq args` (not measured) and returns its stdout. */
async function rfsq(args: string[]): Promise<string> {
  const { execa } = await import('execa');
  return (await execa(process.execPath, [CLI, ...args], { stdin: 'ignore' })).stdout;
}

interface RunState {
  steps: Record<string, { status: string; startedAt?: string; finishedAt?: string; metrics?: object }>;
}

async function runStrategy(strategy: Strategy, method: RssMethod): Promise<StrategyRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `rfsq-bench-${strategy}-`));
  await rfsq(['init', '--template', 'local', '--dir', dir]);
  log(`strategy ${strategy}: rfsq run --strategy ${strategy} --yes --dir ${dir}`);
  const rssFile = path.join(dir, '.rfsq-bench-rss');
  let exitCode = 0;
  let wallSeconds = 0;
  let peakRssKb: number | null = null;
  let cpuSeconds: number | null = null;
  try {
    const measured = await measure(
      process.execPath,
      [CLI, 'run', '--strategy', strategy, '--yes', '--dir', dir],
      method,
      rssFile,
      `rfsq run --strategy ${strategy}`,
    );
    wallSeconds = measured.wallSeconds;
    peakRssKb = measured.peakRssKb;
    cpuSeconds = measured.cpuSeconds;
  } catch (error) {
    // A failing checklist item does not fail the run; a failing step does, and the bench says so.
    exitCode = 1;
    log(error instanceof Error ? error.message : String(error));
  }
  return { strategy, dir, wallSeconds, cpuSeconds, peakRssKb, exitCode, ...(await readRun(dir)) };
}

/** The steps' timings and metrics from a project's run state. */
async function readRun(dir: string): Promise<Pick<StrategyRun, 'steps' | 'metrics'>> {
  const state = JSON.parse(await readFile(path.join(dir, '.rfsq', 'state.json'), 'utf8')) as RunState;
  const steps = Object.entries(state.steps).map(([step, s]) => ({
    step,
    status: s.status,
    seconds:
      s.startedAt && s.finishedAt ? (Date.parse(s.finishedAt) - Date.parse(s.startedAt)) / 1000 : Number.NaN,
  }));
  const metrics: Record<string, unknown> = {};
  for (const s of Object.values(state.steps)) Object.assign(metrics, s.metrics ?? {});
  return { steps, metrics };
}

/**
 * The decodings compared side by side on the Robust policies, greedy (the reference) first: the plan's
 * draft speculation as it is, depth-limited greedy decoding, and Jacobi decoding over layers.
 */
const DECODINGS: DecodingRequest[] = [
  { method: 'greedy' },
  { method: 'speculative' },
  { method: 'speculative', acceptRatio: 0.5 },
  { method: 'greedy', depth: 4 },
  { method: 'greedy', depth: 3 },
  { method: 'greedy', depth: 2 },
  { method: 'greedy', depth: 'auto' },
  { method: 'jacobi', jacobiInit: 'draft' },
  { method: 'jacobi', jacobiInit: 'middle' },
  { method: 'jacobi', jacobiEps: 0.02 },
];

const points = formatPoints;
const pairedText = (p: PairedReport) =>
  `${points(p.success.difference)} [${points(p.success.interval95[0])}, ${points(p.success.interval95[1])}] pts, McNemar p ${p.success.mcnemarP.toFixed(2)}`;

/** Paired Phase 3 evaluations in one project, `trials` per task; every arm of a table on the same seeds. */
async function phase3Tables(dir: string, trials: number) {
  const { evaluateArms } = await import('../src/services/phase3.js');
  const at = (relative: string) => path.join(dir, relative);
  const robust = { policy: at('runs/phase2/robust'), tokenizer: at('runs/phase1/robust') };
  const naive = { policy: at('runs/phase2/naive'), tokenizer: at('runs/phase1/naive') };
  const run = async (title: string, arms: ArmRequest[]) => {
    log(`Phase 3: ${title}, ${arms.length} arms x ${trials * 4} trials`);
    const started = performance.now();
    let shown = 0;
    const result = await evaluateArms({
      arms,
      reference: arms.length - 1,
      trialsPerTask: trials,
      seed: 0,
      margin: PHASE3_DEFAULTS.margin,
      backend: 'auto',
      onTrial: (done, total) => {
        if (done / total >= shown + 0.1 || done === total) {
          shown = Math.floor((done / total) * 10) / 10;
          log(`  ${done}/${total} episodes, ${((performance.now() - started) / 1000).toFixed(0)} s`);
        }
      },
    });
    return result;
  };
  // The reference is the last arm of each evaluation.
  const [greedy, ...others] = DECODINGS;
  const decodings = await run('decodings side by side', [
    ...others.map((decoding) => ({ ...robust, decoding })),
    { ...robust, decoding: greedy! },
  ]);
  const naiveVsRobust = await run('Robust against naive, greedy', [
    { ...robust, decoding: greedy!, label: 'Robust policies, greedy' },
    { ...naive, decoding: greedy!, label: 'naive policies, greedy' },
  ]);
  const swap = await run("decoder swap against the policies' own decoder, greedy", [
    {
      policy: naive.policy,
      tokenizer: robust.tokenizer,
      decoding: greedy!,
      label: 'naive policies, Robust decoder',
    },
    { ...naive, decoding: greedy!, label: 'naive policies, own decoder' },
  ]);

  const reference = decodings.arms[decodings.reference]!;
  const labelOf = (arm: ArmReport) =>
    arm.depthChoice ? `${arm.label} (auto, ε ${arm.depthChoice.actionEps})` : arm.label;
  const rows = table([
    `Robust policies, ${decodings.trials} paired trials`,
    'success',
    'Δ vs greedy, 95% CI (McNemar p)',
    `non-inferior (${points(PHASE3_DEFAULTS.margin)})`,
    'fine-grained',
    'identical chunks',
    'max |Δa| p99',
    'main passes / rows',
    'draft passes',
    'p50 / p95 ms',
  ]);
  const ordered = [decodings.reference, ...others.map((_, i) => i)];
  for (const index of ordered) {
    const arm = decodings.arms[index]!;
    const paired = decodings.paired.find((p) => p.arm === index);
    rows.push([
      labelOf(arm),
      `${pct(arm.successRate)} (${interval(arm.successInterval95)})`,
      paired
        ? `${points(paired.success.difference)} [${points(paired.success.interval95[0])}, ${points(paired.success.interval95[1])}] (${paired.success.mcnemarP.toFixed(2)})`
        : '—',
      paired ? (paired.success.nonInferior ? 'yes' : 'not shown') : '—',
      pct(arm.fineGrainedSuccessRate),
      pct(arm.fidelity.identicalChunks),
      arm.fidelity.maxAbsDelta.p99.toPrecision(2),
      `${num(arm.mainPassesPerChunk)} / ${num(arm.mainRowsPerChunk)}`,
      num(arm.draftPassesPerChunk),
      `${num(arm.inferenceMs.p50)} / ${num(arm.inferenceMs.p95)}`,
    ]);
  }
  const words = decodings.paired.map((p) => `  ${labelOf(decodings.arms[p.arm]!)}: ${p.summary}`);
  const depthTable = decodings.arms.find((arm) => arm.depthChoice)?.depthChoice?.table ?? [];
  const depths = table(['depth K', ...depthTable.map((row) => String(row.depth))]);
  for (const q of ['p50', 'p90', 'p99', 'max'] as const)
    depths.push([`held-out max |Δa| ${q}`, ...depthTable.map((row) => row[q].toPrecision(2))]);
  const lines = [
    `Decodings side by side on the same seeds (greedy: ${num(reference.mainPassesPerChunk)} passes per chunk)`,
    rows.toString(),
    ...words,
    '',
    'Phase 2 depth table of the Robust main model (held-out chunks against full depth, normalized units)',
    depths.toString(),
    '',
  ];
  return { report: { decodings, naiveVsRobust, swap }, naiveVsRobust, swap, lines };
}

async function policyReport(dir: string): Promise<Record<string, unknown> | undefined> {
  const file = path.join(dir, 'config.json');
  if (!existsSync(file)) return undefined;
  return (JSON.parse(await readFile(file, 'utf8')) as { metrics?: Record<string, unknown> }).metrics;
}

const pct = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : 'n/a');
const num = (v: unknown, digits = 2) => (typeof v === 'number' ? v.toFixed(digits) : 'n/a');
const interval = (v: [number, number] | undefined) =>
  v ? `${(v[0] * 100).toFixed(1)}–${(v[1] * 100).toFixed(1)}%` : 'n/a';
const sci = (v: unknown) => (typeof v === 'number' ? v.toExponential(2) : 'n/a');
const mb = (kb: number | null) => (kb === null ? 'n/a' : `${(kb / 1024).toFixed(0)} MB`);
const status = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
const perTask = (stats: { perTask: Record<string, number> } | undefined) =>
  stats
    ? Object.values(stats.perTask)
        .map((v) => (v * 100).toFixed(0))
        .join(' / ')
    : 'n/a';

function table(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [] }, wordWrap: true });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  // Fresh, as from a clone: the demos are collected into each project, user settings stay out.
  delete process.env.RFSQ_CACHE_DIR;
  const configDir = await mkdtemp(path.join(os.tmpdir(), 'rfsq-bench-config-'));
  process.env.RFSQ_CONFIG_DIR = configDir;
  process.env.CI = 'true';
  const method: RssMethod = existsSync(GNU_TIME) ? 'gnu-time' : 'probe';
  // Other work on the machine slows latency, never passes, rows or outcomes: the load is part of the record.
  const load = () => loadAverage();
  const loadAtStart = load();
  log(
    `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}`,
  );

  const runs: StrategyRun[] = [];
  try {
    if (!args.project) for (const strategy of args.strategies) runs.push(await runStrategy(strategy, method));
    const existing: StrategyRun | undefined = args.project
      ? {
          strategy: 'A',
          dir: args.project,
          wallSeconds: Number.NaN,
          cpuSeconds: null,
          peakRssKb: null,
          exitCode: 0,
          ...(await readRun(args.project)),
        }
      : undefined;
    const byStrategy = (s: Strategy) =>
      runs.find((r) => r.strategy === s) ?? (s === 'A' ? existing : undefined);
    const lines: string[] = [];

    const timing = table(['strategy', 'step', 'status', 'seconds']);
    for (const run of runs) {
      for (const s of run.steps) timing.push([run.strategy, s.step, s.status, num(s.seconds, 1)]);
      timing.push([
        run.strategy,
        'total (rfsq run, wall)',
        run.exitCode === 0 ? 'ok' : 'failed',
        num(run.wallSeconds, 1),
      ]);
      if (run.cpuSeconds !== null)
        timing.push([run.strategy, 'total CPU (user + system, all processes)', '', num(run.cpuSeconds, 1)]);
    }
    lines.push('Wall time per step (fresh project: demo collection included)', timing.toString(), '');

    // Naive against Robust, from the runs' files.
    const a = byStrategy('A') ?? byStrategy('C');
    const figures = table(['figure', 'naive', 'Robust']);
    const report: Record<string, unknown> = {};
    if (a) {
      const m = a.metrics;
      figures.push(['Phase 1 held-out MSE', sci(m['phase1.naive_mse']), sci(m['phase1.robust_mse'])]);
      const robustMain = await policyReport(path.join(a.dir, 'runs/phase2/robust/main'));
      const naiveMain = await policyReport(path.join(a.dir, 'runs/phase2/naive/main'));
      const draft = await policyReport(path.join(a.dir, 'runs/phase2/robust/draft'));
      figures.push(
        [
          'Phase 2 main token accuracy, free-running (checklist)',
          pct(naiveMain?.mainTokenAcc),
          pct(robustMain?.mainTokenAcc),
        ],
        [
          '  per layer L0',
          pct((naiveMain?.perLayerFreeRunning as number[])?.[0]),
          pct((robustMain?.perLayerFreeRunning as number[])?.[0]),
        ],
        [
          '  L3–L7 given true L0–L2',
          pct(naiveMain?.fineTokenAccGivenCoarse),
          pct(robustMain?.fineTokenAccGivenCoarse),
        ],
        [
          "Phase 2 decoded chunks against the demos' actions (MSE)",
          sci(naiveMain?.actionMse),
          sci(robustMain?.actionMse),
        ],
        ['Phase 2 draft coarse accuracy (L0–L2)', 'n/a', pct(draft?.draftCoarseAcc)],
      );
      Object.assign(report, { robustMain, naiveMain, draft });
    }
    // --trials 0: the strategies' wall times only, no Phase 3 tables.
    let phase3Lines: string[] = [];
    if (a && args.trials > 0) {
      const phase3 = await phase3Tables(a.dir, args.trials);
      phase3Lines = phase3.lines;
      Object.assign(report, phase3.report);
      const [robustGreedy, naiveGreedy] = phase3.naiveVsRobust.arms as [ArmReport, ArmReport];
      const swap = phase3.swap.arms[0]!;
      figures.push(
        [
          `Phase 3 success (greedy, ${phase3.naiveVsRobust.trials} trials)`,
          pct(naiveGreedy.successRate),
          pct(robustGreedy.successRate),
        ],
        [
          '  95% interval (Wilson)',
          interval(naiveGreedy.successInterval95),
          interval(robustGreedy.successInterval95),
        ],
        [
          'Phase 3 fine-grained success (greedy)',
          pct(naiveGreedy.fineGrainedSuccessRate),
          pct(robustGreedy.fineGrainedSuccessRate),
        ],
        [
          'Phase 3 per task (greedy): pick / precise / insert / rotate',
          perTask(naiveGreedy),
          perTask(robustGreedy),
        ],
        ['Robust − naive, paired on the same seeds', '', pairedText(phase3.naiveVsRobust.paired[0]!)],
        [
          'strategy B: naive policies, Robust decoder: success, fine-grained',
          `${pct(swap.successRate)}, ${pct(swap.fineGrainedSuccessRate)}`,
          '',
        ],
        ['  against their own decoder, paired', pairedText(phase3.swap.paired[0]!), ''],
      );
    }
    if (a)
      lines.push('Naive against Robust (measured in these runs)', figures.toString(), '', ...phase3Lines);

    const goals = table(['figure', 'measured', 'goal', 'status']);
    for (const s of ['A', 'B'] as const) {
      const run = byStrategy(s);
      if (!run) continue;
      const { limitSeconds, goalSeconds } = GOALS[s];
      goals.push([
        `strategy ${s}, fresh project, wall`,
        `${num(run.wallSeconds / 60)} min`,
        `≤ ${limitSeconds / 60} min${goalSeconds < limitSeconds ? ` (goal ${goalSeconds / 60})` : ''}`,
        status(run.exitCode === 0 && run.wallSeconds <= limitSeconds),
      ]);
    }
    const decodings = report.decodings as ArmsReport | undefined;
    if (decodings) {
      const greedy = decodings.arms[decodings.reference]!;
      const ratio = (arm: ArmReport) => greedy.mainPassesPerChunk / arm.mainPassesPerChunk;
      const nonInferior = decodings.paired
        .filter((p) => p.success.nonInferior)
        .map((p) => decodings.arms[p.arm]!)
        .sort((x, y) => ratio(y) - ratio(x))[0];
      goals.push([
        `fewest main passes, non-inferior at ${decodings.trials} paired trials`,
        nonInferior ? `${nonInferior.label}: ${num(ratio(nonInferior))}x fewer` : 'none',
        '≥ 2.5x fewer than greedy',
        status(nonInferior !== undefined && ratio(nonInferior) >= 2.5),
      ]);
      const exact = decodings.arms
        .filter((arm) => arm.exact && arm !== greedy)
        .sort((x, y) => x.mainPassesPerChunk - y.mainPassesPerChunk)[0];
      goals.push([
        'exact mode (output = greedy), sequential main passes',
        exact ? `${exact.label}: ${num(exact.mainPassesPerChunk)}` : 'none',
        '< 8',
        status(exact !== undefined && exact.mainPassesPerChunk < 8 && exact.fidelity.identicalChunks === 1),
      ]);
    }
    const peak = Math.max(...runs.map((r) => r.peakRssKb ?? 0));
    goals.push([
      `peak RSS of one process (${method === 'gnu-time' ? 'GNU time %M' : 'probe'})`,
      mb(peak || null),
      `< ${RSS_LIMIT_MB} MB`,
      status(peak > 0 && peak / 1024 < RSS_LIMIT_MB),
    ]);
    lines.push(goals.toString());
    lines.push(
      `Machine load (1 / 5 / 15 min load average, ${os.availableParallelism()} cores): ${loadAtStart} at the start, ${load()} at the end. Latencies were measured under that load; passes, rows and outcomes do not depend on it.`,
    );
    lines.push(
      'Two training processes run at once in phase2-main (the naive main model trains side by side), so the machine holds at most about twice that peak.',
    );
    process.stdout.write(`${lines.join('\n')}\n`);

    if (args.json) {
      await writeFile(
        args.json,
        `${JSON.stringify({ machine: { cpu: os.cpus()[0]?.model ?? null, cores: os.availableParallelism(), node: process.version }, runs, ...report }, null, 2)}\n`,
      );
      log(`figures written to ${args.json}`);
    }
  } finally {
    for (const run of runs) await rm(run.dir, { recursive: true, force: true });
    await rm(configDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
