import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { inputError } from '../core/errors.js';
import {
  CONFIG_FILE,
  WEIGHTS_FILE,
  type Checkpoint,
  loadCheckpoint,
  pytorchTensors,
} from '../ml/tokenizer/checkpoint.js';
import { writeCheckpointDir } from '../ml/checkpoint-dir.js';
import { encodeNpy } from '../ml/data/npy.js';
import { type PyKey, type PyValue, TorchTensor } from '../ml/torch/pickle.js';
import { decodeTorchCheckpoint, encodeTorchCheckpoint } from '../ml/torch/pt.js';
import { repoStateDict } from '../ml/torch/repo-layout.js';
import { readZip, writeZip } from '../ml/torch/zip.js';
import { writeFileAtomic } from './files.js';

export const EXPORT_FORMATS = ['pt', 'safetensors', 'npz'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Key of the export's own section: which rfsq checkpoint it came from (config.json, verbatim). */
export const RFSQ_SECTION = 'rfsq';
const NPZ_MARKER = 'rfsq.format_version.npy';

export interface ExportRequest {
  checkpoint: string;
  format: ExportFormat;
  out: string;
  /** Replace an existing file that is not an earlier rfsq export. */
  force?: boolean;
}

export interface ExportReport {
  checkpoint: string;
  variant: 'naive' | 'robust';
  format: ExportFormat;
  out: string;
  bytes: number;
  stateDictKeys: string[];
  /** The Python lines that load it. */
  load: string[];
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * A JSON value as a pickle value torch 1.13's weights-only loader accepts: integers stay ints, other
 * numbers become 0-d float64 tensors (that loader has no float opcode), keys become snake_case.
 */
function toPy(value: unknown): PyValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) ? value : new TorchTensor('float64', [], Float64Array.of(value));
  }
  if (Array.isArray(value)) return value.map(toPy);
  const dict = new Map<PyKey, PyValue>();
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) dict.set(snake(k), toPy(v));
  return dict;
}

const float64 = (values: readonly number[]) =>
  new TorchTensor('float64', [values.length], Float64Array.from(values));

/** The research code's config dict (modal_train_rfsq_robust.py:410-416, train_phase1_rfsq.py:283-289). */
function repoConfig(checkpoint: Checkpoint): Map<PyKey, PyValue> {
  const c = checkpoint.model.config;
  return new Map<PyKey, PyValue>([
    ['action_dim', c.actionDim],
    ['hidden_dim', c.latentDim],
    ['num_layers', c.numLayers],
    ['num_levels', c.numLevels],
    ['use_layernorm', c.variant === 'robust'],
  ]);
}

function ptBytes(checkpoint: Checkpoint, configJson: string): Buffer {
  const state = repoStateDict(checkpoint.model);
  const metrics = checkpoint.config.metrics ?? {};
  const top = new Map<PyKey, PyValue>([
    ['model', state],
    ['model_state_dict', state],
    ['config', repoConfig(checkpoint)],
  ]);
  // The trainers' own top-level keys (modal_train_rfsq_robust.py:407-409): the epoch of this checkpoint
  // (rfsq keeps the best one by held-out MSE) and its training MSE; plus the held-out MSE they lack.
  if (typeof metrics.epoch === 'number') top.set('epoch', metrics.epoch);
  if (typeof metrics.trainMse === 'number') top.set('train_mse', toPy(metrics.trainMse));
  if (typeof metrics.heldOutMse === 'number') top.set('held_out_mse', toPy(metrics.heldOutMse));
  top.set('metrics', toPy(metrics));
  const norm = checkpoint.normalization;
  top.set(
    'normalization',
    norm
      ? new Map<PyKey, PyValue>([
          [
            'method',
            'x_norm = clip(2 * (x - low) / (high - low) - 1, -1, 1); low/high = 1st/99th percentiles',
          ],
          ['low', float64(norm.low)],
          ['high', float64(norm.high)],
        ])
      : null,
  );
  top.set(
    RFSQ_SECTION,
    new Map<PyKey, PyValue>([
      ['format', checkpoint.config.format],
      ['format_version', checkpoint.config.formatVersion],
      ['variant', checkpoint.config.variant],
      ['config_json', configJson],
    ]),
  );
  return encodeTorchCheckpoint(top);
}

function npzBytes(checkpoint: Checkpoint): Buffer {
  const entries: { name: string; data: Uint8Array }[] = [];
  const state = repoStateDict(checkpoint.model);
  for (const [key, tensor] of state) {
    const t = tensor as TorchTensor;
    entries.push({ name: `${String(key)}.npy`, data: encodeNpy(t.data as Float32Array, t.shape) });
  }
  for (const [key, value] of repoConfig(checkpoint)) {
    entries.push({ name: `config.${String(key)}.npy`, data: encodeNpy(Int32Array.of(Number(value)), []) });
  }
  for (const [key, value] of Object.entries(checkpoint.config.metrics ?? {})) {
    if (typeof value === 'number') {
      entries.push({ name: `metrics.${snake(key)}.npy`, data: encodeNpy(Float64Array.of(value), []) });
    }
  }
  const norm = checkpoint.normalization;
  if (norm) {
    entries.push({
      name: 'normalization.low.npy',
      data: encodeNpy(Float64Array.from(norm.low), [norm.low.length]),
    });
    entries.push({
      name: 'normalization.high.npy',
      data: encodeNpy(Float64Array.from(norm.high), [norm.high.length]),
    });
  }
  entries.push({ name: NPZ_MARKER, data: encodeNpy(Int32Array.of(checkpoint.config.formatVersion), []) });
  return writeZip(entries);
}

/** Whether `file` is an earlier rfsq export (which an export may replace without --force). */
async function isRfsqExport(file: string, format: ExportFormat): Promise<boolean> {
  try {
    const bytes = await readFile(file);
    if (format === 'npz') return readZip(bytes, file).has(NPZ_MARKER);
    const top = decodeTorchCheckpoint(bytes, file);
    return top instanceof Map && top.get(RFSQ_SECTION) instanceof Map;
  } catch {
    return false;
  }
}

async function guardOverwrite(request: ExportRequest): Promise<void> {
  let st;
  try {
    st = await stat(request.out);
  } catch {
    return;
  }
  if (st.isDirectory())
    throw inputError(
      `${request.out} is a directory`,
      'pass the file to write, e.g. --out rfsq_robust_best.pt',
    );
  if (request.force || (await isRfsqExport(request.out, request.format))) return;
  throw inputError(
    `${request.out} exists and is not an rfsq export; refusing to overwrite it`,
    'pass --force to replace it, or choose another --out',
  );
}

function loadLines(format: ExportFormat, variant: 'naive' | 'robust', out: string): string[] {
  const file = path.basename(out);
  if (format === 'pt') {
    return [
      "from phase1_improved.rfsq_robust import ActionRFSQAE   # rfsq's drop-in (rfsq init --template modal|slurm --research-code <checkout>)",
      `model = ActionRFSQAE(action_dim=7, hidden_dim=16, num_layers=8, num_levels=7, use_layernorm=${variant === 'robust' ? 'True' : 'False'})`,
      `checkpoint = torch.load('${file}', map_location='cpu', weights_only=True)`,
      "model.load_state_dict(checkpoint['model'])",
    ];
  }
  if (format === 'npz') return [`arrays = numpy.load('${file}')   # arrays['encoder.0.weight'], …`];
  return [`tok = RfsqTokenizer('${out}')   # templates/pytorch/rfsq_tokenizer.py`];
}

/** `rfsq export`: a trained rfsq checkpoint as a torch .pt, a safetensors folder or a numpy .npz. */
export async function exportCheckpoint(request: ExportRequest): Promise<ExportReport> {
  const checkpoint = await loadCheckpoint(request.checkpoint);
  if (checkpoint.model.quantizer.perVector && request.format !== 'safetensors') {
    throw inputError(
      `${request.checkpoint} is the research code's per-vector LayerNorm tokenizer (imported): a ${request.format} export would give it another quantizer`,
      'use the .pt it was imported from, or train a Robust tokenizer with `rfsq train` and export that',
    );
  }
  const configPath = path.join(request.checkpoint, CONFIG_FILE);
  const configJson = await readFile(configPath, 'utf8');
  let bytes: number;
  if (request.format === 'safetensors') {
    const weights = await readFile(path.join(request.checkpoint, WEIGHTS_FILE));
    await writeCheckpointDir(
      request.out,
      { [WEIGHTS_FILE]: weights, [CONFIG_FILE]: configJson },
      { marker: CONFIG_FILE, what: 'an rfsq checkpoint' },
    );
    bytes = weights.length + Buffer.byteLength(configJson);
  } else {
    await guardOverwrite(request);
    const data = request.format === 'pt' ? ptBytes(checkpoint, configJson) : npzBytes(checkpoint);
    await writeFileAtomic(request.out, data);
    bytes = data.length;
  }
  return {
    checkpoint: path.resolve(request.checkpoint),
    variant: checkpoint.config.variant,
    format: request.format,
    out: path.resolve(request.out),
    bytes,
    stateDictKeys:
      request.format === 'safetensors'
        ? Object.keys(pytorchTensors(checkpoint.model))
        : [...repoStateDict(checkpoint.model).keys()].map(String),
    load: loadLines(request.format, checkpoint.config.variant, request.out),
  };
}
