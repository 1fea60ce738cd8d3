/**
 * The project's default Phase 1 training config: train to a plateau of the validation MSE (see
 * PlateauStopping in src/ml/tokenizer/train.ts), on every episode of the user's file (the demo: 50, the plan's
 * count). Batches of 32 chunks at a peak rate of 0.007; patience 5, then a cosine decay four times as long
 * as the epochs before it. Why: the constant-rate phase plateaus within 10–20 epochs at an error 10–100×
 * the final one, so the final quality comes from the decay. On 500 LIBERO-like demos (8k training chunks)
 * a decay as long as the plateau (the previous default, peak 0.014) stopped at 36 epochs and 2.3× the plan's
 * PyTorch error; with 0.007 and a decay 4× as long, 70 epochs and 0.9× (README, "`rfsq train`", has the
 * runs). `npm run bench:phase1` measures it against the plan's PyTorch loop.
 */
export const DEFAULT_TRAINING = {
  numEpisodes: 50,
  batchSize: 32,
  lr: 0.007,
  weightDecay: 1e-4,
  entropyWeight: 0,
  chunk: 8,
  seed: 0,
  heldOutFraction: 0.2,
  validationFraction: 0.1,
  plateau: { maxEpochs: 100, patience: 5, minRelativeGain: 0.02, coolDownFraction: 4 },
} as const;

/**
 * Expert demonstrations per simulated task in the embedded default dataset (`--data sim`). 100 per task
 * (about 16k steps, 5 s to collect) is where the miniature's policies become reliable; with 25, behaviour
 * cloning alone reaches about half the success.
 */
export const DEFAULT_SIM_EPISODES_PER_TASK = 100;

/**
 * Phase 2 defaults for the miniature's policies. 12 epochs over the default demos is about 2,400 steps
 * (two minutes per main model on a 2-core machine); with 4 the policies reached 12.5% success, with 8
 * 64–78%, with 12 about 85% (80 trials each, measured on the default demos).
 */
export const PHASE2_DEFAULTS = { epochs: 12, batchSize: 64, lr: 3e-3, labelSmoothing: 0.2, seed: 0 } as const;

/**
 * Phase 3 defaults. `--depth auto` picks the smallest depth whose held-out p99 chunk distance to full
 * depth is at most `actionEps` (normalized action units; see the README, "Decoding with fewer passes", for
 * the measurements behind it). `margin` is the non-inferiority margin, declared before any trial, as a
 * difference of success rates: 5 points worse than the reference at most.
 */
export const PHASE3_DEFAULTS = { actionEps: 0.05, margin: -0.05 } as const;
