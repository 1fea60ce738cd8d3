import type { Command } from 'commander';
import { ExitCode } from '../core/errors.js';
import { canPrompt, globalOptions, note, paint, printJson } from '../cli/context.js';
import type { ChecklistReport } from '../services/checklist.js';

interface VerifyFlags {
  metrics: string[];
  dir: string;
  strategy?: string;
  watch?: boolean;
}

const EXIT_FOR_STATUS = { pass: ExitCode.ok, fail: ExitCode.checkFailed, pending: ExitCode.pending } as const;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description("check the plan's verification checklist against measured metrics")
    .option('--metrics <file>', 'metrics JSON file (repeatable; later files win)', collect, [])
    .option('--strategy <A|B|C>', 'the strategy being run (Phase 2 items are n/a under B)')
    .option('--watch', 're-render the checklist whenever a metrics file or the run state changes')
    .option('--dir <path>', 'project folder whose run state (.rfsq/) is read too', '.')
    .addHelpText(
      'after',
      '\nExit codes: 0 every applicable item passes, 1 an item fails, 3 none fails but some are pending.\n\nExamples:\n  rfsq verify --metrics metrics.json\n  rfsq verify --metrics phase1.json --metrics phase3.json --strategy B --json',
    )
    .action(async (flags: VerifyFlags, command: Command) => {
      const options = globalOptions(command);
      // Loaded here, not at start-up (see src/cli/main.ts).
      const [{ statePath }, { buildChecklist, parseStrategy, watchFiles }, { hasRunState }] =
        await Promise.all([
          import('../pipeline/state.js'),
          import('../services/checklist.js'),
          import('../services/run-state.js'),
        ]);
      const request = {
        metricsFiles: flags.metrics,
        strategy: parseStrategy(flags.strategy),
        projectDir: flags.dir,
      };
      const watched = hasRunState(flags.dir) ? [...flags.metrics, statePath(flags.dir)] : flags.metrics;
      const colors = paint(options.color);
      // The table (cli-table3) loads only when it is printed.
      const table = options.json ? undefined : await import('../cli/render-checklist.js');
      const show = (report: ChecklistReport) => {
        if (!table) printJson(report);
        else process.stdout.write(`${table.renderChecklistTable(report, colors)}\n`);
      };

      // Read once up front, so that a missing or malformed file is an error before anything renders.
      let report = buildChecklist(request);
      for (const warning of report.warnings) note(`warning: ${warning}`);
      if (flags.metrics.length === 0 && report.runId === null && !options.json) {
        note('note: no metrics given and no run here, so every item is pending; pass --metrics <file>');
      }

      if (flags.watch) {
        if (watched.length === 0) {
          const { inputError } = await import('../core/errors.js');
          throw inputError(
            '--watch needs a --metrics file or a run in --dir to watch',
            'rfsq verify --metrics m.json --watch',
          );
        }
        const subscribe = (onChange: () => void) => watchFiles(watched, onChange);
        if (canPrompt(options)) {
          const { runLiveChecklist } = await import('../wizard/ChecklistView.js');
          report = (await runLiveChecklist(() => buildChecklist(request), subscribe)) ?? report;
        } else {
          // No terminal: print the checklist again on every change until interrupted.
          show(report);
          await new Promise<void>(() => {
            subscribe(() => {
              try {
                process.stdout.write(`\n${new Date().toISOString()}\n`);
                show(buildChecklist(request));
              } catch (error) {
                note(`error: ${(error as Error).message}`);
              }
            });
          });
        }
        process.exitCode = EXIT_FOR_STATUS[report.exitStatus];
        return;
      }

      show(report);
      process.exitCode = EXIT_FOR_STATUS[report.exitStatus];
    });
}
