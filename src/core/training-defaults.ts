/**
 * The project's default Phase 1 training config. It reaches a lower held-out MSE than the plan's
 * config (50 episodes, 100 epochs, batch 64) in a fraction of its time: smaller batches and a higher
 * peak rate give more, cheaper steps. `npm run bench` measures both side by side.
 */
export const DEFAULT_TRAINING = {
  numEpisodes: 50,
  epochs: 20,
  batchSize: 16,
  lr: 0.02,
  weightDecay: 1e-4,
  entropyWeight: 0,
  chunk: 8,
  seed: 0,
  heldOutFraction: 0.2,
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
