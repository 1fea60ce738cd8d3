import { describe, expect, it } from 'vitest';
import { DEMO_TARGET_STD, demoDataset, loadActions, type Episode } from '../../../src/ml/data/index.js';
import { expectInputError } from './helpers.js';

function stats(episodes: Episode[], d: number) {
  let n = 0;
  let sum = 0;
  let sq = 0;
  let lagNum = 0;
  let lagDen = 0;
  for (const e of episodes) {
    let mean = 0;
    for (let t = 0; t < e.steps; t++) mean += e.actions[t * 7 + d]!;
    mean /= e.steps;
    for (let t = 0; t < e.steps; t++) {
      const v = e.actions[t * 7 + d]!;
      n++;
      sum += v;
      sq += v * v;
      lagDen += (v - mean) ** 2;
      if (t > 0) lagNum += (v - mean) * (e.actions[(t - 1) * 7 + d]! - mean);
    }
  }
  return { std: Math.sqrt(sq / n - (sum / n) ** 2), lag1: lagNum / lagDen };
}

describe('synthetic demo dataset', () => {
  const ds = demoDataset();

  it('has 50 episodes of 100-300 steps of 7-D actions by default, and says it is synthetic', () => {
    expect(ds.actionDim).toBe(7);
    expect(ds.source).toMatch(/synthetic/);
    expect(ds.episodes).toHaveLength(50);
    for (const e of ds.episodes) {
      expect(e.steps).toBeGreaterThanOrEqual(100);
      expect(e.steps).toBeLessThanOrEqual(300);
      expect(e.actions.length).toBe(e.steps * 7);
      expect(e.actions.every((v) => Number.isFinite(v) && v >= -1 && v <= 1)).toBe(true);
    }
    expect(new Set(ds.episodes.map((e) => e.steps)).size).toBeGreaterThan(10);
  });

  it('is deterministic by seed, and episode i does not depend on numEpisodes', () => {
    const again = demoDataset({ numEpisodes: 50, seed: 0 });
    expect(again.episodes.map((e) => Array.from(e.actions))).toEqual(
      ds.episodes.map((e) => Array.from(e.actions)),
    );
    const fewer = demoDataset({ numEpisodes: 3 });
    expect(fewer.episodes[2]!.actions).toEqual(ds.episodes[2]!.actions);
    const other = demoDataset({ seed: 1 });
    expect(other.episodes[0]!.actions).not.toEqual(ds.episodes[0]!.actions);
  });

  it.each([0, 1, 2, 3, 4, 5])('dim %i has a LIBERO-spatial-like std (within 25%) and is smooth', (d) => {
    const { std, lag1 } = stats(ds.episodes, d);
    const target = DEMO_TARGET_STD[d]!;
    expect(std).toBeGreaterThan(target * 0.75);
    expect(std).toBeLessThan(target * 1.25);
    expect(lag1).toBeGreaterThan(0.9);
  });

  it('has a binary gripper that switches a few times per episode', () => {
    let total = 0;
    for (const e of ds.episodes) {
      let switches = 0;
      for (let t = 0; t < e.steps; t++) {
        const g = e.actions[t * 7 + 6]!;
        expect(g === 1 || g === -1).toBe(true);
        if (t > 0 && g !== e.actions[(t - 1) * 7 + 6]) switches++;
      }
      expect(e.actions[6]).toBe(-1); // starts open
      expect([2, 4]).toContain(switches);
      total += switches;
    }
    expect(total / ds.episodes.length).toBeGreaterThan(2);
  });

  it('is what loadActions("demo") returns, honouring numEpisodes and seed', async () => {
    const loaded = await loadActions('demo', { numEpisodes: 4, seed: 7 });
    expect(loaded.episodes.map((e) => e.actions)).toEqual(
      demoDataset({ numEpisodes: 4, seed: 7 }).episodes.map((e) => e.actions),
    );
    await expectInputError(
      () => loadActions('demo', { numEpisodes: 0 }),
      /--num-episodes must be a positive integer, got 0/,
    );
    await expectInputError(() => loadActions('demo', { actionDim: 6 }), /7-D actions, but 6 were requested/);
  });
});
