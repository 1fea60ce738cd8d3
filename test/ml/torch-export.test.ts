import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/ml/backend.js';
import { type Checkpoint, loadCheckpoint, saveCheckpoint } from '../../src/ml/tokenizer/checkpoint.js';
import { trainTokenizer } from '../../src/ml/tokenizer/train.js';
import { exportCheckpoint } from '../../src/services/checkpoint-export.js';
import { smoothEpisodes } from './synthetic.js';

const PYTHON = '/usr/bin/python3';
const TEMPLATE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../templates/pytorch');
const torchAvailable = spawnSync(PYTHON, ['-c', 'import torch, numpy']).status === 0;
if (!torchAvailable) console.warn(`skipping torch export tests: ${PYTHON} cannot import torch/numpy`);

// test/helpers/repo_module.py: the research code's module, written from its public state-dict layout.
const HELPERS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../helpers');

const RUNNER = `
import json, sys
import numpy as np, torch
sys.path[:0] = sys.argv[1:3]
from rfsq_robust import ActionRFSQAE
from rfsq_tokenizer import RfsqTokenizer
from repo_module import RepoAE
variant, pt, npz, folder, inp, out = sys.argv[3:9]
robust = variant == 'robust'
meta = json.load(open(inp + '.json'))
x = torch.from_numpy(np.fromfile(inp, dtype='<f4').reshape(meta['shape']))
save = lambda name, t, dtype: np.ascontiguousarray(t.detach().numpy().astype(dtype)).tofile(out + '.' + name)
report = {}

ck = torch.load(pt, map_location='cpu', weights_only=True)
full = torch.load(pt, map_location='cpu')
report['keys'] = sorted(ck.keys())
report['config'] = ck['config']
report['same_state_dict'] = list(ck['model'].keys()) == list(ck['model_state_dict'].keys()) and all(
    torch.equal(ck['model'][k], ck['model_state_dict'][k]) for k in ck['model'])
report['full_equals_weights_only'] = all(torch.equal(full['model'][k], ck['model'][k]) for k in ck['model'])
report['epoch'] = ck['epoch']
report['held_out_mse'] = float(ck['held_out_mse'])
report['normalization_low'] = ck['normalization']['low'].tolist()

# The plan's two lines, with rfsq's drop-in module.
model = ActionRFSQAE(action_dim=7, hidden_dim=16, num_layers=8, num_levels=7, use_layernorm=robust)
model.load_state_dict(ck['model'])
model.eval()
with torch.no_grad():
    recon, codes = model(x)
    decoded = model.decode_from_indices(codes)
    report['encode_equals_forward_codes'] = torch.equal(model.encode(x), codes)
    report['decode_equals_forward'] = torch.equal(decoded, recon)
    report['codes_shape'] = list(codes.shape)
save('dropin.codes', codes, '<i4')
save('dropin.recon', decoded, '<f4')

# The research code's own module: strict loading, and for naive the same codes.
repo = RepoAE()
try:
    repo.load_state_dict(ck['model'], strict=True)
    report['repo_strict'] = 'ok'
    with torch.no_grad():
        r_recon, r_codes = repo(x)
        save('repo.codes', r_codes, '<i4')
        save('repo.recon', repo.decode_from_indices(r_codes), '<f4')
except RuntimeError as e:
    report['repo_strict'] = ' '.join(str(e).split())

# The drop-in (naive) loads a checkpoint the research code's trainer wrote.
if not robust:
    torch.manual_seed(0)
    theirs = RepoAE()
    path = out + '.repo-trained.pt'
    torch.save({'model_state_dict': theirs.state_dict(), 'epoch': 3, 'train_mse': 0.5,
                'config': {'action_dim': 7, 'hidden_dim': 16, 'num_layers': 8, 'num_levels': 7, 'use_layernorm': False}}, path)
    dropin = ActionRFSQAE(use_layernorm=False)
    dropin.load_state_dict(torch.load(path)['model_state_dict'])
    y = torch.rand(64, 8, 7) * 2 - 1
    with torch.no_grad():
        report['repo_checkpoint_codes_agree'] = float((dropin.encode(y) == theirs(y)[1]).double().mean())
else:
    # The research code's own Robust checkpoints (per-vector LayerNorm, no constants) are refused with a reason.
    try:
        ActionRFSQAE(use_layernorm=True).load_state_dict(RepoAE(use_layernorm=True).state_dict())
        report['per_vector_refused'] = ''
    except RuntimeError as e:
        report['per_vector_refused'] = str(e)

arrays = np.load(npz)
report['npz_matches_pt'] = all(np.array_equal(arrays[k], ck['model'][k].numpy()) for k in ck['model'])
report['npz_config'] = {k: type(v)(int(arrays['config.' + k])) for k, v in ck['config'].items()}
tok = RfsqTokenizer(folder)
report['folder_codes_equal'] = torch.equal(tok.encode(x.numpy()), codes)
# Straight-through training, as the research code trains: gradients reach the encoder.
model.train()
loss = ((model(x[:4])[0] - x[:4]) ** 2).mean()
loss.backward()
report['ste_grad'] = float(model.encoder[0].weight.grad.abs().sum()) > 0
json.dump(report, open(out + '.json', 'w'))
`;

let tmp = '';
const checkpoints: Record<string, Checkpoint> = {};
const heldOut = smoothEpisodes(4, 128, 8, 32);

beforeAll(async () => {
  if (!torchAvailable) return;
  await selectBackend('wasm');
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rfsq-export-'));
  const train = smoothEpisodes(12, 128, 8, 31);
  const normalization = { low: [-1, -2, -3, -1, -1, -1, 0], high: [1, 2, 3, 1, 2, 4, 1] };
  for (const variant of ['naive', 'robust'] as const) {
    const result = await trainTokenizer({
      variant,
      train,
      heldOut,
      epochs: 6,
      batchSize: 32,
      lr: 3e-3,
      weightDecay: 1e-4,
      seed: 5,
    });
    const dir = path.join(tmp, variant);
    await saveCheckpoint(dir, result.model, {
      normalization,
      metrics: { epoch: result.bestEpoch, epochs: 6, trainMse: 0.0123, heldOutMse: result.bestHeldOutMse },
    });
    checkpoints[variant] = await loadCheckpoint(dir);
  }
});

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function readInt32(file: string): Promise<Int32Array> {
  return new Int32Array(new Uint8Array(await readFile(file)).buffer);
}
async function readFloat32(file: string): Promise<Float32Array> {
  return new Float32Array(new Uint8Array(await readFile(file)).buffer);
}
function mismatches(a: Int32Array, b: Int32Array): number {
  expect(a.length).toBe(b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}
function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe.skipIf(!torchAvailable)('rfsq export, read by Debian python3-torch', () => {
  for (const variant of ['naive', 'robust'] as const) {
    it(`${variant}: torch.load (weights_only too), strict loading, identical codes`, async () => {
      const dir = path.join(tmp, variant);
      const pt = path.join(tmp, `${variant}.pt`);
      const npz = path.join(tmp, `${variant}.npz`);
      const folder = path.join(tmp, `${variant}-folder`);
      const report = await exportCheckpoint({ checkpoint: dir, format: 'pt', out: pt });
      expect(report.stateDictKeys).toHaveLength(variant === 'naive' ? 16 : 32);
      await exportCheckpoint({ checkpoint: dir, format: 'npz', out: npz });
      await exportCheckpoint({ checkpoint: dir, format: 'safetensors', out: folder });
      const input = path.join(tmp, `${variant}.x`);
      const x = heldOut.data;
      await writeFile(input, Buffer.from(x.buffer, x.byteOffset, x.byteLength));
      await writeFile(
        `${input}.json`,
        JSON.stringify({ shape: [heldOut.numChunks, heldOut.chunkLength, 7] }),
      );
      const out = path.join(tmp, `${variant}.out`);
      execFileSync(PYTHON, ['-c', RUNNER, TEMPLATE_DIR, HELPERS, variant, pt, npz, folder, input, out], {
        stdio: 'pipe',
      });
      const py = JSON.parse(await readFile(`${out}.json`, 'utf8')) as Record<string, unknown>;

      const ckpt = checkpoints[variant]!;
      expect(py.keys).toEqual(
        [
          'config',
          'epoch',
          'held_out_mse',
          'metrics',
          'model',
          'model_state_dict',
          'normalization',
          'rfsq',
          'train_mse',
        ].sort(),
      );
      // As the research code's trainers write it: modal_train_rfsq_robust.py:410-416.
      expect(py.config).toEqual({
        action_dim: 7,
        hidden_dim: 16,
        num_layers: 8,
        num_levels: 7,
        use_layernorm: variant === 'robust',
      });
      expect(py.same_state_dict).toBe(true);
      expect(py.full_equals_weights_only).toBe(true);
      expect(py.epoch).toBe(ckpt.config.metrics?.epoch);
      expect(py.held_out_mse).toBe(ckpt.config.metrics?.heldOutMse);
      expect(py.normalization_low).toEqual([-1, -2, -3, -1, -1, -1, 0]);
      expect(py.codes_shape).toEqual([heldOut.numChunks, heldOut.chunkLength, 16, 8]);
      expect(py.encode_equals_forward_codes).toBe(true);
      expect(py.decode_equals_forward).toBe(true);
      expect(py.npz_matches_pt).toBe(true);
      expect(py.npz_config).toEqual(py.config);
      expect(py.folder_codes_equal).toBe(true);
      expect(py.ste_grad).toBe(true);

      const tsCodes = ckpt.encode(x);
      const tsRecon = ckpt.decodeFromCodes(tsCodes);
      const dropinMismatches = mismatches(await readInt32(`${out}.dropin.codes`), tsCodes);
      const dropinDiff = maxDiff(await readFloat32(`${out}.dropin.recon`), tsRecon);
      expect(dropinMismatches, 'drop-in code mismatches').toBe(0);
      expect(dropinDiff, 'drop-in reconstruction').toBeLessThanOrEqual(1e-6);
      const lines = [`${variant}: drop-in ${tsCodes.length} codes identical, max |recon diff| ${dropinDiff}`];

      if (variant === 'naive') {
        expect(py.repo_strict).toBe('ok');
        const repoMismatches = mismatches(await readInt32(`${out}.repo.codes`), tsCodes);
        const repoDiff = maxDiff(await readFloat32(`${out}.repo.recon`), tsRecon);
        expect(repoMismatches, "research code's module: code mismatches").toBe(0);
        // The research code computes in float32 (rfsq in float64): within a few float32 roundings.
        expect(repoDiff).toBeLessThanOrEqual(1e-6);
        expect(py.repo_checkpoint_codes_agree).toBe(1);
        lines.push(`research code's module: codes identical, max |recon diff| ${repoDiff}`);
      } else {
        // The research code's module has no place for the Robust constants: strict loading fails.
        expect(String(py.repo_strict)).toMatch(/Unexpected key\(s\) in state_dict: "rfsq\.layers\.0\.mean"/);
        expect(String(py.per_vector_refused)).toMatch(/per-vector LayerNorm/);
      }
      console.log(`torch export ${lines.join('; ')}`);
    });
  }
});
