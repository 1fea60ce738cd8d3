import { render } from 'ink';
import type { StrategyId } from '../core/plan-facts.js';
import { STRATEGIES } from '../core/plan-facts.js';
import { Select } from './components/Select.js';
import { promptWith } from './run-ink.js';
import { RunView, type RunViewProps } from './RunView.js';

export function askStrategy(): Promise<StrategyId> {
  return promptWith<StrategyId>((resolve) => (
    <Select
      label="Which strategy? (`rfsq recommend` helps you choose)"
      options={(['A', 'B', 'C'] as const).map((id) => ({
        value: id,
        label: `${id}: ${STRATEGIES[id].name}`,
        hint: STRATEGIES[id].planTime,
      }))}
      onSubmit={resolve}
    />
  ));
}

export function askYesNo(question: string): Promise<boolean> {
  return promptWith<boolean>((resolve) => (
    <Select
      label={question}
      options={[
        { value: 'yes', label: 'Yes' },
        { value: 'no', label: 'No' },
      ]}
      onSubmit={(value) => resolve(value === 'yes')}
    />
  ));
}

export function confirmRun(strategy: StrategyId, steps: number): Promise<boolean> {
  return askYesNo(`Run strategy ${strategy} (${STRATEGIES[strategy].name}): ${steps} steps?`);
}

/**
 * Mounts the live run view; the returned function clears its live region (the caller prints the final
 * checklist), waits until that frame is rendered, and unmounts it.
 */
export async function startRunView(props: RunViewProps): Promise<() => Promise<void>> {
  const closers = new Set<() => void>();
  let settle!: () => void;
  const closed = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const app = render(
    <RunView
      {...props}
      title="rfsq run · Ctrl-C stops the running step and keeps the rest"
      closing={(listener) => {
        closers.add(listener);
        return () => closers.delete(listener);
      }}
      onClosed={settle}
    />,
    // Ctrl-C is the run's to handle: it stops the step's process tree and saves the state.
    { exitOnCtrlC: false },
  );
  return async () => {
    closers.forEach((close) => close());
    await closed;
    app.unmount();
  };
}
