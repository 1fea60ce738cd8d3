import { describe, expect, it } from 'vitest';
import { wilsonInterval } from '../../src/core/proportion.js';

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
