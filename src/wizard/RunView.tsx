import { Box, Static, Text } from 'ink';
import { useEffect, useState } from 'react';
import { formatValue } from '../core/checklist.js';
import type { Metrics } from '../core/metrics.js';
import { describeRunEnd, type PipelineEvent, type StepDecision } from '../pipeline/pipeline.js';
import type { ChecklistReport } from '../services/checklist.js';
import { ChecklistView } from './ChecklistView.js';
import { Select } from './components/Select.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const LOG_TAIL = 6;

type FinishedEntry =
  | { kind: 'step'; id: string; status: string; seconds: number | null; note: string }
  | { kind: 'note'; color?: string; text: string };
type Finished = FinishedEntry & { key: string };

interface Current {
  id: string;
  title: string;
  index: number;
  total: number;
  startedAt: number;
  estimate: string;
  lines: string[];
  metrics: Metrics;
}

/** A yes/no question the run asks while the view is up (a gate, or whether to cancel Slurm jobs). */
export interface RunQuestion {
  message: string;
  answer: (yes: boolean) => void;
}

export interface RunViewProps {
  subscribe: (listener: (event: PipelineEvent) => void) => () => void;
  /** Questions are asked inside the view: a second ink app would replace it. */
  questions?: (listener: (question: RunQuestion) => void) => () => void;
  /** The checklist for the live metrics plus what the run state already holds. */
  checklist: (live: Metrics) => ChecklistReport;
  /** Extra lines to show after a step ends, e.g. the recommendation once Phase 1 is measured. */
  afterStep?: (step: string, live: Metrics) => string | undefined;
}

const STATUS_COLOR: Record<string, string> = {
  succeeded: 'green',
  skipped: 'gray',
  unverified: 'yellow',
  failed: 'red',
  interrupted: 'yellow',
};

function formatElapsed(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return seconds < 60
    ? `${seconds}s`
    : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

function estimateOf(decision: StepDecision | undefined): string {
  const hours = decision?.estimateHours;
  if (!hours) return '';
  const [min, max] = hours;
  return max < 1 ? `est. ${Math.round(min * 60)}–${Math.round(max * 60)} min` : `est. ${min}–${max} h`;
}

/** The live run: finished steps scroll away through <Static>; the live region stays small. */
export function RunView({ subscribe, questions, checklist, afterStep }: RunViewProps) {
  const [question, setQuestion] = useState<RunQuestion | null>(null);
  useEffect(() => questions?.((asked) => setQuestion(asked)), [questions]);
  const [finished, setFinished] = useState<Finished[]>([]);
  const [current, setCurrent] = useState<Current | null>(null);
  const [live, setLive] = useState<Metrics>({});
  const [tick, setTick] = useState(0);
  const [decisions, setDecisions] = useState<StepDecision[]>([]);

  useEffect(() => {
    const timer = setInterval(() => setTick((value) => value + 1), 100);
    return () => clearInterval(timer);
  }, []);

  useEffect(() => {
    let liveMetrics: Metrics = {};
    let known: StepDecision[] = [];
    const add = (entry: FinishedEntry) =>
      setFinished((previous) => [...previous, { ...entry, key: String(previous.length) }]);
    return subscribe((event) => {
      switch (event.type) {
        case 'run-start':
          known = event.decisions;
          setDecisions(event.decisions);
          add({ kind: 'note', text: `${event.resumed ? 'Resuming' : 'Starting'} run ${event.runId}` });
          break;
        case 'warning':
          add({ kind: 'note', color: 'yellow', text: `warning: ${event.message}` });
          break;
        case 'step-skip':
          add({ kind: 'step', id: event.step, status: 'skipped', seconds: null, note: event.reason });
          break;
        case 'step-start':
          setCurrent({
            id: event.step,
            title: event.title,
            index: event.index,
            total: event.total,
            startedAt: Date.now(),
            estimate: estimateOf(known.find((decision) => decision.id === event.step)),
            lines: [],
            metrics: {},
          });
          break;
        case 'line':
          setCurrent((previous) =>
            previous ? { ...previous, lines: [...previous.lines, event.line].slice(-LOG_TAIL) } : previous,
          );
          break;
        case 'metric':
          liveMetrics = { ...liveMetrics, [event.name]: event.value };
          setLive(liveMetrics);
          setCurrent((previous) =>
            previous
              ? { ...previous, metrics: { ...previous.metrics, [event.name]: event.value } }
              : previous,
          );
          break;
        case 'step-end': {
          const { outcome } = event;
          liveMetrics = { ...liveMetrics, ...outcome.metrics };
          setLive(liveMetrics);
          const seconds = (Date.parse(outcome.finishedAt) - Date.parse(outcome.startedAt)) / 1000;
          const names = Object.keys(outcome.metrics);
          add({
            kind: 'step',
            id: event.step,
            status: outcome.status,
            seconds,
            note: outcome.reason ?? (names.length > 0 ? `${names.length} metrics` : ''),
          });
          const extra = afterStep?.(event.step, liveMetrics);
          if (extra) add({ kind: 'note', color: 'cyan', text: extra });
          setCurrent(null);
          break;
        }
        case 'gate':
          add({
            kind: 'note',
            color: event.record.decision === 'continue' ? 'green' : 'yellow',
            text: `gate ${event.record.gate}: ${event.record.decision} — ${event.record.message}`,
          });
          break;
        case 'run-end':
          add({ kind: 'note', text: describeRunEnd(event.status, event.state).replace(/^r/, 'R') });
          break;
      }
    });
  }, [subscribe, afterStep]);

  const report = checklist(live);
  return (
    <Box flexDirection="column">
      <Static items={finished}>
        {(entry) =>
          entry.kind === 'step' ? (
            <Text key={entry.key}>
              <Text color={STATUS_COLOR[entry.status]}>{entry.status.padEnd(11)}</Text> {entry.id.padEnd(16)}
              {entry.seconds === null ? '' : ` ${entry.seconds.toFixed(1)}s`}
              {entry.note ? <Text dimColor> {entry.note}</Text> : null}
            </Text>
          ) : (
            <Text key={entry.key} color={entry.color}>
              {entry.text}
            </Text>
          )
        }
      </Static>
      {current ? (
        <Box flexDirection="column" marginTop={1}>
          <Text>
            <Text color="cyan">{SPINNER[tick % SPINNER.length]}</Text> [{current.index + 1}/{current.total}]{' '}
            {current.title} <Text dimColor>{formatElapsed(Date.now() - current.startedAt)}</Text>
            {current.estimate ? <Text dimColor> ({current.estimate})</Text> : null}
          </Text>
          {current.lines.map((line, index) => (
            <Text key={index} dimColor wrap="truncate-end">
              {'  │ '}
              {line}
            </Text>
          ))}
          {Object.entries(current.metrics).map(([name, value]) => (
            <Text key={name}>
              {'  '}
              {name} = {typeof value === 'number' ? formatValue(value, 'mse') : value}
            </Text>
          ))}
        </Box>
      ) : null}
      {question ? (
        <Box marginTop={1}>
          <Select
            label={question.message}
            options={[
              { value: 'yes', label: 'Yes' },
              { value: 'no', label: 'No' },
            ]}
            onSubmit={(value) => {
              setQuestion(null);
              question.answer(value === 'yes');
            }}
          />
        </Box>
      ) : null}
      {decisions.length > 0 ? (
        <Box marginTop={1}>
          <ChecklistView report={report} />
        </Box>
      ) : null}
    </Box>
  );
}
