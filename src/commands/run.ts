import path from 'node:path';
import type { Command } from 'commander';
import { ExitCode, inputError, RfsqError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import type { StrategyId } from '../core/plan-facts.js';
import { canPrompt, globalOptions, note, paint, printJson } from '../cli/context.js';
import { interruptSignal } from '../cli/interrupt.js';
import type { PipelineConfig } from '../pipeline/config.js';
import { projectDirArgs, rfsqCommandLine, shellQuote } from '../cli/shell.js';
import type { PipelineResult, PlannedStep, StepDecision, StepExecutor } from '../pipeline/pipeline.js';
import type { RunQuestion, RunViewEvent } from '../wizard/RunView.js';
import type { UnavailableStep } from '../services/run-plan.js';

interface RunFlags {
  strategy?: string;
  dir: string;
  resume?: boolean;
  from?: string;
  only?: string;
  force?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  continueWhenGood?: boolean;
  variant: string[];
}

/** Items failing on the local template are the miniature's measured results, not a broken tool. */
const MINIATURE_FAILURES =
  'note: the failing items are the miniature\'s honest results, measured at small scale against the plan\'s thresholds, not faults of rfsq; README.md, "What the miniature measured", explains each';

/** A step that exited 0 without one of the metrics it should have printed. */
interface MissingMetrics {
  step: string;
  status: string;
  missing: string[];
}

const EXIT_FOR_RUN: Record<string, number> = {
  succeeded: ExitCode.ok,
  failed: ExitCode.checkFailed,
  stopped: ExitCode.checkFailed,
  interrupted: ExitCode.interrupted,
};

function describeDryRun(decisions: StepDecision[], unavailable: UnavailableStep[]): string {
  const lines = decisions.map((decision, index) => {
    const estimate = decision.estimateHours
      ? ` (est. ${decision.estimateHours[0]}–${decision.estimateHours[1]} h)`
      : '';
    const commands = [decision.argv, ...(decision.then ?? [])]
      .map((argv) => `\n   $ ${argv.map(shellQuote).join(' ')}`)
      .join('');
    return `${index + 1}. ${decision.id}: ${decision.action} (${decision.reason})${estimate}\n   ${decision.title}${commands}\n   in ${decision.cwd}`;
  });
  for (const step of unavailable)
    lines.push(`-  ${step.id}: not available here (${step.reason})\n   ${step.title}`);
  return lines.join('\n');
}

/** The steps of this run that finished without some of their expected metrics, and which ones. */
function missingMetrics(plan: PlannedStep[], result: PipelineResult): MissingMetrics[] {
  const out: MissingMetrics[] = [];
  for (const step of plan) {
    const record = result.state?.steps[step.id];
    if (!record || (record.status !== 'unverified' && record.status !== 'succeeded')) continue;
    const missing = step.expectedMetrics.filter((name) => record.metrics[name] === undefined);
    if (missing.length > 0) out.push({ step: step.id, status: record.status, missing });
  }
  return out;
}

function missingMessage(missing: MissingMetrics[]): string {
  return missing
    .map((entry) => `${entry.step} (${entry.status}) should have reported ${entry.missing.join(', ')}`)
    .join('; ');
}

function unavailableMessage(unavailable: UnavailableStep[]): string {
  const first = unavailable[0]!;
  return `${first.id} and the steps after it cannot run here: ${first.reason}. Use \`rfsq init --template modal\` or \`--template slurm\` for the full pipeline, or record their metrics and check them with \`rfsq verify --metrics\`.`;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description("run a strategy's steps in order, with resumable state in .rfsq/ and a live checklist")
    .option('--strategy <A|B|C>', 'A full retrain, B decoder swap, C incremental with gates')
    .option('--dir <path>', 'project folder holding rfsq.config.json', '.')
    .option('--resume', 'continue the last run: skip succeeded steps whose command and inputs are unchanged')
    .option('--from <step>', 'start at this step (earlier steps are left as they are)')
    .option('--only <step>', 'run just this step')
    .option('--force', 'rerun steps even when unchanged')
    .option('--dry-run', 'print the plan with fully resolved commands; run nothing')
    .option('--yes', 'do not ask before starting')
    .option('--continue-when-good', 'strategy C: retrain even when the decoder swap already gains ≥ 5 points')
    .option(
      '--variant <name>',
      "run the steps that offer this variant its way (repeatable), e.g. plan-text: the plan's literal commands",
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 succeeded, 1 a step failed or a gate stopped the run, 3 incomplete (steps that cannot run here, or steps that did not report their metrics), 130 interrupted.\n\nExamples:\n  rfsq run --strategy B --yes\n  rfsq run --strategy C --dry-run\n  rfsq run --resume\n  rfsq run --strategy A --only phase1-compare --force',
    )
    .action(async (flags: RunFlags, command: Command) => {
      const options = globalOptions(command);
      // Loaded here, not at start-up: they bring zod and cli-table3 (see src/cli/main.ts).
      const [
        { CONFIG_FILE, readPipelineConfig },
        { loadState, statePath },
        { buildChecklist, parseStrategy, watchFiles },
        { gateHandlers, resolvePlan },
        { phase1Recommendation },
        { renderChecklistTable },
        { plainRunPrinter },
      ] = await Promise.all([
        import('../pipeline/config.js'),
        import('../pipeline/state.js'),
        import('../services/checklist.js'),
        import('../services/run-plan.js'),
        import('../services/run-recommendation.js'),
        import('../cli/render-checklist.js'),
        import('../cli/run-plain.js'),
      ]);
      const projectDir = path.resolve(flags.dir);
      const config = readPipelineConfig(projectDir);
      const interactive = canPrompt(options);
      let strategy: StrategyId | undefined = parseStrategy(flags.strategy);
      if (!strategy && flags.resume) {
        const saved = loadState(projectDir);
        if (!saved)
          throw inputError(
            `there is no run to resume in ${projectDir}`,
            'start one with `rfsq run --strategy A`, B or C (see `rfsq recommend`)',
          );
        strategy = parseStrategy(saved.strategy);
      }
      if (!strategy) {
        if (!interactive)
          throw inputError('the strategy is missing', 'pass --strategy A, B or C (see `rfsq recommend`)');
        const { askStrategy } = await import('../wizard/RunWizard.js');
        strategy = await askStrategy();
      }
      const plan = resolvePlan(config, strategy, projectDir, flags.variant);
      const { runPipeline } = await import('../pipeline/pipeline.js');
      const common = {
        projectDir,
        plan: plan.steps,
        strategy,
        resume: flags.resume === true,
        from: flags.from,
        only: flags.only,
        force: flags.force === true,
      };
      if (
        flags.from &&
        !plan.steps.some((step) => step.id === flags.from) &&
        plan.unavailable.some((step) => step.id === flags.from)
      ) {
        throw inputError(`step ${flags.from} cannot run here`, unavailableMessage(plan.unavailable));
      }

      if (flags.dryRun) {
        const gates = gateHandlers({ continueWhenGood: flags.continueWhenGood === true });
        const result = await runPipeline({ ...common, dryRun: true, gates });
        if (options.json)
          printJson({
            strategy,
            template: config.template,
            decisions: result.decisions,
            unavailable: plan.unavailable,
          });
        else
          process.stdout.write(
            `Strategy ${strategy} on the ${config.template} template:\n${describeDryRun(result.decisions, plan.unavailable)}\n`,
          );
        return;
      }
      if (plan.steps.length === 0)
        throw inputError(
          `strategy ${strategy} has no step that can run here`,
          unavailableMessage(plan.unavailable),
        );

      const listeners = new Set<(event: RunViewEvent) => void>();
      const emit = (event: RunViewEvent) => listeners.forEach((listener) => listener(event));
      const checklistFor = (live: Metrics) =>
        buildChecklist({ metricsFiles: [], strategy, projectDir }, undefined, live);
      const afterStep = (step: string, live?: Metrics) =>
        step === 'phase1-compare' ? phase1Recommendation({ ...checklistFor(live ?? {}).metrics }) : undefined;

      let ask: ((message: string) => Promise<boolean>) | undefined;
      let finishView: (() => Promise<void>) | undefined;
      if (interactive) {
        const wizard = await import('../wizard/RunWizard.js');
        if (!flags.yes && !(await wizard.confirmRun(strategy, plan.steps.length))) {
          note('nothing run');
          return;
        }
        const askers = new Set<(question: RunQuestion) => void>();
        ask = (message) => new Promise((answer) => askers.forEach((asker) => asker({ message, answer })));
        finishView = await wizard.startRunView({
          subscribe: (listener) => {
            listeners.add(listener);
            return () => listeners.delete(listener);
          },
          questions: (asker) => {
            askers.add(asker);
            return () => askers.delete(asker);
          },
          checklist: checklistFor,
          // Recomputed when the config or the run state changes, not on every frame.
          watchInputs: (onChange) =>
            watchFiles([path.join(projectDir, CONFIG_FILE), statePath(projectDir)], onChange),
          afterStep,
        });
      } else if (!options.json) {
        const printer = plainRunPrinter(undefined, (step) => afterStep(step));
        listeners.add((event) => {
          if (event.type !== 'interrupting') printer(event);
        });
      }

      // Ctrl-C: stop the running step's process tree, save the state, exit 130. The live view shows the
      // notice itself.
      const interrupt = interruptSignal(
        'stopping the running step; finished steps are kept',
        finishView ? (message) => emit({ type: 'interrupting', message }) : undefined,
      );
      let result: PipelineResult;
      try {
        result = await runPipeline({
          ...common,
          gates: gateHandlers({ continueWhenGood: flags.continueWhenGood === true, ask }),
          onEvent: emit,
          signal: interrupt.signal,
          ...(await slurmOptions(config, projectDir, plan.steps, ask)),
        });
      } finally {
        interrupt.dispose();
        await finishView?.();
      }

      const report = checklistFor({});
      const leftOut = result.status === 'succeeded' && plan.unavailable.length > 0 && !flags.only;
      const missing = result.status === 'succeeded' ? missingMetrics(plan.steps, result) : [];
      // A step that printed none of its metrics leaves the run unverified, even though it exited 0.
      const unverified = missing.filter((entry) => entry.status === 'unverified');
      const incomplete = leftOut || unverified.length > 0;
      if (options.json) {
        printJson({
          status: result.status,
          incomplete,
          unavailable: plan.unavailable,
          missingMetrics: missing,
          state: result.state,
          checklist: report,
        });
      } else {
        process.stdout.write(`${renderChecklistTable(report, paint(options.color))}\n`);
        if (config.template === 'local' && report.summary.fail > 0) note(MINIATURE_FAILURES);
        if (unverified.length > 0) note(`run incomplete: ${missingMessage(unverified)}; see each step's log`);
        const partial = missing.filter((entry) => entry.status !== 'unverified');
        if (partial.length > 0) note(`note: ${missingMessage(partial)}`);
        if (leftOut) note(`note: ${unavailableMessage(plan.unavailable)}`);
        if (result.status !== 'interrupted') await endWithReport(interactive, flags.dir);
      }
      if (result.status === 'interrupted') {
        throw new RfsqError('run interrupted; completed steps are kept', {
          hint: `continue with \`${rfsqCommandLine(['run', '--resume', ...projectDirArgs(flags.dir)])}\``,
          exitCode: ExitCode.interrupted,
        });
      }
      process.exitCode = incomplete
        ? ExitCode.pending
        : (EXIT_FOR_RUN[result.status] ?? ExitCode.checkFailed);
    });
}

/**
 * The run's last word names the page of its results: in a terminal the wizard offers to write it now,
 * elsewhere (and after a no) a `Next:` line gives the command.
 */
async function endWithReport(interactive: boolean, dir: string): Promise<void> {
  if (interactive) {
    const { askYesNo } = await import('../wizard/RunWizard.js');
    if (await askYesNo('Write the report of this run (one HTML page: checklist, curves and charts)?')) {
      const { defaultReportOut, writeReport } = await import('../services/report/index.js');
      const { renderReportSummary } = await import('../cli/render-report.js');
      const result = await writeReport({ dir, out: defaultReportOut(dir, 'html'), format: 'html' });
      process.stdout.write(`${renderReportSummary(result)}\n`);
      return;
    }
  }
  process.stdout.write(`Next: ${rfsqCommandLine(['report', ...projectDirArgs(dir)])}\n`);
}

/** Slurm projects submit each step with sbatch (chained with afterok) instead of running it here. */
async function slurmOptions(
  config: PipelineConfig,
  projectDir: string,
  steps: PlannedStep[],
  ask: ((message: string) => Promise<boolean>) | undefined,
): Promise<{ executeStep?: StepExecutor }> {
  if (config.runner !== 'slurm') return {};
  const { createSlurmExecutor } = await import('../pipeline/slurm-runner.js');
  return {
    executeStep: createSlurmExecutor({
      projectDir,
      plan: steps,
      sbatchArgs: config.slurm?.sbatchArgs ?? [],
      pollMs: (config.slurm?.pollSeconds ?? 30) * 1000,
      // Ctrl-C offers scancel in a terminal; elsewhere the jobs are cancelled so nothing is left queued.
      ...(ask ? { confirmCancel: (ids: string[]) => ask(`Cancel Slurm jobs ${ids.join(', ')}?`) } : {}),
    }),
  };
}
