import { existsSync, statSync } from 'node:fs';
import { evaluateChecklist, type ChecklistResult } from '../core/checklist.js';
import { inputError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import type { StrategyId } from '../core/plan-facts.js';
import { readMetricsFiles } from './metrics-files.js';
import {
  runMetrics,
  templateFineGrainedTasks,
  templateNotMeasured,
  templateThresholds,
} from './run-state.js';
import { Settings } from './settings.js';

export interface ChecklistRequest {
  metricsFiles: readonly string[];
  strategy?: StrategyId;
  /** A project whose run state (.rfsq/) and config thresholds count too; files given still win. */
  projectDir?: string;
}

export interface ChecklistReport extends ChecklistResult {
  strategy: StrategyId | null;
  metricsFiles: readonly string[];
  runId: string | null;
  /** Every measured value that went into the checklist. */
  metrics: Metrics;
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
export function buildChecklist(
  request: ChecklistRequest,
  settings = new Settings(),
  /** Metrics a running step reported but the state does not hold yet. */
  live: Metrics = {},
): ChecklistReport {
  const run = request.projectDir ? runMetrics(request.projectDir) : undefined;
  const fineGrainedTasks = request.projectDir ? templateFineGrainedTasks(request.projectDir) : undefined;
  const loaded = readMetricsFiles(request.metricsFiles, fineGrainedTasks);
  const strategy = request.strategy ?? run?.strategy;
  const metrics = { ...run?.metrics, ...live, ...loaded.metrics };
  const result = evaluateChecklist(metrics, {
    strategy,
    // The template's own bands first (e.g. latency for small local models); the user's settings win.
    overrides: {
      ...(request.projectDir ? templateThresholds(request.projectDir) : {}),
      ...settings.thresholdOverrides(),
    },
    sources: { ...run?.sources, ...loaded.sources },
    notMeasured: request.projectDir ? templateNotMeasured(request.projectDir) : {},
    fileExists: existsSync,
  });
  return {
    ...result,
    strategy: strategy ?? null,
    metricsFiles: request.metricsFiles,
    runId: run?.state.runId ?? null,
    metrics,
    warnings: loaded.warnings,
  };
}

/**
 * Calls `onChange` whenever one of the files changes. Polling (not fs.watch) survives the atomic
 * rename that writers use, which replaces the file's inode. The first look is synchronous, so a
 * caller that reads the files right after subscribing misses no change.
 */
export function watchFiles(files: readonly string[], onChange: () => void, intervalMs = 250): () => void {
  const signature = (file: string) => {
    try {
      const stats = statSync(file);
      return `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
    } catch {
      return 'missing';
    }
  };
  const seen = files.map(signature);
  const timer = setInterval(() => {
    let changed = false;
    files.forEach((file, index) => {
      const now = signature(file);
      if (now !== seen[index]) {
        seen[index] = now;
        changed = true;
      }
    });
    if (changed) onChange();
  }, intervalMs);
  return () => clearInterval(timer);
}
