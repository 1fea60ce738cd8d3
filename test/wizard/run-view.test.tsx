import { render } from 'ink-testing-library';
import { act } from 'react';
import { describe, expect, it } from 'vitest';
import { evaluateChecklist } from '../../src/core/checklist.js';
import type { Metrics } from '../../src/core/metrics.js';
import type { PipelineEvent } from '../../src/pipeline/pipeline.js';
import type { ChecklistReport } from '../../src/services/checklist.js';
import { RunView, type RunQuestion, type RunViewEvent } from '../../src/wizard/RunView.js';
import { renderReady } from '../helpers/ink.js';

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
    expect(running).toMatch(/\[1\/1\] Measure the improvement \d+s \(plan est\. 6–12 min\)/);
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

  const decision = {
    id: 'phase1-train',
    title: 'Train the tokenizers',
    argv: ['rfsq'],
    cwd: '/',
    action: 'run' as const,
    reason: 'not run yet',
    fingerprint: 'f',
    measuredSeconds: 75,
  };

  /** A view on a run whose step is under way, with a checklist that counts its reads and can fail. */
  async function runningView() {
    const listeners = new Set<(event: RunViewEvent) => void>();
    const watchers = new Set<() => void>();
    const reads = { count: 0, fail: false };
    const app = await renderReady(
      <RunView
        subscribe={(listener) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        }}
        checklist={(live) => {
          reads.count++;
          // What buildChecklist throws when rfsq.config.json is caught half-written.
          if (reads.fail) throw new Error('rfsq.config.json is not valid JSON');
          return checklist(live);
        }}
        watchInputs={(onChange) => {
          watchers.add(onChange);
          return () => watchers.delete(onChange);
        }}
      />,
    );
    const emit = (event: RunViewEvent) => act(async () => listeners.forEach((listener) => listener(event)));
    await emit({ type: 'run-start', runId: 'r1', resumed: false, decisions: [decision] });
    await emit({
      type: 'step-start',
      step: 'phase1-train',
      title: 'Train the tokenizers',
      index: 0,
      total: 1,
      logPath: '/l',
    });
    const fileChanged = () => act(async () => watchers.forEach((watcher) => watcher()));
    return { ...app, emit, reads, fileChanged };
  }

  it('reads the checklist when something happens, never per frame', async () => {
    const { frames, lastFrame, emit, reads, unmount } = await runningView();
    expect(lastFrame()).toContain('Robust held-out MSE');
    const afterStart = reads.count;
    // The spinner turns: frame after frame is drawn, and none of them reads the config or the state.
    const spinners = () => new Set(frames.map((frame) => /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/.exec(frame)?.[0])).size;
    await expect.poll(spinners, { timeout: 20_000 }).toBeGreaterThan(3);
    expect(reads.count).toBe(afterStart);
    await emit({
      type: 'metric',
      step: 'phase1-train',
      name: 'phase1.robust_mse',
      value: 0.009,
      source: 'log:/l:2',
    });
    expect(reads.count).toBe(afterStart + 1);
    expect(lastFrame()).toMatch(/✔ Robust held-out MSE\s+0.009/);
    unmount();
  });

  it('keeps the last good checklist while a read fails, and recovers on the next change', async () => {
    const { lastFrame, emit, reads, fileChanged, unmount } = await runningView();
    await emit({
      type: 'metric',
      step: 'phase1-train',
      name: 'phase1.robust_mse',
      value: 0.009,
      source: 'log:/l:2',
    });
    reads.fail = true;
    await emit({
      type: 'metric',
      step: 'phase1-train',
      name: 'phase1.naive_mse',
      value: 0.02,
      source: 'log:/l:3',
    });
    expect(lastFrame()).toContain(
      'checklist not refreshed (showing the last good one): rfsq.config.json is not valid JSON',
    );
    expect(lastFrame()).toMatch(/✔ Robust held-out MSE\s+0.009/);
    expect(lastFrame()).toContain('[1/1] Train the tokenizers');
    reads.fail = false;
    await fileChanged();
    expect(lastFrame()).not.toContain('checklist not refreshed');
    expect(lastFrame()).toMatch(/Improvement over naive\s+55/);
    unmount();
  });

  it("measures the step's rate from its progress lines and shows its last duration here", async () => {
    const { lastFrame, emit, unmount } = await runningView();
    expect(lastFrame()).toContain('estimate: 1m15s, as measured here before');
    expect(lastFrame()).toMatch(
      /Train the tokenizers \d+s of about 1m15s \(its last run here\), run: about 1m\d\ds left/,
    );
    await emit({ type: 'line', step: 'phase1-train', stream: 'stderr', line: 'naive epoch 1/12 loss 0.1' });
    expect(lastFrame()).toContain('  1/12');
    await expect
      .poll(async () => {
        await emit({
          type: 'line',
          step: 'phase1-train',
          stream: 'stderr',
          line: 'naive epoch 2/12 loss 0.1',
        });
        return lastFrame();
      })
      .toMatch(/2\/12, about \d+s left in this phase/);
    unmount();
  });
});
