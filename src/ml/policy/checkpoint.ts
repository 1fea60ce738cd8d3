import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { inputError } from '../../core/errors.js';
import { writeCheckpointDir } from '../checkpoint-dir.js';
import { type NamedTensor, decodeSafetensors, encodeSafetensors } from '../safetensors.js';
import { DraftPolicy, MainPolicy, type Policy, type PolicyConfig } from './model.js';

/**
 * Policy checkpoint directory (format version 2):
 *
 *   config.json          kind (main | draft), obsDim, the training observations' mean and std (obsMean,
 *                        obsStd), code shape, width (and draftLayers), metrics; the main model also keeps
 *                        its tokenizer's code values (codeMean, codeScale, [layers * hidden])
 *   model.safetensors    F32 tensors named as in model.ts, kernels in [in, out] layout:
 *     main:  trunk.0.weight [inputDim, width] (inputDim = obsDim + chunk * hidden + layers),
 *            trunk.0.bias [width], trunk.1.weight [width, width],
 *            trunk.1.bias [width], head.weight [layers, width, tokens * levels], head.bias [layers, tokens * levels]
 *     draft: mlp.0.weight [obsDim, width], mlp.0.bias [width], mlp.1.weight [width, draftLayers * tokens * levels],
 *            mlp.1.bias [draftLayers * tokens * levels]
 *
 * Written atomically: files are fsynced in a temporary sibling directory that is renamed into place.
 */

export const POLICY_FORMAT = 'rfsq-policy';
export const POLICY_FORMAT_VERSION = 2;
const CONFIG_FILE = 'config.json';
const WEIGHTS_FILE = 'model.safetensors';

const positiveInt = z.number().int().positive();
const shapeSchema = z.object({
  chunk: positiveInt,
  hidden: positiveInt,
  layers: positiveInt,
  levels: z.number().int().min(2),
});
const configSchema = z.object({
  format: z.literal(POLICY_FORMAT),
  formatVersion: z.literal(POLICY_FORMAT_VERSION),
  model: z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('main'),
      obsDim: positiveInt,
      obsMean: z.array(z.number()),
      obsStd: z.array(z.number()),
      codeMean: z.array(z.number()),
      codeScale: z.array(z.number()),
      shape: shapeSchema,
      width: positiveInt,
    }),
    z.object({
      kind: z.literal('draft'),
      obsDim: positiveInt,
      obsMean: z.array(z.number()),
      obsStd: z.array(z.number()),
      shape: shapeSchema,
      width: positiveInt,
      draftLayers: positiveInt,
    }),
  ]),
  metrics: z.record(z.string(), z.unknown()).optional(),
});

/** Save a main or draft policy to `dir` (replacing a policy checkpoint there; refusing other content). */
export async function savePolicy(
  dir: string,
  model: Policy,
  metrics: Record<string, unknown> = {},
): Promise<void> {
  const tensors: Record<string, NamedTensor> = {};
  for (const s of model.specs)
    tensors[s.name] = { dtype: 'F32', shape: s.shape, data: model.params.slice(s.offset, s.offset + s.size) };
  const config = {
    format: POLICY_FORMAT,
    formatVersion: POLICY_FORMAT_VERSION,
    model: model.config,
    metrics,
    createdAt: new Date().toISOString(),
  };
  await writeCheckpointDir(
    dir,
    {
      [WEIGHTS_FILE]: encodeSafetensors(tensors, { format: POLICY_FORMAT, kind: model.config.kind }),
      [CONFIG_FILE]: JSON.stringify(config, null, 2) + '\n',
    },
    { marker: CONFIG_FILE, what: 'a policy checkpoint' },
  );
}

export interface LoadedPolicy<P extends Policy = Policy> {
  model: P;
  metrics: Record<string, unknown>;
}

/** Load a policy checkpoint written by savePolicy; `kind` makes a checkpoint of the other kind an error. */
export async function loadPolicy(dir: string, kind: 'main'): Promise<LoadedPolicy<MainPolicy>>;
export async function loadPolicy(dir: string, kind: 'draft'): Promise<LoadedPolicy<DraftPolicy>>;
export async function loadPolicy(dir: string, kind?: 'main' | 'draft'): Promise<LoadedPolicy>;
export async function loadPolicy(dir: string, kind?: 'main' | 'draft'): Promise<LoadedPolicy> {
  const retrain = 'train the policy first, or pass the directory savePolicy wrote';
  const corrupt = 'the checkpoint is corrupt; train the policy again';
  const configPath = path.join(dir, CONFIG_FILE);
  let raw: string;
  try {
    raw = await readFile(configPath, 'utf8');
  } catch {
    throw inputError(`${dir} is not a policy checkpoint (no readable ${CONFIG_FILE})`, retrain);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw inputError(`${configPath} is not valid JSON`, corrupt);
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw inputError(
      `${configPath} is not a version ${POLICY_FORMAT_VERSION} policy checkpoint: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'schema mismatch'}`,
      retrain,
    );
  }
  const config = parsed.data.model as PolicyConfig;
  if (kind && config.kind !== kind)
    throw inputError(`${dir} holds a ${config.kind} policy, expected a ${kind} policy`, retrain);
  const model: Policy = config.kind === 'main' ? new MainPolicy(config) : new DraftPolicy(config);
  const weightsPath = path.join(dir, WEIGHTS_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(weightsPath);
  } catch {
    throw inputError(`${dir} has no ${WEIGHTS_FILE}`, corrupt);
  }
  const { tensors } = decodeSafetensors(bytes, weightsPath);
  for (const s of model.specs) {
    const t = tensors[s.name];
    if (!t) throw inputError(`${weightsPath} has no tensor ${s.name}`, corrupt);
    if (t.dtype !== 'F32' || t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i]))
      throw inputError(
        `${weightsPath}: tensor ${s.name} has shape [${t.shape.join(', ')}] (${t.dtype}), config.json implies [${s.shape.join(', ')}] (F32)`,
        corrupt,
      );
    if (!(t.data as Float32Array).every(Number.isFinite))
      throw inputError(`${weightsPath}: tensor ${s.name} contains non-finite values`, corrupt);
    model.params.set(t.data, s.offset);
  }
  return { model, metrics: parsed.data.metrics ?? {} };
}
