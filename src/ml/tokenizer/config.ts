import { inputError } from '../../core/errors.js';

/** Which residual quantizer the tokenizer uses. See docs/robust-quantizer.md. */
export type QuantizerVariant = 'naive' | 'robust';

/** Sizes of the tokenizer. Every size is configurable; the defaults are the plan's architecture. */
export interface RfsqArchitecture {
  /** Action dimension (7 for a 6-DoF end-effector delta plus gripper). */
  actionDim: number;
  /** Width of the encoder's hidden layer: Linear(actionDim -> encoderWidth), Mish. */
  encoderWidth: number;
  /** Latent size ("hidden" in the plan): Linear(encoderWidth -> latentDim), Tanh. */
  latentDim: number;
  /** Width of the decoder's hidden layer: Linear(latentDim -> decoderWidth), Mish, Linear(-> actionDim). */
  decoderWidth: number;
  /** Number of residual quantization layers. */
  numLayers: number;
  /** Number of levels per layer, evenly spaced in [-1, 1]. */
  numLevels: number;
}

export interface RfsqModelConfig extends RfsqArchitecture {
  variant: QuantizerVariant;
  /**
   * Robust variant only: how many running standard deviations map to the outermost level (the k in
   * z = clip((r - mean) / (k * std), -1, 1)). Ignored by the naive variant.
   */
  sigmas: number;
  /** Robust variant only: momentum of the running mean / variance (like BatchNorm's running stats). */
  emaMomentum: number;
}

export const DEFAULT_ARCHITECTURE: RfsqArchitecture = {
  actionDim: 7,
  encoderWidth: 64,
  latentDim: 16,
  decoderWidth: 64,
  numLayers: 8,
  numLevels: 7,
};

export const DEFAULT_SIGMAS = 3;
export const DEFAULT_EMA_MOMENTUM = 0.05;

export function modelConfig(
  variant: QuantizerVariant,
  overrides: Partial<Omit<RfsqModelConfig, 'variant'>> = {},
): RfsqModelConfig {
  const config: RfsqModelConfig = {
    ...DEFAULT_ARCHITECTURE,
    sigmas: DEFAULT_SIGMAS,
    emaMomentum: DEFAULT_EMA_MOMENTUM,
    ...overrides,
    variant,
  };
  validateModelConfig(config);
  return config;
}

export function validateModelConfig(config: RfsqModelConfig): void {
  if (config.variant !== 'naive' && config.variant !== 'robust') {
    throw inputError(`unknown quantizer variant "${String(config.variant)}"`, 'use "naive" or "robust"');
  }
  for (const key of ['actionDim', 'encoderWidth', 'latentDim', 'decoderWidth', 'numLayers'] as const) {
    const v = config[key];
    if (!Number.isInteger(v) || v < 1 || v > 65536) {
      throw inputError(`${key} must be a positive integer, got ${String(v)}`);
    }
  }
  if (!Number.isInteger(config.numLevels) || config.numLevels < 2 || config.numLevels > 65536) {
    throw inputError(`numLevels must be an integer >= 2, got ${String(config.numLevels)}`);
  }
  if (!(config.sigmas > 0) || !Number.isFinite(config.sigmas)) {
    throw inputError(`sigmas must be a positive number, got ${String(config.sigmas)}`);
  }
  if (!(config.emaMomentum > 0 && config.emaMomentum <= 1)) {
    throw inputError(`emaMomentum must be in (0, 1], got ${String(config.emaMomentum)}`);
  }
}

/**
 * A set of normalized action chunks: `data` is row-major [numChunks, chunkLength, actionDim], values in
 * [-1, 1] (normalized with the 1st/99th percentiles).
 */
export interface ChunkSet {
  data: Float32Array;
  numChunks: number;
  chunkLength: number;
  actionDim: number;
}

export function chunkSet(data: Float32Array, chunkLength: number, actionDim: number): ChunkSet {
  const rowSize = chunkLength * actionDim;
  if (!Number.isInteger(chunkLength) || chunkLength < 1 || !Number.isInteger(actionDim) || actionDim < 1) {
    throw inputError(`invalid chunk shape [${chunkLength}, ${actionDim}]`);
  }
  if (data.length % rowSize !== 0) {
    throw inputError(
      `action data has ${data.length} values, not a multiple of chunkLength*actionDim = ${rowSize}`,
    );
  }
  return { data, numChunks: data.length / rowSize, chunkLength, actionDim };
}

/** Per-dimension normalization statistics (1st / 99th percentiles), stored in the checkpoint. */
export interface NormalizationStats {
  low: number[];
  high: number[];
}
