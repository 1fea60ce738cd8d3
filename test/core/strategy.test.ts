import { describe, expect, it } from 'vitest';
import { parseDurationHours } from '../../src/core/duration.js';
import { budgetTier, improvementBand, recommend, STRATEGY_RULE } from '../../src/core/strategy.js';

const unmeasured = { kind: 'unmeasured' } as const;

function strategyFor(improvementPct: number | undefined, budget: string) {
  return recommend({
    budgetHours: parseDurationHours(budget),
    budgetText: budget,
    improvementPct,
    improvementSource:
      improvementPct === undefined ? unmeasured : { kind: 'flag', text: String(improvementPct) },
  }).strategy;
}

describe('improvement bands', () => {
  it.each([
    [40.01, 'above40'],
    [40, 'from20to40'],
    [20, 'from20to40'],
    [19.99, 'below20'],
    [0, 'below20'],
    [-5, 'worse'],
    [undefined, 'unmeasured'],
  ] as const)('%s%% is %s', (pct, band) => {
    expect(improvementBand(pct)).toBe(band);
  });
});

describe('budget tiers', () => {
  it.each([
    ['3d', 'atLeast3d'],
    ['71.9h', 'atLeast2d'],
    ['2d', 'atLeast2d'],
    ['47.9h', 'atLeast4h'],
    ['4h', 'atLeast4h'],
    ['239m', 'atLeast1h'],
    ['1h', 'atLeast1h'],
    ['59m', 'less'],
    ['2w', 'atLeast3d'],
  ] as const)('%s is %s', (budget, tier) => {
    expect(budgetTier(parseDurationHours(budget))).toBe(tier);
  });
});

describe('the strategy rule', () => {
  it.each([
    // > 40%
    [40.01, '3d', 'A'],
    [40.01, '2d', 'B'],
    [40.01, '4h', 'B'],
    [40.01, '1h', 'B'],
    [40.01, '59m', null],
    // 20–40%, both ends inclusive
    [40, '3d', 'C'],
    [40, '2d', 'C'],
    [20, '3d', 'C'],
    [20, '2d', 'C'],
    [20, '1h', 'B'],
    [40, '4h', 'B'],
    [20, '59m', null],
    // < 20%
    [19.99, '3d', 'B'],
    [19.99, '2d', 'B'],
    [19.99, '1h', 'B'],
    [19.99, '59m', null],
    // not measured
    [undefined, '3d', 'C'],
    [undefined, '2d', 'C'],
    [undefined, '4h', 'B'],
    [undefined, '3.99h', null],
    [undefined, '1h', null],
    [undefined, '90m', null],
  ] as const)('improvement %s, budget %s → %s', (pct, budget, strategy) => {
    expect(strategyFor(pct, budget)).toBe(strategy);
  });

  it('says A for 44% and 4 days, as the issue asks', () => {
    expect(strategyFor(44, '4d')).toBe('A');
  });

  it('warns below 20% and points at the implementation', () => {
    const result = recommend({
      budgetHours: 96,
      budgetText: '4d',
      improvementPct: 12,
      improvementSource: { kind: 'flag', text: '12' },
    });
    expect(result.warnings.join(' ')).toMatch(/probably not worth it/);
    expect(result.warnings.join(' ')).toMatch(/held-out/);
  });

  it('advises against switching when Robust is worse than naive, with no plan gains', () => {
    const result = recommend({
      budgetHours: 96,
      budgetText: '4d',
      improvementPct: -100,
      improvementSource: { kind: 'mse', naiveMse: 0.01, robustMse: 0.02 },
    });
    expect(result.strategy).toBeNull();
    expect(result.rule.reason).toMatch(/^Do not switch: the Robust tokenizer's held-out MSE is higher/);
    expect(result.steps).toEqual([]);
    expect(result.expectedGains.rows).toEqual([]);
    expect(result.nextCommand).toMatch(/measure again/);
  });

  it('says "not measured" once in the rule of an unmeasured improvement', () => {
    const result = recommend({ budgetHours: 24, budgetText: '1d', improvementSource: unmeasured });
    expect(result.rule.text).toBe('improvement not measured and budget ≥ 4 hours (1d = 24 h) → B');
  });

  it('quotes the inputs in the rule that fired', () => {
    const result = recommend({
      budgetHours: 48,
      budgetText: '2d',
      improvementPct: 44,
      improvementSource: { kind: 'flag', text: '44' },
    });
    expect(result.rule.id).toBe('above40/atLeast2d');
    expect(result.rule.text).toContain('44%');
    expect(result.rule.text).toContain('2d');
    expect(result.rule.reason).toMatch(/when time allows/);
  });

  it('labels the plan gains as expected, never as measured', () => {
    const result = recommend({ budgetHours: 96, budgetText: '4d', improvementSource: unmeasured });
    expect(result.expectedGains.label).toBe('expected, from the integration plan, not measured');
    expect(result.expectedGains.rows.some((row) => row.robust === '0.010')).toBe(true);
  });

  it('lists the steps of each strategy with the plan durations', () => {
    const a = recommend({
      budgetHours: 96,
      budgetText: '4d',
      improvementPct: 50,
      improvementSource: unmeasured,
    });
    expect(a.steps.map((step) => step.estimate)).toEqual(['2–3 h', '6–8 h', '4–6 h', '3–4 h']);
    const c = recommend({ budgetHours: 96, budgetText: '4d', improvementSource: unmeasured });
    expect(c.steps).toHaveLength(5);
    expect(c.steps[0]!.gate).toMatch(/30%/);
    expect(c.nextCommand).toMatch(/^rfsq compare --train/);
    expect(a.nextCommand).toMatch(/rfsq run --strategy A/);
  });

  it('has a cell for every band and tier', () => {
    for (const row of Object.values(STRATEGY_RULE)) expect(Object.keys(row)).toHaveLength(5);
  });
});

describe('durations', () => {
  it.each([
    ['90m', 1.5],
    ['6h', 6],
    ['1d', 24],
    ['3.5d', 84],
    ['2w', 336],
    [' 2D ', 48],
  ] as const)('%s = %s h', (text, hours) => {
    expect(parseDurationHours(text)).toBe(hours);
  });

  it.each(['', '3', 'd', '3 days', '-1d', '0h', '1y', '1.d'])('rejects "%s"', (text) => {
    expect(() => parseDurationHours(text)).toThrow(/--time-budget/);
  });
});
