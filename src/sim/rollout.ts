/** Running policies in a SimEnv: open-loop action chunks for evaluation, and the scripted expert. */
import { inputError } from '../core/errors.js';
import { ACTION_DIM, type SimEnv } from './env.js';
import { ScriptedExpert, type ExpertOptions } from './expert.js';
import type { SimState } from './observation.js';

/** Maps an observation to a chunk of actions, row-major [chunk, 7] (a single action is a chunk of 1). */
export type ChunkPolicy = (obs: Float32Array) => Float32Array | Promise<Float32Array>;

export interface Trajectory {
  /** Observations before each executed action: [steps, OBS_DIM] row-major. */
  obs: Float32Array[];
  /** Executed actions [steps, 7]. */
  actions: Float32Array[];
  /** Simulator state before the first and after every action (steps + 1 entries). */
  states: SimState[];
  /** The scripted expert's noise-free action at each step (expert episodes only). */
  intended?: Float32Array[];
}

export interface EpisodeResult {
  success: boolean;
  steps: number;
  trajectory: Trajectory;
}

/**
 * Runs one episode from the environment's current state (call env.reset first): asks the policy for a
 * chunk, executes every action of the chunk open loop, and repeats until success or `maxSteps`.
 */
export async function runEpisode(
  env: SimEnv,
  policy: ChunkPolicy,
  options: { maxSteps?: number } = {},
): Promise<EpisodeResult> {
  const maxSteps = options.maxSteps ?? env.maxSteps;
  const trajectory: Trajectory = { obs: [], actions: [], states: [env.state()] };
  let obs = env.observe();
  let success = env.isSuccess();
  while (!success && env.steps < maxSteps) {
    const chunk = await policy(obs);
    if (chunk.length === 0 || chunk.length % ACTION_DIM !== 0) {
      throw inputError(
        `The policy returned ${chunk.length} values, which is not a whole number of ${ACTION_DIM}-D actions`,
        'Return a Float32Array of [chunk, 7] actions, row-major.',
      );
    }
    for (let off = 0; off < chunk.length && !success && env.steps < maxSteps; off += ACTION_DIM) {
      ({ obs, success } = recordStep(env, trajectory, obs, chunk.slice(off, off + ACTION_DIM)));
    }
  }
  return { success, steps: env.steps, trajectory };
}

/** Executes one action and records the observation before it, the action and the state after it. */
function recordStep(env: SimEnv, trajectory: Trajectory, obs: Float32Array, action: Float32Array) {
  trajectory.obs.push(obs);
  trajectory.actions.push(action);
  const result = env.step(action);
  trajectory.states.push(env.state());
  return result;
}

/** Resets `env` to episode `seed` and runs the scripted expert (synchronously), executing its noisy actions. */
export function runExpertEpisode(env: SimEnv, seed: number, options: ExpertOptions = {}): EpisodeResult {
  let obs = env.reset(seed);
  const expert = new ScriptedExpert(env.task, { seed, ...options });
  const intended: Float32Array[] = [];
  const trajectory: Trajectory = { obs: [], actions: [], states: [env.state()], intended };
  let success = false;
  while (!success && env.steps < env.maxSteps) {
    const decision = expert.decide(obs);
    intended.push(decision.intended);
    ({ obs, success } = recordStep(env, trajectory, obs, decision.executed));
  }
  return { success, steps: env.steps, trajectory };
}
