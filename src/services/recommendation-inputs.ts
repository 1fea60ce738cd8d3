import { inputError } from '../core/errors.js';
import { improvementPct } from '../core/metrics.js';
import type { ImprovementSource } from '../core/strategy.js';

export interface ImprovementFlags {
  improvement?: string;
  naiveMse?: string;
  robustMse?: string;
  from?: string;
  notMeasured?: boolean;
}

export interface ResolvedImprovement {
  improvementPct?: number;
  source: ImprovementSource;
}

/** Parses `--improvement 44` or `44%`: a percentage from 0 to 100. */
export function parseImprovementPct(text: string): number {
  const value = Number(text.trim().replace(/%$/, ''));
  if (text.trim() === '' || !Number.isFinite(value)) {
    throw inputError(
      `--improvement "${text}" is not a number`,
      'give the measured improvement in percent, e.g. --improvement 44',
    );
  }
  if (value < 0) {
    throw inputError(
      `--improvement ${text} is negative`,
      'a negative gain means Robust is worse; pass --naive-mse and --robust-mse to record that measurement',
    );
  }
  if (value > 100) {
    throw inputError(
      `--improvement ${text} is above 100%`,
      'improvement is (naive - robust) / naive x 100, at most 100',
    );
  }
  return value;
}

export function parseMse(text: string, flag: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw inputError(
      `${flag} "${text}" is not a non-negative number`,
      `give the held-out MSE, e.g. ${flag} 0.018`,
    );
  }
  return value;
}

export function hasImprovementInput(flags: ImprovementFlags): boolean {
  return (
    flags.improvement !== undefined ||
    flags.naiveMse !== undefined ||
    flags.robustMse !== undefined ||
    flags.from !== undefined ||
    flags.notMeasured === true
  );
}

export function improvementFromMses(naiveText: string, robustText: string): ResolvedImprovement {
  const naiveMse = parseMse(naiveText, '--naive-mse');
  const robustMse = parseMse(robustText, '--robust-mse');
  if (naiveMse === 0) {
    throw inputError(
      '--naive-mse is 0, so no improvement can be computed',
      'check that it is the held-out MSE',
    );
  }
  return {
    improvementPct: improvementPct(naiveMse, robustMse),
    source: { kind: 'mse', naiveMse, robustMse },
  };
}

/**
 * Resolves the improvement from exactly one of the ways of giving it. Reading `--from` loads the run-state
 * and metrics-file parsers (zod), so they load only then: `rfsq recommend --improvement 44` stays light.
 */
export async function resolveImprovement(flags: ImprovementFlags): Promise<ResolvedImprovement> {
  const given = [
    flags.improvement !== undefined && '--improvement',
    (flags.naiveMse !== undefined || flags.robustMse !== undefined) && '--naive-mse/--robust-mse',
    flags.from !== undefined && '--from',
    flags.notMeasured === true && '--not-measured',
  ].filter((entry): entry is string => typeof entry === 'string');
  if (given.length > 1) {
    throw inputError(
      `give the improvement one way only, not ${given.join(' and ')}`,
      'keep one of those flags',
    );
  }
  if (flags.improvement !== undefined) {
    return {
      improvementPct: parseImprovementPct(flags.improvement),
      source: { kind: 'flag', text: flags.improvement },
    };
  }
  if (flags.naiveMse !== undefined || flags.robustMse !== undefined) {
    if (flags.naiveMse === undefined)
      throw inputError('--robust-mse needs --naive-mse', 'pass both held-out MSEs');
    if (flags.robustMse === undefined)
      throw inputError('--naive-mse needs --robust-mse', 'pass both held-out MSEs');
    return improvementFromMses(flags.naiveMse, flags.robustMse);
  }
  if (flags.from !== undefined) {
    const { improvementFromFile } = await import('./improvement-file.js');
    return improvementFromFile(flags.from);
  }
  return { source: { kind: 'unmeasured' } };
}
