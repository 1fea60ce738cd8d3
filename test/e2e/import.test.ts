import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, rfsq, tempDir } from '../helpers/cli.js';

const PYTHON = '/usr/bin/python3';
const torchAvailable = spawnSync(PYTHON, ['-c', 'import torch, numpy']).status === 0;
if (!torchAvailable) console.warn(`skipping rfsq import tests: ${PYTHON} cannot import torch/numpy`);

/**
 * Writes, with torch.save, the checkpoints the research code's trainers write for the stand-in module of
 * test/helpers/repo_module.py (briefly trained, so the codes mean something):
 *  - robust.pt as phase2_conditional/modal_train_rfsq_robust.py:406-420 saves it
 *    ({'model_state_dict', 'epoch', 'train_mse', 'config'});
 *  - naive.pt as slurm/utils/checkpoint_manager.py:81-99 saves it for slurm/scripts/train_phase1_rfsq.py:275-290
 *    ({'epoch', 'step', 'model_state_dict', 'metrics', 'optimizer_state_dict', 'extra_state': {'config'}});
 * and held-out actions data.npy [episodes, steps, 7] in [-1, 1], with the research code's own MSEs on them.
 */
const WRITER = `
import json, math, os, sys
import numpy as np, torch
sys.path.insert(0, sys.argv[1])
from repo_module import RepoAE
out = sys.argv[2]
g = torch.Generator().manual_seed(0)
def episodes(n, steps):
    t = torch.arange(steps, dtype=torch.float64)[None, :, None]
    f = torch.rand(n, 1, 7, generator=g, dtype=torch.float64) * 0.08 + 0.01
    p = torch.rand(n, 1, 7, generator=g, dtype=torch.float64) * 6.28
    return (0.8 * torch.sin(f * t + p)).float()
train, held = episodes(24, 64), episodes(6, 64)
report = {}
for name, layernorm in (('robust', True), ('naive', False)):
    torch.manual_seed(1)
    model = RepoAE(use_layernorm=layernorm)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    chunks = train.reshape(-1, 8, 7)
    for step in range(150):
        batch = chunks[torch.randint(0, chunks.shape[0], (32,), generator=g)]
        loss = torch.nn.functional.mse_loss(model(batch)[0], batch)
        opt.zero_grad(); loss.backward(); opt.step()
    config = {'action_dim': 7, 'hidden_dim': 16, 'num_layers': 8, 'num_levels': 7, 'use_layernorm': layernorm}
    if layernorm:
        ckpt = {'model_state_dict': model.state_dict(), 'epoch': 150, 'train_mse': float(loss), 'config': config}
    else:
        ckpt = {'epoch': 150, 'step': 150, 'model_state_dict': model.state_dict(),
                'metrics': {'mse': float(loss), 'entropy_loss': 0.0},
                'optimizer_state_dict': opt.state_dict(), 'extra_state': {'config': config}}
    torch.save(ckpt, os.path.join(out, name + '.pt'))
    with torch.no_grad():
        x = held.reshape(-1, 8, 7)
        recon, codes = model(x)
        report[name] = {'forward_mse': float(((recon - x) ** 2).mean()),
                        'decode_mse': float(((model.decode_from_indices(codes) - x) ** 2).mean()),
                        'train_mse': float(loss)}
np.save(os.path.join(out, 'data.npy'), held.numpy())
class Payload:
    def __reduce__(self):
        return (os.system, ('touch ' + os.path.join(out, 'pwned'),))
torch.save({'model_state_dict': RepoAE().state_dict(), 'config': {}, 'x': Payload()}, os.path.join(out, 'evil.pt'))
torch.save({'model_state_dict': RepoAE().state_dict(), 'x': torch.nn.Linear(2, 2)}, os.path.join(out, 'module.pt'))
# A state dict whose tensors are views (transposed, sharing one storage), under 'model' as the mock scripts save it.
strided = RepoAE()
strided.encoder[0].weight = torch.nn.Parameter(torch.randn(7, 64, generator=g).t())
torch.save({'model': strided.state_dict(), 'config': {'action_dim': 7, 'hidden_dim': 16, 'num_layers': 8, 'num_levels': 7, 'use_layernorm': False}}, os.path.join(out, 'strided.pt'))
json.dump(report, open(os.path.join(out, 'repo.json'), 'w'))
`;

const dir = tempDir('rfsq-import-');
let repo: Record<'robust' | 'naive', { forward_mse: number; decode_mse: number; train_mse: number }>;

beforeAll(async () => {
  if (!torchAvailable) return;
  execFileSync(PYTHON, ['-c', WRITER, path.join(ROOT, 'test/helpers'), dir], { stdio: 'pipe' });
  repo = JSON.parse(await readFile(path.join(dir, 'repo.json'), 'utf8')) as typeof repo;
});

const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe.skipIf(!torchAvailable)('rfsq import of checkpoints torch.save wrote', () => {
  it("imports both trainers' formats, and compare measures the per-vector model's round trip", async () => {
    for (const name of ['robust', 'naive']) {
      const result = await rfsq([
        'import',
        '--from',
        path.join(dir, `${name}.pt`),
        '--out',
        path.join(dir, name),
        '--json',
      ]);
      expect(result.exitCode, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout) as Record<string, unknown>;
      expect(report.writtenBy).toBe('research code');
      expect(report.stateDictKey).toBe('model_state_dict');
      expect(report.quantizer).toBe(name === 'robust' ? 'per-vector-layernorm' : 'naive');
      expect((report.metrics as { trainMse: number }).trainMse).toBeCloseTo(
        repo[name as 'robust'].train_mse,
        12,
      );
    }
    const compare = await rfsq([
      'compare',
      '--naive',
      path.join(dir, 'naive'),
      '--robust',
      path.join(dir, 'robust'),
      '--data',
      path.join(dir, 'data.npy'),
      '--json',
    ]);
    expect(compare.exitCode, compare.stderr).toBe(0);
    const report = JSON.parse(compare.stdout) as {
      naive: { heldOutMse: number; roundtripMse: number };
      robust: { heldOutMse: number; roundtripMse: number };
    };
    // rfsq's float64 emulation of the research code's float32 forward pass and decode_from_indices.
    expect(relative(report.robust.heldOutMse, repo.robust.forward_mse)).toBeLessThan(1e-3);
    expect(relative(report.robust.roundtripMse, repo.robust.decode_mse)).toBeLessThan(1e-3);
    expect(relative(report.naive.heldOutMse, repo.naive.forward_mse)).toBeLessThan(1e-3);
    expect(report.naive.roundtripMse).toBe(report.naive.heldOutMse);
    // rfsq's formats cannot hold the per-vector quantizer: an export would silently change the model.
    const exported = await rfsq([
      'export',
      '--checkpoint',
      path.join(dir, 'robust'),
      '--out',
      path.join(dir, 'pv.pt'),
    ]);
    expect(exported.exitCode).toBe(2);
    expect(exported.stderr).toMatch(/per-vector LayerNorm tokenizer \(imported\)/);
    // The defect a user needs to see: from its codes alone the research code's Robust model decodes far worse.
    expect(report.robust.roundtripMse).toBeGreaterThan(10 * report.robust.heldOutMse);
    console.log(
      `imported per-vector Robust: forward MSE ${report.robust.heldOutMse.toExponential(3)} (torch ${repo.robust.forward_mse.toExponential(3)}), ` +
        `from codes ${report.robust.roundtripMse.toExponential(3)} (torch ${repo.robust.decode_mse.toExponential(3)}); ` +
        `naive ${report.naive.heldOutMse.toExponential(3)} (torch ${repo.naive.forward_mse.toExponential(3)})`,
    );
  });

  it('round-trips an rfsq export: import gives back the same tokenizer', async () => {
    const pt = path.join(dir, 'again.pt');
    const exported = await rfsq(['export', '--checkpoint', path.join(dir, 'naive'), '--out', pt]);
    expect(exported.exitCode, exported.stderr).toBe(0);
    const imported = await rfsq(['import', '--from', pt, '--out', path.join(dir, 'again'), '--json']);
    expect(imported.exitCode, imported.stderr).toBe(0);
    expect((JSON.parse(imported.stdout) as { writtenBy: string }).writtenBy).toBe('rfsq export');
    const a = JSON.parse(await readFile(path.join(dir, 'naive', 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const b = JSON.parse(await readFile(path.join(dir, 'again', 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(b.normalization).toEqual(a.normalization);
    expect(b.metrics).toEqual(a.metrics);
    expect(await readFile(path.join(dir, 'again', 'model.safetensors'))).toEqual(
      await readFile(path.join(dir, 'naive', 'model.safetensors')),
    );
  });

  it('reads tensors that are strided views, exactly', async () => {
    const imported = await rfsq([
      'import',
      '--from',
      path.join(dir, 'strided.pt'),
      '--out',
      path.join(dir, 'strided'),
    ]);
    expect(imported.exitCode, imported.stderr).toBe(0);
    const pt = path.join(dir, 'strided-again.pt');
    expect((await rfsq(['export', '--checkpoint', path.join(dir, 'strided'), '--out', pt])).exitCode).toBe(0);
    const check = spawnSync(
      PYTHON,
      [
        '-c',
        "import sys, torch; a = torch.load(sys.argv[1])['model']; b = torch.load(sys.argv[2], weights_only=True)['model']; " +
          "print(all(torch.equal(a[k], b[k]) for k in a if not k.endswith('boundaries')), a['encoder.0.weight'].stride())",
        path.join(dir, 'strided.pt'),
        pt,
      ],
      { encoding: 'utf8' },
    );
    expect(check.stdout.trim()).toBe('True (1, 64)');
  });

  it('refuses unsafe or foreign pickle content with exit 2, running nothing', async () => {
    const evil = await rfsq(['import', '--from', path.join(dir, 'evil.pt'), '--out', path.join(dir, 'evil')]);
    expect(evil.exitCode).toBe(2);
    expect(evil.stderr).toMatch(/refusing the global posix\.system/);
    expect(existsSync(path.join(dir, 'pwned'))).toBe(false);
    expect(existsSync(path.join(dir, 'evil'))).toBe(false);
    const module = await rfsq([
      'import',
      '--from',
      path.join(dir, 'module.pt'),
      '--out',
      path.join(dir, 'module'),
    ]);
    expect(module.exitCode).toBe(2);
    expect(module.stderr).toMatch(/refusing the global torch\.nn\.modules\.linear\.Linear/);
    const garbage = path.join(dir, 'garbage.pt');
    await writeFile(garbage, 'not a checkpoint');
    const bad = await rfsq(['import', '--from', garbage, '--out', path.join(dir, 'garbage')]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/not a readable zip archive/);
    expect(bad.stderr).not.toMatch(/at .*\.js/);
    // An export never overwrites a file that is not an earlier export, unless --force.
    const over = await rfsq([
      'export',
      '--checkpoint',
      path.join(dir, 'naive'),
      '--out',
      path.join(dir, 'evil.pt'),
    ]);
    expect(over.exitCode).toBe(2);
    expect(over.stderr).toMatch(/not an rfsq export; refusing to overwrite it/);
  });
});
