import path from 'node:path';
import type { Command } from 'commander';
import { ExitCode, inputError } from '../core/errors.js';
import { globalOptions, paint, printJson } from '../cli/context.js';
import { projectDirArgs, rfsqCommandLine } from '../cli/shell.js';
import type { LiveJob } from '../pipeline/slurm.js';
import type { RunState } from '../pipeline/state.js';

function duration(record: { startedAt?: string; finishedAt?: string }): string {
  if (!record.startedAt) return '—';
  const end = record.finishedAt ? Date.parse(record.finishedAt) : Date.now();
  const seconds = (end - Date.parse(record.startedAt)) / 1000;
  return seconds < 120 ? `${seconds.toFixed(1)}s` : `${Math.round(seconds / 60)}m`;
}

/** Jobs a run that is not being driven left in Slurm (after kill -9, or "no" to the cancel question). */
async function leftoverJobs(state: RunState, stale: boolean): Promise<{ jobs?: LiveJob[]; note?: string }> {
  if (!state.jobs?.length || (state.status === 'running' && !stale) || state.status === 'succeeded')
    return {};
  const { liveJobs } = await import('../pipeline/slurm.js');
  try {
    return { jobs: await liveJobs(state.jobs) };
  } catch (error) {
    return { note: `could not ask Slurm about the run's jobs: ${(error as Error).message}` };
  }
}

function renderLeftovers(leftovers: { jobs?: LiveJob[]; note?: string }): string[] {
  if (leftovers.note) return [leftovers.note];
  const jobs = leftovers.jobs ?? [];
  if (jobs.length === 0) return [];
  return [
    `Slurm jobs still queued or running: ${jobs.map((job) => `${job.jobId} (${job.step}, ${job.state})`).join(', ')}`,
    `rfsq run --resume follows them instead of resubmitting (scancel ${jobs.map((job) => job.jobId).join(' ')} drops them)`,
  ];
}

function renderStatus(
  Table: typeof import('cli-table3'),
  state: RunState,
  stale: boolean,
  color: boolean,
  leftovers: string[],
  dirArgs: string[],
): string {
  const colors = paint(color);
  const header = `Run ${state.runId} · strategy ${state.strategy} · ${stale ? colors.yellow('stale (its rfsq process is gone)') : state.status}`;
  const table = new Table({
    head: ['Step', 'Status', 'Time', 'Exit', 'Metrics'],
    style: { head: [], border: [] },
    colWidths: [17, 13, 8, 6, 32],
    wordWrap: true,
  });
  for (const [id, record] of Object.entries(state.steps)) {
    const metrics = Object.entries(record.metrics)
      .map(
        ([name, value]) =>
          `${name.split('.')[1]}=${typeof value === 'number' ? Number(value.toPrecision(4)) : path.basename(value)}`,
      )
      .join(' ');
    table.push([
      id,
      record.status,
      duration(record),
      record.exitCode ?? '—',
      metrics || (record.reason ?? ''),
    ]);
  }
  const gates = state.gates.map((gate) => `gate ${gate.gate}: ${gate.decision} — ${gate.message}`);
  const hint =
    stale || state.status === 'interrupted' || state.status === 'failed'
      ? [`Continue with: ${rfsqCommandLine(['run', '--resume', ...dirArgs])}`]
      : [];
  return [header, table.toString(), ...gates, ...leftovers, ...hint].join('\n');
}

/** The README's exit codes: a run left unfinished (stale, interrupted) is incomplete, a failed one failed. */
function statusExitCode(state: RunState, stale: boolean): number {
  if (stale || state.status === 'interrupted') return ExitCode.pending;
  if (state.status === 'failed' || state.status === 'stopped') return ExitCode.checkFailed;
  return ExitCode.ok;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('the current or last run: each step with its status, time and metrics')
    .option('--dir <path>', 'project folder', '.')
    .addHelpText('after', '\nExamples:\n  rfsq status\n  rfsq status --dir ~/vla --json')
    .action(async (flags: { dir: string }, command: Command) => {
      const options = globalOptions(command);
      // Loaded here, not at start-up (see src/cli/main.ts).
      const { isStale, loadState } = await import('../pipeline/state.js');
      const state = loadState(path.resolve(flags.dir));
      if (!state) {
        throw inputError(
          `no run yet in ${path.resolve(flags.dir)}`,
          'start one with `rfsq run --strategy B`',
        );
      }
      const stale = isStale(state);
      const leftovers = await leftoverJobs(state, stale);
      if (options.json)
        printJson({ ...state, stale, ...(leftovers.jobs ? { liveJobs: leftovers.jobs } : {}) });
      else {
        const { default: Table } = await import('cli-table3');
        const text = renderStatus(
          Table,
          state,
          stale,
          options.color,
          renderLeftovers(leftovers),
          projectDirArgs(flags.dir),
        );
        process.stdout.write(`${text}\n`);
      }
      process.exitCode = statusExitCode(state, stale);
    });
}
