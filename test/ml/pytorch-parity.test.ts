import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/ml/backend.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/ml/tokenizer/checkpoint.js';
import { trainTokenizer } from '../../src/ml/tokenizer/train.js';
import { smoothEpisodes } from './synthetic.js';

const PYTHON = '/usr/bin/python3';
const TEMPLATE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../templates/pytorch');
const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
const torchAvailable = probe.status === 0;
if (!torchAvailable) {
  console.warn(
    `skipping PyTorch parity: ${PYTHON} cannot import torch/numpy (apt-get install python3-torch)`,
  );
}

const RUNNER = `
import sys, json, numpy as np
sys.path.insert(0, sys.argv[1])
from rfsq_tokenizer import RfsqTokenizer
ckpt, inp, out = sys.argv[2], sys.argv[3], sys.argv[4]
tok = RfsqTokenizer(ckpt)
meta = json.load(open(inp + '.json'))
x = np.fromfile(inp, dtype='<f4').reshape(meta['shape'])
codes = tok.encode(x)
np.ascontiguousarray(codes.numpy().astype('<i4')).tofile(out + '.codes')
np.ascontiguousarray(tok.decode_from_indices(codes).numpy().astype('<f4')).tofile(out + '.recon')
raw = tok.denormalize(x[:2])
np.ascontiguousarray(tok.normalize(raw).numpy().astype('<f4')).tofile(out + '.renorm')
`;

let tmp: string | undefined;
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe.skipIf(!torchAvailable)('PyTorch template parity', () => {
  it('produces identical codes and reconstructions (both variants)', async () => {
    await selectBackend('wasm');
    tmp = await mkdtemp(path.join(os.tmpdir(), 'rfsq-parity-'));
    const train = smoothEpisodes(12, 128, 8, 21);
    const heldOut = smoothEpisodes(4, 128, 8, 22);
    const normalization = { low: [-1, -2, -3, -1, -1, -1, 0], high: [1, 2, 3, 1, 2, 4, 1] };
    for (const variant of ['naive', 'robust'] as const) {
      const result = await trainTokenizer({
        variant,
        train,
        heldOut,
        epochs: 8,
        batchSize: 32,
        lr: 3e-3,
        weightDecay: 1e-4,
        seed: 3,
      });
      const dir = path.join(tmp, variant);
      await saveCheckpoint(dir, result.model, { normalization });
      const ckpt = await loadCheckpoint(dir);
      const x = heldOut.data;
      const input = path.join(tmp, `${variant}.x`);
      await writeFile(input, Buffer.from(x.buffer, x.byteOffset, x.byteLength));
      await writeFile(
        input + '.json',
        JSON.stringify({ shape: [heldOut.numChunks, heldOut.chunkLength, 7] }),
      );
      const out = path.join(tmp, `${variant}.out`);
      execFileSync(PYTHON, ['-c', RUNNER, TEMPLATE_DIR, dir, input, out], { stdio: 'pipe' });
      const pyCodes = new Int32Array(new Uint8Array(await readFile(out + '.codes')).buffer);
      const pyRecon = new Float32Array(new Uint8Array(await readFile(out + '.recon')).buffer);
      const tsCodes = ckpt.encode(x);
      expect(pyCodes.length).toBe(tsCodes.length);
      let mismatches = 0;
      for (let i = 0; i < tsCodes.length; i++) if (pyCodes[i] !== tsCodes[i]) mismatches++;
      expect(mismatches, `${variant}: code mismatches`).toBe(0);
      const tsRecon = ckpt.decodeFromCodes(tsCodes);
      let maxDiff = 0;
      for (let i = 0; i < tsRecon.length; i++)
        maxDiff = Math.max(maxDiff, Math.abs(tsRecon[i]! - pyRecon[i]!));
      expect(maxDiff, `${variant}: reconstruction`).toBeLessThan(1e-5);
      // normalize(denormalize(x)) round trip in PyTorch matches the input.
      const renorm = new Float32Array(new Uint8Array(await readFile(out + '.renorm')).buffer);
      for (let i = 0; i < renorm.length; i++) expect(Math.abs(renorm[i]! - x[i]!)).toBeLessThan(1e-5);
      console.log(
        `pytorch parity ${variant}: ${tsCodes.length} codes identical, max |recon diff| ${maxDiff}`,
      );
    }
  });
});
