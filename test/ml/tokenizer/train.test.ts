import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RfsqError } from '../../../src/core/errors.js';
import { defaultCoolDownFraction } from '../../../src/core/training-defaults.js';
import { selectBackend } from '../../../src/ml/backend.js';
import { loadCheckpoint } from '../../../src/ml/tokenizer/checkpoint.js';
import { modelConfig } from '../../../src/ml/tokenizer/config.js';
import {
  codeEntropyBits,
  evaluateTokenizer,
  heldOutMse,
  layerStats,
} from '../../../src/ml/tokenizer/evaluate.js';
import { monitorMseAndCodeUsage } from '../../../src/ml/tokenizer/monitor.js';
import { RfsqModel } from '../../../src/ml/tokenizer/model.js';
import { cosineLr } from '../../../src/ml/optimizer.js';
import {
  type TrainResult,
  computeGradients,
  curveOf,
  trainTokenizer,
} from '../../../src/ml/tokenizer/train.js';
import { smoothEpisodes } from '../synthetic.js';

const train = smoothEpisodes(30, 160, 8, 1);
const heldOut = smoothEpisodes(8, 160, 8, 2);
const base = { train, heldOut, epochs: 40, batchSize: 64, lr: 3e-3, weightDecay: 1e-4, seed: 7 };

let tmp: string;
let naive: TrainResult;
let robust: TrainResult;
const tensorCounts: number[] = [];

beforeAll(async () => {
  expect(await selectBackend('wasm')).toBe('wasm');
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rfsq-train-'));
  naive = await trainTokenizer({ ...base, variant: 'naive' });
  robust = await trainTokenizer({
    ...base,
    variant: 'robust',
    checkpointDir: path.join(tmp, 'robust'),
    normalization: { low: Array(7).fill(-2), high: Array(7).fill(2) },
    onEpoch: () => {
      tensorCounts.push(tf.memory().numTensors);
    },
  });
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('trainTokenizer', () => {
  it('robust beats naive on held-out MSE and reaches a low error', () => {
    expect(robust.bestHeldOutMse).toBeLessThan(naive.bestHeldOutMse);
    expect(robust.bestHeldOutMse).toBeLessThan(0.005);
    expect(robust.history).toHaveLength(40);
    expect(robust.backend).toBe('wasm');
  });

  it('naive later layers collapse, robust layers keep using levels', () => {
    const n = layerStats(naive.model, heldOut);
    const r = layerStats(robust.model, heldOut);
    expect(n[0]!.entropyBits).toBeGreaterThan(1);
    for (const layer of n.slice(1)) {
      expect(layer.middleFraction).toBeGreaterThan(0.99);
      expect(layer.entropyBits).toBeLessThan(0.1);
    }
    for (const layer of r) expect(layer.entropyBits).toBeGreaterThan(0.5);
    expect(r[3]!.residualStd).toBeLessThan(r[0]!.residualStd / 10);
  });

  it('decode(encode(x)) equals the evaluation forward pass for both trained variants', () => {
    for (const result of [naive, robust]) {
      const { reconstruction, codes } = result.model.forward(heldOut.data);
      expect(maxAbsDiff(result.model.decodeFromCodes(codes), reconstruction)).toBeLessThan(1e-5);
      const report = evaluateTokenizer(result.model, heldOut);
      expect(report.roundtripMse).toBeCloseTo(report.heldOutMse, 10);
      expect(report.maxRoundtripDiff).toBeLessThan(1e-5);
      expect(report.perDimensionMse).toHaveLength(7);
      expect(report.references.map((x) => x.tokensPerStep)).toEqual([7, 128]);
    }
  });

  it('keeps the tensor count flat across epochs', () => {
    expect(tensorCounts).toHaveLength(40);
    expect(new Set(tensorCounts).size).toBe(1);
  });

  it('writes the best model as a loadable checkpoint', async () => {
    const ckpt = await loadCheckpoint(path.join(tmp, 'robust'));
    expect(ckpt.config.metrics?.heldOutMse).toBeCloseTo(robust.bestHeldOutMse, 12);
    expect(ckpt.model.params).toEqual(robust.model.params);
    expect(ckpt.encode(heldOut.data)).toEqual(robust.model.encode(heldOut.data));
    expect(await readdir(tmp)).toEqual(['robust']); // no temp dirs left behind
  });

  it('is deterministic for a seed', async () => {
    const opts = { ...base, train: smoothEpisodes(6, 64, 8, 3), epochs: 2, variant: 'robust' as const };
    const a = await trainTokenizer(opts);
    const b = await trainTokenizer(opts);
    expect(a.model.params).toEqual(b.model.params);
    expect(a.model.quantizer.scale).toEqual(b.model.quantizer.scale);
  });
});

describe('straight-through gradient', () => {
  it('reaches the encoder through the quantizer and changes the weights', async () => {
    for (const variant of ['naive', 'robust'] as const) {
      const config = modelConfig(variant);
      const model = RfsqModel.initialize(config, 1);
      const grads = new Float32Array(model.numParams);
      const before = tf.memory().numTensors;
      const { mse } = computeGradients(
        { model, config, entropyWeight: 0, entropy: 0 },
        train.data.subarray(0, 512 * 7),
        grads,
      );
      expect(tf.memory().numTensors).toBe(before);
      expect(Number.isFinite(mse)).toBe(true);
      for (const spec of model.specs) {
        let norm = 0;
        for (let i = spec.offset; i < spec.offset + spec.inDim * spec.outDim; i++) norm += grads[i]! ** 2;
        expect(norm, `${variant} ${spec.name}`).toBeGreaterThan(0);
      }
    }
    const result = await trainTokenizer({
      ...base,
      variant: 'robust',
      epochs: 1,
      train: smoothEpisodes(4, 64, 8, 5),
    });
    const init = RfsqModel.initialize(modelConfig('robust'), base.seed);
    const enc0 = model0Slice(init);
    expect(model0Slice(result.model)).not.toEqual(enc0);
  });

  it('matches central differences of the loss on the decoder (which the quantizer does not cut)', () => {
    const config = modelConfig('naive');
    const model = RfsqModel.initialize(config, 3);
    const batch = train.data.subarray(0, 64 * 7);
    const grads = new Float32Array(model.numParams);
    computeGradients({ model, config, entropyWeight: 0, entropy: 0 }, batch, grads);
    // The loss in float64, from the evaluation path (the quantizer's codes stay put for these small steps).
    const loss = (params: Float32Array): number => {
      const y = new RfsqModel(config, params, model.quantizer).reconstruct(batch);
      let sum = 0;
      for (let i = 0; i < y.length; i++) sum += ((y[i] as number) - (batch[i] as number)) ** 2;
      return sum / y.length;
    };
    const [, , decoderHidden, decoderOut] = model.specs;
    for (const spec of [decoderHidden!, decoderOut!]) {
      const size = spec.inDim * spec.outDim + spec.outDim;
      // The three largest gradients of the layer (weights and biases), where a wrong one shows.
      const largest = Array.from({ length: size }, (_, k) => spec.offset + k)
        .sort((a, b) => Math.abs(grads[b]!) - Math.abs(grads[a]!))
        .slice(0, 3);
      for (const i of largest) {
        const h = 1e-3;
        const plus = model.params.slice();
        const minus = model.params.slice();
        plus[i] = plus[i]! + h;
        minus[i] = minus[i]! - h;
        const numeric = (loss(plus) - loss(minus)) / (plus[i]! - minus[i]!);
        expect(grads[i]! / numeric, `${spec.name} [${i - spec.offset}]`).toBeCloseTo(1, 2);
      }
    }
  });

  it('the entropy regularizer adds a gradient on the encoder', () => {
    const config = modelConfig('robust');
    const model = RfsqModel.initialize(config, 1);
    const batch = train.data.subarray(0, 512 * 7);
    const g0 = new Float32Array(model.numParams);
    const g1 = new Float32Array(model.numParams);
    computeGradients({ model: model.clone(), config, entropyWeight: 0, entropy: 0 }, batch, g0);
    const ctx = { model: model.clone(), config, entropyWeight: 0.05, entropy: 0 };
    computeGradients(ctx, batch, g1);
    expect(ctx.entropy).toBeGreaterThan(0);
    expect(ctx.entropy).toBeLessThan(1);
    expect(g1).not.toEqual(g0);
  });
});

function model0Slice(model: RfsqModel): Float32Array {
  const s = model.specs[0]!;
  return model.params.slice(s.offset, s.offset + s.inDim * s.outDim);
}

describe('divergence', () => {
  it('stops with an RfsqError on a non-finite loss and keeps the last good checkpoint', async () => {
    const dir = path.join(tmp, 'diverge');
    const small = {
      ...base,
      train: smoothEpisodes(6, 64, 8, 3),
      variant: 'robust' as const,
      checkpointDir: dir,
    };
    const good = await trainTokenizer({ ...small, epochs: 2 });
    const before = await loadCheckpoint(dir);
    let error: unknown;
    try {
      await trainTokenizer({ ...small, epochs: 50, lr: 1e9, warmupFraction: 0 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RfsqError);
    expect((error as RfsqError).message).toMatch(/training diverged/);
    expect((error as RfsqError).hint).toMatch(/learning rate/);
    const after = await loadCheckpoint(dir);
    expect(after.model.params.every(Number.isFinite)).toBe(true);
    // Either untouched (diverged in epoch 1) or replaced only by a finite, improving model.
    expect(after.model.params.length).toBe(before.model.params.length);
    expect(good.bestHeldOutMse).toBeGreaterThan(0);
  });

  it('validates options with RfsqErrors', async () => {
    await expect(trainTokenizer({ ...base, variant: 'robust', epochs: 0 })).rejects.toThrow(/epochs/);
    await expect(trainTokenizer({ ...base, variant: 'robust', lr: -1 })).rejects.toBeInstanceOf(RfsqError);
  });
});

describe('training to a plateau', () => {
  const small = { ...base, train: smoothEpisodes(6, 64, 8, 3), variant: 'robust' as const, batchSize: 8 };
  const validation = smoothEpisodes(3, 64, 8, 4);

  it('stops after `patience` epochs without gain, then decays the rate to 0 over the cool-down', async () => {
    // A gain of 90% per epoch is never kept up: the plateau is reached within a few epochs.
    const plateau = { maxEpochs: 50, patience: 2, minRelativeGain: 0.9, coolDownFraction: 0.5 };
    const result = await trainTokenizer({ ...small, validation, plateau });
    expect(result.stoppedBy).toBe('plateau');
    expect(result.epochs).toBeLessThan(50);
    expect(result.history).toHaveLength(result.epochs);
    const decay = result.history.filter((info) => info.coolingDown);
    expect(decay.length).toBeGreaterThanOrEqual(1);
    // The cool-down is a fraction of the epochs before it, and follows them.
    const before = result.epochs - decay.length;
    expect(decay.length).toBe(Math.max(1, Math.ceil(0.5 * before)));
    expect(result.history.slice(0, before).every((info) => !info.coolingDown)).toBe(true);
    const last = result.history.at(-1)!;
    expect(last.lr).toBeLessThan(small.lr * 0.2);
    expect(result.history[before - 1]!.lr).toBeCloseTo(small.lr, 12);
  });

  it('without a cool-down fraction, sizes the decay from the training set and records it', async () => {
    const dir = path.join(tmp, 'default-decay');
    const plateau = { maxEpochs: 50, patience: 2, minRelativeGain: 0.9 };
    const result = await trainTokenizer({ ...small, validation, plateau, checkpointDir: dir });
    const fraction = defaultCoolDownFraction(small.train.numChunks);
    const decay = result.history.filter((info) => info.coolingDown).length;
    expect(decay).toBe(Math.max(1, Math.ceil(fraction * (result.epochs - decay))));
    const training = (await loadCheckpoint(dir)).config.training as { plateau: { coolDownFraction: number } };
    expect(training.plateau.coolDownFraction).toBe(fraction);
  });

  it('never passes the cap, and ends the rate near 0 there', async () => {
    const plateau = { maxEpochs: 6, patience: 1000, minRelativeGain: 0, coolDownFraction: 0.5 };
    const result = await trainTokenizer({ ...small, validation, plateau });
    expect(result.stoppedBy).toBe('cap');
    expect(result.epochs).toBe(6);
    expect(result.history.map((info) => info.coolingDown)).toEqual([false, false, false, false, true, true]);
    expect(result.history.at(-1)!.lr).toBeLessThan(small.lr * 0.2);
  });

  it('a fixed budget runs every epoch of it', async () => {
    const result = await trainTokenizer({ ...small, validation, epochs: 5 });
    expect(result.stoppedBy).toBe('budget');
    expect(result.epochs).toBe(5);
    expect(result.history.every((info) => !info.coolingDown)).toBe(true);
  });

  it('picks the best epoch by validation MSE and reports that epoch’s held-out MSE', async () => {
    const plateau = { maxEpochs: 8, patience: 1000, minRelativeGain: 0, coolDownFraction: 0.5 };
    const result = await trainTokenizer({ ...small, validation, plateau });
    const bestByValidation = result.history.reduce((a, b) => (b.validationMse < a.validationMse ? b : a));
    expect(result.bestEpoch).toBe(bestByValidation.epoch);
    expect(result.bestValidationMse).toBe(bestByValidation.validationMse);
    // The reported figure is the float64 evaluation of the kept model; the curve's, the float32 monitor's.
    expect(result.bestHeldOutMse).toBe(heldOutMse(result.model, small.heldOut));
    expect(bestByValidation.heldOutMse / result.bestHeldOutMse).toBeCloseTo(1, 4);
    expect(heldOutMse(result.model, validation) / result.bestValidationMse).toBeCloseTo(1, 4);
    for (const info of result.history) expect(info.codeUsageBits).toHaveLength(8);
  });

  it('writes the whole curve into the checkpoint metrics', async () => {
    const dir = path.join(tmp, 'curve');
    const plateau = { maxEpochs: 5, patience: 1000, minRelativeGain: 0, coolDownFraction: 0.5 };
    const result = await trainTokenizer({ ...small, validation, plateau, checkpointDir: dir });
    const metrics = (await loadCheckpoint(dir)).config.metrics!;
    expect(metrics.validationMse).toBe(result.bestValidationMse);
    expect(metrics.curve).toEqual(JSON.parse(JSON.stringify(curveOf(result.history))));
    expect((metrics.curve as unknown[]).length).toBe(5);
  });

  it('without validation episodes, keeps the last epoch: the held-out episodes decide nothing', async () => {
    const result = await trainTokenizer({ ...small, epochs: 4 });
    expect(result.bestEpoch).toBe(4);
    const last = result.history.at(-1)!;
    expect(result.bestHeldOutMse).toBe(heldOutMse(result.model, small.heldOut));
    expect(last.heldOutMse / result.bestHeldOutMse).toBeCloseTo(1, 4);
    expect(result.history.every((info) => Number.isNaN(info.validationMse))).toBe(true);
    // Code usage is still recorded, on the held-out episodes.
    for (const info of result.history) expect(info.codeUsageBits).toHaveLength(8);
  });

  it('monitors each epoch in float32 to within rounding of the float64 evaluation', () => {
    for (const result of [naive, robust]) {
      const monitored = monitorMseAndCodeUsage(result.model, heldOut);
      expect(monitored.mse / heldOutMse(result.model, heldOut)).toBeCloseTo(1, 4);
      const { numLayers, numLevels } = result.model.config;
      const exactBits = codeEntropyBits(result.model.encode(heldOut.data), numLayers, numLevels);
      monitored.codeUsageBits.forEach((bits, layer) => expect(bits).toBeCloseTo(exactBits[layer]!, 2));
    }
  });

  it('a plateau needs validation episodes', async () => {
    const plateau = { maxEpochs: 5, patience: 2, minRelativeGain: 0.02, coolDownFraction: 0.5 };
    await expect(trainTokenizer({ ...small, plateau })).rejects.toThrow(/needs validation episodes/);
  });

  it('rejects a bad plateau config', async () => {
    const plateau = { maxEpochs: 5, patience: 2, minRelativeGain: 1, coolDownFraction: 0.5 };
    await expect(trainTokenizer({ ...small, plateau })).rejects.toThrow(/min relative gain/);
  });
});

describe('cosineLr', () => {
  it('warms up then decays to 0', () => {
    expect(cosineLr(0, 100, 1, 10)).toBeCloseTo(0.1);
    expect(cosineLr(10, 100, 1, 10)).toBeCloseTo(1);
    expect(cosineLr(100, 100, 1, 10)).toBeCloseTo(0);
  });
});
