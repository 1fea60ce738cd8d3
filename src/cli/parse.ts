import { inputError } from '../core/errors.js';

/** Flag parsers: each turns a flag's text into a value or a one-line error that names the flag. */
export function parseInteger(text: string, flag: string, min = 1): number {
  const value = Number(text);
  if (!/^\s*-?\d+\s*$/.test(text) || value < min) {
    throw inputError(`${flag} "${text}" must be a whole number ≥ ${min}`, `e.g. ${flag} ${Math.max(min, 8)}`);
  }
  return value;
}

export function parseNumber(
  text: string,
  flag: string,
  options: { min?: number; exclusiveMin?: boolean; max?: number } = {},
) {
  const value = Number(text);
  const { min, exclusiveMin, max } = options;
  const belowMin = min !== undefined && (exclusiveMin ? value <= min : value < min);
  const aboveMax = max !== undefined && value > max;
  if (text.trim() === '' || !Number.isFinite(value) || belowMin || aboveMax) {
    const lower = min === undefined ? '' : exclusiveMin ? ` > ${min}` : ` ≥ ${min}`;
    const bound = max === undefined ? lower : `${lower}${lower ? ' and' : ''} ≤ ${max}`;
    throw inputError(`${flag} "${text}" must be a number${bound}`, `e.g. ${flag} 0.001`);
  }
  return value;
}

export function parseChoice<T extends string>(text: string, flag: string, choices: readonly T[]): T {
  const match = choices.find((choice) => choice.toLowerCase() === text.trim().toLowerCase());
  if (!match)
    throw inputError(`${flag} "${text}" is not one of ${choices.join(', ')}`, `e.g. ${flag} ${choices[0]}`);
  return match;
}

/** A fraction in (0, 1]; a percentage such as 90 is refused with a hint rather than guessed at. */
export function parseFraction(text: string, flag: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0 || value > 1) {
    throw inputError(`${flag} "${text}" must be a fraction in (0, 1]`, `e.g. ${flag} 0.9 (not 90)`);
  }
  return value;
}
