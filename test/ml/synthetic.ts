import { type ChunkSet, chunkSet } from '../../src/ml/tokenizer/config.js';
import { Prng } from '../../src/ml/prng.js';

/**
 * Smooth random 7-D action sequences resembling normalized LIBERO actions: 6 continuous dims (sums of a few
 * random low-frequency sinusoids with amplitude in [-0.9, 0.9]) and a gripper dim switching between -1 and
 * 1. Returned as chunks [episodes * chunksPerEpisode, chunkLength, 7].
 */
export function smoothEpisodes(
  episodes: number,
  stepsPerEpisode: number,
  chunkLength: number,
  seed: number,
  actionDim = 7,
): ChunkSet {
  const rng = new Prng(seed);
  const chunksPerEpisode = Math.floor(stepsPerEpisode / chunkLength);
  const steps = chunksPerEpisode * chunkLength;
  const data = new Float32Array(episodes * steps * actionDim);
  let o = 0;
  for (let e = 0; e < episodes; e++) {
    const comps = Array.from({ length: actionDim }, () =>
      Array.from({ length: 3 }, () => ({
        a: rng.uniform(0.1, 0.35),
        f: rng.uniform(0.005, 0.05),
        p: rng.uniform(0, 2 * Math.PI),
      })),
    );
    let grip = rng.next() < 0.5 ? -1 : 1;
    for (let t = 0; t < steps; t++) {
      if (rng.next() < 0.02) grip = -grip;
      for (let d = 0; d < actionDim; d++) {
        if (d === actionDim - 1) {
          data[o++] = grip;
          continue;
        }
        let v = 0;
        for (const c of comps[d]!) v += c.a * Math.sin(2 * Math.PI * c.f * t + c.p);
        data[o++] = Math.max(-1, Math.min(1, v + 0.01 * rng.normal()));
      }
    }
  }
  return chunkSet(data, chunkLength, actionDim);
}
