import { describe, expect, it } from 'vitest';
import { defaultCoolDownFraction } from '../../src/core/training-defaults.js';

describe('defaultCoolDownFraction', () => {
  it('grows in proportion to the training chunks, between 1 and 4', () => {
    expect(defaultCoolDownFraction(50)).toBe(1);
    expect(defaultCoolDownFraction(500)).toBe(1);
    expect(defaultCoolDownFraction(1372)).toBe(1); // sim
    expect(defaultCoolDownFraction(2000)).toBe(1);
    expect(defaultCoolDownFraction(5000)).toBe(2.5);
    expect(defaultCoolDownFraction(7934)).toBeCloseTo(3.967, 3); // 500 LIBERO-like demos
    expect(defaultCoolDownFraction(8000)).toBe(4);
    expect(defaultCoolDownFraction(1e6)).toBe(4);
  });
});
