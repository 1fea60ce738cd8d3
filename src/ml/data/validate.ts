import { inputError } from '../../core/errors.js';
import type { Episode } from './types.js';

/** Throws if any action is NaN or +-Inf, naming the episode, step and dimension (0-based). */
export function checkFinite(episode: Episode, actionDim: number, source: string): void {
  const { actions } = episode;
  for (let i = 0; i < actions.length; i++) {
    const v = actions[i]!;
    if (!Number.isFinite(v)) {
      const step = Math.floor(i / actionDim);
      const dim = i % actionDim;
      const what = Number.isNaN(v) ? 'NaN' : v > 0 ? 'Inf' : '-Inf';
      throw inputError(
        `Episode "${episode.name}" in ${source} has a non-finite action (${what}) at step ${step}, dimension ${dim} (0-based)`,
        'Clean or drop that episode (e.g. filter non-finite actions) and re-export the dataset.',
      );
    }
  }
}

/** Throws if there is no episode with at least one step. */
export function checkNotEmpty(episodes: readonly Episode[], source: string): void {
  if (episodes.length === 0) {
    throw inputError(
      `${source} contains no episodes`,
      'Point to a dataset with at least one demo, or use the built-in synthetic dataset "demo".',
    );
  }
  if (episodes.every((e) => e.steps === 0)) {
    throw inputError(
      `${source} contains ${episodes.length} episode(s) but all of them have zero steps`,
      'Re-export the dataset with its actions, or use the built-in synthetic dataset "demo".',
    );
  }
}

/** Checks an integer option (e.g. --num-episodes) is a positive integer. */
export function checkPositiveInt(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw inputError(
      `${what} must be a positive integer, got ${value}`,
      `Pass a whole number >= 1 for ${what}.`,
    );
  }
}
