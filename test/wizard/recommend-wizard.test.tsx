import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { RecommendWizard, type RecommendAnswers } from '../../src/wizard/RecommendWizard.js';
import { tempDir } from '../helpers/cli.js';
import { press, renderReady, type } from '../helpers/ink.js';

const ENTER = '\r';
const DOWN = '\u001B[B';

async function start() {
  const onDone = vi.fn<(answers: RecommendAnswers) => void>();
  const app = await renderReady(<RecommendWizard onDone={onDone} />);
  return { ...app, onDone };
}

describe('the recommend wizard', () => {
  it('asks the budget, then the improvement, and reports both', async () => {
    const { stdin, lastFrame, onDone } = await start();
    await expect.poll(() => lastFrame()).toContain('How much time can you spend?');
    await press(stdin, DOWN, DOWN, DOWN, ENTER); // 3–4 days → 4d
    await expect.poll(() => lastFrame()).toContain('How much did Robust RFSQ improve');
    await press(stdin, ENTER); // enter the improvement in %
    await expect.poll(() => lastFrame()).toContain('Improvement in %');
    await type(stdin, '44');
    await press(stdin, ENTER);
    await expect
      .poll(() => onDone.mock.calls[0]?.[0])
      .toEqual({
        budgetText: '4d',
        budgetHours: 96,
        improvement: { improvementPct: 44, source: { kind: 'flag', text: '44' } },
      });
  });

  it('takes a custom budget and shows what was wrong with a bad one', async () => {
    const { stdin, lastFrame, onDone } = await start();
    await expect.poll(() => lastFrame()).toContain('How much time can you spend?');
    await press(stdin, '6'); // "Another duration…"
    await expect.poll(() => lastFrame()).toContain('Time budget (e.g.');
    await type(stdin, 'soon');
    await press(stdin, ENTER);
    await expect.poll(() => lastFrame()).toContain('is not a duration');
    await press(stdin, '\u007F', '\u007F', '\u007F', '\u007F');
    await type(stdin, '90m');
    await press(stdin, ENTER);
    await expect.poll(() => lastFrame()).toContain('How much did Robust RFSQ improve');
    await press(stdin, '4'); // not measured yet
    await expect
      .poll(() => onDone.mock.calls[0]?.[0])
      .toEqual({
        budgetText: '90m',
        budgetHours: 1.5,
        improvement: { source: { kind: 'unmeasured' } },
      });
  });

  it('computes the improvement from two MSEs', async () => {
    const { stdin, onDone, lastFrame } = await start();
    await expect.poll(() => lastFrame()).toContain('How much time can you spend?');
    await press(stdin, ENTER); // 4 hours
    await expect.poll(() => lastFrame()).toContain('How much did Robust RFSQ improve');
    await press(stdin, DOWN, ENTER); // "two MSEs"
    await expect.poll(() => lastFrame()).toContain('Naive held-out MSE');
    await type(stdin, '0.02');
    await press(stdin, ENTER);
    await expect.poll(() => lastFrame()).toContain('Robust held-out MSE');
    // The plan's projected 0.010 is not offered as if it were a default: Enter alone is refused.
    expect(lastFrame()).toContain('Robust held-out MSE: e.g. 0.012 (no default)');
    await press(stdin, ENTER);
    expect(onDone).not.toHaveBeenCalled();
    await type(stdin, '0.01');
    await press(stdin, ENTER);
    await expect.poll(() => onDone.mock.calls.length).toBe(1);
    const answers = onDone.mock.calls[0]![0];
    expect(answers.budgetHours).toBe(4);
    expect(answers.improvement.improvementPct).toBeCloseTo(50);
  });

  it('reads a metrics file and rejects a missing one', async () => {
    const file = path.join(tempDir(), 'metrics.json');
    writeFileSync(file, JSON.stringify({ 'phase1.improvement_pct': 35 }));
    const { stdin, onDone, lastFrame } = await start();
    await expect.poll(() => lastFrame()).toContain('How much time can you spend?');
    await press(stdin, '2'); // 1 day
    await expect.poll(() => lastFrame()).toContain('How much did Robust RFSQ improve');
    await press(stdin, '3'); // read a metrics file
    await expect.poll(() => lastFrame()).toContain('Metrics file:');
    await type(stdin, '/nonexistent.json');
    await press(stdin, ENTER);
    await expect.poll(() => lastFrame()).toContain('does not exist');
    expect(onDone).not.toHaveBeenCalled();
    await press(stdin, ...Array<string>(17).fill('\u007F'));
    await type(stdin, file);
    await press(stdin, ENTER);
    await expect
      .poll(() => onDone.mock.calls[0]?.[0].improvement)
      .toEqual({
        improvementPct: 35,
        source: { kind: 'file', file },
      });
  });

  it('skips the budget question when a budget is given', async () => {
    const onDone = vi.fn();
    const { lastFrame, stdin } = await renderReady(
      <RecommendWizard budget={{ text: '2d', hours: 48 }} onDone={onDone} />,
    );
    await expect.poll(() => lastFrame()).not.toContain('How much time');
    await expect.poll(() => lastFrame()).toContain('Time budget: 2d');
    await press(stdin, '4');
    await expect
      .poll(() => onDone.mock.calls[0]?.[0])
      .toEqual({
        budgetText: '2d',
        budgetHours: 48,
        improvement: { source: { kind: 'unmeasured' } },
      });
  });
});
