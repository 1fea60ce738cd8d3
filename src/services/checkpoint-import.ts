import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { inputError } from '../core/errors.js';
import { type CheckpointMeta, modelFromTensors, saveCheckpoint } from '../ml/tokenizer/checkpoint.js';
import { type NormalizationStats, type QuantizerVariant, modelConfig } from '../ml/tokenizer/config.js';
import { levelValues } from '../ml/tokenizer/quantizer.js';
import type { NamedTensor } from '../ml/safetensors.js';
import { type PyKey, type PyValue, PyOrderedDict, TorchTensor } from '../ml/torch/pickle.js';
import { decodeTorchCheckpoint } from '../ml/torch/pt.js';
import { boundariesKey, layerMeanKey, layerScaleKey } from '../ml/torch/repo-layout.js';
import { RFSQ_SECTION } from './checkpoint-export.js';

export interface ImportRequest {
  from: string;
  out: string;
  /** Overrides the file's config.use_layernorm (needed when the file has no config). */
  useLayernorm?: boolean;
}

/** Which quantizer the imported tokenizer uses. */
export type ImportedQuantizer = 'naive' | 'rfsq-robust' | 'per-vector-layernorm';

export interface ImportReport {
  from: string;
  out: string;
  /** An earlier `rfsq export`, or a checkpoint the research code's trainers wrote. */
  writtenBy: 'rfsq export' | 'research code';
  stateDictKey: string;
  variant: QuantizerVariant;
  quantizer: ImportedQuantizer;
  architecture: { actionDim: number; latentDim: number; numLayers: number; numLevels: number };
  normalization: 'recorded in the export' | 'assumed: actions already in [-1, 1]';
  metrics: Record<string, unknown>;
  warnings: string[];
}

const HINT = "pass a .pt whose 'model_state_dict' (or 'model') is an ActionRFSQAE state dict";
const LAYERS = ['encoder.0', 'encoder.2', 'decoder.0', 'decoder.2'] as const;

function get(value: PyValue | undefined, key: string): PyValue | undefined {
  return value instanceof Map ? value.get(key) : undefined;
}

/** A Python number, or a 0-d tensor (how `rfsq export` stores floats). */
function scalar(value: PyValue | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof TorchTensor && value.data.length === 1) return Number(value.data[0]);
  return undefined;
}

function float32(tensor: TorchTensor, name: string, source: string): Float32Array {
  if (!['float32', 'float64', 'float16', 'bfloat16'].includes(tensor.dtype)) {
    throw inputError(`${source}: tensor ${name} is ${tensor.dtype}, not floating point`, HINT);
  }
  return tensor.data instanceof Float32Array ? tensor.data : Float32Array.from(tensor.data as Float64Array);
}

function findStateDict(top: PyValue, source: string): { key: string; state: Map<PyKey, PyValue> } {
  for (const key of ['model_state_dict', 'model']) {
    const state = get(top, key);
    if (state instanceof Map) return { key, state };
  }
  if (top instanceof PyOrderedDict && top.has('encoder.0.weight'))
    return { key: '(the whole file)', state: top };
  throw inputError(`${source} has no 'model_state_dict' or 'model' state dict`, HINT);
}

function readConfig(top: PyValue): Map<PyKey, PyValue> | undefined {
  // modal_train_rfsq_robust.py:410 saves 'config'; train_phase1_rfsq.py:281 passes it as extra_state,
  // which slurm/utils/checkpoint_manager.py:91 stores under 'extra_state'.
  const config = get(top, 'config') ?? get(get(top, 'extra_state'), 'config');
  return config instanceof Map ? config : undefined;
}

/**
 * `rfsq import`: a .pt that the research code's trainers (or `rfsq export`) wrote, as an rfsq checkpoint
 * folder that `rfsq compare`, `rfsq encode` and `rfsq export` take. The file is parsed without Python and
 * nothing in it is executed (see ml/torch/pickle.ts).
 */
export async function importCheckpoint(request: ImportRequest): Promise<ImportReport> {
  const source = request.from;
  let bytes: Buffer;
  try {
    bytes = await readFile(source);
  } catch {
    throw inputError(
      `cannot read ${source}`,
      'pass the .pt file the trainer wrote, e.g. --from rfsq_robust_best.pt',
    );
  }
  const top = decodeTorchCheckpoint(bytes, source);
  const { key: stateDictKey, state } = findStateDict(top, source);
  const tensors = new Map<string, TorchTensor>();
  for (const [name, value] of state) {
    if (typeof name !== 'string' || !(value instanceof TorchTensor)) {
      throw inputError(`${source}: ${stateDictKey} holds ${String(name)}, which is not a tensor`, HINT);
    }
    tensors.set(name, value);
  }
  const tensor = (name: string): TorchTensor => {
    const t = tensors.get(name);
    if (!t)
      throw inputError(
        `${source}: ${stateDictKey} has no ${name}; it is not an ActionRFSQAE state dict`,
        HINT,
      );
    return t;
  };
  const [width, actionDim] = tensor('encoder.0.weight').shape;
  const latentDim = tensor('encoder.2.weight').shape[0];
  const decoderWidth = tensor('decoder.0.weight').shape[0];
  let numLayers = 0;
  while (tensors.has(boundariesKey(numLayers))) numLayers++;
  if (numLayers === 0) throw inputError(`${source}: ${stateDictKey} has no ${boundariesKey(0)}`, HINT);
  const numLevels = tensor(boundariesKey(0)).shape[0];
  if (!width || !actionDim || !latentDim || !decoderWidth || !numLevels || numLevels < 2) {
    throw inputError(`${source}: ${stateDictKey} has tensors of unexpected shapes`, HINT);
  }

  const config = readConfig(top);
  const declared = {
    action_dim: actionDim,
    hidden_dim: latentDim,
    num_layers: numLayers,
    num_levels: numLevels,
  };
  for (const [name, found] of Object.entries(declared)) {
    const value = scalar(get(config, name));
    if (value !== undefined && value !== found) {
      throw inputError(`${source}: config.${name} is ${value}, but the state dict has ${found}`, HINT);
    }
  }
  const rfsqSection = get(top, RFSQ_SECTION);
  const perLayerConstants = tensors.has(layerMeanKey(0));
  const configLayernorm = get(config, 'use_layernorm');
  const useLayernorm =
    request.useLayernorm ?? (typeof configLayernorm === 'boolean' ? configLayernorm : undefined);
  if (!perLayerConstants && useLayernorm === undefined) {
    throw inputError(
      `${source} does not say whether it is naive or Robust (no config.use_layernorm)`,
      'pass --use-layernorm False (naive) or --use-layernorm True (Robust, per-vector LayerNorm)',
    );
  }
  const quantizer: ImportedQuantizer = perLayerConstants
    ? 'rfsq-robust'
    : useLayernorm
      ? 'per-vector-layernorm'
      : 'naive';
  const variant: QuantizerVariant = quantizer === 'naive' ? 'naive' : 'robust';

  // The state dict must be exactly the module's: every key known, every level where rfsq puts it.
  const expected = new Set<string>();
  for (const layer of LAYERS) expected.add(`${layer}.weight`).add(`${layer}.bias`);
  const levels = levelValues(numLevels);
  for (let l = 0; l < numLayers; l++) {
    expected.add(boundariesKey(l));
    if (perLayerConstants) expected.add(layerMeanKey(l)).add(layerScaleKey(l));
    const b = float32(tensor(boundariesKey(l)), boundariesKey(l), source);
    if (b.length !== numLevels || levels.some((v, i) => Math.abs(v - (b[i] as number)) > 1e-6)) {
      throw inputError(`${source}: ${boundariesKey(l)} is not linspace(-1, 1, ${numLevels})`, HINT);
    }
  }
  const unexpected = [...tensors.keys()].filter((k) => !expected.has(k));
  if (unexpected.length > 0) {
    throw inputError(
      `${source}: ${stateDictKey} has keys an ActionRFSQAE does not: ${unexpected.slice(0, 4).join(', ')}`,
      HINT,
    );
  }
  const named: Record<string, NamedTensor> = {};
  for (const layer of LAYERS) {
    for (const part of ['weight', 'bias']) {
      const name = `${layer}.${part}`;
      named[name] = { dtype: 'F32', shape: tensor(name).shape, data: float32(tensor(name), name, source) };
    }
  }
  const mean = new Float32Array(numLayers * latentDim);
  const scale = new Float32Array(numLayers * latentDim).fill(1);
  if (perLayerConstants) {
    const constant = (name: string): Float32Array => {
      const t = tensor(name);
      if (t.shape.length !== 1 || t.shape[0] !== latentDim) {
        throw inputError(
          `${source}: ${name} has shape [${t.shape.join(', ')}], expected [${latentDim}]`,
          HINT,
        );
      }
      return float32(t, name, source);
    };
    for (let l = 0; l < numLayers; l++) {
      mean.set(constant(layerMeanKey(l)), l * latentDim);
      scale.set(constant(layerScaleKey(l)), l * latentDim);
    }
  }
  named['rfsq.layer_mean'] = { dtype: 'F32', shape: [numLayers, latentDim], data: mean };
  named['rfsq.layer_scale'] = { dtype: 'F32', shape: [numLayers, latentDim], data: scale };

  // An rfsq export carries its config.json: normalization, metrics and training record come back as they were.
  const exported =
    typeof get(rfsqSection, 'config_json') === 'string'
      ? parseExported(get(rfsqSection, 'config_json') as string, source)
      : undefined;
  const quantizerRecord = exported?.quantizer;
  const architecture = { actionDim, encoderWidth: width, latentDim, decoderWidth, numLayers, numLevels };
  const importedConfig = modelConfig(variant, {
    ...architecture,
    ...(quantizerRecord ? { sigmas: quantizerRecord.sigmas, emaMomentum: quantizerRecord.emaMomentum } : {}),
  });
  const model = modelFromTensors(importedConfig, named, `${source} (${stateDictKey})`, {
    hint: HINT,
    mismatch: HINT,
  });
  model.quantizer.updates = quantizerRecord?.updates ?? 0;
  if (quantizer === 'per-vector-layernorm') model.quantizer.perVector = true;

  const warnings: string[] = [];
  let normalization: NormalizationStats;
  let meta: CheckpointMeta;
  const importedFrom = { importedFrom: path.resolve(source), importedStateDict: stateDictKey };
  if (exported) {
    normalization = exported.normalization ?? identity(actionDim);
    meta = { normalization, metrics: exported.metrics, training: { ...exported.training, ...importedFrom } };
  } else {
    normalization = identity(actionDim);
    warnings.push(
      'the research code trains on actions it normalized beforehand (libero_actions_normalized.pt) and saves no statistics: ' +
        'rfsq assumes the actions are already in [-1, 1]',
    );
    const epoch = scalar(get(top, 'epoch'));
    // modal_train_rfsq_robust.py:409 'train_mse'; checkpoint_manager.py:84 'metrics': {'mse': …}: both the
    // average training-batch MSE of that epoch, not a held-out figure.
    const trainMse = scalar(get(top, 'train_mse')) ?? scalar(get(get(top, 'metrics'), 'mse'));
    meta = {
      normalization,
      metrics: {
        ...(epoch !== undefined ? { epoch } : {}),
        ...(trainMse !== undefined
          ? { trainMse, trainMseSource: "the research code's trainer: mean training-batch MSE of that epoch" }
          : {}),
      },
      training: importedFrom,
    };
  }
  if (quantizer === 'per-vector-layernorm') {
    warnings.push(
      "this is the research code's per-vector LayerNorm tokenizer: its codes do not carry the per-vector statistics, " +
        'so decoding from codes (its decode_from_indices) differs from its forward pass; `rfsq compare` shows both MSEs',
    );
  }
  await saveCheckpoint(request.out, model, meta);
  return {
    from: path.resolve(source),
    out: path.resolve(request.out),
    writtenBy: exported ? 'rfsq export' : 'research code',
    stateDictKey,
    variant,
    quantizer,
    architecture: { actionDim, latentDim, numLayers, numLevels },
    normalization: exported?.normalization ? 'recorded in the export' : 'assumed: actions already in [-1, 1]',
    metrics: meta.metrics ?? {},
    warnings,
  };
}

function identity(actionDim: number): NormalizationStats {
  return { low: new Array<number>(actionDim).fill(-1), high: new Array<number>(actionDim).fill(1) };
}

interface ExportedConfig {
  normalization?: NormalizationStats;
  metrics?: Record<string, unknown>;
  training?: Record<string, unknown>;
  quantizer?: { sigmas: number; emaMomentum: number; updates: number };
}

function parseExported(text: string, source: string): ExportedConfig {
  try {
    const json = JSON.parse(text) as ExportedConfig & { normalization?: NormalizationStats | null };
    return { ...json, normalization: json.normalization ?? undefined };
  } catch {
    throw inputError(`${source}: its rfsq.config_json is not JSON`, 'export the checkpoint again');
  }
}
