import { inputError } from '../../core/errors.js';
import { checkPositiveInt } from './validate.js';
import { episodeDim, type Episode } from './types.js';

export interface ActionChunks {
  /** Row-major [count, chunk, actionDim]. */
  data: Float32Array;
  count: number;
  chunk: number;
  actionDim: number;
}

/**
 * Cuts each episode into windows of `chunk` consecutive steps, shape [count, chunk, actionDim].
 * Windows never cross episode boundaries. By default they do not overlap (stride = chunk); pass a
 * smaller `stride` for overlapping windows. A tail shorter than `chunk` is dropped, so an
 * episode of T steps gives floor((T - chunk) / stride) + 1 windows (0 if T < chunk).
 */
export function chunkEpisodes(
  episodes: readonly Episode[],
  chunk = 8,
  options: { stride?: number } = {},
): ActionChunks {
  const stride = options.stride ?? chunk;
  checkPositiveInt(chunk, 'the chunk size');
  checkPositiveInt(stride, 'the chunk stride');
  const nonEmpty = episodes.filter((e) => e.steps > 0);
  const first = nonEmpty[0];
  if (first === undefined) {
    throw inputError(
      'There are no actions to chunk (no episode has any steps)',
      'Load a non-empty dataset first.',
    );
  }
  const actionDim = episodeDim(first)!;
  const windows = (steps: number) => (steps < chunk ? 0 : Math.floor((steps - chunk) / stride) + 1);
  const count = nonEmpty.reduce((a, e) => a + windows(e.steps), 0);
  if (count === 0) {
    const longest = Math.max(...nonEmpty.map((e) => e.steps));
    throw inputError(
      `No episode is long enough for chunks of ${chunk} steps (the longest has ${longest} steps)`,
      `Use a chunk size of at most ${longest}.`,
    );
  }
  const size = chunk * actionDim;
  const data = new Float32Array(count * size);
  let k = 0;
  for (const e of nonEmpty) {
    if (episodeDim(e) !== actionDim) {
      throw inputError(
        `Episode "${e.name}" has action dimension ${episodeDim(e)}, expected ${actionDim}`,
        'All episodes must have the same action dimension.',
      );
    }
    for (let w = 0; w < windows(e.steps); w++) {
      const start = w * stride * actionDim;
      data.set(e.actions.subarray(start, start + size), k * size);
      k++;
    }
  }
  return { data, count, chunk, actionDim };
}
