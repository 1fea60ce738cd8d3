/**
 * The built-in `demo` dataset: SYNTHETIC, LIBERO-like 7-D actions. It is generated, not recorded:
 * use it to try the pipeline end to end, never to report results.
 *
 * Each episode (100-300 steps) follows a pick-and-place script: reach -> grasp -> move -> release
 * -> retreat. The 6 delta-pose dims are smooth (min-jerk-like bell velocity profiles per phase,
 * plus low-frequency sinusoids and a smoothed random walk), scaled so the per-dim standard
 * deviations are close to LIBERO-spatial's (0.41, 0.35, 0.51, 0.037, 0.072, 0.058), clipped to
 * [-1, 1]. The gripper is binary: -1 (open) / +1 (closed), switching 2 times per episode (close at
 * grasp, open at release), or 4 times when the scripted grasp fails once and is retried.
 */
import { inputError } from '../../core/errors.js';
import { checkPositiveInt } from './validate.js';
import { gaussian, hashSeed, mulberry32 } from './random.js';
import type { ActionDataset, Episode } from './types.js';

/** LIBERO-spatial-like per-dim std of the 6 delta-pose dims the synthetic data aims for. */
export const DEMO_TARGET_STD = [0.41, 0.35, 0.51, 0.037, 0.072, 0.058] as const;
/** Small per-dim means (LIBERO actions are not centred either). */
const DEMO_MEAN = [0.05, 0.04, -0.08, 0.002, 0.004, -0.003] as const;
/** Empirical correction so that the dataset-level std lands on the target (raw signal std is not exactly 1). */
const STD_CALIBRATION = [1.12, 1.22, 1.06, 1.34, 1.326, 1.315] as const;

export const DEMO_DESCRIPTION =
  'synthetic LIBERO-like 7-D actions (generated, not real robot data): smooth reach/grasp/move/release motions, binary gripper';

export interface DemoOptions {
  numEpisodes?: number;
  seed?: number;
}

type Phase = 'reach' | 'grasp' | 'move' | 'release' | 'retreat';

/** Mean direction of each delta-pose dim per phase (x, y, z, roll, pitch, yaw), before noise. */
const PHASE_DIRECTION: Record<Phase, readonly number[]> = {
  reach: [1.2, 0.9, -1.0, 0.4, 0.6, 0.5],
  grasp: [0.0, 0.0, -0.5, 0.0, 0.1, 0.0],
  move: [-1.0, 1.1, 1.3, -0.5, -0.6, 0.7],
  release: [0.0, 0.0, -0.3, 0.0, 0.0, 0.0],
  retreat: [-0.3, -0.4, 1.4, 0.2, 0.3, -0.4],
};

/** Generates one synthetic episode; episode `index` depends only on (seed, index). */
function demoEpisode(seed: number, index: number): Episode {
  const uniform = mulberry32(hashSeed(seed, index, 0x5eed));
  const normal = gaussian(uniform);
  const steps = 100 + Math.floor(uniform() * 201);

  // Phase lengths (fractions of the episode), then integer boundaries.
  const fractions: [Phase, number][] = [
    ['reach', 0.25 + 0.1 * uniform()],
    ['grasp', 0.08 + 0.05 * uniform()],
    ['move', 0.3 + 0.1 * uniform()],
    ['release', 0.06 + 0.04 * uniform()],
  ];
  const used = fractions.reduce((a, [, f]) => a + f, 0);
  fractions.push(['retreat', 1 - used]);
  const phases: { phase: Phase; start: number; end: number }[] = [];
  let start = 0;
  for (const [phase, f] of fractions) {
    const end = phase === 'retreat' ? steps : Math.min(steps, start + Math.max(2, Math.round(f * steps)));
    phases.push({ phase, start, end });
    start = end;
  }

  // Per-phase random amplitudes: the scripted direction, varied per episode (object placement).
  const amplitude = phases.map(({ phase }) =>
    PHASE_DIRECTION[phase].map((m) => 0.7 * m * (0.6 + 0.8 * uniform()) + 0.4 * normal()),
  );
  // Low-frequency sinusoids (1-3 cycles per episode) and an AR(1)-smoothed random walk per dim.
  const sines = Array.from({ length: 6 }, () =>
    Array.from({ length: 2 }, () => ({
      amp: 0.35 * normal(),
      freq: 1 + 2 * uniform(),
      phase: 2 * Math.PI * uniform(),
    })),
  );
  const walk = new Float64Array(6);
  const rho = 0.95;
  const walkScale = 0.45 * Math.sqrt(1 - rho * rho);
  for (let d = 0; d < 6; d++) walk[d] = 0.45 * normal();

  const actions = new Float32Array(steps * 7);
  const failedGrasp = uniform() < 0.3;
  for (let p = 0; p < phases.length; p++) {
    const { phase, start: s, end: e } = phases[p]!;
    const len = Math.max(1, e - s);
    for (let t = s; t < e; t++) {
      const u = (t - s + 0.5) / len; // progress within the phase, in (0, 1)
      const bell = 1.6 * Math.sin(Math.PI * u) ** 2; // min-jerk-like velocity profile, rms ~1
      for (let d = 0; d < 6; d++) {
        walk[d] = rho * walk[d]! + walkScale * normal();
        let v = amplitude[p]![d]! * bell + walk[d]!;
        for (const w of sines[d]!) v += w.amp * Math.sin((2 * Math.PI * w.freq * t) / steps + w.phase);
        const x = DEMO_MEAN[d]! + DEMO_TARGET_STD[d]! * STD_CALIBRATION[d]! * v;
        actions[t * 7 + d] = Math.max(-1, Math.min(1, x));
      }
      // Gripper: closed (+1) from grasp through move; open (-1) otherwise. A failed grasp opens
      // the gripper again in the middle of the grasp phase and re-closes it near its end.
      let closed = phase === 'grasp' || phase === 'move';
      if (phase === 'grasp' && failedGrasp && u > 0.35 && u < 0.7) closed = false;
      actions[t * 7 + 6] = closed ? 1 : -1;
    }
  }
  return { name: `demo_${index}`, actions, steps };
}

/**
 * The built-in SYNTHETIC demo dataset (see the module comment): deterministic by `seed`, and
 * episode i is the same whatever `numEpisodes` is.
 */
export function demoDataset({ numEpisodes = 50, seed = 0 }: DemoOptions = {}): ActionDataset {
  checkPositiveInt(numEpisodes, 'the number of episodes');
  if (!Number.isInteger(seed))
    throw inputError(`The seed must be an integer, got ${seed}`, 'Pass a whole number, e.g. 0.');
  const episodes = Array.from({ length: numEpisodes }, (_, i) => demoEpisode(seed, i));
  return { source: `demo (${DEMO_DESCRIPTION})`, actionDim: 7, episodes };
}
