/**
 * The project's default Phase 1 training config: train to a plateau of the validation MSE (see
 * PlateauStopping in src/ml/tokenizer/train.ts), on every episode of the user's file (the demo: 50, the plan's
 * count). Batches of 32 chunks at a peak rate of 0.007; patience 5, then a cosine decay whose length grows
 * with the training set (defaultCoolDownFraction). Why: the constant-rate phase plateaus within 10–20 epochs
 * at an error 10–100× the final one, so the final quality comes from the decay. README, "`rfsq train`", has
 * the runs; `npm run bench:phase1` measures it against the plan's PyTorch loop.
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
  plateau: { maxEpochs: 100, patience: 5, minRelativeGain: 0.02 },
} as const;

/** Training chunks up to which the default decay is as long as the epochs before it (see below). */
const COOL_DOWN_REFERENCE_CHUNKS = 2000;

/**
 * The default length of the final decay, as a multiple of the epochs before it: training chunks / 2,000,
 * between 1 and 4. Why it grows with the data: the decay anneals away the noise of the constant-rate phase,
 * and the more training data, the further below that plateau the held-out error can go before the model
 * runs out of data, so the longer the decay keeps paying. Measured (Robust, seed 0; held-out MSE, the plan's
 * PyTorch loop in brackets): with 900–1,400 training chunks (demo, sim, 60 LIBERO-like demos) the validation
 * error when the decay starts is 4–7× the final one, and a decay as long as the plateau (1×) reaches
 * 0.35–0.53× the plan's error (demo 1.30e-4 [2.47e-4], sim 7.7e-6 [2.19e-5], libero60 5.4e-5 [1.24e-4]) in
 * 48–64 epochs; 1.3–1.7× bought 13–36% lower errors for 19–33% more epochs, which the time goal (half the
 * plan's wall time) could not afford on sim. With 7,934 (500 demos) the plateau comes at epoch 14, its
 * validation error 126× the final one: 3× stopped at 2.64e-6, above the plan's 2.37e-6, and 4× reached
 * 2.14e-6. The floor keeps a decay at least as long as the plateau; the ceiling, with the 100-epoch cap,
 * bounds the time on larger sets.
 */
export function defaultCoolDownFraction(trainChunks: number): number {
  return Math.min(4, Math.max(1, trainChunks / COOL_DOWN_REFERENCE_CHUNKS));
}

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
