/**
 * Confidence intervals for success rates. Phase 3 runs tens of trials, not thousands, so a rate alone
 * overstates what it shows: 66 of 80 and 69 of 80 are not distinguishable.
 */

/** z for a two-sided 95% interval. */
const Z95 = 1.959963984540054;

/**
 * Wilson score interval for `successes` out of `trials` (95% by default). Unlike the normal approximation it
 * stays inside [0, 1] and is not degenerate at 0 or all successes.
 */
export function wilsonInterval(successes: number, trials: number, z = Z95): [number, number] {
  if (!(Number.isInteger(trials) && trials > 0) || !(successes >= 0 && successes <= trials))
    throw new RangeError(`need 0 <= successes <= trials, trials > 0; got ${successes} of ${trials}`);
  const p = successes / trials;
  const z2 = z * z;
  const center = (p + z2 / (2 * trials)) / (1 + z2 / trials);
  const half = (z / (1 + z2 / trials)) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return [Math.max(0, center - half), Math.min(1, center + half)];
}
