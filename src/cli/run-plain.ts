import { describeRunEnd, type PipelineEvent } from '../pipeline/pipeline.js';

/**
 * The run as plain timestamped lines on stderr, for pipes, CI and logs: no ANSI, no redraws.
 * A step's own output is echoed with its id, so a CI log shows what the step printed.
 */
export function plainRunPrinter(
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  afterStep?: (step: string) => string | undefined,
): (event: PipelineEvent) => void {
  const stamp = () => new Date().toISOString();
  return (event) => {
    switch (event.type) {
      case 'run-start':
        write(`${stamp()} ${event.resumed ? 'resuming' : 'starting'} run ${event.runId}`);
        break;
      case 'warning':
        write(`${stamp()} warning: ${event.message}`);
        break;
      case 'step-skip':
        write(`${stamp()} skipped ${event.step}: ${event.reason}`);
        break;
      case 'step-start':
        write(
          `${stamp()} [${event.index + 1}/${event.total}] ${event.step}: ${event.title} (log: ${event.logPath})`,
        );
        break;
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
        const extra = afterStep?.(event.step);
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
