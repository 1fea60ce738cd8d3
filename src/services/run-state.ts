import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ThresholdOverride } from '../core/checklist.js';
import type { MetricName, Metrics, MetricSource } from '../core/metrics.js';
import type { StrategyId } from '../core/plan-facts.js';
import { CONFIG_FILE, readPipelineConfig } from '../pipeline/config.js';
import { collectMetrics, loadState, statePath, type RunState } from '../pipeline/state.js';

export interface RunMetrics {
  state: RunState;
  metrics: Metrics;
  sources: Partial<Record<MetricName, MetricSource>>;
  strategy: StrategyId | undefined;
}

/** The metrics a run measured so far, each with the step output it came from. */
export function runMetrics(projectDir: string): RunMetrics | undefined {
  const state = loadState(projectDir);
  if (!state) return undefined;
  const metrics = collectMetrics(state);
  const sources: Partial<Record<MetricName, MetricSource>> = {};
  for (const record of Object.values(state.steps)) {
    for (const [name, source] of Object.entries(record.metricSources)) {
      sources[name as MetricName] = { file: source };
    }
  }
  const strategy = ['A', 'B', 'C'].includes(state.strategy) ? (state.strategy as StrategyId) : undefined;
  return { state, metrics, sources, strategy };
}

export function hasRunState(projectDir: string): boolean {
  return existsSync(statePath(projectDir));
}

/** The template's own thresholds (e.g. a latency band for small local models), if the project has a config. */
export function templateThresholds(projectDir: string): Record<string, ThresholdOverride> {
  if (!existsSync(path.join(projectDir, CONFIG_FILE))) return {};
  return readPipelineConfig(projectDir).thresholds;
}
