import { existsSync, statSync } from 'node:fs';
import { inputError } from '../core/errors.js';
import { improvementPct } from '../core/metrics.js';
import { readMetricsFile } from './metrics-files.js';
import type { ResolvedImprovement } from './recommendation-inputs.js';
import { runMetrics } from './run-state.js';

/** `--from` takes a metrics file, or a project folder whose run state holds Phase 1's metrics. */
export function improvementFromFile(file: string): ResolvedImprovement {
  const isProject = existsSync(file) && statSync(file).isDirectory();
  const run = isProject ? runMetrics(file) : undefined;
  if (isProject && !run) {
    throw inputError(
      `${file} is a folder with no rfsq run in it`,
      'pass a metrics file, or run `rfsq run` there first',
    );
  }
  const metrics = run ? run.metrics : readMetricsFile(file).metrics;
  const naive = metrics['phase1.naive_mse'];
  const robust = metrics['phase1.robust_mse'];
  const stated = metrics['phase1.improvement_pct'];
  if (typeof stated === 'number') return { improvementPct: stated, source: { kind: 'file', file } };
  if (typeof naive === 'number' && typeof robust === 'number' && naive > 0) {
    return { improvementPct: improvementPct(naive, robust), source: { kind: 'file', file } };
  }
  throw inputError(
    `${file} has neither phase1.improvement_pct nor both phase1.naive_mse and phase1.robust_mse`,
    'write them with `rfsq compare --metrics-out`, or pass --improvement',
  );
}
