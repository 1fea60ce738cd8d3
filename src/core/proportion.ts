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

/**
 * Newcombe's hybrid score interval (his method 10, Statistics in Medicine 1998) for the difference
 * p_a - p_b of two proportions measured on the same trials: Wilson intervals of both rates combined with
 * the correlation of the pairs, so that agreement between the arms narrows the interval.
 */
export function pairedDifferenceInterval(
  table: { both: number; onlyA: number; onlyB: number; neither: number },
  z = Z95,
): [number, number] {
  const { both, onlyA, onlyB, neither } = table;
  const n = both + onlyA + onlyB + neither;
  const successesA = both + onlyA;
  const successesB = both + onlyB;
  const pa = successesA / n;
  const pb = successesB / n;
  const [la, ua] = wilsonInterval(successesA, n, z);
  const [lb, ub] = wilsonInterval(successesB, n, z);
  const denominator = Math.sqrt(successesA * (n - successesA) * successesB * (n - successesB));
  // A margin of 0 (an arm always or never succeeding) carries no correlation: phi = 0.
  const phi = denominator > 0 ? (both * neither - onlyA * onlyB) / denominator : 0;
  const delta = pa - pb;
  const lower =
    delta - Math.sqrt(Math.max(0, (pa - la) ** 2 - 2 * phi * (pa - la) * (ub - pb) + (ub - pb) ** 2));
  const upper =
    delta + Math.sqrt(Math.max(0, (ua - pa) ** 2 - 2 * phi * (ua - pa) * (pb - lb) + (pb - lb) ** 2));
  return [Math.max(-1, lower), Math.min(1, upper)];
}

/**
 * Exact two-sided McNemar test: the probability, under "either arm is as likely to win a discordant pair",
 * of a split at least as uneven as onlyA : onlyB (binomial with p = 1/2 over the discordant pairs).
 */
export function mcnemarExactP(onlyA: number, onlyB: number): number {
  const n = onlyA + onlyB;
  if (n === 0) return 1;
  const k = Math.min(onlyA, onlyB);
  // Sum of C(n, i) / 2^n for i <= k, in logs so that hundreds of discordant pairs do not overflow.
  let logChoose = 0;
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logChoose += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logChoose - n * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}

export interface PairedComparison {
  trials: number;
  /** Trials that both arms, only A, only B, neither won. */
  both: number;
  onlyA: number;
  onlyB: number;
  neither: number;
  rateA: number;
  rateB: number;
  /** rateA - rateB, with its 95% interval (pairedDifferenceInterval). */
  difference: number;
  interval95: [number, number];
  /** Exact McNemar p on the discordant pairs. */
  mcnemarP: number;
  /** Declared before the trials, as a difference of rates (-0.05 = 5 points worse). */
  margin: number;
  /** The interval's lower end lies above the margin: A is not worse than B by more than the margin. */
  nonInferior: boolean;
  /** 'better' / 'worse': the interval excludes 0; 'indistinguishable' otherwise. */
  direction: 'better' | 'worse' | 'indistinguishable';
}

/** Compares two arms' outcomes on the same trials (outcome i of both arms comes from the same seed). */
export function comparePaired(
  a: readonly boolean[],
  b: readonly boolean[],
  margin: number,
): PairedComparison {
  if (a.length !== b.length || a.length === 0)
    throw new RangeError(
      `paired arms need the same positive number of trials, got ${a.length} and ${b.length}`,
    );
  const table = { both: 0, onlyA: 0, onlyB: 0, neither: 0 };
  a.forEach((won, i) => {
    if (won && b[i]) table.both += 1;
    else if (won) table.onlyA += 1;
    else if (b[i]) table.onlyB += 1;
    else table.neither += 1;
  });
  const trials = a.length;
  const rateA = (table.both + table.onlyA) / trials;
  const rateB = (table.both + table.onlyB) / trials;
  const interval95 = pairedDifferenceInterval(table);
  return {
    trials,
    ...table,
    rateA,
    rateB,
    difference: rateA - rateB,
    interval95,
    mcnemarP: mcnemarExactP(table.onlyA, table.onlyB),
    margin,
    nonInferior: interval95[0] > margin,
    direction: interval95[0] > 0 ? 'better' : interval95[1] < 0 ? 'worse' : 'indistinguishable',
  };
}

/** A difference of rates in signed points, one decimal: +1.5, −2.7. */
export const formatPoints = (fraction: number) =>
  `${fraction >= 0 ? '+' : '−'}${Math.abs(fraction * 100).toFixed(1)}`;
const points = formatPoints;

/**
 * The comparison in words, e.g. "not distinguishable from greedy at 480 trials (Δ −0.4 points, 95% CI
 * −4.0 to +3.1, McNemar p 0.89); non-inferior at a margin of −5 points".
 */
export function describePaired(comparison: PairedComparison, reference: string): string {
  const { trials, difference, interval95, mcnemarP, margin, nonInferior, direction } = comparison;
  const verdict =
    direction === 'indistinguishable'
      ? `not distinguishable from ${reference}`
      : `${direction} than ${reference}`;
  const marginText = `a margin of ${points(margin)} points`;
  return (
    `${verdict} at ${trials} paired trials (Δ ${points(difference)} points, 95% CI ${points(interval95[0])} to ${points(interval95[1])}, ` +
    `McNemar p ${mcnemarP < 0.001 ? '< 0.001' : mcnemarP.toFixed(2)}, ${comparison.onlyA}:${comparison.onlyB} discordant); ` +
    (nonInferior
      ? `non-inferior at ${marginText}`
      : `non-inferiority at ${marginText} not shown (the interval reaches ${points(interval95[0])})`)
  );
}
