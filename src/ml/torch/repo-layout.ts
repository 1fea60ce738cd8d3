import { inputError } from '../../core/errors.js';
import { pytorchTensors } from '../tokenizer/checkpoint.js';
import type { RfsqModel } from '../tokenizer/model.js';
import { levelValues } from '../tokenizer/quantizer.js';
import { PyOrderedDict, TorchTensor } from './pickle.js';

/**
 * The state-dict layout of the research code's tokenizer, `ActionRFSQAE` in Oscar-Ge/RVQExperiment
 * phase1_improved/rfsq_robust.py (and its copy slurm/scripts/models/rfsq_models.py):
 *
 *   encoder.0 Linear(action_dim, 64), encoder.2 Linear(64, hidden_dim)    rfsq_robust.py:214-219
 *   rfsq.layers.<l>.boundaries = linspace(-1, 1, num_levels), a buffer    rfsq_robust.py:41, 114-117
 *   decoder.0 Linear(hidden_dim, 64), decoder.2 Linear(64, action_dim)    rfsq_robust.py:229-233
 *
 * in registration order (encoder, rfsq, decoder). The widths 64 are fixed there, not arguments. rfsq's
 * drop-in module (templates/pytorch/rfsq_robust.py) has the same keys, plus for the Robust tokenizer the
 * per-layer constants `rfsq.layers.<l>.mean` and `rfsq.layers.<l>.scale` [hidden_dim] that decoding needs.
 */

export const REPO_WIDTH = 64;

export const boundariesKey = (layer: number) => `rfsq.layers.${layer}.boundaries`;
export const layerMeanKey = (layer: number) => `rfsq.layers.${layer}.mean`;
export const layerScaleKey = (layer: number) => `rfsq.layers.${layer}.scale`;

/** The model's state dict in the repo's layout (Robust: plus the drop-in module's constants). */
export function repoStateDict(model: RfsqModel): PyOrderedDict {
  const c = model.config;
  if (c.encoderWidth !== REPO_WIDTH || c.decoderWidth !== REPO_WIDTH) {
    throw inputError(
      `this tokenizer's hidden layers are ${c.encoderWidth}/${c.decoderWidth} wide; the research code's ActionRFSQAE has ${REPO_WIDTH} fixed`,
      'export it with --format safetensors or --format npz instead',
    );
  }
  const tensors = pytorchTensors(model);
  const state = new PyOrderedDict();
  const put = (name: string) => {
    const t = tensors[name];
    if (!t) throw new Error(`missing tensor ${name}`);
    state.set(name, new TorchTensor('float32', t.shape, t.data));
  };
  for (const name of ['encoder.0.weight', 'encoder.0.bias', 'encoder.2.weight', 'encoder.2.bias']) put(name);
  const H = c.latentDim;
  for (let l = 0; l < c.numLayers; l++) {
    const boundaries = Float32Array.from(levelValues(c.numLevels));
    state.set(boundariesKey(l), new TorchTensor('float32', [c.numLevels], boundaries));
    if (c.variant === 'robust') {
      state.set(
        layerMeanKey(l),
        new TorchTensor('float32', [H], model.quantizer.mean.slice(l * H, (l + 1) * H)),
      );
      state.set(
        layerScaleKey(l),
        new TorchTensor('float32', [H], model.quantizer.scale.slice(l * H, (l + 1) * H)),
      );
    }
  }
  for (const name of ['decoder.0.weight', 'decoder.0.bias', 'decoder.2.weight', 'decoder.2.bias']) put(name);
  return state;
}
