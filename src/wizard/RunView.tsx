import { Box, Static, Text, useStdout } from 'ink';
import { useCallback, useEffect, useRef, useState } from 'react';
import { formatValue } from '../core/checklist.js';
import type { Metrics } from '../core/metrics.js';
import { formatSeconds } from '../cli/progress.js';
import { afterStepSafely, describeRunEstimate } from '../cli/run-plain.js';
import { describeRunEnd, type PipelineEvent, type StepDecision } from '../pipeline/pipeline.js';
import type { ChecklistReport } from '../services/checklist.js';
import { ChecklistView, checklistHeight, tryLoad, type Loaded } from './ChecklistView.js';
import { Select } from './components/Select.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const LOG_TAIL = 6;

type FinishedEntry =
  | { kind: 'step'; id: string; status: string; seconds: number | null; note: string }
  | { kind: 'note'; color?: string; text: string };
type Finished = FinishedEntry & { key: string };

/** Where a step's own progress lines (`epoch 3/12`, `trials 5/40`) stand, to measure its rate. */
interface StepProgress {
  done: number;
  total: number;
  /** When this phase of the step (its current `n/total` count) was first seen, and at which count. */
  firstAt: number;
  firstDone: number;
  at: number;
}

interface Current {
  id: string;
  title: string;
  index: number;
  total: number;
  startedAt: number;
  /** The plan's estimate (templates that run elsewhere), shown as such. */
  planEstimate: string;
  /** How long this command took when it last succeeded here. */
  measuredSeconds?: number;
  /** The measured durations of the steps this run executes after this one; undefined if one is unmeasured. */
  laterSeconds?: number;
  lines: string[];
  metrics: Metrics;
  progress?: StepProgress;
}

/** A yes/no question the run asks while the view is up (a gate, or whether to cancel Slurm jobs). */
export interface RunQuestion {
  message: string;
  answer: (yes: boolean) => void;
}

/** What the view shows: the run's events, plus the notice that Ctrl-C is stopping the step. */
export type RunViewEvent = PipelineEvent | { type: 'interrupting'; message: string };

export interface RunViewProps {
  /** The first line, printed once above the run. */
  title?: string;
  subscribe: (listener: (event: RunViewEvent) => void) => () => void;
  /** Questions are asked inside the view: a second ink app would replace it. */
  questions?: (listener: (question: RunQuestion) => void) => () => void;
  /** The checklist for the live metrics plus what the run state already holds. */
  checklist: (live: Metrics) => ChecklistReport;
  /** Calls back when a file the checklist reads changes (the config, the run state). */
  watchInputs?: (onChange: () => void) => () => void;
  /** Extra lines to show after a step ends, e.g. the recommendation once Phase 1 is measured. */
  afterStep?: (step: string, live: Metrics) => string | undefined;
  /** Tells the view the run is over: it clears its live region, then calls onClosed. */
  closing?: (listener: () => void) => () => void;
  onClosed?: () => void;
}

const STATUS_COLOR: Record<string, string> = {
  succeeded: 'green',
  skipped: 'gray',
  unverified: 'yellow',
  failed: 'red',
  interrupted: 'yellow',
};

function planEstimateOf(decision: StepDecision | undefined): string {
  const hours = decision?.estimateHours;
  if (!hours) return '';
  const [min, max] = hours;
  return max < 1
    ? `plan est. ${Math.round(min * 60)}–${Math.round(max * 60)} min`
    : `plan est. ${min}–${max} h`;
}

/** The last `done/total` count in a line, e.g. `epoch 3/12` or `trials 5/40`. */
function progressIn(line: string): { done: number; total: number } | undefined {
  const matches = [...line.matchAll(/\b(\d+)\/(\d+)\b/g)];
  const last = matches[matches.length - 1];
  if (!last) return undefined;
  const done = Number(last[1]);
  const total = Number(last[2]);
  return total > 0 && done <= total ? { done, total } : undefined;
}

function advance(previous: StepProgress | undefined, line: string, now: number): StepProgress | undefined {
  const seen = progressIn(line);
  if (!seen) return previous;
  // A new count (another model, the trials after the training) starts a new rate measurement.
  if (!previous || seen.total !== previous.total || seen.done < previous.done) {
    return { ...seen, firstAt: now, firstDone: seen.done, at: now };
  }
  return { ...previous, done: seen.done, at: now };
}

/** `3/12, about 40s left in this phase` from the rate measured since the count started. */
function describeProgress(progress: StepProgress | undefined): string {
  if (!progress) return '';
  const count = `${progress.done}/${progress.total}`;
  const advanced = progress.done - progress.firstDone;
  if (advanced <= 0 || progress.done >= progress.total) return count;
  const perUnit = (progress.at - progress.firstAt) / 1000 / advanced;
  return `${count}, about ${formatSeconds(perUnit * (progress.total - progress.done))} left in this phase`;
}

/** The measured time of the steps the run executes after `step`, when every one of them is measured. */
function laterSeconds(decisions: readonly StepDecision[], step: string): { laterSeconds?: number } {
  const later = decisions.slice(decisions.findIndex((decision) => decision.id === step) + 1);
  const toRun = later.filter((decision) => decision.action === 'run');
  if (toRun.some((decision) => decision.measuredSeconds === undefined)) return {};
  return { laterSeconds: toRun.reduce((sum, decision) => sum + decision.measuredSeconds!, 0) };
}

/** The spinner and the elapsed time tick on their own, so a tick redraws them and recomputes nothing. */
function StepClock({ current }: { current: Current }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 100);
    return () => clearInterval(timer);
  }, []);
  const elapsed = (now - current.startedAt) / 1000;
  const frame = SPINNER[Math.floor(now / 100) % SPINNER.length];
  const measured =
    current.measuredSeconds === undefined
      ? ''
      : ` of about ${formatSeconds(current.measuredSeconds)} (its last run here)`;
  const runLeft =
    current.measuredSeconds === undefined || current.laterSeconds === undefined
      ? ''
      : `, run: about ${formatSeconds(Math.max(0, current.measuredSeconds - elapsed) + current.laterSeconds)} left`;
  return (
    <Text>
      <Text color="cyan">{frame}</Text> [{current.index + 1}/{current.total}] {current.title}{' '}
      <Text dimColor>
        {formatSeconds(elapsed)}
        {measured}
        {runLeft}
      </Text>
      {current.planEstimate ? <Text dimColor> ({current.planEstimate})</Text> : null}
    </Text>
  );
}

/**
 * The live run: finished steps scroll away through <Static>; the live region stays small enough for
 * the terminal (a region taller than the screen cannot be redrawn in place). The checklist is
 * recomputed when something happens (a step ends, a metric arrives, the config or state changes),
 * never per frame, and a failed read keeps the last good checklist on screen.
 */
export function RunView({
  title,
  subscribe,
  questions,
  checklist,
  watchInputs,
  afterStep,
  closing,
  onClosed,
}: RunViewProps) {
  const [question, setQuestion] = useState<RunQuestion | null>(null);
  useEffect(() => questions?.((asked) => setQuestion(asked)), [questions]);
  const [finished, setFinished] = useState<Finished[]>(() =>
    title ? [{ kind: 'note', color: 'cyan', text: title, key: 'title' }] : [],
  );
  const [current, setCurrent] = useState<Current | null>(null);
  const [decisions, setDecisions] = useState<StepDecision[]>([]);
  const [view, setView] = useState<Loaded>({ report: null, error: null });
  const [closed, setClosed] = useState(false);
  const live = useRef<Metrics>({});
  const { stdout } = useStdout();

  const refresh = useCallback(
    () => setView((previous) => tryLoad(() => checklist(live.current), previous.report)),
    [checklist],
  );
  useEffect(() => watchInputs?.(refresh), [watchInputs, refresh]);
  useEffect(() => closing?.(() => setClosed(true)), [closing]);
  useEffect(() => {
    if (closed) onClosed?.();
  }, [closed, onClosed]);

  useEffect(() => {
    let known: StepDecision[] = [];
    const add = (entry: FinishedEntry) =>
      setFinished((previous) => [...previous, { ...entry, key: String(previous.length) }]);
    return subscribe((event) => {
      switch (event.type) {
        case 'run-start':
          known = event.decisions;
          setDecisions(event.decisions);
          add({ kind: 'note', text: `${event.resumed ? 'Resuming' : 'Starting'} run ${event.runId}` });
          add({ kind: 'note', text: describeRunEstimate(event.decisions) });
          refresh();
          break;
        case 'warning':
          add({ kind: 'note', color: 'yellow', text: `warning: ${event.message}` });
          break;
        case 'interrupting':
          add({ kind: 'note', color: 'yellow', text: event.message });
          break;
        case 'step-skip':
          add({ kind: 'step', id: event.step, status: 'skipped', seconds: null, note: event.reason });
          break;
        case 'step-start': {
          const decision = known.find((entry) => entry.id === event.step);
          setCurrent({
            id: event.step,
            title: event.title,
            index: event.index,
            total: event.total,
            startedAt: Date.now(),
            planEstimate: planEstimateOf(decision),
            ...(decision?.measuredSeconds !== undefined ? { measuredSeconds: decision.measuredSeconds } : {}),
            ...laterSeconds(known, event.step),
            lines: [],
            metrics: {},
          });
          break;
        }
        case 'line': {
          const now = Date.now();
          setCurrent((previous) =>
            previous
              ? {
                  ...previous,
                  lines: [...previous.lines, event.line].slice(-LOG_TAIL),
                  progress: advance(previous.progress, event.line, now),
                }
              : previous,
          );
          break;
        }
        case 'metric':
          live.current = { ...live.current, [event.name]: event.value };
          setCurrent((previous) =>
            previous
              ? { ...previous, metrics: { ...previous.metrics, [event.name]: event.value } }
              : previous,
          );
          refresh();
          break;
        case 'step-end': {
          const { outcome } = event;
          live.current = { ...live.current, ...outcome.metrics };
          const seconds = (Date.parse(outcome.finishedAt) - Date.parse(outcome.startedAt)) / 1000;
          const names = Object.keys(outcome.metrics);
          add({
            kind: 'step',
            id: event.step,
            status: outcome.status,
            seconds,
            note: outcome.reason || (names.length > 0 ? `${names.length} metrics` : ''),
          });
          const extra = afterStepSafely(afterStep, event.step, live.current);
          if (extra) add({ kind: 'note', color: 'cyan', text: extra });
          setCurrent(null);
          refresh();
          break;
        }
        case 'gate':
          add({
            kind: 'note',
            color: event.record.decision === 'continue' ? 'green' : 'yellow',
            text: `gate ${event.record.gate}: ${event.record.decision} — ${event.record.message}`,
          });
          refresh();
          break;
        case 'run-end':
          add({ kind: 'note', text: describeRunEnd(event.status, event.state).replace(/^r/, 'R') });
          break;
      }
    });
  }, [subscribe, afterStep, refresh]);

  const staticLines = (
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
  );
  // The run is over: the caller prints the final checklist; nothing live stays behind on the screen.
  // (The same tree shape either way: a remounted <Static> would print every line again.)
  if (closed) return <Box flexDirection="column">{staticLines}</Box>;

  const progress = describeProgress(current?.progress);
  const metricLines = current ? Object.keys(current.metrics).length : 0;
  const questionLines = question ? 5 : 0;
  const fixed = (current ? 2 + (progress ? 1 : 0) + metricLines : 0) + questionLines;
  const full = view.report ? checklistHeight(view.report) + 1 : 0;
  const errorLines = view.error ? 1 : 0;
  // Keep one spare row: a region as tall as the screen scrolls, and ink then redraws it all.
  const rows = (stdout.rows ?? Number.POSITIVE_INFINITY) - 1;
  const compact = fixed + full + errorLines + Math.min(LOG_TAIL, current?.lines.length ?? 0) > rows;
  const checklistLines = compact ? 2 : full;
  const tail = Math.max(0, Math.min(current?.lines.length ?? 0, rows - fixed - checklistLines - errorLines));

  return (
    <Box flexDirection="column">
      {staticLines}
      {current ? (
        <Box flexDirection="column" marginTop={1}>
          <StepClock current={current} />
          {progress ? <Text dimColor>{`  ${progress}`}</Text> : null}
          {current.lines.slice(current.lines.length - tail).map((line, index) => (
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
      {decisions.length > 0 && view.report ? (
        <Box marginTop={1} flexDirection="column">
          {compact ? (
            <Text>
              Checklist: {view.report.summary.pass} pass, {view.report.summary.fail} fail,{' '}
              {view.report.summary.pending} pending (in full once the run ends, or in a taller terminal)
            </Text>
          ) : (
            <ChecklistView report={view.report} />
          )}
        </Box>
      ) : null}
      {view.error ? (
        <Text color="yellow" wrap="truncate-end">
          checklist not refreshed (showing the last good one): {view.error}
        </Text>
      ) : null}
    </Box>
  );
}
