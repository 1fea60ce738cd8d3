import { describeRunEnd, type PipelineEvent, type StepDecision } from '../pipeline/pipeline.js';
import { formatSeconds } from './progress.js';

/**
 * The whole run's estimate, from how long each step's command took when it last succeeded here (never
 * from constants): the total, or a lower bound naming the steps not measured yet.
 */
export function describeRunEstimate(decisions: readonly StepDecision[]): string {
  const toRun = decisions.filter((decision) => decision.action === 'run');
  if (toRun.length === 0) return 'nothing to run';
  const measured = toRun.filter((decision) => decision.measuredSeconds !== undefined);
  const seconds = measured.reduce((sum, decision) => sum + decision.measuredSeconds!, 0);
  const unmeasured = toRun.filter((decision) => decision.measuredSeconds === undefined).map((d) => d.id);
  if (measured.length === 0) {
    return 'no estimate yet: these commands have not run in this project before (the next run shows one)';
  }
  const total = `${formatSeconds(seconds)} for ${measured.length} of ${toRun.length} steps, as measured here before`;
  return unmeasured.length === 0
    ? `estimate: ${formatSeconds(seconds)}, as measured here before`
    : `estimate: at least ${total}; not measured yet: ${unmeasured.join(', ')}`;
}

/**
 * The run as plain timestamped lines on stderr, for pipes, CI and logs: no ANSI, no redraws.
 * A step's own output is echoed with its id, so a CI log shows what the step printed.
 */
export function plainRunPrinter(
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  afterStep?: (step: string) => string | undefined,
): (event: PipelineEvent) => void {
  const stamp = () => new Date().toISOString();
  let decisions: readonly StepDecision[] = [];
  return (event) => {
    switch (event.type) {
      case 'run-start':
        write(`${stamp()} ${event.resumed ? 'resuming' : 'starting'} run ${event.runId}`);
        write(`${stamp()} ${describeRunEstimate(event.decisions)}`);
        decisions = event.decisions;
        break;
      case 'warning':
        write(`${stamp()} warning: ${event.message}`);
        break;
      case 'step-skip':
        write(`${stamp()} skipped ${event.step}: ${event.reason}`);
        break;
      case 'step-start': {
        const measured = decisions.find((decision) => decision.id === event.step)?.measuredSeconds;
        const took = measured === undefined ? '' : `, took ${formatSeconds(measured)} last time`;
        write(
          `${stamp()} [${event.index + 1}/${event.total}] ${event.step}: ${event.title} (log: ${event.logPath}${took})`,
        );
        break;
      }
      case 'line':
        write(`${stamp()} ${event.step} | ${event.line}`);
        break;
      case 'metric':
        write(`${stamp()} ${event.step} metric ${event.name} = ${event.value} (${event.source})`);
        break;
      case 'step-end': {
        const seconds = (Date.parse(event.outcome.finishedAt) - Date.parse(event.outcome.startedAt)) / 1000;
        const reason = event.outcome.reason ? `: ${event.outcome.reason}` : '';
        write(`${stamp()} ${event.step} ${event.outcome.status} in ${seconds.toFixed(1)}s${reason}`);
        const extra = afterStepSafely(afterStep, event.step);
        if (extra) write(`${stamp()} ${extra}`);
        break;
      }
      case 'gate':
        write(`${stamp()} gate ${event.record.gate}: ${event.record.decision}: ${event.record.message}`);
        break;
      case 'run-end':
        write(`${stamp()} ${describeRunEnd(event.status, event.state)}`);
        break;
    }
  };
}

/**
 * The extra lines after a step read the config and the state: a file caught mid-save must not stop the
 * run (the view's callers raise from inside the run's event handler), so a failed read shows nothing.
 */
export function afterStepSafely<T extends unknown[]>(
  afterStep: ((step: string, ...rest: T) => string | undefined) | undefined,
  step: string,
  ...rest: T
): string | undefined {
  try {
    return afterStep?.(step, ...rest);
  } catch {
    return undefined;
  }
}
