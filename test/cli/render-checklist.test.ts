import { describe, expect, it } from 'vitest';
import { evaluateChecklist } from '../../src/core/checklist.js';
import { paint } from '../../src/cli/context.js';
import { renderChecklistTable } from '../../src/cli/render-checklist.js';

describe('the checklist table', () => {
  it('fits 80 columns with one line per item, for the values the miniature measures', () => {
    const result = evaluateChecklist(
      {
        'phase1.naive_mse': 6.04e-4,
        'phase1.robust_mse': 9.51e-6,
        'phase1.checkpoint': '/runs/phase1/robust',
        'phase2.main_token_acc': 0.5812,
        'phase2.main_token_acc_naive': 0.9727,
        'phase2.draft_coarse_acc': 0.6867,
        'phase3.success_rate': 0.825,
        'phase3.fine_grained_success_rate': 0.8,
        'phase3.inference_ms': 1.61,
      },
      { fileExists: () => true },
    );
    const lines = renderChecklistTable(result, paint(false)).split('\n');
    expect(Math.max(...lines.map((line) => [...line].length))).toBeLessThanOrEqual(80);
    // 10 items, 3 phase headers, the column head: 14 text rows, each followed by a rule, plus the top rule.
    const rows = lines.filter((line) => line.startsWith('│'));
    expect(rows).toHaveLength(14);
    expect(rows.find((line) => line.includes('minus naive'))).toMatch(/│ -39\.15 pts +│ ≥ 1 pt +│ ✘ fail/);
    expect(rows.find((line) => line.includes('held-out MSE'))).toMatch(
      /│ 9\.51e-6 +│ < 0\.012, goal 0\.01 │/,
    );
  });
});
