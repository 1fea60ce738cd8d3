import { existsSync, unwatchFile, watchFile } from 'node:fs';
import { evaluateChecklist, type ChecklistResult } from '../core/checklist.js';
import { inputError } from '../core/errors.js';
import type { StrategyId } from '../core/plan-facts.js';
import { readMetricsFiles } from './metrics-files.js';
import { Settings } from './settings.js';

export interface ChecklistRequest {
  metricsFiles: readonly string[];
  strategy?: StrategyId;
}

export interface ChecklistReport extends ChecklistResult {
  strategy: StrategyId | null;
  metricsFiles: readonly string[];
  warnings: string[];
}

export function parseStrategy(text: string | undefined): StrategyId | undefined {
  if (text === undefined) return undefined;
  const upper = text.trim().toUpperCase();
  if (upper === 'A' || upper === 'B' || upper === 'C') return upper;
  throw inputError(
    `--strategy "${text}" is not A, B or C`,
    'A = full retrain, B = swap the decoder, C = incremental',
  );
}

/** Reads the metrics, applies the user's threshold overrides and evaluates every checklist item. */
export function buildChecklist(request: ChecklistRequest, settings = new Settings()): ChecklistReport {
  const loaded = readMetricsFiles(request.metricsFiles);
  const result = evaluateChecklist(loaded.metrics, {
    strategy: request.strategy,
    overrides: settings.thresholdOverrides(),
    sources: loaded.sources,
    fileExists: existsSync,
  });
  return {
    ...result,
    strategy: request.strategy ?? null,
    metricsFiles: request.metricsFiles,
    warnings: loaded.warnings,
  };
}

/**
 * Calls `onChange` whenever one of the files changes. Polling (not fs.watch) survives the
 * atomic rename that writers use, which replaces the file's inode.
 */
export function watchFiles(files: readonly string[], onChange: () => void, intervalMs = 250): () => void {
  const listener = () => onChange();
  for (const file of files) watchFile(file, { interval: intervalMs }, listener);
  return () => {
    for (const file of files) unwatchFile(file, listener);
  };
}
