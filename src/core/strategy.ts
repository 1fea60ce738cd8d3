import {
  EXPECTED_GAINS_LABEL,
  STRATEGIES,
  type PlanStep,
  type StrategyId,
  type ExpectedGain,
} from './plan-facts.js';

/** Bands of the measured improvement of Robust over naive RFSQ, in percent. */
export type ImprovementBand = 'above40' | 'from20to40' | 'below20' | 'worse' | 'unmeasured';
/** Tiers of the time budget; each tier holds budgets at least as long as its floor. */
export type BudgetTier = 'atLeast3d' | 'atLeast2d' | 'atLeast4h' | 'atLeast1h' | 'less';

export const BUDGET_TIERS: { tier: BudgetTier; minHours: number; label: string }[] = [
  { tier: 'atLeast3d', minHours: 72, label: 'budget ≥ 3 days' },
  { tier: 'atLeast2d', minHours: 48, label: 'budget ≥ 2 days' },
  { tier: 'atLeast4h', minHours: 4, label: 'budget ≥ 4 hours' },
  { tier: 'atLeast1h', minHours: 1, label: 'budget ≥ 1 hour' },
  { tier: 'less', minHours: 0, label: 'budget < 1 hour' },
];

export const IMPROVEMENT_BANDS: { band: ImprovementBand; label: string }[] = [
  { band: 'above40', label: 'improvement > 40%' },
  { band: 'from20to40', label: 'improvement 20–40% (inclusive)' },
  { band: 'below20', label: 'improvement 0–20%' },
  { band: 'worse', label: 'Robust worse than naive, improvement < 0%' },
  { band: 'unmeasured', label: 'improvement not measured' },
];

interface RuleCell {
  strategy: StrategyId | null;
  reason: string;
}

const LOW_GAIN_WARNING =
  'The improvement is below 20%: retraining Phase 2 is probably not worth it. Check the implementation first: were both MSEs measured on held-out episodes, is there enough data, are the hyperparameters sane?';

/** Every strategy switches to the Robust decoder (B sooner, A and C later): none helps when it is worse. */
const WORSE_THAN_NAIVE =
  "Do not switch: the Robust tokenizer's held-out MSE is higher than the naive one's, so switching to its decoder (B), or retraining on its codes (A or C), would make actions worse. Keep the naive tokenizer, and check the Robust implementation and training, then measure again.";

const TOO_SHORT = 'Less than 1 hour cannot fit Phase 1 (2–3 h in the plan), let alone a strategy.';

/**
 * The strategy rule, as data: rows are improvement bands, columns are budget tiers. The plan's
 * durations: A about 3–4 days, B about 1 hour once Phase 1 is done, C at least 2 days, Phase 1
 * alone 2–3 hours.
 */
export const STRATEGY_RULE: Record<ImprovementBand, Record<BudgetTier, RuleCell>> = {
  above40: {
    atLeast3d: {
      strategy: 'A',
      reason: 'The gain is large and there is time for a full retrain (3–4 days).',
    },
    atLeast2d: {
      strategy: 'B',
      reason:
        'The gain is large, but a full retrain takes 3–4 days: swap the decoder now, retrain (A) when time allows.',
    },
    atLeast4h: { strategy: 'B', reason: 'The gain is large but the budget only fits the decoder swap.' },
    atLeast1h: { strategy: 'B', reason: 'The gain is large but the budget only fits the decoder swap.' },
    less: { strategy: null, reason: TOO_SHORT },
  },
  from20to40: {
    atLeast3d: {
      strategy: 'C',
      reason: 'A moderate gain: verify it stage by stage before paying for a full retrain.',
    },
    atLeast2d: {
      strategy: 'C',
      reason: 'A moderate gain: verify it stage by stage before paying for a full retrain.',
    },
    atLeast4h: { strategy: 'B', reason: 'A moderate gain, and the budget only fits the decoder swap.' },
    atLeast1h: { strategy: 'B', reason: 'A moderate gain, and the budget only fits the decoder swap.' },
    less: { strategy: null, reason: TOO_SHORT },
  },
  below20: {
    atLeast3d: { strategy: 'B', reason: LOW_GAIN_WARNING },
    atLeast2d: { strategy: 'B', reason: LOW_GAIN_WARNING },
    atLeast4h: { strategy: 'B', reason: LOW_GAIN_WARNING },
    atLeast1h: { strategy: 'B', reason: LOW_GAIN_WARNING },
    less: { strategy: null, reason: TOO_SHORT },
  },
  worse: {
    atLeast3d: { strategy: null, reason: WORSE_THAN_NAIVE },
    atLeast2d: { strategy: null, reason: WORSE_THAN_NAIVE },
    atLeast4h: { strategy: null, reason: WORSE_THAN_NAIVE },
    atLeast1h: { strategy: null, reason: WORSE_THAN_NAIVE },
    less: { strategy: null, reason: WORSE_THAN_NAIVE },
  },
  unmeasured: {
    atLeast3d: { strategy: 'C', reason: 'The gain is unknown: strategy C measures it in its first stage.' },
    atLeast2d: { strategy: 'C', reason: 'The gain is unknown: strategy C measures it in its first stage.' },
    atLeast4h: {
      strategy: 'B',
      reason: 'The gain is unknown and the budget fits Phase 1 (2–3 h) plus the decoder swap.',
    },
    atLeast1h: {
      strategy: null,
      reason:
        'The gain is unknown and Phase 1 plus the decoder swap need about 4 hours: measure Phase 1 first.',
    },
    less: { strategy: null, reason: TOO_SHORT },
  },
};

export function improvementBand(improvementPct: number | undefined): ImprovementBand {
  if (improvementPct === undefined) return 'unmeasured';
  if (improvementPct > 40) return 'above40';
  if (improvementPct >= 20) return 'from20to40';
  return improvementPct < 0 ? 'worse' : 'below20';
}

export function budgetTier(budgetHours: number): BudgetTier {
  for (const { tier, minHours } of BUDGET_TIERS) {
    if (budgetHours >= minHours) return tier;
  }
  return 'less';
}

export type ImprovementSource =
  | { kind: 'flag'; text: string }
  | { kind: 'mse'; naiveMse: number; robustMse: number }
  | { kind: 'file'; file: string }
  | { kind: 'unmeasured' };

export interface RecommendationInputs {
  budgetHours: number;
  budgetText: string;
  improvementPct?: number;
  improvementSource: ImprovementSource;
}

export interface Recommendation {
  strategy: StrategyId | null;
  strategyName: string | null;
  rule: {
    id: string;
    improvementBand: ImprovementBand;
    budgetTier: BudgetTier;
    text: string;
    reason: string;
  };
  inputs: {
    timeBudget: { text: string; hours: number };
    improvementPct: number | null;
    improvementSource: ImprovementSource;
  };
  steps: (PlanStep & { estimate: string })[];
  totalHours: { min: number; max: number };
  expectedGains: { label: string; rows: ExpectedGain[] };
  warnings: string[];
  nextCommand: string;
}

export function recommend(inputs: RecommendationInputs): Recommendation {
  const band = improvementBand(inputs.improvementPct);
  const tier = budgetTier(inputs.budgetHours);
  const cell = STRATEGY_RULE[band][tier];
  const facts = cell.strategy ? STRATEGIES[cell.strategy] : null;
  const bandLabel = IMPROVEMENT_BANDS.find((entry) => entry.band === band)!.label;
  const tierLabel = BUDGET_TIERS.find((entry) => entry.tier === tier)!.label;
  const measured =
    inputs.improvementPct === undefined ? '' : ` (${roundTo(inputs.improvementPct, 2)}% measured)`;
  const warnings: string[] = [];
  if (band === 'below20') warnings.push(LOW_GAIN_WARNING);
  if (facts) warnings.push(...facts.caveats);
  const steps = (facts?.steps ?? []).map((step) => ({
    ...step,
    estimate: step.minHours === step.maxHours ? `${step.minHours} h` : `${step.minHours}–${step.maxHours} h`,
  }));
  return {
    strategy: cell.strategy,
    strategyName: facts?.name ?? null,
    rule: {
      id: `${band}/${tier}`,
      improvementBand: band,
      budgetTier: tier,
      text: `${bandLabel}${measured} and ${tierLabel} (${inputs.budgetText} = ${roundTo(inputs.budgetHours, 2)} h) → ${cell.strategy ?? 'no strategy'}`,
      reason: cell.reason,
    },
    inputs: {
      timeBudget: { text: inputs.budgetText, hours: inputs.budgetHours },
      improvementPct: inputs.improvementPct ?? null,
      improvementSource: inputs.improvementSource,
    },
    steps,
    totalHours: {
      min: steps.reduce((sum, step) => sum + step.minHours, 0),
      max: steps.reduce((sum, step) => sum + step.maxHours, 0),
    },
    expectedGains: {
      label: EXPECTED_GAINS_LABEL,
      rows: facts?.expectedGains ?? [],
    },
    warnings: [...new Set(warnings)],
    nextCommand: nextCommandFor(cell.strategy, band),
  };
}

/**
 * The first thing to run: measure Phase 1 when the gain is unknown (seconds on the embedded
 * default), else the strategy itself through `rfsq run`, which runs the plan's steps in order.
 */
function nextCommandFor(strategy: StrategyId | null, band: ImprovementBand): string {
  if (band === 'worse')
    return 'rfsq compare --train --data demo --metrics-out metrics.json   (measure again once fixed; or your .hdf5)';
  if (band === 'unmeasured')
    return 'rfsq compare --train --data demo --metrics-out metrics.json   (or your .hdf5 for --data)';
  if (strategy === null) return 'rfsq recommend --time-budget 1d …   (nothing fits under an hour)';
  return `rfsq init --template local && rfsq run --strategy ${strategy}   (or --template modal / slurm)`;
}

function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
