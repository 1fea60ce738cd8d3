/**
 * Facts quoted from the integration plan (shared/plan/robust-rfsq-integration-plan.md).
 * They are estimates and projections written before any run: the tool labels them so and
 * never shows them as measurements.
 */

export type StrategyId = 'A' | 'B' | 'C';

export interface PlanStep {
  id: string;
  title: string;
  /** Estimated duration from the plan, in hours. */
  minHours: number;
  maxHours: number;
  /** The plan's own command for this step, when it gives one. */
  planCommand?: string;
  /** What the step must show before going on (strategy C's gates). */
  gate?: string;
}

export interface StrategyFacts {
  id: StrategyId;
  name: string;
  /** The plan's strategy table: difficulty, time, expected gain. */
  planTime: string;
  planTimeOriginal: string;
  expectedGain: string;
  steps: PlanStep[];
  expectedGains: ExpectedGain[];
  caveats: string[];
}

export interface ExpectedGain {
  component: string;
  naive: string;
  robust: string;
  change: string;
}

const TRAIN_ROBUST: PlanStep = {
  id: 'phase1',
  title: 'Train the Robust RFSQ tokenizer and measure its held-out improvement (Phase 1)',
  minHours: 2,
  maxHours: 3,
  planCommand: 'modal run train_rfsq_robust.py --use-layernorm True --num-episodes 50 --epochs 100',
};
const RETRAIN_MAIN: PlanStep = {
  id: 'phase2-main',
  title: 'Retrain the main model on Robust codes (Phase 2)',
  minHours: 6,
  maxHours: 8,
  planCommand:
    'modal run train_openvla_rfsq.py --rfsq-checkpoint /models/rfsq_robust_best.pt --use-layernorm True',
};
const RETRAIN_DRAFT: PlanStep = {
  id: 'phase2-draft',
  title: 'Retrain the draft model on Robust coarse codes L0–L2 (Phase 2)',
  minHours: 4,
  maxHours: 6,
  planCommand:
    'modal run phase2_draft_retrain/modal_train_draft_with_projection.py --rfsq-checkpoint /models/rfsq_robust_best.pt --use-layernorm True',
};
const EVALUATE: PlanStep = {
  id: 'phase3',
  title: 'Evaluate in LIBERO with speculative decoding (Phase 3)',
  minHours: 3,
  maxHours: 4,
  planCommand: 'modal run phase3/modal_phase3_libero_eval.py --num-trials 50 --use-speculative-decoding True',
};

/** The plan's "expected gains" summary table (预期收益总结). */
const FULL_GAINS: ExpectedGain[] = [
  { component: 'Phase 1 MSE', naive: '0.018', robust: '0.010', change: '-44%' },
  { component: 'Main token accuracy', naive: '90.9%', robust: '92–93%', change: '+2–3 points' },
  { component: 'Draft coarse accuracy', naive: '89.7%', robust: '91–92%', change: '+1–2 points' },
  { component: 'LIBERO success rate', naive: '87%', robust: '92%', change: '+5 points' },
  { component: 'Fine-grained success', naive: '78%', robust: '85–88%', change: '+7–10 points' },
  { component: 'Inference time', naive: '48 ms', robust: '48 ms', change: 'same' },
];

export const STRATEGIES: Record<StrategyId, StrategyFacts> = {
  A: {
    id: 'A',
    name: 'full retrain',
    planTime: '3–4 days',
    planTimeOriginal: '3-4天',
    expectedGain: 'largest',
    steps: [TRAIN_ROBUST, RETRAIN_MAIN, RETRAIN_DRAFT, EVALUATE],
    expectedGains: FULL_GAINS,
    caveats: [],
  },
  B: {
    id: 'B',
    name: 'swap only the decoder',
    planTime: '1 hour once Phase 1 is done',
    planTimeOriginal: '1小时',
    expectedGain: 'moderate',
    steps: [
      TRAIN_ROBUST,
      {
        id: 'phase3-swap',
        title: 'Evaluate with the Robust decoder and the existing main and draft models (Phase 3)',
        minHours: 1,
        maxHours: 1,
      },
    ],
    expectedGains: [
      FULL_GAINS[0]!,
      { component: 'LIBERO success rate', naive: '87%', robust: '89–90%', change: '+2–3 points (limited)' },
    ],
    caveats: [
      'The main and draft models still predict tokens learned from the naive RFSQ; the Robust decoder may expect a different token distribution (the plan warns of a mismatch).',
    ],
  },
  C: {
    id: 'C',
    name: 'incremental, with a gate after each stage',
    planTime: '2–3 days of compute; the plan spreads it over 4 weeks',
    planTimeOriginal: '2-3天',
    expectedGain: 'largest, step by step',
    steps: [
      { ...TRAIN_ROBUST, gate: 'improvement > 30%, else stop and check the implementation' },
      {
        id: 'phase3-swap',
        title: 'Evaluate the decoder swap (strategy B) in Phase 3',
        minHours: 1,
        maxHours: 1,
        gate: 'success gain < 5 points: the main model must be retrained; ≥ 5 points: the swap already delivers',
      },
      { ...RETRAIN_MAIN, gate: 'main token accuracy improves over naive' },
      RETRAIN_DRAFT,
      EVALUATE,
    ],
    expectedGains: FULL_GAINS,
    caveats: ['It takes longer and needs several experiments, but it can stop early when the gain is small.'],
  },
};

export const EXPECTED_GAINS_LABEL = 'expected, from the integration plan, not measured';

/** Phase 1 alone takes 2–3 hours in the plan. */
export const PHASE1_HOURS = { min: TRAIN_ROBUST.minHours, max: TRAIN_ROBUST.maxHours };
