import { inputError } from './errors.js';

const HOURS_PER_UNIT: Record<string, number> = {
  m: 1 / 60,
  h: 1,
  d: 24,
  w: 24 * 7,
};

const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*([mhdw])$/i;

/** Parses a time budget such as `90m`, `6h`, `1d`, `3.5d` or `2w` into hours. */
export function parseDurationHours(text: string, flag = '--time-budget'): number {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) {
    throw inputError(
      `${flag} "${text}" is not a duration`,
      'write a number and a unit: 90m, 6h, 1d, 3.5d or 2w (m = minutes, h = hours, d = days, w = weeks)',
    );
  }
  const amount = Number(match[1]);
  const hours = amount * (HOURS_PER_UNIT[match[2]!.toLowerCase()] ?? Number.NaN);
  if (!(hours > 0)) {
    throw inputError(
      `${flag} "${text}" must be longer than zero`,
      'give the time you can spend, e.g. 6h or 3d',
    );
  }
  return hours;
}

/** Formats a range of hours such as 2–3 h, or 3–4 d for long ones. */
export function formatHourRange(minHours: number, maxHours: number): string {
  if (maxHours >= 48) return `${round(minHours / 24)}–${round(maxHours / 24)} d`;
  return minHours === maxHours ? `${round(minHours)} h` : `${round(minHours)}–${round(maxHours)} h`;
}

function round(value: number): string {
  return String(Math.round(value * 100) / 100);
}
