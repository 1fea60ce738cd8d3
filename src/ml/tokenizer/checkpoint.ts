import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { inputError } from '../../core/errors.js';
import { type NormalizationStats, type RfsqModelConfig, validateModelConfig } from './config.js';
import { denormalize, normalize } from '../data/normalize.js';
import { RfsqModel } from './model.js';
import { createQuantizerState, levelValues } from './quantizer.js';
import { writeCheckpointDir } from '../checkpoint-dir.js';
import { type NamedTensor, decodeSafetensors, encodeSafetensors } from '../safetensors.js';

/**
 * Checkpoint directory layout (format version 1):
 *
 *   config.json         architecture, variant, quantizer constants, normalization statistics, metrics
 *   model.safetensors   F32 tensors, names and layouts of the plan's PyTorch module:
 *     encoder.0.weight [encoderWidth, actionDim]   (PyTorch nn.Linear layout [out, in])
 *     encoder.0.bias   [encoderWidth]
 *     encoder.2.weight [latentDim, encoderWidth]
 *     encoder.2.bias   [latentDim]
 *     decoder.0.weight [decoderWidth, latentDim]
 *     decoder.0.bias   [decoderWidth]
 *     decoder.2.weight [actionDim, decoderWidth]
 *     decoder.2.bias   [actionDim]
 *     rfsq.layer_mean  [numLayers, latentDim]   offset of each layer's quantizer (0 for naive)
 *     rfsq.layer_scale [numLayers, latentDim]   scale of each layer's quantizer (k * running std; 1 for naive)
 *
 * Decoding codes c[..., h, l] (level indices) needs only these tensors:
 *   latent[h] = sum_l (-1 + 2 c[h, l] / (numLevels - 1)) * layer_scale[l, h] + layer_mean[l, h]
 */

export const CHECKPOINT_FORMAT = 'rfsq-tokenizer';
export const CHECKPOINT_FORMAT_VERSION = 1;
export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';

export interface CheckpointMetrics {
  epoch?: number;
  epochs?: number;
  trainMse?: number;
  heldOutMse?: number;
  [key: string]: unknown;
}

export interface CheckpointMeta {
  normalization?: NormalizationStats | undefined;
  metrics?: CheckpointMetrics;
  training?: Record<string, unknown>;
}

const positiveInt = z.number().int().positive();

const configSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  formatVersion: z.number().int(),
  variant: z.enum(['naive', 'robust']),
  architecture: z.object({
    actionDim: positiveInt,
    encoderWidth: positiveInt,
    latentDim: positiveInt,
    decoderWidth: positiveInt,
    numLayers: positiveInt,
    numLevels: z.number().int().min(2),
  }),
  quantizer: z.object({
    sigmas: z.number().positive(),
    emaMomentum: z.number().positive().max(1),
    updates: z.number().int().min(0),
    perVector: z.boolean().optional(),
  }),
  normalization: z
    .object({ low: z.array(z.number()), high: z.array(z.number()) })
    .nullable()
    .optional(),
  metrics: z.record(z.string(), z.unknown()).optional(),
  training: z.record(z.string(), z.unknown()).optional(),
});

export type CheckpointConfig = z.infer<typeof configSchema>;

/** The model's tensors by PyTorch name (see the layout above). */
export function pytorchTensors(model: RfsqModel): Record<string, NamedTensor> {
  const tensors: Record<string, NamedTensor> = {};
  for (const s of model.specs) {
    const weight = new Float32Array(s.inDim * s.outDim);
    for (let i = 0; i < s.inDim; i++) {
      for (let o = 0; o < s.outDim; o++)
        weight[o * s.inDim + i] = model.params[s.offset + i * s.outDim + o] as number;
    }
    const biasStart = s.offset + s.inDim * s.outDim;
    tensors[`${s.name}.weight`] = { dtype: 'F32', shape: [s.outDim, s.inDim], data: weight };
    tensors[`${s.name}.bias`] = {
      dtype: 'F32',
      shape: [s.outDim],
      data: model.params.slice(biasStart, biasStart + s.outDim),
    };
  }
  const { numLayers, latentDim } = model.config;
  tensors['rfsq.layer_mean'] = {
    dtype: 'F32',
    shape: [numLayers, latentDim],
    data: model.quantizer.mean.slice(),
  };
  tensors['rfsq.layer_scale'] = {
    dtype: 'F32',
    shape: [numLayers, latentDim],
    data: model.quantizer.scale.slice(),
  };
  return tensors;
}

function rows2d(a: Float32Array, cols: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < a.length; i += cols) out.push(Array.from(a.subarray(i, i + cols)));
  return out;
}

function validateNormalization(stats: NormalizationStats, actionDim: number): void {
  if (stats.low.length !== actionDim || stats.high.length !== actionDim) {
    throw inputError(
      `normalization statistics have ${stats.low.length}/${stats.high.length} values, expected ${actionDim}`,
    );
  }
  if (![...stats.low, ...stats.high].every(Number.isFinite)) {
    throw inputError('normalization statistics contain non-finite values');
  }
}

/**
 * Write a checkpoint directory atomically: the files are written and fsynced in a temporary directory next
 * to `dir`, which is then renamed into place. An existing checkpoint at `dir` is replaced; any other
 * existing non-empty directory is refused.
 */
export async function saveCheckpoint(
  dir: string,
  model: RfsqModel,
  meta: CheckpointMeta = {},
): Promise<void> {
  if (meta.normalization) validateNormalization(meta.normalization, model.config.actionDim);
  const c = model.config;
  const config = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    variant: c.variant,
    architecture: {
      actionDim: c.actionDim,
      encoderWidth: c.encoderWidth,
      latentDim: c.latentDim,
      decoderWidth: c.decoderWidth,
      numLayers: c.numLayers,
      numLevels: c.numLevels,
    },
    quantizer: {
      rule:
        'u = clip((r - layer_mean) / layer_scale, -1, 1); idx = floor((u + 1) * (numLevels - 1) / 2 + 0.5); ' +
        'q = (-1 + 2 idx / (numLevels - 1)) * layer_scale + layer_mean; r <- r - q; latent = sum of q',
      levels: levelValues(c.numLevels),
      sigmas: c.sigmas,
      emaMomentum: c.emaMomentum,
      updates: model.quantizer.updates,
      layerMean: rows2d(model.quantizer.mean, c.latentDim),
      layerScale: rows2d(model.quantizer.scale, c.latentDim),
      ...(model.quantizer.perVector
        ? {
            perVector: true,
            perVectorRule:
              "the research code's LayerNorm strategy: each residual vector normalized by its own mean and std + 1e-5, " +
              'which the codes do not carry; decoding uses the levels only (layer_mean 0, layer_scale 1)',
          }
        : {}),
    },
    normalization: meta.normalization
      ? {
          method: 'x_norm = clip(2 * (x - low) / (high - low) - 1, -1, 1); low/high = 1st/99th percentiles',
          low: meta.normalization.low,
          high: meta.normalization.high,
        }
      : null,
    metrics: meta.metrics ?? {},
    training: meta.training ?? {},
    codes: { shape: '[N, chunk, latentDim, numLayers]', dtype: 'int32 level indices 0..numLevels-1' },
    createdAt: new Date().toISOString(),
  };
  await writeCheckpointDir(
    dir,
    {
      [WEIGHTS_FILE]: encodeSafetensors(pytorchTensors(model), {
        format: CHECKPOINT_FORMAT,
        variant: c.variant,
      }),
      [CONFIG_FILE]: JSON.stringify(config, null, 2) + '\n',
    },
    { marker: CONFIG_FILE, what: 'an rfsq checkpoint' },
  );
}

/** Normalize raw actions to [-1, 1] with the checkpoint's per-dim 1st/99th percentiles (clipped). */
export const normalizeActions: (actions: Float32Array, stats: NormalizationStats) => Float32Array = normalize;

/** Map normalized actions back to raw units. */
export const denormalizeActions: (normalized: Float32Array, stats: NormalizationStats) => Float32Array =
  denormalize;

/** A loaded checkpoint: the model plus its config.json. */
export class Checkpoint {
  constructor(
    readonly dir: string,
    readonly model: RfsqModel,
    readonly config: CheckpointConfig,
  ) {}

  get normalization(): NormalizationStats | undefined {
    return this.config.normalization ?? undefined;
  }

  /** Normalized actions [N, chunk, actionDim] -> codes [N, chunk, latentDim, numLayers]. */
  encode(actionsNormalized: Float32Array): Int32Array {
    return this.model.encode(actionsNormalized);
  }

  /** Codes -> normalized actions. */
  decodeFromCodes(codes: Int32Array): Float32Array {
    return this.model.decodeFromCodes(codes);
  }

  reconstruct(actionsNormalized: Float32Array): Float32Array {
    return this.model.reconstruct(actionsNormalized);
  }

  normalize(actions: Float32Array): Float32Array {
    if (!this.normalization) throw inputError(`checkpoint ${this.dir} has no normalization statistics`);
    return normalizeActions(actions, this.normalization);
  }

  denormalize(actionsNormalized: Float32Array): Float32Array {
    if (!this.normalization) throw inputError(`checkpoint ${this.dir} has no normalization statistics`);
    return denormalizeActions(actionsNormalized, this.normalization);
  }
}

/** Load and validate a checkpoint directory written by saveCheckpoint. */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const retrain = 'train a tokenizer first with `rfsq train`, or pass the directory it wrote';
  let st;
  try {
    st = await stat(dir);
  } catch {
    throw inputError(`checkpoint directory ${dir} does not exist`, retrain);
  }
  if (!st.isDirectory()) throw inputError(`${dir} is not a directory`, retrain);
  const configPath = path.join(dir, CONFIG_FILE);
  let raw: string;
  try {
    raw = await readFile(configPath, 'utf8');
  } catch {
    throw inputError(`${dir} is not an rfsq checkpoint (no ${CONFIG_FILE})`, retrain);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw inputError(`${configPath} is not valid JSON`, 'the checkpoint is corrupt; train it again');
  }
  const j = json as { format?: unknown; formatVersion?: unknown };
  if (j?.format !== CHECKPOINT_FORMAT) {
    throw inputError(
      `${dir} is not an rfsq checkpoint (config.json has format ${JSON.stringify(j?.format)})`,
      retrain,
    );
  }
  if (j.formatVersion !== CHECKPOINT_FORMAT_VERSION) {
    throw inputError(
      `checkpoint ${dir} has format version ${String(j.formatVersion)}; this rfsq reads version ${CHECKPOINT_FORMAT_VERSION}`,
      'retrain the tokenizer with this version of rfsq, or use the rfsq version that wrote it',
    );
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw inputError(
      `${configPath} is invalid: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'schema mismatch'}`,
      'the checkpoint is corrupt; train it again',
    );
  }
  const config = parsed.data;
  const modelConfig: RfsqModelConfig = {
    ...config.architecture,
    variant: config.variant,
    sigmas: config.quantizer.sigmas,
    emaMomentum: config.quantizer.emaMomentum,
  };
  validateModelConfig(modelConfig);
  if (config.normalization) validateNormalization(config.normalization, modelConfig.actionDim);

  const weightsPath = path.join(dir, WEIGHTS_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(weightsPath);
  } catch {
    throw inputError(
      `checkpoint ${dir} has no ${WEIGHTS_FILE}`,
      'the checkpoint is incomplete; train it again',
    );
  }
  const { tensors } = decodeSafetensors(bytes, weightsPath);
  const model = modelFromTensors(modelConfig, tensors, weightsPath, {
    hint: 'the checkpoint is corrupt; train it again',
    mismatch: 'config.json and model.safetensors do not belong together; train the checkpoint again',
  });
  const q = model.quantizer;
  q.perVector = config.quantizer.perVector === true ? true : undefined;
  q.updates = config.quantizer.updates;
  return new Checkpoint(dir, model, config);
}

/**
 * A model from tensors named and laid out as in model.safetensors (see the layout above); `source` names
 * them in errors, `hints` say how to fix a missing/corrupt tensor and a shape mismatch.
 */
export function modelFromTensors(
  modelConfig: RfsqModelConfig,
  tensors: Record<string, NamedTensor>,
  source: string,
  hints: { hint: string; mismatch: string },
): RfsqModel {
  const model = new RfsqModel(modelConfig);
  const take = (name: string, shape: number[]): Float32Array => {
    const t = tensors[name];
    if (!t) throw inputError(`${source} has no tensor ${name}`, hints.hint);
    if (t.dtype !== 'F32' || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw inputError(
        `${source}: tensor ${name} has shape [${t.shape.join(', ')}] (${t.dtype}), expected [${shape.join(', ')}] (F32)`,
        hints.mismatch,
      );
    }
    if (!(t.data as Float32Array).every(Number.isFinite)) {
      throw inputError(`${source}: tensor ${name} contains non-finite values`, hints.hint);
    }
    return t.data as Float32Array;
  };
  for (const s of model.specs) {
    const weight = take(`${s.name}.weight`, [s.outDim, s.inDim]);
    for (let i = 0; i < s.inDim; i++) {
      for (let o = 0; o < s.outDim; o++)
        model.params[s.offset + i * s.outDim + o] = weight[o * s.inDim + i] as number;
    }
    model.params.set(take(`${s.name}.bias`, [s.outDim]), s.offset + s.inDim * s.outDim);
  }
  const { numLayers, latentDim, numLevels } = modelConfig;
  const q = createQuantizerState(numLayers, latentDim, numLevels);
  q.mean.set(take('rfsq.layer_mean', [numLayers, latentDim]));
  q.scale.set(take('rfsq.layer_scale', [numLayers, latentDim]));
  if (!q.scale.every((v) => v > 0))
    throw inputError(`${source}: rfsq.layer_scale must be positive`, hints.hint);
  for (let i = 0; i < q.mean.length; i++) {
    q.runningMean[i] = q.mean[i] as number;
    q.runningVar[i] = ((q.scale[i] as number) / modelConfig.sigmas) ** 2;
  }
  model.quantizer = q;
  return model;
}
