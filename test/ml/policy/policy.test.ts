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
  decodeGreedy,
  decodeSpeculative,
  evaluateMain,
  loadPolicy,
  savePolicy,
  trainPolicy,
} from '../../../src/ml/policy/index.js';
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

  it('creates no tensors that outlive an epoch', () => {
    expect(tensorCounts).toHaveLength(3);
    expect(new Set(tensorCounts).size).toBe(1);
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
