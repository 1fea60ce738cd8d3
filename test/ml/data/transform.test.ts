import { describe, expect, it } from 'vitest';
import {
  chunkEpisodes,
  computeNormStats,
  demoDataset,
  denormalize,
  normalize,
  quantile,
  splitEpisodes,
  type Episode,
} from '../../../src/ml/data/index.js';
import { expectInputError } from './helpers.js';

/** Builds an episode from rows of values. */
function episode(name: string, rows: number[][]): Episode {
  return { name, actions: Float32Array.from(rows.flat()), steps: rows.length };
}

describe('percentile normalization', () => {
  it('computes the 1st/99th percentiles with linear interpolation (numpy default)', () => {
    const sorted = Float64Array.from({ length: 101 }, (_, i) => i);
    expect(quantile(sorted, 0.01)).toBeCloseTo(1, 12);
    expect(quantile(sorted, 0.99)).toBeCloseTo(99, 12);
    // np.quantile([0, 10, 20, 30], 0.99) == 29.7 ; 0.01 -> 0.3
    expect(quantile([0, 10, 20, 30], 0.99)).toBeCloseTo(29.7, 12);
    expect(quantile([0, 10, 20, 30], 0.01)).toBeCloseTo(0.3, 12);
  });

  it('computes per-dim stats over all steps of all episodes, in any order', () => {
    // dim 0: values 0..100 shuffled across two episodes; dim 1: constant 5; dim 2: binary gripper
    const values = Array.from({ length: 101 }, (_, i) => (i * 37) % 101);
    const rows = values.map((v, i) => [v, 5, i % 2 === 0 ? -1 : 1]);
    const stats = computeNormStats([episode('a', rows.slice(0, 40)), episode('b', rows.slice(40))]);
    expect(stats.low[0]).toBeCloseTo(1, 5);
    expect(stats.high[0]).toBeCloseTo(99, 5);
    expect([stats.low[1], stats.high[1]]).toEqual([5, 5]);
    expect([stats.low[2], stats.high[2]]).toEqual([-1, 1]);

    const x = Float32Array.from([1, 5, -1, 99, 5, 1, 50, 5, 1, -1000, 5, -1, 1000, 5, 1]);
    const n = normalize(x, stats);
    expect(Array.from(n)).toEqual([-1, 0, -1, 1, 0, 1, 0, 0, 1, -1, 0, -1, 1, 0, 1]);
    const back = denormalize(n, stats);
    expect(Array.from(back.subarray(0, 9))).toEqual([1, 5, -1, 99, 5, 1, 50, 5, 1]);
    expect(back[9]).toBe(1); // clipped values come back at the bounds
    expect(back[12]).toBe(99);
    expect(n.every((v) => Number.isFinite(v))).toBe(true);
  });

  it('maps into [-1, 1] and round-trips in-range values on the demo data', () => {
    const { episodes } = demoDataset({ numEpisodes: 10 });
    const stats = computeNormStats(episodes);
    const a = episodes[0]!.actions;
    const n = normalize(a, stats);
    expect(n.every((v) => v >= -1 && v <= 1)).toBe(true);
    const back = denormalize(n, stats);
    for (let i = 0; i < a.length; i++) {
      const d = i % 7;
      if (a[i]! > stats.low[d]! && a[i]! < stats.high[d]!) expect(back[i]).toBeCloseTo(a[i]!, 5);
    }
  });

  it('rejects stats of the wrong dimension', async () => {
    await expectInputError(
      () => normalize(new Float32Array(7), { low: [0, 0], high: [1, 1] }),
      /2 dimensions/,
    );
  });
});

describe('chunking', () => {
  const a = episode(
    'a',
    Array.from({ length: 10 }, (_, t) => [t, -t]),
  );
  const b = episode(
    'b',
    Array.from({ length: 5 }, (_, t) => [100 + t, -100 - t]),
  );

  it('cuts non-overlapping windows per episode and drops short tails', () => {
    const c = chunkEpisodes([a, b], 4);
    expect([c.count, c.chunk, c.actionDim]).toEqual([3, 4, 2]);
    expect(c.data.length).toBe(3 * 4 * 2);
    expect(Array.from(c.data)).toEqual([
      0, -0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7, 100, -100, 101, -101, 102, -102, 103, -103,
    ]);
  });

  it('supports a stride for overlapping windows, and chunk = 8 by default', () => {
    const c = chunkEpisodes([a], 4, { stride: 3 });
    expect(c.count).toBe(3); // starts 0, 3, 6
    expect(c.data[2 * 8]).toBe(6);
    expect(chunkEpisodes([a]).count).toBe(1);
    const demo = demoDataset({ numEpisodes: 3 });
    const expected = demo.episodes.reduce((s, e) => s + Math.floor(e.steps / 8), 0);
    expect(chunkEpisodes(demo.episodes).count).toBe(expected);
  });

  it('errors when no episode is long enough or the chunk size is invalid', async () => {
    await expectInputError(
      () => chunkEpisodes([b], 6),
      /No episode is long enough for chunks of 6 steps \(the longest has 5/,
    );
    await expectInputError(() => chunkEpisodes([a], 0), /chunk size must be a positive integer/);
  });
});

describe('train / held-out split by episode', () => {
  const episodes = demoDataset({ numEpisodes: 20 }).episodes;

  it('puts every episode in exactly one set, deterministically by seed', () => {
    const s = splitEpisodes(episodes, { seed: 3 });
    expect(s.heldOut).toHaveLength(4);
    expect(s.train).toHaveLength(16);
    const train = new Set(s.train.map((e) => e.name));
    expect(s.heldOut.some((e) => train.has(e.name))).toBe(false);
    expect(new Set([...train, ...s.heldOut.map((e) => e.name)]).size).toBe(20);
    expect(splitEpisodes(episodes, { seed: 3 }).heldOut.map((e) => e.name)).toEqual(
      s.heldOut.map((e) => e.name),
    );
    const seeds = new Set(
      [0, 1, 2, 3, 4].map((seed) =>
        splitEpisodes(episodes, { seed })
          .heldOut.map((e) => e.name)
          .join(),
      ),
    );
    expect(seeds.size).toBeGreaterThan(1);
  });

  it('keeps at least one episode on each side', () => {
    const two = episodes.slice(0, 2);
    const s = splitEpisodes(two, { heldOutFraction: 0.01, seed: 0 });
    expect([s.train.length, s.heldOut.length]).toEqual([1, 1]);
    const t = splitEpisodes(episodes.slice(0, 3), { heldOutFraction: 0.99, seed: 0 });
    expect([t.train.length, t.heldOut.length]).toEqual([1, 2]);
  });

  it('refuses to split a single episode or a bad fraction', async () => {
    await expectInputError(() => splitEpisodes(episodes.slice(0, 1), { seed: 0 }), /Cannot split 1 episode/);
    await expectInputError(() => splitEpisodes(episodes, { heldOutFraction: 1 }), /between 0 and 1/);
  });
});
