import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RfsqError } from '../../../src/core/errors.js';
import { selectBackend } from '../../../src/ml/backend.js';
import {
  denormalizeActions,
  loadCheckpoint,
  normalizeActions,
  saveCheckpoint,
} from '../../../src/ml/tokenizer/checkpoint.js';
import { modelConfig } from '../../../src/ml/tokenizer/config.js';
import { RfsqModel } from '../../../src/ml/tokenizer/model.js';
import { residualQuantize } from '../../../src/ml/tokenizer/quantizer.js';
import { decodeSafetensors } from '../../../src/ml/safetensors.js';
import { smoothEpisodes } from '../synthetic.js';

let tmp: string;
const data = smoothEpisodes(3, 64, 8, 9);
const normalization = { low: [0, 1, 2, 3, 4, 5, 6], high: [1, 2, 3, 4, 5, 6, 8] };

function robustModel(): RfsqModel {
  const model = RfsqModel.initialize(modelConfig('robust', { numLayers: 4, latentDim: 8 }), 2);
  const z = model.latent(data.data);
  residualQuantize(z, z.length / 8, model.quantizer, { momentum: 1, sigmas: 2 });
  return model;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rfsq-ckpt-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function expectRfsqError(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  let error: unknown;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(RfsqError);
  expect((error as Error).message).toMatch(pattern);
}

describe('checkpoint', () => {
  it('round-trips weights, constants, codes and metadata', async () => {
    const model = robustModel();
    const dir = path.join(tmp, 'a');
    await saveCheckpoint(dir, model, { normalization, metrics: { heldOutMse: 0.5 } });
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors']);
    const ckpt = await loadCheckpoint(dir);
    expect(ckpt.model.params).toEqual(model.params);
    expect(ckpt.model.quantizer.mean).toEqual(model.quantizer.mean);
    expect(ckpt.model.quantizer.scale).toEqual(model.quantizer.scale);
    expect(ckpt.config.variant).toBe('robust');
    expect(ckpt.config.metrics?.heldOutMse).toBe(0.5);
    expect(ckpt.normalization).toEqual(normalization);
    const codes = ckpt.encode(data.data);
    expect(codes).toEqual(model.encode(data.data));
    expect(ckpt.decodeFromCodes(codes)).toEqual(model.reconstruct(data.data));
    // PyTorch names and [out, in] layouts.
    const { tensors } = decodeSafetensors(await readFile(path.join(dir, 'model.safetensors')), 'x');
    expect(tensors['encoder.0.weight']!.shape).toEqual([64, 7]);
    expect(tensors['encoder.2.weight']!.shape).toEqual([8, 64]);
    expect(tensors['decoder.2.bias']!.shape).toEqual([7]);
    expect(tensors['rfsq.layer_scale']!.shape).toEqual([4, 8]);
    const s = model.specs[0]!;
    expect(tensors['encoder.0.weight']!.data[1 * 7 + 2]).toBe(model.params[s.offset + 2 * 64 + 1]);
  });

  it('normalizes and denormalizes with the stored statistics', async () => {
    const ckpt = await loadCheckpoint(path.join(tmp, 'a'));
    const raw = Float32Array.from([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 7, 1, 2, 3, 4, 5, 6, 8]);
    const n = ckpt.normalize(raw);
    expect(Array.from(n.subarray(0, 7))).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(ckpt.denormalize(n))).toEqual(Array.from(raw));
    expect(normalizeActions(Float32Array.from([-100]), { low: [0], high: [1] })[0]).toBe(-1);
    expect(denormalizeActions(Float32Array.from([1]), { low: [0], high: [2] })[0]).toBe(2);
  });

  it('replaces an existing checkpoint atomically and leaves no temporary files', async () => {
    const dir = path.join(tmp, 'b');
    await saveCheckpoint(dir, robustModel(), { metrics: { epoch: 1 } });
    await saveCheckpoint(dir, robustModel(), { metrics: { epoch: 2 } });
    const ckpt = await loadCheckpoint(dir);
    expect(ckpt.config.metrics?.epoch).toBe(2);
    expect((await readdir(tmp)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('refuses to overwrite a directory that is not a checkpoint', async () => {
    const dir = path.join(tmp, 'user-data');
    await mkdir(dir);
    await writeFile(path.join(dir, 'important.txt'), 'x');
    await expectRfsqError(saveCheckpoint(dir, robustModel()), /not an rfsq checkpoint/);
    expect(await readdir(dir)).toEqual(['important.txt']);
  });

  it('reports load errors clearly', async () => {
    await expectRfsqError(loadCheckpoint(path.join(tmp, 'missing')), /does not exist/);
    await expectRfsqError(loadCheckpoint(path.join(tmp, 'user-data')), /not an rfsq checkpoint/);

    const src = path.join(tmp, 'a');
    const copy = async (name: string, edit: (config: Record<string, unknown>) => void): Promise<string> => {
      const dir = path.join(tmp, name);
      await mkdir(dir);
      const config = JSON.parse(await readFile(path.join(src, 'config.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      edit(config);
      await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
      await writeFile(
        path.join(dir, 'model.safetensors'),
        await readFile(path.join(src, 'model.safetensors')),
      );
      return dir;
    };
    await expectRfsqError(loadCheckpoint(await copy('v2', (c) => (c.formatVersion = 2))), /format version 2/);
    await expectRfsqError(
      loadCheckpoint(
        await copy('shape', (c) => ((c.architecture as Record<string, number>).encoderWidth = 32)),
      ),
      /encoder.0.weight has shape \[64, 7\].*\[32, 7\]/,
    );
    await expectRfsqError(loadCheckpoint(await copy('variant', (c) => (c.variant = 'fancy'))), /variant/);
    const corrupt = await copy('corrupt', () => {});
    await writeFile(
      path.join(corrupt, 'model.safetensors'),
      Buffer.from([255, 255, 255, 255, 0, 0, 0, 0, 1]),
    );
    await expectRfsqError(loadCheckpoint(corrupt), /not a valid safetensors file/);
    const truncated = await copy('truncated', () => {});
    const bytes = await readFile(path.join(src, 'model.safetensors'));
    await writeFile(path.join(truncated, 'model.safetensors'), bytes.subarray(0, bytes.length - 40));
    await expectRfsqError(loadCheckpoint(truncated), /data_offsets|data size/);
  });
});

describe('selectBackend', () => {
  it('falls back to wasm and refuses an unavailable native backend', async () => {
    expect(await selectBackend('auto')).toBe('wasm');
    await expectRfsqError(selectBackend('tensorflow'), /not installed/);
    expect(await selectBackend('cpu')).toBe('cpu');
    expect(await selectBackend('wasm')).toBe('wasm');
  });
});
