import * as tf from '@tensorflow/tfjs';
import type { ParamSpec } from './model.js';

/**
 * The float32 building blocks of the training step (train.ts) and the per-epoch monitor (monitor.ts):
 * the dense layers' matMuls on the tfjs backend, everything elementwise as one JavaScript pass over a
 * Float32Array (on the WebAssembly backend an op costs tens of microseconds, a JavaScript pass over a
 * batch's activations a few).
 */

/** y = x W + b on the backend, for x [rows, spec.inDim] (call inside tf.tidy). */
export function denseOnBackend(
  x: Float32Array,
  rows: number,
  params: Float32Array,
  spec: ParamSpec,
): Float32Array {
  const kernelEnd = spec.offset + spec.inDim * spec.outDim;
  return tf.fused
    .matMul({
      a: tf.tensor2d(x, [rows, spec.inDim]),
      b: tf.tensor2d(params.subarray(spec.offset, kernelEnd), [spec.inDim, spec.outDim]),
      bias: tf.tensor1d(params.subarray(kernelEnd, kernelEnd + spec.outDim)),
    })
    .dataSync() as Float32Array;
}

/**
 * Mish in place on a pre-activation `h` (float64 arithmetic, float32 results); with `slope`, also its
 * derivative, for the backward pass.
 */
export function mishInPlace(h: Float32Array, slope?: Float32Array): void {
  for (let i = 0; i < h.length; i++) {
    const v = h[i] as number;
    if (v > 20) {
      if (slope) slope[i] = 1;
      continue;
    }
    const e = Math.exp(v);
    const num = e * (e + 2);
    const t = num / (num + 2); // tanh(softplus(v))
    h[i] = v * t;
    if (slope) slope[i] = t + (v * (1 - t * t) * e) / (1 + e);
  }
}
