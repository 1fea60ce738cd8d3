/** Default action dimension: 6 delta-pose dims (x, y, z, roll, pitch, yaw) + 1 gripper, as in LIBERO. */
export const DEFAULT_ACTION_DIM = 7;

/** One demonstration: `actions` is row-major [steps, actionDim]. */
export interface Episode {
  name: string;
  actions: Float32Array;
  steps: number;
}

/** A loaded action dataset: episodes in file order (HDF5 demos sorted numerically). */
export interface ActionDataset {
  /** Where the data came from ('demo' or a file path). */
  source: string;
  actionDim: number;
  episodes: Episode[];
}

export interface LoadOptions {
  /** Keep only the first N episodes (after numeric sorting). */
  numEpisodes?: number;
  /** Expected action dimension (default 7). */
  actionDim?: number;
  /** Seed for the synthetic `demo` dataset (default 0). */
  seed?: number;
}

/** Action dimension of an episode, inferred from its buffer (undefined when it has no steps). */
export function episodeDim(episode: Episode): number | undefined {
  return episode.steps > 0 ? episode.actions.length / episode.steps : undefined;
}
