import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileSystemError, inputError } from '../core/errors.js';
import { parseMetricsDocument, type MetricName, type Metrics, type MetricSource } from '../core/metrics.js';
import { isResultsFile, mapRawMetrics, resultsFileMap, resultsFileMetrics } from '../pipeline/extractors.js';

export interface LoadedMetrics {
  metrics: Metrics;
  sources: Partial<Record<MetricName, MetricSource>>;
  warnings: string[];
}

/**
 * Reads one metrics JSON file, with a clear error for a missing or malformed one. A LIBERO results
 * file (`<suite>_rsd_results.json`, `baseline_results.json`, the Modal evaluation's files) is read
 * with the executor's own `resultsFileMetrics`, mapped by what the file says it evaluated.
 */
export function readMetricsFile(file: string, fineGrainedTasks: readonly string[] = []): LoadedMetrics {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw inputError(
        `metrics file ${file} does not exist`,
        'check the path, or write one with `rfsq compare --metrics-out`',
      );
    }
    throw fileSystemError(error, { file, what: 'metrics file' }) ?? error;
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw inputError(
      `metrics file ${file} is not valid JSON (${(error as Error).message})`,
      'fix the file: it must be one JSON object such as {"phase1.robust_mse": 0.010}',
    );
  }
  if (isResultsFile(document)) {
    const loaded: LoadedMetrics = { metrics: {}, sources: {}, warnings: [] };
    for (const metric of mapRawMetrics(
      resultsFileMetrics(document, fineGrainedTasks),
      resultsFileMap(document),
    )) {
      loaded.metrics[metric.name] = metric.value;
      loaded.sources[metric.name] = { file, ...metric.provenance };
    }
    if (fineGrainedTasks.length === 0 && loaded.metrics['phase3.success_rate'] !== undefined) {
      loaded.warnings.push(
        `${file}: no fine-grained tasks are listed (steps.phase3-eval.fineGrainedTasks in rfsq.config.json), so its fine-grained success is not computed`,
      );
    }
    return loaded;
  }
  const parsed = parseMetricsDocument(document, file);
  // A relative checkpoint path is relative to the file that names it, not to where rfsq runs.
  const checkpoint = parsed.metrics['phase1.checkpoint'];
  if (typeof checkpoint === 'string' && !path.isAbsolute(checkpoint)) {
    parsed.metrics['phase1.checkpoint'] = path.resolve(path.dirname(file), checkpoint);
  }
  const warnings = parsed.unknownKeys.map((key) => `ignoring unknown metric "${key}" in ${file}`);
  return { metrics: parsed.metrics, sources: parsed.sources, warnings };
}

/** Reads several metrics files; later files win. */
export function readMetricsFiles(
  files: readonly string[],
  fineGrainedTasks: readonly string[] = [],
): LoadedMetrics {
  const merged: LoadedMetrics = { metrics: {}, sources: {}, warnings: [] };
  for (const file of files) {
    const loaded = readMetricsFile(file, fineGrainedTasks);
    Object.assign(merged.metrics, loaded.metrics);
    Object.assign(merged.sources, loaded.sources);
    merged.warnings.push(...loaded.warnings);
  }
  return merged;
}
