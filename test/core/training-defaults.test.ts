import { describe, expect, it } from 'vitest';
import { defaultCoolDownFraction } from '../../src/core/training-defaults.js';

describe('defaultCoolDownFraction', () => {
  it('grows with the square root of the training chunks, between 1 and 4', () => {
    expect(defaultCoolDownFraction(50)).toBe(1);
    expect(defaultCoolDownFraction(500)).toBe(1);
    expect(defaultCoolDownFraction(904)).toBeCloseTo(1.345, 3); // the demo
    expect(defaultCoolDownFraction(2000)).toBe(2);
    expect(defaultCoolDownFraction(7934)).toBeCloseTo(3.983, 3); // 500 LIBERO-like demos
    expect(defaultCoolDownFraction(8000)).toBe(4);
    expect(defaultCoolDownFraction(1e6)).toBe(4);
  });
});
