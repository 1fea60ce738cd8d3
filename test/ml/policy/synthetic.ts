import { Prng } from '../../../src/ml/prng.js';
import { type CodeShape, type PolicyDataset, TOKENIZER_CODE_SHAPE } from '../../../src/ml/policy/model.js';

/**
 * Codes that are a deterministic function of the observation: for layer l and token j,
 *   u[l, j] = (W_l P obs)[j] + coupling * value(code[l - 1, j]),   code[l, j] = clamp(round(1.5 u + 3), 0, 6)
 * with a fixed random projection P [rank, obsDim] (the task's few underlying factors), fixed random maps W_l
 * [tokens, rank] (all from `mapSeed`) and value(c) = -1 + c / 3. Layer l depends on layer l - 1
 * through the coupling, so conditioning on the previous layers helps the main model. Observations are
 * standard normal (from `seed`); train and held-out sets share the maps and differ in the observations.
 */
export function syntheticPolicySet(
  count: number,
  seed: number,
  obsDim = 20,
  mapSeed = 1234,
  coupling = 0.8,
  rank = 4,
  shape: CodeShape = TOKENIZER_CODE_SHAPE,
): PolicyDataset {
  const tokens = shape.chunk * shape.hidden;
  const { layers, levels } = shape;
  const mapRng = new Prng(mapSeed);
  const proj = Float32Array.from({ length: rank * obsDim }, () => mapRng.normal() / Math.sqrt(obsDim));
  const maps = Float32Array.from({ length: layers * tokens * rank }, () => mapRng.normal() / Math.sqrt(rank));
  const rng = new Prng(seed);
  const obs = Float32Array.from({ length: count * obsDim }, () => rng.normal());
  const factors = new Float32Array(count * rank);
  for (let n = 0; n < count; n++)
    for (let r = 0; r < rank; r++)
      for (let i = 0; i < obsDim; i++)
        factors[n * rank + r] =
          (factors[n * rank + r] as number) +
          (proj[r * obsDim + i] as number) * (obs[n * obsDim + i] as number);
  const codes = new Int32Array(count * tokens * layers);
  const mid = (levels - 1) / 2;
  for (let n = 0; n < count; n++)
    for (let j = 0; j < tokens; j++) {
      let prev = 0;
      for (let l = 0; l < layers; l++) {
        let u = coupling * prev;
        const m = (l * tokens + j) * rank;
        for (let r = 0; r < rank; r++) u += (maps[m + r] as number) * (factors[n * rank + r] as number);
        const c = Math.min(levels - 1, Math.max(0, Math.round(1.5 * u + mid)));
        codes[(n * tokens + j) * layers + l] = c;
        prev = -1 + c / mid;
      }
    }
  return { obs, codes, count };
}
