import { Box, Text, useApp, useInput } from 'ink';
import { useEffect, useState } from 'react';
import { formatValue, type ItemStatus } from '../core/checklist.js';
import type { ChecklistReport } from '../services/checklist.js';

const STATUS_STYLE: Record<ItemStatus, { symbol: string; color?: string }> = {
  pass: { symbol: '✔', color: 'green' },
  fail: { symbol: '✘', color: 'red' },
  pending: { symbol: '…', color: 'yellow' },
  'n/a': { symbol: '–' },
};

interface ChecklistViewProps {
  report: ChecklistReport;
}

const VALUE_WIDTH = 14;

/**
 * The value column: padded, and cut to leave a space before the threshold. A long value (a checkpoint
 * path) keeps its end, where the folder's name is, behind an ellipsis.
 */
function valueCell(text: string): string {
  const room = VALUE_WIDTH - 1;
  return (text.length <= room ? text : `…${text.slice(-(room - 1))}`).padEnd(VALUE_WIDTH);
}

/** The checklist, one line an item, grouped by phase. */
export function ChecklistView({ report }: ChecklistViewProps) {
  return (
    <Box flexDirection="column">
      {[1, 2, 3].map((phase) => (
        <Box key={phase} flexDirection="column">
          <Text bold>Phase {phase}</Text>
          {report.items
            .filter((item) => item.phase === phase)
            .map((item) => {
              const style = STATUS_STYLE[item.status];
              return (
                <Box key={item.id} flexDirection="column">
                  <Text>
                    {'  '}
                    <Text color={style.color}>{style.symbol}</Text> {item.label.padEnd(32)}
                    {valueCell(item.value === null ? '—' : formatValue(item.value, item.unit))}
                    <Text dimColor>{item.threshold}</Text>
                  </Text>
                  {/* Why an item is pending although a value exists (a training figure), or cannot be measured. */}
                  {item.note && item.status !== 'n/a' ? <Text dimColor>{`    ${item.note}`}</Text> : null}
                </Box>
              );
            })}
        </Box>
      ))}
      <Text>
        {report.summary.pass} pass, {report.summary.fail} fail, {report.summary.pending} pending,{' '}
        {report.summary['n/a']} n/a
      </Text>
    </Box>
  );
}

interface LiveChecklistProps {
  load: () => ChecklistReport;
  subscribe: (onChange: () => void) => () => void;
  onExit: (report: ChecklistReport | null) => void;
}

/** A checklist as last read, and why the latest read failed (null when it did not). */
export interface Loaded {
  report: ChecklistReport | null;
  error: string | null;
}

/** Lines ChecklistView takes: a heading per phase, an item a line plus its note, the summary. */
export function checklistHeight(report: ChecklistReport): number {
  const notes = report.items.filter((item) => item.note && item.status !== 'n/a').length;
  return 3 + report.items.length + notes + 1;
}

export function tryLoad(load: () => ChecklistReport, previous: ChecklistReport | null): Loaded {
  try {
    return { report: load(), error: null };
  } catch (error) {
    // A file caught half-written, or briefly malformed: keep the last good view and say why.
    return { report: previous, error: (error as Error).message };
  }
}

/** `rfsq verify --watch`: re-evaluates whenever a metrics file changes; q quits. */
export function LiveChecklist({ load, subscribe, onExit }: LiveChecklistProps) {
  const { exit } = useApp();
  const [state, setState] = useState<Loaded>(() => tryLoad(load, null));
  const [updatedAt, setUpdatedAt] = useState(() => new Date());
  useEffect(() => {
    const reload = () => {
      setState((previous) => tryLoad(load, previous.report));
      setUpdatedAt(new Date());
    };
    const unsubscribe = subscribe(reload);
    // A change between the first render and the subscription would go unseen: read once more.
    reload();
    return unsubscribe;
  }, [load, subscribe]);
  useInput((input) => {
    if (input === 'q') {
      onExit(state.report);
      exit();
    }
  });
  return (
    <Box flexDirection="column">
      <Text color="cyan">rfsq verify --watch · updated {updatedAt.toLocaleTimeString()} · q to quit</Text>
      {state.report ? <ChecklistView report={state.report} /> : null}
      {state.error ? <Text color="red">error: {state.error}</Text> : null}
    </Box>
  );
}

/** Runs the live checklist until q (resolves with the last report) or Ctrl-C (rejects with exit 130). */
export async function runLiveChecklist(
  load: () => ChecklistReport,
  subscribe: (onChange: () => void) => () => void,
): Promise<ChecklistReport | null> {
  const { render } = await import('ink');
  let last: ChecklistReport | null = null;
  let quit = false;
  const app = render(
    <LiveChecklist
      load={load}
      subscribe={subscribe}
      onExit={(report) => {
        last = report;
        quit = true;
      }}
    />,
  );
  await app.waitUntilExit();
  if (!quit) {
    const { ExitCode, RfsqError } = await import('../core/errors.js');
    throw new RfsqError('interrupted', { exitCode: ExitCode.interrupted });
  }
  return last;
}
