/**
 * `npm run bench:miniature` (also the second half of `npm run bench`): the local template's strategies run
 * end to end in fresh projects, as a user runs them (`rfsq init --template local`, then `rfsq run
 * --strategy S --yes`): demo collection included, nothing cached. It prints the wall time of every step,
 * the peak RSS, and the measured figures, naive against Robust.
 *
 *   npm run bench:miniature [-- --strategies A,B,C] [-- --json <file>]
 *
 * Budget: strategy A within 10 minutes (goal 5) and B within 5 on two cores, peak RSS under 2 GB. The
 * Phase 3 figures come from re-running the two evaluations with --json after the runs (same seeds, so
 * the same successes; the inference times are measured again).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { GNU_TIME, measure, type RssMethod } from './measure.js';
import type { Phase3Report } from '../src/services/phase3.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'bin', 'rfsq.js');
const RUN_TIMEOUT_MS = 30 * 60 * 1000;
const GOALS = {
  A: { limitSeconds: 600, goalSeconds: 300 },
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
  peakRssKb: number | null;
  exitCode: number;
  steps: StepTiming[];
  metrics: Record<string, unknown>;
}

function parseArgs(argv: string[]): { strategies: Strategy[]; json: string | undefined } {
  let strategies: Strategy[] = ['A', 'B'];
  let json: string | undefined;
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
    } else {
      throw new Error(`unknown flag ${String(flag)}; use --strategies A,B,C or --json <file>`);
    }
  }
  return { strategies, json };
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
  try {
    const measured = await measure(
      process.execPath,
      [CLI, 'run', '--strategy', strategy, '--yes', '--dir', dir],
      method,
      rssFile,
      `rfsq run --strategy ${strategy}`,
      RUN_TIMEOUT_MS,
    );
    wallSeconds = measured.wallSeconds;
    peakRssKb = measured.peakRssKb;
  } catch (error) {
    // A failing checklist item does not fail the run; a failing step does, and the bench says so.
    exitCode = 1;
    log(error instanceof Error ? error.message : String(error));
  }
  const state = JSON.parse(await readFile(path.join(dir, '.rfsq', 'state.json'), 'utf8')) as RunState;
  const steps = Object.entries(state.steps).map(([step, s]) => ({
    step,
    status: s.status,
    seconds:
      s.startedAt && s.finishedAt ? (Date.parse(s.finishedAt) - Date.parse(s.startedAt)) / 1000 : Number.NaN,
  }));
  const metrics: Record<string, unknown> = {};
  for (const s of Object.values(state.steps)) Object.assign(metrics, s.metrics ?? {});
  return { strategy, dir, wallSeconds, peakRssKb, exitCode, steps, metrics };
}

async function policyReport(dir: string): Promise<Record<string, unknown> | undefined> {
  const file = path.join(dir, 'config.json');
  if (!existsSync(file)) return undefined;
  return (JSON.parse(await readFile(file, 'utf8')) as { metrics?: Record<string, unknown> }).metrics;
}

/** `rfsq phase3 eval --json` in a project, with paths relative to it. */
async function phase3Report(
  dir: string,
  paths: [string, string][],
  extra: string[] = [],
): Promise<Phase3Report> {
  const args = paths.flatMap(([flag, value]) => [flag, path.join(dir, value)]);
  return JSON.parse(
    await rfsq(['phase3', 'eval', ...args, ...extra, '--trials', '20', '--json']),
  ) as Phase3Report;
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
  log(
    `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}`,
  );

  const runs: StrategyRun[] = [];
  try {
    for (const strategy of args.strategies) runs.push(await runStrategy(strategy, method));
    const byStrategy = (s: Strategy) => runs.find((r) => r.strategy === s);
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
    }
    lines.push('Wall time per step (fresh project: demo collection included)', timing.toString(), '');

    // Naive against Robust, from the runs' files.
    const a = byStrategy('A') ?? byStrategy('C');
    const b = byStrategy('B') ?? byStrategy('C');
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
      const robust = await phase3Report(a.dir, [
        ['--policy', 'runs/phase2/robust'],
        ['--tokenizer', 'runs/phase1/robust'],
      ]);
      report.robustPhase3 = robust;
      Object.assign(report, { robustMain, naiveMain, draft });
      let naive: Phase3Report | undefined;
      if (b && existsSync(path.join(b.dir, 'runs/phase2/naive/main/config.json'))) {
        naive = await phase3Report(b.dir, [
          ['--policy', 'runs/phase2/naive'],
          ['--policy-tokenizer', 'runs/phase1/naive'],
          ['--tokenizer', 'runs/phase1/robust'],
        ]);
        report.swapPhase3 = naive;
      }
      const own = naive?.ownDecoder;
      figures.push(
        ['Phase 3 success (greedy)', pct(own?.successRate), pct(robust.greedy.successRate)],
        [
          '  95% interval (Wilson)',
          interval(own?.successInterval95),
          interval(robust.greedy.successInterval95),
        ],
        [
          'Phase 3 fine-grained success (greedy)',
          pct(own?.fineGrainedSuccessRate),
          pct(robust.greedy.fineGrainedSuccessRate),
        ],
        ['Phase 3 per task (greedy): pick / precise / insert / rotate', perTask(own), perTask(robust.greedy)],
        [
          'strategy B: naive policies, Robust decoder: success, fine-grained',
          naive ? `${pct(naive.greedy.successRate)}, ${pct(naive.greedy.fineGrainedSuccessRate)}` : 'n/a',
          '',
        ],
      );
      lines.push('Naive against Robust (measured in these runs)', figures.toString(), '');

      // Typical acceptance trades exactness for passes: the same policies and seeds, two ratios.
      const ratios = [0.5, 0.2];
      const typical: Phase3Report[] = [];
      for (const ratio of ratios)
        typical.push(
          await phase3Report(
            a.dir,
            [
              ['--policy', 'runs/phase2/robust'],
              ['--tokenizer', 'runs/phase1/robust'],
            ],
            ['--accept-ratio', String(ratio)],
          ),
        );
      report.typicalAcceptance = typical;
      const g = robust.greedy;
      const modes = [robust.speculative, ...typical.map((t) => t.speculative)];
      const decoding = table([
        'Robust policies, 80 trials',
        'greedy',
        'speculative, exact',
        ...ratios.map((r) => `accept ratio ${r}`),
      ]);
      const row = (label: string, greedy: string, value: (m: (typeof modes)[number]) => string) =>
        decoding.push([label, greedy, ...modes.map(value)]);
      row('success', pct(g.successRate), (m) => pct(m.successRate));
      row('fine-grained success', pct(g.fineGrainedSuccessRate), (m) => pct(m.fineGrainedSuccessRate));
      row('main passes per chunk', num(g.mainPassesPerChunk), (m) => num(m.mainPassesPerChunk));
      row('main rows per chunk (compute)', num(g.mainRowsPerChunk), (m) => num(m.mainRowsPerChunk));
      row('acceptance of draft layers', '', (m) => pct(m.acceptanceRate));
      row('token agreement L0 / L1 / L2', '', (m) =>
        m.tokenAgreement.map((v) => (v * 100).toFixed(0)).join(' / '),
      );
      row('chunks equal to greedy', '', (m) => pct(m.greedyChunkMatch));
      row(
        'inference p50 / p95 (ms)',
        `${num(g.inferenceMs.p50)} / ${num(g.inferenceMs.p95)}`,
        (m) => `${num(m.inferenceMs.p50)} / ${num(m.inferenceMs.p95)}`,
      );
      row('p50 / greedy p50 (same run)', '1.00', (m) => num(m.inferenceMs.p50 / g.inferenceMs.p50));
      lines.push('Speculative decoding against greedy, side by side', decoding.toString(), '');
    }

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
    const peak = Math.max(...runs.map((r) => r.peakRssKb ?? 0));
    goals.push([
      `peak RSS of one process (${method === 'gnu-time' ? 'GNU time %M' : 'probe'})`,
      mb(peak || null),
      `< ${RSS_LIMIT_MB} MB`,
      status(peak > 0 && peak / 1024 < RSS_LIMIT_MB),
    ]);
    lines.push(goals.toString());
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
