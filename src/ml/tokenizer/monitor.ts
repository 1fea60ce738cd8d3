import * as tf from '@tensorflow/tfjs';
import type { ChunkSet } from './config.js';
import { codeEntropyBits } from './evaluate.js';
import type { ParamSpec, RfsqModel } from './model.js';
import { residualQuantize } from './quantizer.js';

/**
 * The per-epoch monitor of training: evaluation-mode MSE and per-layer code usage, with the dense layers
 * in float32 on the tfjs backend. The float64 JavaScript path (evaluate.ts) computes the same thing about
 * 5× slower, which on a large dataset was a quarter of the training time; it stays the one that reports
 * the kept checkpoint's held-out MSE. The two agree to float32 rounding (test/ml/tokenizer/train.test.ts).
 */
export function monitorMseAndCodeUsage(
  model: RfsqModel,
  data: ChunkSet,
): { mse: number; codeUsageBits: number[] } {
  const { actionDim, latentDim, numLayers, numLevels } = model.config;
  const x = data.data;
  const rows = x.length / actionDim;
  const [s0, s1, s2, s3] = model.specs as [ParamSpec, ParamSpec, ParamSpec, ParamSpec];
  return tf.tidy(() => {
    const dense = (input: tf.Tensor2D, spec: ParamSpec): tf.Tensor2D => {
      const kernelEnd = spec.offset + spec.inDim * spec.outDim;
      return tf.fused.matMul({
        a: input,
        b: tf.tensor2d(model.params.subarray(spec.offset, kernelEnd), [spec.inDim, spec.outDim]),
        bias: tf.tensor1d(model.params.subarray(kernelEnd, kernelEnd + spec.outDim)),
      }) as tf.Tensor2D;
    };
    const mish = (t: tf.Tensor2D): tf.Tensor2D => tf.mul(t, tf.tanh(tf.softplus(t)));
    const latent = tf.tanh(dense(mish(dense(tf.tensor2d(x, [rows, actionDim]), s0)), s1));
    const { quantized, codes } = residualQuantize(latent.dataSync(), rows, model.quantizer);
    const q = tf.tensor2d(Float32Array.from(quantized), [rows, latentDim]);
    const reconstruction = dense(mish(dense(q, s2)), s3).dataSync();
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
