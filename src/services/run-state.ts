import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ThresholdOverride } from '../core/checklist.js';
import type { MetricName, Metrics, MetricSource } from '../core/metrics.js';
import type { StrategyId } from '../core/plan-facts.js';
import { CONFIG_FILE, readPipelineConfig, type PipelineConfig } from '../pipeline/config.js';
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
      sources[name as MetricName] = { file: source, ...record.metricProvenance?.[name as MetricName] };
    }
  }
  const strategy = ['A', 'B', 'C'].includes(state.strategy) ? (state.strategy as StrategyId) : undefined;
  return { state, metrics, sources, strategy };
}

export function hasRunState(projectDir: string): boolean {
  return existsSync(statePath(projectDir));
}

/** The project's config, if it has one. */
function projectConfig(projectDir: string): PipelineConfig | undefined {
  return existsSync(path.join(projectDir, CONFIG_FILE)) ? readPipelineConfig(projectDir) : undefined;
}

/** Why the template's scripts cannot supply some metrics (each step's `notMeasured`, default variants). */
export function templateNotMeasured(projectDir: string): Partial<Record<MetricName, string>> {
  const steps = new Map<MetricName, Map<string, string[]>>();
  for (const [id, step] of Object.entries(projectConfig(projectDir)?.steps ?? {})) {
    for (const [name, reason] of Object.entries(step?.notMeasured ?? {})) {
      const byReason = steps.get(name as MetricName) ?? new Map<string, string[]>();
      byReason.set(reason, [...(byReason.get(reason) ?? []), id]);
      steps.set(name as MetricName, byReason);
    }
  }
  const out: Partial<Record<MetricName, string>> = {};
  for (const [name, byReason] of steps) {
    out[name] = [...byReason]
      .map(([reason, ids]) => `not measured by ${ids.join(', ')}: ${reason}`)
      .join('; ');
  }
  return out;
}

/** The fine-grained task list of the project's evaluation step, for results files given to `rfsq verify`. */
export function templateFineGrainedTasks(projectDir: string): string[] | undefined {
  return projectConfig(projectDir)?.steps['phase3-eval']?.fineGrainedTasks;
}

/** The template's own thresholds (e.g. a latency band for small local models), if the project has a config. */
export function templateThresholds(projectDir: string): Record<string, ThresholdOverride> {
  return projectConfig(projectDir)?.thresholds ?? {};
}
