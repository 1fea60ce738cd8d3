import type { Metrics } from './metrics.js';
import { withDerivedMetrics } from './metrics.js';
import type { StrategyId } from './plan-facts.js';

/** The steps a pipeline config can define; each strategy runs a subset, in this order. */
export const STEP_IDS = [
  'phase1-train',
  'phase1-compare',
  'phase3-baseline',
  'phase3-swap',
  'phase2-main',
  'phase2-draft',
  'phase3-eval',
] as const;
export type StepId = (typeof STEP_IDS)[number];

export type GateId = 'phase1-improvement' | 'swap-gain';

export interface PlannedStepRef {
  step: StepId;
  /** A gate decided from measured values once this step has finished. */
  gateAfter?: GateId;
}

/**
 * The plans of the integration plan, per strategy:
 * A trains Phase 1, verifies it, retrains main and draft, then evaluates;
 * B trains Phase 1, verifies it, then evaluates the decoder swap with the existing models;
 * C runs A's stages with a gate after Phase 1 and after the decoder-swap evaluation, which it compares
 * with a baseline evaluation of the naive tokenizer.
 */
export const STRATEGY_PLANS: Record<StrategyId, readonly PlannedStepRef[]> = {
  A: [
    { step: 'phase1-train' },
    { step: 'phase1-compare' },
    { step: 'phase2-main' },
    { step: 'phase2-draft' },
    { step: 'phase3-eval' },
  ],
  B: [{ step: 'phase1-train' }, { step: 'phase1-compare' }, { step: 'phase3-swap' }],
  C: [
    { step: 'phase1-train' },
    { step: 'phase1-compare', gateAfter: 'phase1-improvement' },
    { step: 'phase3-baseline' },
    { step: 'phase3-swap', gateAfter: 'swap-gain' },
    { step: 'phase2-main' },
    { step: 'phase2-draft' },
    { step: 'phase3-eval' },
  ],
};

/** Strategy C's gate thresholds, from the plan: > 30% after Phase 1, 5 points after the swap. */
export const GATE_THRESHOLDS = { phase1ImprovementPct: 30, swapGainPoints: 5 } as const;

export type GateDecision =
  | { decision: 'continue'; message: string }
  | { decision: 'stop'; message: string }
  /** The swap already delivers: retraining is optional, so the user (or a flag) decides. */
  | { decision: 'ask'; message: string };

export function decideGate(gate: GateId, rawMetrics: Metrics): GateDecision {
  const metrics = withDerivedMetrics(rawMetrics);
  if (gate === 'phase1-improvement') {
    const improvement = metrics['phase1.improvement_pct'];
    if (typeof improvement !== 'number') {
      return {
        decision: 'stop',
        message: 'Phase 1 produced no improvement figure, so the gate cannot pass.',
      };
    }
    const shown = `${Math.round(improvement * 100) / 100}%`;
    if (improvement <= GATE_THRESHOLDS.phase1ImprovementPct) {
      return {
        decision: 'stop',
        message: `Improvement ${shown} ≤ 30%: stop here and check the implementation (held-out MSEs? enough data? sane hyperparameters?).`,
      };
    }
    return {
      decision: 'continue',
      message: `Improvement ${shown} > 30%: go on to the decoder-swap evaluation.`,
    };
  }
  const success = metrics['phase3.success_rate'];
  const baseline = metrics['phase3.baseline_success_rate'];
  if (typeof success !== 'number' || typeof baseline !== 'number') {
    return {
      decision: 'stop',
      message: 'The swap evaluation needs phase3.success_rate and phase3.baseline_success_rate to decide.',
    };
  }
  // Paired on the same seeds when the swap step measured it (phase3-swap pairs each trial with the same
  // policies and their own decoder); otherwise the difference of the two steps' rates.
  const paired = pairedSwapGain(metrics);
  const gainPoints = paired?.points ?? (success - baseline) * 100;
  const shown = `${Math.round(gainPoints * 100) / 100} points (${pct(baseline)} → ${pct(success)})`;
  if (gainPoints < GATE_THRESHOLDS.swapGainPoints) {
    return {
      decision: 'continue',
      message: `Swap gain ${shown} < 5${paired?.words ?? ''}: the main model must be retrained on Robust codes; continuing.`,
    };
  }
  if (paired && paired.low <= 0) {
    return {
      decision: 'continue',
      message: `Swap gain ${shown} ≥ 5${paired.words}, but the interval includes no gain: retraining; continuing.`,
    };
  }
  return {
    decision: 'ask',
    message: `Swap gain ${shown} ≥ 5${paired?.words ?? ''}: the decoder swap already delivers; retraining is optional.`,
  };
}

/** The swap's paired gain over the baseline in points, with its interval in words, when recorded. */
function pairedSwapGain(metrics: Metrics): { points: number; low: number; words: string } | undefined {
  const points = metrics['phase3.swap_paired_delta'];
  const low = metrics['phase3.swap_paired_delta_ci_low'];
  const high = metrics['phase3.swap_paired_delta_ci_high'];
  const trials = metrics['phase3.swap_paired_trials'];
  if (typeof points !== 'number' || typeof low !== 'number' || typeof high !== 'number') return undefined;
  const round = (value: number) => Math.round(value * 10) / 10;
  const over = typeof trials === 'number' ? ` over ${trials} trials` : '';
  return { points, low, words: ` (paired${over}, 95% CI ${round(low)} to ${round(high)} points)` };
}

function pct(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}
