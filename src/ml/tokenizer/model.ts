import { inputError } from '../../core/errors.js';
import { type RfsqModelConfig, validateModelConfig } from './config.js';
import { Prng } from '../prng.js';
import {
  type QuantizerState,
  cloneQuantizerState,
  createQuantizerState,
  decodeCodes,
  residualQuantize,
} from './quantizer.js';

/**
 * The tokenizer's parameters and its evaluation-mode forward pass, in plain float64 JavaScript (no
 * TensorFlow.js needed): encoding, decoding from codes and reconstruction. Training (src/ml/train.ts) runs
 * the same network on TensorFlow.js in float32 and writes the parameters back here.
 *
 * The evaluation path computes in float64 and rounds the latent z to float32 before quantizing, so the
 * PyTorch template, doing the same, produces identical codes.
 */

/** One dense layer's parameters inside the flat parameter vector. Kernels are [in, out] row-major. */
export interface ParamSpec {
  /** PyTorch name of the weight (the bias is the same with `.bias`). */
  name: string;
  inDim: number;
  outDim: number;
  /** Offset of the [in, out] kernel in the flat vector; the bias [out] follows it. */
  offset: number;
}

export function paramLayout(config: RfsqModelConfig): { specs: ParamSpec[]; size: number } {
  const dims: [string, number, number][] = [
    ['encoder.0', config.actionDim, config.encoderWidth],
    ['encoder.2', config.encoderWidth, config.latentDim],
    ['decoder.0', config.latentDim, config.decoderWidth],
    ['decoder.2', config.decoderWidth, config.actionDim],
  ];
  let offset = 0;
  const specs = dims.map(([name, inDim, outDim]) => {
    const spec = { name, inDim, outDim, offset };
    offset += inDim * outDim + outDim;
    return spec;
  });
  return { specs, size: offset };
}

/** Mish(x) = x * tanh(softplus(x)) = x * n / (n + 2) with n = e^x (e^x + 2), in float64. */
export function mish(x: number): number {
  if (x > 20) return x;
  const e = Math.exp(x);
  const n = e * (e + 2);
  return (x * n) / (n + 2);
}

function dense(
  input: Float64Array,
  rows: number,
  params: Float32Array,
  spec: ParamSpec,
  activation: 'mish' | 'tanh' | 'none',
): Float64Array {
  const { inDim, outDim, offset } = spec;
  const biasOffset = offset + inDim * outDim;
  const out = new Float64Array(rows * outDim);
  for (let row = 0; row < rows; row++) {
    const o = row * outDim;
    for (let j = 0; j < outDim; j++) out[o + j] = params[biasOffset + j] as number;
    for (let i = 0; i < inDim; i++) {
      const xi = input[row * inDim + i] as number;
      if (xi === 0) continue;
      const w = offset + i * outDim;
      for (let j = 0; j < outDim; j++) out[o + j] = (out[o + j] as number) + xi * (params[w + j] as number);
    }
    if (activation === 'mish') {
      for (let j = 0; j < outDim; j++) out[o + j] = mish(out[o + j] as number);
    } else if (activation === 'tanh') {
      for (let j = 0; j < outDim; j++) out[o + j] = Math.tanh(out[o + j] as number);
    }
  }
  return out;
}

export interface EvalForward {
  /** Reconstructed normalized actions, same shape as the input. */
  reconstruction: Float32Array;
  /** Level indices [rows, latentDim, numLayers]. */
  codes: Int32Array;
}

export class RfsqModel {
  readonly config: RfsqModelConfig;
  readonly specs: ParamSpec[];
  /** Flat parameter vector (see paramLayout). */
  params: Float32Array;
  quantizer: QuantizerState;

  constructor(config: RfsqModelConfig, params?: Float32Array, quantizer?: QuantizerState) {
    validateModelConfig(config);
    this.config = { ...config };
    const { specs, size } = paramLayout(config);
    this.specs = specs;
    if (params && params.length !== size) {
      throw inputError(`parameter vector has ${params.length} values, the architecture needs ${size}`);
    }
    this.params = params ?? new Float32Array(size);
    this.quantizer = quantizer ?? createQuantizerState(config.numLayers, config.latentDim, config.numLevels);
  }

  /** A model with PyTorch's default nn.Linear init (uniform(+-1/sqrt(fan_in))), from a seed. */
  static initialize(config: RfsqModelConfig, seed: number): RfsqModel {
    const model = new RfsqModel(config);
    const rng = new Prng(seed);
    for (const spec of model.specs) {
      const bound = 1 / Math.sqrt(spec.inDim);
      const end = spec.offset + spec.inDim * spec.outDim + spec.outDim;
      for (let i = spec.offset; i < end; i++) model.params[i] = rng.uniform(-bound, bound);
    }
    return model;
  }

  clone(): RfsqModel {
    return new RfsqModel(this.config, this.params.slice(), cloneQuantizerState(this.quantizer));
  }

  get numParams(): number {
    return this.params.length;
  }

  /** Number of tokens per action step: latentDim * numLayers. */
  get tokensPerStep(): number {
    return this.config.latentDim * this.config.numLayers;
  }

  private rowsOf(actions: Float32Array): number {
    const a = this.config.actionDim;
    if (actions.length % a !== 0) {
      throw inputError(`actions have ${actions.length} values, not a multiple of actionDim ${a}`);
    }
    return actions.length / a;
  }

  /** Encoder output z (tanh, rounded to float32), [rows, latentDim]. */
  latent(actions: Float32Array): Float32Array {
    const rows = this.rowsOf(actions);
    const x = Float64Array.from(actions);
    const [s0, s1] = this.specs as [ParamSpec, ParamSpec];
    const h = dense(x, rows, this.params, s0, 'mish');
    return Float32Array.from(dense(h, rows, this.params, s1, 'tanh'));
  }

  /** Decoder applied to a quantized latent [rows, latentDim]. */
  decodeLatent(quantized: Float64Array): Float32Array {
    const rows = quantized.length / this.config.latentDim;
    const [, , s2, s3] = this.specs as [ParamSpec, ParamSpec, ParamSpec, ParamSpec];
    const h = dense(quantized, rows, this.params, s2, 'mish');
    return Float32Array.from(dense(h, rows, this.params, s3, 'none'));
  }

  /** Evaluation-mode forward pass (fixed quantizer constants). Input is [..., actionDim] normalized. */
  forward(actions: Float32Array): EvalForward {
    const z = this.latent(actions);
    const { quantized, codes } = residualQuantize(z, z.length / this.config.latentDim, this.quantizer);
    return { reconstruction: this.decodeLatent(quantized), codes };
  }

  /** Codes [rows, latentDim, numLayers] (for input [N, chunk, actionDim]: [N, chunk, latentDim, numLayers]). */
  encode(actions: Float32Array): Int32Array {
    const z = this.latent(actions);
    return residualQuantize(z, z.length / this.config.latentDim, this.quantizer).codes;
  }

  /** Reconstruct normalized actions from codes alone. */
  decodeFromCodes(codes: Int32Array): Float32Array {
    if (codes.length % this.tokensPerStep !== 0) {
      throw inputError(
        `codes have ${codes.length} values, not a multiple of latentDim*numLayers = ${this.tokensPerStep}`,
      );
    }
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i] as number;
      if (c < 0 || c >= this.config.numLevels) {
        throw inputError(`code ${c} at position ${i} is out of range 0..${this.config.numLevels - 1}`);
      }
    }
    return this.decodeLatent(decodeCodes(codes, this.quantizer));
  }

  /** decode(encode(x)). */
  reconstruct(actions: Float32Array): Float32Array {
    return this.forward(actions).reconstruction;
  }
}
