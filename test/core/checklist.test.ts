import { describe, expect, it } from 'vitest';
import { CHECKLIST, evaluateChecklist, formatValue, type ItemStatus } from '../../src/core/checklist.js';
import type { Metrics } from '../../src/core/metrics.js';

const passing: Metrics = {
  'phase1.naive_mse': 0.018,
  'phase1.robust_mse': 0.01,
  'phase1.checkpoint': '/ckpt',
  'phase2.main_token_acc': 0.925,
  'phase2.main_token_acc_naive': 0.909,
  'phase2.draft_coarse_acc': 0.915,
  'phase3.success_rate': 0.92,
  'phase3.fine_grained_success_rate': 0.86,
  'phase3.inference_ms': 48,
};

const exists = (path: string) => path === '/ckpt';

function statuses(metrics: Metrics, strategy?: 'A' | 'B' | 'C'): Record<string, ItemStatus> {
  const result = evaluateChecklist(metrics, { fileExists: exists, strategy });
  return Object.fromEntries(result.items.map((item) => [item.id, item.status]));
}

describe('the checklist', () => {
  it('has the plan items', () => {
    expect(CHECKLIST.map((item) => item.id)).toEqual([
      'p1.trained',
      'p1.mse',
      'p1.improvement',
      'p1.checkpoint',
      'p2.main_acc',
      'p2.main_vs_naive',
      'p2.draft_acc',
      'p3.success',
      'p3.fine_grained',
      'p3.inference_ms',
    ]);
  });

  it('passes every item on passing metrics and exits pass', () => {
    const result = evaluateChecklist(passing, { fileExists: exists });
    expect(result.items.every((item) => item.status === 'pass')).toBe(true);
    expect(result.exitStatus).toBe('pass');
  });

  it('derives the improvement from the two MSEs', () => {
    const result = evaluateChecklist(passing, { fileExists: exists });
    const improvement = result.items.find((item) => item.id === 'p1.improvement')!;
    expect(improvement.value).toBeCloseTo(44.444, 2);
    expect(improvement.source).toBe('derived');
  });

  it('shows a difference of accuracies in points, and a tiny MSE with its digits', () => {
    const result = evaluateChecklist(
      { ...passing, 'phase2.main_token_acc': 0.5812, 'phase2.main_token_acc_naive': 0.9727 },
      { fileExists: exists },
    );
    const difference = result.items.find((item) => item.id === 'p2.main_vs_naive')!;
    expect(formatValue(difference.value!, difference.unit)).toBe('-39.15 pts');
    expect(difference.threshold).toBe('≥ 1 pt');
    expect(formatValue(9.5096e-6, 'mse')).toBe('9.51e-6');
    expect(formatValue(0.0098, 'mse')).toBe('0.0098');
  });

  it('marks everything pending with no metrics', () => {
    const result = evaluateChecklist({}, { fileExists: exists });
    expect(result.items.every((item) => item.status === 'pending')).toBe(true);
    expect(result.exitStatus).toBe('pending');
  });

  it.each([
    ['p1.mse', { 'phase1.robust_mse': 0.012 }, 'fail'],
    ['p1.mse', { 'phase1.robust_mse': 0.0119 }, 'pass'],
    ['p1.improvement', { 'phase1.improvement_pct': 30 }, 'fail'],
    ['p1.improvement', { 'phase1.improvement_pct': 30.01 }, 'pass'],
    ['p1.checkpoint', { 'phase1.checkpoint': '/missing' }, 'fail'],
    ['p1.checkpoint', { 'phase1.checkpoint': '/ckpt' }, 'pass'],
    ['p2.main_acc', { 'phase2.main_token_acc': 0.91 }, 'fail'],
    ['p2.main_acc', { 'phase2.main_token_acc': 0.9101 }, 'pass'],
    ['p2.main_vs_naive', { 'phase2.main_token_acc': 0.92, 'phase2.main_token_acc_naive': 0.91 }, 'pass'],
    ['p2.main_vs_naive', { 'phase2.main_token_acc': 0.919, 'phase2.main_token_acc_naive': 0.91 }, 'fail'],
    ['p2.main_vs_naive', { 'phase2.main_token_acc': 0.95 }, 'pending'],
    ['p2.draft_acc', { 'phase2.draft_coarse_acc': 0.9 }, 'fail'],
    ['p2.draft_acc', { 'phase2.draft_coarse_acc': 0.901 }, 'pass'],
    ['p3.success', { 'phase3.success_rate': 0.9 }, 'fail'],
    ['p3.success', { 'phase3.success_rate': 0.92 }, 'pass'],
    ['p3.fine_grained', { 'phase3.fine_grained_success_rate': 0.85 }, 'fail'],
    ['p3.fine_grained', { 'phase3.fine_grained_success_rate': 0.851 }, 'pass'],
    ['p3.inference_ms', { 'phase3.inference_ms': 44.9 }, 'fail'],
    ['p3.inference_ms', { 'phase3.inference_ms': 45 }, 'pass'],
    ['p3.inference_ms', { 'phase3.inference_ms': 55 }, 'pass'],
    ['p3.inference_ms', { 'phase3.inference_ms': 55.1 }, 'fail'],
    ['p1.trained', { 'phase1.robust_mse': 0.5 }, 'pass'],
  ] as const)('%s with %j is %s', (id, metrics, status) => {
    expect(statuses(metrics)[id]).toBe(status);
  });

  it('makes Phase 2 n/a under strategy B, and only then', () => {
    const underB = statuses(passing, 'B');
    expect(underB['p2.main_acc']).toBe('n/a');
    expect(underB['p2.main_vs_naive']).toBe('n/a');
    expect(underB['p2.draft_acc']).toBe('n/a');
    expect(underB['p3.success']).toBe('pass');
    expect(statuses(passing, 'A')['p2.main_acc']).toBe('pass');
  });

  it('fails over pending in the exit status', () => {
    const result = evaluateChecklist({ 'phase1.robust_mse': 0.5 }, { fileExists: exists });
    expect(result.exitStatus).toBe('fail');
  });

  it('applies threshold overrides', () => {
    const metrics: Metrics = { 'phase3.inference_ms': 12, 'phase1.robust_mse': 0.014 };
    const result = evaluateChecklist(metrics, {
      fileExists: exists,
      overrides: { 'p3.inference_ms': { min: 5, max: 20 }, 'p1.mse': 0.015 },
    });
    const byId = Object.fromEntries(result.items.map((item) => [item.id, item]));
    expect(byId['p3.inference_ms']!.status).toBe('pass');
    expect(byId['p3.inference_ms']!.threshold).toBe('5–20 ms');
    expect(byId['p1.mse']!.status).toBe('pass');
    expect(byId['p1.mse']!.threshold).toBe('< 0.015');
  });
});

describe('provenance on the checklist', () => {
  const trainingMse = {
    file: 'log:/p/.rfsq/logs/r/phase1-train.log:42',
    data: 'training' as const,
    epoch: 'best' as const,
    quote: 'Best MSE: 0.009812 (at epoch 87)',
    detail: 'training-batch average over all the data, best epoch 87',
  };

  it('does not pass a held-out item on a training figure, and says why', () => {
    const result = evaluateChecklist(passing, {
      fileExists: exists,
      sources: { 'phase1.robust_mse': trainingMse },
    });
    const byId = Object.fromEntries(result.items.map((item) => [item.id, item]));
    // Recorded is recorded: training is complete.
    expect(byId['p1.trained']?.status).toBe('pass');
    expect(byId['p1.mse']).toMatchObject({ status: 'pending', value: 0.01 });
    expect(byId['p1.mse']?.note).toBe(
      'phase1.robust_mse is a figure on the training data; this item needs held-out data (rfsq train / rfsq compare measure it)',
    );
    // The improvement derived from a training MSE is no held-out improvement either.
    expect(byId['p1.improvement']?.status).toBe('pending');
    expect(byId['p1.mse']?.provenance).toEqual([
      'phase1.robust_mse: training data, best epoch, training-batch average over all the data, best epoch 87; log:/p/.rfsq/logs/r/phase1-train.log:42 "Best MSE: 0.009812 (at epoch 87)"',
    ]);
    expect(result.exitStatus).toBe('pending');
  });

  it('passes the same value measured on held-out data', () => {
    const result = evaluateChecklist(passing, {
      fileExists: exists,
      sources: { 'phase1.robust_mse': { ...trainingMse, data: 'held-out' } },
    });
    expect(result.items.find((item) => item.id === 'p1.mse')?.status).toBe('pass');
  });

  it('shows why a metric the pipeline cannot supply is pending', () => {
    const { 'phase3.inference_ms': _dropped, ...rest } = passing;
    const result = evaluateChecklist(rest, {
      fileExists: exists,
      notMeasured: { 'phase3.inference_ms': 'not measured by phase3-eval: the evaluation times nothing' },
    });
    expect(result.items.find((item) => item.id === 'p3.inference_ms')).toMatchObject({
      status: 'pending',
      note: 'not measured by phase3-eval: the evaluation times nothing',
    });
  });
});
