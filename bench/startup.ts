/**
 * `npm run bench:startup`: how long `rfsq` takes to answer, against bare `node -e 0` measured side by side
 * (interleaved, round by round) on the same machine. Each command is a real process; its time is spawn to
 * exit. Ratios are the median of the per-round ratios to that round's bare node.
 *
 *   npm run bench:startup [-- --rounds <n>] [-- --json <file>]
 *
 * Goal: `rfsq recommend … --json` within 2x bare node.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { loadAverage, median } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'bin', 'rfsq.js');
const GOAL_RATIO = 2;

const load = () => loadAverage();

function parseArgs(argv: string[]): { rounds: number; json?: string } {
  let rounds = 15;
  let json: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (flag === '--rounds' && Number.isInteger(Number(value)) && Number(value) > 0) rounds = Number(value);
    else if (flag === '--json' && value) json = value;
    else throw new Error(`bad flag ${String(flag)}; use --rounds <n> or --json <file>`);
  }
  return { rounds, json };
}

/** Wall time of one run, spawn to exit, in ms; the exit code must be the expected one. */
function timeOnce(args: string[], cwd: string, env: NodeJS.ProcessEnv, expectedExit: number): number {
  const start = performance.now();
  const result = spawnSync(process.execPath, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - start;
  if (result.status !== expectedExit)
    throw new Error(
      `node ${args.join(' ')} exited ${String(result.status)}: ${result.stderr.toString().trim()}`,
    );
  return ms;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rfsq-bench-startup-'));
  try {
    const metrics = path.join(dir, 'metrics.json');
    await writeFile(metrics, JSON.stringify({ 'phase1.naive_mse': 0.018, 'phase1.robust_mse': 0.01 }));
    const env = { ...process.env, CI: 'true', NO_COLOR: '1', RFSQ_CONFIG_DIR: path.join(dir, 'config') };
    const commands: { label: string; args: string[]; exit: number }[] = [
      { label: 'node -e 0 (bare node)', args: ['-e', '0'], exit: 0 },
      { label: 'rfsq --version', args: [CLI, '--version'], exit: 0 },
      { label: 'rfsq --help', args: [CLI, '--help'], exit: 0 },
      {
        label: 'rfsq recommend --time-budget 3d --improvement 44 --json',
        args: [CLI, 'recommend', '--time-budget', '3d', '--improvement', '44', '--json'],
        exit: 0,
      },
      // Exit 3: pending, the one metrics file leaves Phase 2 and 3 items open.
      {
        label: 'rfsq verify --metrics m.json --json',
        args: [CLI, 'verify', '--metrics', metrics, '--json'],
        exit: 3,
      },
    ];
    const loadAtStart = load();
    for (const c of commands) timeOnce(c.args, dir, env, c.exit); // warm the file cache
    const times = commands.map(() => [] as number[]);
    for (let round = 0; round < args.rounds; round++)
      commands.forEach((c, i) => times[i]!.push(timeOnce(c.args, dir, env, c.exit)));
    const loadAtEnd = load();
    const bare = times[0]!;
    const table = new Table({ head: ['', 'median ms', '× bare node'], style: { head: [], border: [] } });
    const rows = commands.map((c, i) => {
      const ratio = median(times[i]!.map((t, round) => t / (bare[round] as number)));
      table.push([c.label, median(times[i]!).toFixed(0), ratio.toFixed(2)]);
      return { label: c.label, medianMs: median(times[i]!), ratio };
    });
    const recommend = rows[3]!;
    process.stdout.write(
      [
        `Start-up, ${args.rounds} interleaved rounds on ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.availableParallelism()} cores), Node ${process.version}.`,
        `Load average (1 / 5 / 15 min): ${loadAtStart} at the start, ${loadAtEnd} at the end.`,
        table.toString(),
        `Goal: recommend --json within ${GOAL_RATIO}x bare node: ${recommend.ratio <= GOAL_RATIO ? 'met' : 'NOT met'} (${recommend.ratio.toFixed(2)}x).`,
      ].join('\n') + '\n',
    );
    if (args.json)
      await writeFile(args.json, JSON.stringify({ loadAtStart, loadAtEnd, rows, times }, null, 2));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
