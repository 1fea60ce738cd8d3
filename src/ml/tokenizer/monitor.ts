import * as tf from '@tensorflow/tfjs';
import type { ChunkSet } from './config.js';
import { codeEntropyBits } from './evaluate.js';
import { denseOnBackend, mishInPlace } from './float32.js';
import type { ParamSpec, RfsqModel } from './model.js';
import { residualQuantize } from './quantizer.js';

/**
 * The per-epoch monitor of training: evaluation-mode MSE and per-layer code usage, with the dense layers
 * in float32 on the tfjs backend and the activations and the quantizer in one JavaScript pass each, as in
 * the training step. The float64 JavaScript path (evaluate.ts) computes the same thing about 5× slower,
 * which on a large dataset was a quarter of the training time; it stays the one that reports the kept
 * checkpoint's held-out MSE. The two agree to float32 rounding (test/ml/tokenizer/train.test.ts).
 */
export function monitorMseAndCodeUsage(
  model: RfsqModel,
  data: ChunkSet,
): { mse: number; codeUsageBits: number[] } {
  const { actionDim, numLayers, numLevels } = model.config;
  const x = data.data;
  const rows = x.length / actionDim;
  const [s0, s1, s2, s3] = model.specs as [ParamSpec, ParamSpec, ParamSpec, ParamSpec];
  return tf.tidy(() => {
    const dense = (input: Float32Array, spec: ParamSpec): Float32Array =>
      denseOnBackend(input, rows, model.params, spec);
    const hidden = dense(x, s0);
    mishInPlace(hidden);
    const latent = dense(hidden, s1);
    for (let i = 0; i < latent.length; i++) latent[i] = Math.tanh(latent[i] as number);
    const { quantized, codes } = residualQuantize(latent, rows, model.quantizer);
    const decoderHidden = dense(Float32Array.from(quantized), s2);
    mishInPlace(decoderHidden);
    const reconstruction = dense(decoderHidden, s3);
    let sum = 0;
    for (let i = 0; i < x.length; i++) {
      const d = (reconstruction[i] as number) - (x[i] as number);
      sum += d * d;
    }
    return {
      mse: x.length > 0 ? sum / x.length : NaN,
      codeUsageBits: codeEntropyBits(codes, numLayers, numLevels),
    };
  });
}
