import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { evaluateChecklist } from '../../src/core/checklist.js';
import type { Metrics } from '../../src/core/metrics.js';
import type { PipelineEvent } from '../../src/pipeline/pipeline.js';
import type { ChecklistReport } from '../../src/services/checklist.js';
import { RunView, type RunQuestion } from '../../src/wizard/RunView.js';

function checklist(live: Metrics): ChecklistReport {
  const result = evaluateChecklist(live, { fileExists: () => true, strategy: 'B' });
  return { ...result, strategy: 'B', metricsFiles: [], runId: 'r1', metrics: live, warnings: [] };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 30));

describe('the live run view', () => {
  it('shows the running step, its log tail and metrics, then keeps finished steps above', async () => {
    const listeners = new Set<(event: PipelineEvent) => void>();
    const askers = new Set<(question: RunQuestion) => void>();
    const emit = (event: PipelineEvent) => listeners.forEach((listener) => listener(event));
    const { lastFrame, frames, unmount, stdin } = render(
      <RunView
        subscribe={(listener) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        }}
        questions={(asker) => {
          askers.add(asker);
          return () => askers.delete(asker);
        }}
        checklist={checklist}
        afterStep={(step) => (step === 'phase1-compare' ? 'Measured improvement 80%' : undefined)}
      />,
    );
    await expect.poll(() => listeners.size + askers.size).toBe(2);
    const decision = {
      id: 'phase1-compare',
      title: 'Measure the improvement',
      argv: ['rfsq'],
      cwd: '/',
      action: 'run' as const,
      reason: 'not run yet',
      fingerprint: 'f',
      estimateHours: [0.1, 0.2] as [number, number],
    };
    emit({ type: 'run-start', runId: 'r1', resumed: false, decisions: [decision] });
    emit({
      type: 'step-start',
      step: 'phase1-compare',
      title: 'Measure the improvement',
      index: 0,
      total: 1,
      logPath: '/l',
    });
    for (let line = 1; line <= 8; line++)
      emit({ type: 'line', step: 'phase1-compare', stream: 'stdout', line: `line ${line}` });
    emit({
      type: 'metric',
      step: 'phase1-compare',
      name: 'phase1.robust_mse',
      value: 0.0098,
      source: 'log:/l:3',
    });
    await expect.poll(() => lastFrame()).toContain('phase1.robust_mse = 0.0098');
    const running = lastFrame()!;
    expect(running).toMatch(/\[1\/1\] Measure the improvement \d+s \(est\. 6–12 min\)/);
    expect(running).toContain('│ line 8');
    expect(running).not.toContain('│ line 2'); // only the tail of the log
    expect(running).toContain('phase1.robust_mse = 0.0098');
    expect(running).toMatch(/✔ Robust held-out MSE\s+0.0098/);

    emit({
      type: 'step-end',
      step: 'phase1-compare',
      outcome: {
        status: 'succeeded',
        exitCode: 0,
        signal: null,
        metrics: { 'phase1.robust_mse': 0.0098 },
        metricSources: {},
        reason: '',
        pid: 1,
        startedAt: '2026-01-01T00:00:00.000Z',
        finishedAt: '2026-01-01T00:00:02.500Z',
      },
    } as PipelineEvent);
    await expect.poll(() => frames.join('\n')).toContain('Measured improvement 80%');
    const output = frames.join('\n');
    expect(output).toMatch(/succeeded\s+phase1-compare\s+2.5s/);
    expect(output).toContain('Measured improvement 80%');
    expect(lastFrame()).not.toContain('│ line 8');

    let answered: boolean | undefined;
    askers.forEach((asker) => asker({ message: 'Retrain anyway?', answer: (yes) => (answered = yes) }));
    await expect.poll(() => lastFrame()).toContain('Retrain anyway?');
    await tick();
    expect(answered).toBeUndefined();
    stdin.write('\r');
    await expect.poll(() => answered).toBe(true);
    await expect.poll(() => lastFrame()).not.toContain('Retrain anyway?');
    unmount();
  });
});
