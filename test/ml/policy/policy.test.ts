import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RfsqError } from '../../../src/core/errors.js';
import { selectBackend } from '../../../src/ml/backend.js';
import {
  type DraftPolicy,
  type DraftReport,
  type Drafter,
  type MainPolicy,
  type MainReport,
  type TrainPolicyResult,
  MainPolicy as MainPolicyClass,
  chooseDepth,
  decodeGreedy,
  decodeJacobi,
  decodeSpeculative,
  decodeWith,
  depthTable,
  evaluateMain,
  loadPolicy,
  savePolicy,
  softmaxCrossEntropy,
  trainPolicy,
} from '../../../src/ml/policy/index.js';
import { Prng } from '../../../src/ml/prng.js';
import { syntheticPolicySet } from './synthetic.js';

const OBS_DIM = 20;
const TOKENS = 128;
const LAYERS = 8;
const train = syntheticPolicySet(640, 1, OBS_DIM);
const heldOut = syntheticPolicySet(96, 2, OBS_DIM);
const base = { train, heldOut, obsDim: OBS_DIM, batchSize: 16, lr: 3e-3, seed: 5 };

let tmp: string;
let main: TrainPolicyResult<MainPolicy, MainReport>;
let draft: TrainPolicyResult<DraftPolicy, DraftReport>;
const tensorCounts: number[] = [];

beforeAll(async () => {
  expect(await selectBackend('wasm')).toBe('wasm');
  tmp = await mkdtemp(path.join(os.tmpdir(), 'rfsq-policy-'));
  main = await trainPolicy({
    ...base,
    kind: 'main',
    epochs: 3,
    width: 64,
    onEpoch: () => {
      tensorCounts.push(tf.memory().numTensors);
    },
  });
  draft = await trainPolicy({ ...base, kind: 'draft', epochs: 8, width: 64 });
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Codes [count, tokens, layers] of layers 0..2, as a drafter would propose them. */
function coarse(codes: Int32Array, count: number, transform: (c: number) => number = (c) => c): Int32Array {
  const out = new Int32Array(count * TOKENS * 3);
  for (let n = 0; n < count; n++)
    for (let j = 0; j < TOKENS; j++)
      for (let l = 0; l < 3; l++)
        out[(n * TOKENS + j) * 3 + l] = transform(codes[(n * TOKENS + j) * LAYERS + l] as number);
  return out;
}

function fixedDrafter(proposal: Int32Array): Drafter & { calls: number } {
  return {
    draftLayers: 3,
    calls: 0,
    propose() {
      this.calls += 1;
      return proposal;
    },
  };
}

describe('trainPolicy', () => {
  it('both models beat chance by far on held-out rows, with per-layer accuracy for all 8 layers', () => {
    const r = main.report;
    expect(r.chance).toBeCloseTo(1 / 7, 10);
    expect(r.perLayerFreeRunning).toHaveLength(8);
    expect(r.perLayerTeacherForced).toHaveLength(8);
    expect(r.perLayerGivenCoarse).toHaveLength(5);
    expect(r.fineFromLayer).toBe(3);
    for (const acc of [...r.perLayerFreeRunning, ...r.perLayerTeacherForced, ...r.perLayerGivenCoarse])
      expect(acc).toBeGreaterThan(0.3);
    expect(r.mainTokenAcc).toBeGreaterThan(0.4);
    // Layer 0 has no previous layer: free-running and teacher-forced are the same query.
    expect(r.perLayerFreeRunning[0]).toBe(r.perLayerTeacherForced[0]);
    expect(draft.report.perLayer).toHaveLength(3);
    expect(draft.report.draftCoarseAcc).toBeGreaterThan(0.4);
    expect(main.backend).toBe('wasm');
    expect(main.history).toHaveLength(3);
    expect(main.history.at(-1)!.trainLoss).toBeLessThan(main.history[0]!.trainLoss);
  });

  it('the accuracy figures are measured against the truth (shuffled codes drop to chance)', () => {
    const shuffled = { ...heldOut, codes: syntheticPolicySet(96, 99, OBS_DIM).codes };
    const r = evaluateMain(main.model, shuffled);
    expect(r.mainTokenAcc).toBeLessThan(0.3);
  });

  it("measures the decoded chunks' error against the set's actions when given a decoder", () => {
    const decode = (codes: Int32Array) => Float32Array.from(codes, (c, i) => (c - 3) * (1 + (i % 5)));
    const actions = decode(heldOut.codes).map((v, i) => v + (i % 3) * 0.25);
    const r = evaluateMain(main.model, { ...heldOut, actions }, 3, decode);
    const free = decode(decodeGreedy(main.model, heldOut.obs).codes);
    const expected = free.reduce((sum, v, i) => sum + (v - actions[i]!) ** 2, 0) / free.length;
    expect(r.actionMse).toBeCloseTo(expected, 6);
    expect(evaluateMain(main.model, heldOut).actionMse).toBeUndefined();
  });

  it('creates no tensors that outlive an epoch', () => {
    expect(tensorCounts).toHaveLength(3);
    expect(new Set(tensorCounts).size).toBe(1);
  });

  it('trains the main model to the same bits on one thread or two (the batch halves in a worker)', async () => {
    const options = { ...base, kind: 'main' as const, epochs: 1, width: 32, batchSize: 15 };
    const one = await trainPolicy({ ...options, threads: 1 });
    const two = await trainPolicy({ ...options, threads: 2 });
    expect(Buffer.from(two.model.params.buffer).equals(Buffer.from(one.model.params.buffer))).toBe(true);
    expect(two.history[0]!.trainLoss).toBe(one.history[0]!.trainLoss);
    expect(two.history[0]!.trainAcc).toBe(one.history[0]!.trainAcc);
    // The trained weights are the model's own again, not a view of the optimizer's shared memory.
    expect(two.model.params.buffer).toBeInstanceOf(ArrayBuffer);
    expect(two.model.params.byteOffset).toBe(0);
    // A step that moved nothing would also be identical: training did change the weights.
    const untrained = MainPolicyClass.initialize({ ...one.model.config }, base.seed);
    expect(Buffer.from(one.model.params.buffer).equals(Buffer.from(untrained.params.buffer))).toBe(false);
  });

  it('rejects inconsistent data with an input error', async () => {
    await expect(
      trainPolicy({ ...base, kind: 'draft', epochs: 1, train: { ...train, count: train.count + 1 } }),
    ).rejects.toBeInstanceOf(RfsqError);
    const bad = { ...train, codes: train.codes.map((c, i) => (i === 5 ? 7 : c)) };
    await expect(trainPolicy({ ...base, kind: 'main', epochs: 1, train: bad })).rejects.toThrow(
      /out of range/,
    );
  });
});

describe('softmaxCrossEntropy', () => {
  it('matches the cross-entropy against the smoothed target, and its gradient matches finite differences', () => {
    const levels = 7;
    const rng = new Prng(3);
    const z = Float32Array.from({ length: 4 * levels }, () => rng.normal());
    const labels = Int32Array.from([0, 3, 6, 2]);
    const smoothing = 0.2;
    const softmax = (values: Float32Array) => {
      const p = new Float32Array(values.length);
      for (let i = 0; i < values.length; i += levels) {
        const row = values.subarray(i, i + levels);
        const sum = row.reduce((acc, v) => acc + Math.exp(v), 0);
        row.forEach((v, k) => (p[i + k] = Math.exp(v) / sum));
      }
      return p;
    };
    const probs = softmax(z);
    const { loss, grad } = softmaxCrossEntropy(probs, labels, levels, smoothing);
    // The gradient is written over the probabilities, in place.
    expect(grad).toBe(probs);
    const lossOf = (values: Float32Array) => {
      let total = 0;
      labels.forEach((y, i) => {
        const row = Array.from(values.subarray(i * levels, (i + 1) * levels));
        const logSum = Math.log(row.reduce((sum, v) => sum + Math.exp(v), 0));
        const target = new Array<number>(levels).fill(0);
        target[y] = 1 - smoothing;
        const neighbours = [y - 1, y + 1].filter((k) => k >= 0 && k < levels);
        for (const k of neighbours) target[k] = smoothing / neighbours.length;
        total += target.reduce((sum, t, k) => sum + t * (logSum - row[k]!), 0);
      });
      return total / labels.length;
    };
    expect(loss).toBeCloseTo(lossOf(z), 6);
    const h = 1e-3;
    for (const i of [0, 5, 10, 21, 27]) {
      const up = Float32Array.from(z);
      const down = Float32Array.from(z);
      up[i] = up[i]! + h;
      down[i] = down[i]! - h;
      expect(grad[i]).toBeCloseTo((lossOf(up) - lossOf(down)) / (2 * h), 4);
    }
    // Without smoothing it is the plain cross-entropy of the label.
    expect(softmaxCrossEntropy(softmax(z), labels, levels).loss).toBeGreaterThan(0);
    // A probability that underflows float32 costs -log(2^-149) in the loss, not an infinite loss.
    const certain = new Float32Array(levels);
    certain[0] = 1;
    expect(softmaxCrossEntropy(certain, Int32Array.from([6]), levels).loss).toBeCloseTo(149 * Math.LN2, 6);
  });
});

describe('the main model input', () => {
  it('fillInputsAllLayers writes the rows fillInput writes layer by layer, through the codebook', () => {
    const shape = { chunk: 2, hidden: 3, layers: 4, levels: 7 };
    const rng = new Prng(9);
    const size = shape.layers * shape.hidden;
    const model = MainPolicyClass.initialize(
      {
        obsDim: 5,
        obsMean: [0.1, 0, 0, 0, 0.5],
        obsStd: [2, 1, 1, 1, 0.5],
        codeMean: Array.from({ length: size }, () => rng.normal() * 0.1),
        codeScale: Array.from({ length: size }, () => 0.5 + rng.uniform(0, 1)),
        shape,
        width: 8,
      },
      1,
    );
    const obs = Float32Array.from({ length: 2 * 5 }, () => rng.normal());
    const codes = Int32Array.from({ length: 2 * 6 * 4 }, () => Math.floor(rng.uniform(0, 7)));
    const all = new Float32Array(shape.layers * model.inputDim).fill(Number.NaN);
    model.fillInputsAllLayers(all, (l) => l * model.inputDim, obs, codes, 1);
    for (let l = 0; l < shape.layers; l++) {
      const one = new Float32Array(model.inputDim);
      model.fillInput(one, 0, obs, codes, 1, l);
      expect(Array.from(all.subarray(l * model.inputDim, (l + 1) * model.inputDim))).toEqual(Array.from(one));
    }
    // Layer 2 of token 4 (t = 1, h = 1) reads layers 0 and 1 through the codebook.
    const row = new Float32Array(model.inputDim);
    model.fillInput(row, 0, obs, codes, 1, 2);
    const value = (l: number) => {
      const c = codes[(1 * 6 + 4) * 4 + l]!;
      const k = l * 3 + 1;
      return (-1 + c / 3) * model.config.codeScale[k]! + model.config.codeMean[k]!;
    };
    expect(row[5 + 4]).toBeCloseTo(value(0) + value(1), 5);
    expect(row[5 + 6 + 2]).toBe(1);
  });
});

describe('decoding', () => {
  it('speculative decoding returns exactly the greedy output, with consistent pass accounting', () => {
    const g = decodeGreedy(main.model, heldOut.obs);
    expect(g.mainPassesPerChunk).toBe(8);
    expect(g.mainCalls).toBe(8);
    expect(g.mainRows).toBe(8 * heldOut.count);
    const s = decodeSpeculative(main.model, draft.model, heldOut.obs);
    expect(Array.from(s.codes)).toEqual(Array.from(g.codes));
    let accepted = 0;
    for (let n = 0; n < s.count; n++) {
      const k = s.acceptedLayers[n]!;
      accepted += k;
      expect(s.mainPassesPerChunk[n]).toBe(1 + (8 - k - 1));
    }
    expect(s.acceptanceRate).toBeCloseTo(accepted / (3 * s.count), 12);
    expect(s.mainRows).toBe(4 * s.count + Array.from(s.acceptedLayers).reduce((a, k) => a + 7 - k, 0));
    expect(s.draftPassesPerChunk).toBe(1);
  });

  it('counts passes one chunk at a time exactly as the model sees them', () => {
    for (let n = 0; n < 6; n++) {
      const obs = heldOut.obs.subarray(n * OBS_DIM, (n + 1) * OBS_DIM);
      const before = main.model.passes;
      const draftBefore = draft.model.passes;
      const s = decodeSpeculative(main.model, draft.model, obs);
      expect(main.model.passes - before).toBe(s.mainPassesPerChunk[0]);
      expect(draft.model.passes - draftBefore).toBe(1);
      expect(s.mainCalls).toBe(s.mainPassesPerChunk[0]);
      const gBefore = main.model.passes;
      decodeGreedy(main.model, obs);
      expect(main.model.passes - gBefore).toBe(8);
    }
  });

  it('a draft that agrees with the main model is fully accepted and saves passes', () => {
    const g = decodeGreedy(main.model, heldOut.obs);
    const oracle = fixedDrafter(coarse(g.codes, heldOut.count));
    const before = main.model.passes;
    const s = decodeSpeculative(main.model, oracle, heldOut.obs);
    expect(s.acceptanceRate).toBe(1);
    expect(Array.from(s.acceptedLayers).every((k) => k === 3)).toBe(true);
    expect(Array.from(s.mainPassesPerChunk).every((p) => p === 5)).toBe(true);
    expect(s.meanMainPassesPerChunk).toBeLessThan(g.mainPassesPerChunk);
    expect(main.model.passes - before).toBe(5);
    expect(oracle.calls).toBe(1);
    expect(Array.from(s.codes)).toEqual(Array.from(g.codes));
  });

  it('a wrong draft is rejected at layer 0 and the output is still the greedy one', () => {
    const g = decodeGreedy(main.model, heldOut.obs);
    const wrong = fixedDrafter(coarse(g.codes, heldOut.count, (c) => (c + 1) % 7));
    const s = decodeSpeculative(main.model, wrong, heldOut.obs);
    expect(s.acceptanceRate).toBe(0);
    expect(Array.from(s.mainPassesPerChunk).every((p) => p === 8)).toBe(true);
    expect(Array.from(s.codes)).toEqual(Array.from(g.codes));
  });

  it('a draft right on L0 only accepts exactly one layer', () => {
    const g = decodeGreedy(main.model, heldOut.obs);
    const proposal = coarse(g.codes, heldOut.count);
    // Change one token of layer 1 of every chunk.
    for (let n = 0; n < heldOut.count; n++) {
      const i = n * TOKENS * 3 + 1;
      proposal[i] = (proposal[i]! + 3) % 7;
    }
    const s = decodeSpeculative(main.model, fixedDrafter(proposal), heldOut.obs);
    expect(Array.from(s.acceptedLayers).every((k) => k === 1)).toBe(true);
    expect(Array.from(s.mainPassesPerChunk).every((p) => p === 7)).toBe(true);
    expect(Array.from(s.codes)).toEqual(Array.from(g.codes));
  });
});

describe('depth-limited decoding', () => {
  it('decodes layers 0..K-1 in K passes and K rows, equal to greedy there, the rest at the middle level', () => {
    const g = decodeGreedy(main.model, heldOut.obs);
    for (const depth of [1, 3, 8]) {
      const before = main.model.passes;
      const d = decodeGreedy(main.model, heldOut.obs, depth);
      expect(main.model.passes - before).toBe(depth);
      expect(d.mainPassesPerChunk).toBe(depth);
      expect(d.mainRows).toBe(depth * heldOut.count);
      const expected = g.codes.map((code, i) => (i % LAYERS < depth ? code : 3));
      expect(Array.from(d.codes)).toEqual(Array.from(expected));
    }
    expect(() => decodeGreedy(main.model, heldOut.obs, 0)).toThrow(/depth must be an integer in 1..8/);
    expect(() => decodeGreedy(main.model, heldOut.obs, 9)).toThrow(RfsqError);
  });

  it('the depth table measures truncated chunks against full depth through the decoder, 0 at full depth', () => {
    const g = decodeGreedy(main.model, heldOut.obs);
    // A decoder that reads layer l's level as 10^-l: dropping layer l moves a value by up to 3 * 10^-l.
    const decode = (codes: Int32Array) => {
      const out = new Float32Array(codes.length / LAYERS);
      for (let i = 0; i < out.length; i++)
        for (let l = 0; l < LAYERS; l++) out[i] = out[i]! + (codes[i * LAYERS + l]! - 3) * 10 ** -l;
      return out;
    };
    const table = depthTable(g.codes, heldOut.count, { layers: LAYERS, levels: 7 }, decode);
    expect(table.map((row) => row.depth)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(table[7]).toEqual({ depth: 8, p50: 0, p90: 0, p99: 0, max: 0 });
    for (const row of table) {
      expect(row.p50).toBeLessThanOrEqual(row.p90);
      expect(row.p90).toBeLessThanOrEqual(row.p99);
      expect(row.p99).toBeLessThanOrEqual(row.max);
      expect(row.max).toBeLessThanOrEqual(3.34 * 10 ** -row.depth + 1e-6); // float32 sums
    }
    expect(chooseDepth(table, 1)).toBe(1);
    expect(chooseDepth(table, 0)).toBe(8);
    expect(chooseDepth(table, table[2]!.p99)).toBeLessThanOrEqual(3);
  });
});

describe('Jacobi decoding over layers', () => {
  it('reaches greedy output exactly, from the draft or the middle level, in at most 8 passes', () => {
    const g = decodeGreedy(main.model, heldOut.obs);
    for (const init of ['draft', 'middle'] as const) {
      const before = main.model.passes;
      const rowsBefore = main.model.rows;
      const draftBefore = draft.model.passes;
      const j = decodeJacobi(main.model, draft.model, heldOut.obs, { init });
      expect(Array.from(j.codes)).toEqual(Array.from(g.codes));
      expect(Array.from(j.exactLayers).every((e) => e === 8)).toBe(true);
      expect(main.model.passes - before).toBe(j.mainCalls);
      expect(main.model.rows - rowsBefore).toBe(j.mainRows);
      expect(draft.model.passes - draftBefore).toBe(init === 'draft' ? 1 : 0);
      expect(j.draftPassesPerChunk).toBe(init === 'draft' ? 1 : 0);
      for (const p of j.mainPassesPerChunk) {
        expect(p).toBeGreaterThanOrEqual(1);
        expect(p).toBeLessThanOrEqual(8);
      }
      expect(j.mainCalls).toBe(Math.max(...j.mainPassesPerChunk));
    }
  });

  it('counts one pass and 8 rows when every guess is already greedy, and 8 passes when every guess is wrong', () => {
    const obs = heldOut.obs.subarray(0, OBS_DIM);
    const g = decodeGreedy(main.model, obs);
    // An oracle draft with 8 layers: the first sweep changes nothing, so the fixed point is proven in one pass.
    const oracle = { draftLayers: 8, propose: () => g.codes.slice() };
    const right = decodeJacobi(main.model, oracle, obs);
    expect(right.mainPassesPerChunk[0]).toBe(1);
    expect(right.mainRows).toBe(8);
    expect(Array.from(right.codes)).toEqual(Array.from(g.codes));
    // Every guess wrong where greedy has a token: each sweep fixes one more layer at least.
    const wrong = { draftLayers: 8, propose: () => g.codes.map((c) => (c + 1) % 7) };
    const slow = decodeJacobi(main.model, wrong, obs);
    expect(Array.from(slow.codes)).toEqual(Array.from(g.codes));
    expect(slow.mainPassesPerChunk[0]).toBeLessThanOrEqual(8);
    // Rows: sweep t recomputes the open layers only, 8 + 7 + ... at most.
    expect(slow.mainRows).toBeLessThanOrEqual(36);
  });

  it('with a depth, decodes layers 0..K-1 as greedy does and leaves the rest at the middle level', () => {
    const d = decodeGreedy(main.model, heldOut.obs, 3);
    const j = decodeJacobi(main.model, draft.model, heldOut.obs, { depth: 3 });
    expect(Array.from(j.codes)).toEqual(Array.from(d.codes));
    expect(Math.max(...j.mainPassesPerChunk)).toBeLessThanOrEqual(3);
  });

  it('stops early when a sweep moves the decoded chunk by less than ε, and needs the decoder for it', () => {
    const decode = (codes: Int32Array) => Float32Array.from(codes, (c) => c);
    const j = decodeJacobi(main.model, draft.model, heldOut.obs, { exitEps: 1e9, decodeActions: decode });
    expect(Array.from(j.mainPassesPerChunk).every((p) => p === 1)).toBe(true);
    expect(() => decodeJacobi(main.model, draft.model, heldOut.obs, { exitEps: 0.1 })).toThrow(/decoder/);
  });

  it('decodeWith reports the same bookkeeping per chunk for every decoding', () => {
    const obs = heldOut.obs.subarray(0, OBS_DIM);
    const greedy = decodeWith(main.model, draft.model, obs, { method: 'greedy' });
    expect([greedy.mainPassesPerChunk, greedy.mainRowsPerChunk, greedy.draftPassesPerChunk]).toEqual([
      8, 8, 0,
    ]);
    const depth2 = decodeWith(main.model, draft.model, obs, { method: 'greedy', depth: 2 });
    expect([depth2.mainPassesPerChunk, depth2.mainRowsPerChunk]).toEqual([2, 2]);
    const spec = decodeWith(main.model, draft.model, obs, { method: 'speculative' });
    expect(Array.from(spec.codes)).toEqual(Array.from(greedy.codes));
    expect(spec.draftPassesPerChunk).toBe(1);
    expect(spec.mainRowsPerChunk).toBe(4 + spec.mainPassesPerChunk - 1);
    const jacobi = decodeWith(main.model, draft.model, obs, { method: 'jacobi' });
    expect(Array.from(jacobi.codes)).toEqual(Array.from(greedy.codes));
  });
});

describe('typical acceptance (acceptRatio below 1)', () => {
  /** L0 logits of the main model for every held-out chunk (no prefix needed). */
  function layer0Logits(): Float32Array {
    const queries = Array.from({ length: heldOut.count }, (_, n) => ({ sample: n, layer: 0 }));
    return main.model.logits(
      heldOut.obs,
      new Int32Array(heldOut.count * TOKENS * LAYERS),
      heldOut.count,
      queries,
    );
  }

  it('accepts a draft token the main model rates nearly as likely as its own, rejects a token it is sure against', () => {
    const g = decodeGreedy(main.model, heldOut.obs);
    const logits = layer0Logits();
    // The chunk and L0 token with the closest runner-up, and the one with the most distant worst level.
    let tie = { n: 0, j: 0, level: 0, gap: Infinity };
    let sure = { n: 0, j: 0, level: 0, gap: -Infinity };
    for (let n = 0; n < heldOut.count; n++)
      for (let j = 0; j < TOKENS; j++) {
        const o = (n * TOKENS + j) * 7;
        const top = g.codes[(n * TOKENS + j) * LAYERS]!;
        for (let k = 0; k < 7; k++) {
          if (k === top) continue;
          const gap = logits[o + top]! - logits[o + k]!;
          if (gap < tie.gap) tie = { n, j, level: k, gap };
          if (gap > sure.gap) sure = { n, j, level: k, gap };
        }
      }
    expect(tie.gap).toBeLessThan(Math.log(2));
    /** A drafter for chunk n alone that proposes greedy's L0–L2 with one L0 token changed. */
    const propose = (change: { n: number; j: number; level: number }) => {
      const proposal = coarse(g.codes, heldOut.count).slice(
        change.n * TOKENS * 3,
        (change.n + 1) * TOKENS * 3,
      );
      proposal[change.j * 3] = change.level;
      return fixedDrafter(proposal);
    };
    const obs = (n: number) => heldOut.obs.subarray(n * OBS_DIM, (n + 1) * OBS_DIM);
    const nearTie = propose(tie);
    const exact = decodeSpeculative(main.model, nearTie, obs(tie.n));
    expect(exact.acceptedLayers[0]).toBe(0);
    expect(Array.from(exact.codes)).toEqual(
      Array.from(g.codes.subarray(tie.n * TOKENS * LAYERS, (tie.n + 1) * TOKENS * LAYERS)),
    );
    const typical = decodeSpeculative(main.model, nearTie, obs(tie.n), { acceptRatio: 0.5 });
    expect(typical.acceptedLayers[0]).toBeGreaterThanOrEqual(1);
    expect(typical.codes[tie.j * LAYERS]).toBe(tie.level); // the draft's token stands
    expect(typical.meanMainPassesPerChunk).toBeLessThan(8);

    const confident = propose(sure);
    expect(sure.gap).toBeGreaterThan(-Math.log(0.5));
    expect(
      decodeSpeculative(main.model, confident, obs(sure.n), { acceptRatio: 0.5 }).acceptedLayers[0],
    ).toBe(0);
  });

  it('rejects a ratio outside (0, 1]', () => {
    expect(() => decodeSpeculative(main.model, draft.model, heldOut.obs, { acceptRatio: 0 })).toThrow(
      RfsqError,
    );
    expect(() => decodeSpeculative(main.model, draft.model, heldOut.obs, { acceptRatio: 1.5 })).toThrow(
      /ratio/,
    );
  });
});

describe('savePolicy / loadPolicy', () => {
  it('round-trips both models with identical predictions', async () => {
    const mainDir = path.join(tmp, 'main');
    const draftDir = path.join(tmp, 'draft');
    await savePolicy(mainDir, main.model, { mainTokenAcc: main.report.mainTokenAcc });
    await savePolicy(draftDir, draft.model);
    const m = (await loadPolicy(mainDir, 'main')).model;
    const d = (await loadPolicy(draftDir, 'draft')).model;
    expect(Array.from(m.params)).toEqual(Array.from(main.model.params));
    expect(Array.from(decodeGreedy(m, heldOut.obs).codes)).toEqual(
      Array.from(decodeGreedy(main.model, heldOut.obs).codes),
    );
    expect(Array.from(d.logits(heldOut.obs, heldOut.count))).toEqual(
      Array.from(draft.model.logits(heldOut.obs, heldOut.count)),
    );
    const s1 = decodeSpeculative(m, d, heldOut.obs);
    const s2 = decodeSpeculative(main.model, draft.model, heldOut.obs);
    expect(Array.from(s1.acceptedLayers)).toEqual(Array.from(s2.acceptedLayers));
    expect((await loadPolicy(mainDir)).metrics).toEqual({ mainTokenAcc: main.report.mainTokenAcc });
    // Saving again replaces the checkpoint.
    await savePolicy(mainDir, main.model);
    expect((await loadPolicy(mainDir)).metrics).toEqual({});
  });

  it('refuses the wrong kind, a missing directory and non-checkpoint directories', async () => {
    await savePolicy(path.join(tmp, 'd2'), draft.model);
    await expect(loadPolicy(path.join(tmp, 'd2'), 'main')).rejects.toThrow(/draft policy/);
    await expect(loadPolicy(path.join(tmp, 'missing'))).rejects.toBeInstanceOf(RfsqError);
    const { writeFile, mkdir } = await import('node:fs/promises');
    const other = path.join(tmp, 'other');
    await mkdir(other);
    await writeFile(path.join(other, 'notes.txt'), 'x');
    await expect(savePolicy(other, draft.model)).rejects.toThrow(/refusing/);
  });
});
