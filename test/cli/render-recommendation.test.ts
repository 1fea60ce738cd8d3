import { describe, expect, it } from 'vitest';
import { paint } from '../../src/cli/context.js';
import { renderRecommendation, wrapWords } from '../../src/cli/render-recommendation.js';
import { recommend } from '../../src/core/strategy.js';

describe('the recommendation as text', () => {
  const unmeasured = recommend({
    budgetHours: 24,
    budgetText: '1d',
    improvementSource: { kind: 'unmeasured' },
  });

  it('fits 80 columns, breaking lines between words with the label indent', () => {
    const text = renderRecommendation(unmeasured, paint(false), 80);
    const lines = text.split('\n');
    const long = lines.filter((line) => [...line].length > 80 && !line.startsWith('Next: '));
    expect(long).toEqual([]);
    // The step title that a terminal broke as "(Phase\n 1)" now keeps its words whole.
    expect(text).toContain('(Phase 1)');
    expect(text).toMatch(/^Why: {10}The gain is unknown and the budget fits Phase 1 \(2–3 h\) plus the/m);
    expect(text).toMatch(/^ {14}decoder swap\.$/m);
  });

  it('keeps one line per field where there is no terminal width (pipes, logs)', () => {
    const text = renderRecommendation(unmeasured, paint(false));
    expect(text).toMatch(
      /^Why: {10}The gain is unknown and the budget fits Phase 1 \(2–3 h\) plus the decoder swap\.$/m,
    );
  });

  it('says "not measured" once', () => {
    const text = renderRecommendation(unmeasured, paint(false), 80);
    expect(text).not.toContain('not measured (not measured)');
    expect(text).toContain('Rule:         improvement not measured and budget ≥ 4 hours');
  });

  it('advises against switching when Robust is worse, and shows no plan gains', () => {
    const worse = recommend({
      budgetHours: 24,
      budgetText: '1d',
      improvementPct: -100,
      improvementSource: { kind: 'mse', naiveMse: 0.01, robustMse: 0.02 },
    });
    const text = renderRecommendation(worse, paint(false), 80);
    expect(text.split('\n')[0]).toBe('Keep the naive tokenizer: Robust is worse, do not switch');
    expect(text).toMatch(/Why: +Do not switch/);
    expect(text).not.toContain('Gains (');
    expect(text).not.toContain('Steps (');
    expect(text).not.toMatch(/Strategy B/);
  });

  it('wrapWords keeps a word longer than the line whole', () => {
    expect(wrapWords('a verylongword b', 6, '', '  ')).toEqual(['a', '  verylongword', '  b']);
  });
});
