import { describe, expect, it } from 'vitest';
import {
  comparePaired,
  describePaired,
  mcnemarExactP,
  pairedDifferenceInterval,
  wilsonInterval,
} from '../../src/core/proportion.js';

describe('wilsonInterval', () => {
  it('matches published Wilson intervals', () => {
    // 66 of 80: the closed form evaluated independently (Python, double precision); 5 of 10: the textbook
    // example (0.237, 0.763).
    const [lo, hi] = wilsonInterval(66, 80);
    expect(lo).toBeCloseTo(0.72742, 4);
    expect(hi).toBeCloseTo(0.89279, 4);
    const [lo2, hi2] = wilsonInterval(5, 10);
    expect(lo2).toBeCloseTo(0.2366, 3);
    expect(hi2).toBeCloseTo(0.7634, 3);
  });

  it('stays inside [0, 1] and is not degenerate at the ends', () => {
    const [lo, hi] = wilsonInterval(0, 20);
    expect(lo).toBe(0);
    expect(hi).toBeGreaterThan(0.1);
    const [lo2, hi2] = wilsonInterval(20, 20);
    expect(hi2).toBe(1);
    expect(lo2).toBeLessThan(0.9);
  });

  it('narrows as trials grow', () => {
    const width = (n: number) => {
      const [lo, hi] = wilsonInterval(n / 2, n);
      return hi - lo;
    };
    expect(width(800)).toBeLessThan(width(80));
  });

  it('rejects impossible counts', () => {
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
    expect(() => wilsonInterval(1, 0)).toThrow(RangeError);
  });
});

describe('paired comparison', () => {
  /** Outcomes of two arms from a 2x2 table of pairs. */
  const arms = (both: number, onlyA: number, onlyB: number, neither: number) => {
    const a = [...Array(both + onlyA).fill(true), ...Array(onlyB + neither).fill(false)];
    const b = [
      ...Array(both).fill(true),
      ...Array(onlyA).fill(false),
      ...Array(onlyB).fill(true),
      ...Array(neither).fill(false),
    ];
    return [a, b] as [boolean[], boolean[]];
  };

  it("matches Newcombe's published interval for his example (a) (36, 12, 2, 0: 0.0569 to 0.3404)", () => {
    const [lo, hi] = pairedDifferenceInterval({ both: 36, onlyA: 12, onlyB: 2, neither: 0 });
    expect(lo).toBeCloseTo(0.0569, 4);
    expect(hi).toBeCloseTo(0.3404, 4);
  });

  it('gives the exact McNemar p (binomial tail, evaluated independently in Python)', () => {
    expect(mcnemarExactP(12, 2)).toBeCloseTo(0.012939453125, 12);
    expect(mcnemarExactP(30, 28)).toBeCloseTo(0.8956832138895903, 10);
    expect(mcnemarExactP(3, 31)).toBeCloseTo(7.660128176212311e-7, 15);
    expect(mcnemarExactP(0, 0)).toBe(1);
    // Hundreds of discordant pairs neither overflow nor exceed 1.
    expect(mcnemarExactP(250, 250)).toBe(1);
    expect(mcnemarExactP(200, 300)).toBeLessThan(1e-4);
  });

  it('pairs outcomes seed by seed: a wide shared agreement narrows the interval, and the verdict follows it', () => {
    const [a, b] = arms(380, 30, 28, 42);
    const result = comparePaired(a, b, -0.05);
    expect(result).toMatchObject({ trials: 480, both: 380, onlyA: 30, onlyB: 28, neither: 42 });
    expect(result.difference).toBeCloseTo(2 / 480, 12);
    expect(result.interval95[0]).toBeCloseTo(-0.027272, 5);
    expect(result.interval95[1]).toBeCloseTo(0.035672, 5);
    expect(result.direction).toBe('indistinguishable');
    expect(result.nonInferior).toBe(true);
    expect(describePaired(result, 'greedy')).toMatch(
      /^not distinguishable from greedy at 480 paired trials \(Δ \+0\.4 points, 95% CI −2\.7 to \+3\.6, McNemar p 0\.90, 30:28 discordant\); non-inferior at a margin of −5\.0 points$/,
    );
    // The same rates with a third of the pairs disagreeing cannot show non-inferiority at 80 trials.
    const [c, d] = arms(50, 15, 15, 0);
    const few = comparePaired(c, d, -0.05);
    expect(few.nonInferior).toBe(false);
    expect(describePaired(few, 'greedy')).toContain('non-inferiority at a margin of −5.0 points not shown');
    const [e, f] = arms(36, 2, 12, 0);
    expect(comparePaired(e, f, -0.05).direction).toBe('worse');
    expect(describePaired(comparePaired(f, e, -0.05), 'x')).toMatch(/^better than x at 50 paired trials/);
  });

  it('refuses arms of different lengths', () => {
    expect(() => comparePaired([true], [true, false], -0.05)).toThrow(RangeError);
  });
});
