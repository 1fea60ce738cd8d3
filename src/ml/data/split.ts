import { inputError } from '../../core/errors.js';
import { mulberry32 } from './random.js';
import type { Episode } from './types.js';

export interface EpisodeSplit {
  train: Episode[];
  heldOut: Episode[];
}

/**
 * Splits BY EPISODE (no episode is in both sets), deterministically by `seed`. The held-out set has
 * round(n * heldOutFraction) episodes, clamped so both sets get at least one. Each set keeps the
 * original episode order.
 */
export function splitEpisodes(
  episodes: readonly Episode[],
  { heldOutFraction = 0.2, seed = 0 }: { heldOutFraction?: number; seed?: number } = {},
): EpisodeSplit {
  if (!(heldOutFraction > 0 && heldOutFraction < 1)) {
    throw inputError(
      `The held-out fraction must be between 0 and 1 (exclusive), got ${heldOutFraction}`,
      'Pass e.g. 0.2 to hold out 20% of the episodes.',
    );
  }
  const n = episodes.length;
  if (n < 2) {
    throw inputError(
      `Cannot split ${n} episode(s) into train and held-out sets: at least 2 episodes are needed`,
      'Use a dataset with more episodes (or raise --num-episodes).',
    );
  }
  const order = Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const numHeldOut = Math.min(n - 1, Math.max(1, Math.round(n * heldOutFraction)));
  const held = new Set(order.slice(0, numHeldOut));
  return {
    train: episodes.filter((_, i) => !held.has(i)),
    heldOut: episodes.filter((_, i) => held.has(i)),
  };
}
