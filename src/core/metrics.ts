import { inputError } from './errors.js';

/** The one vocabulary of metrics shared by every component (see DESIGN.md). */
export const METRICS = {
  'phase1.naive_mse': { kind: 'mse', description: 'held-out reconstruction MSE of the naive tokenizer' },
  'phase1.robust_mse': { kind: 'mse', description: 'held-out reconstruction MSE of the Robust tokenizer' },
  'phase1.improvement_pct': { kind: 'percent', description: '(naive - robust) / naive x 100' },
  'phase1.roundtrip_mse': {
    kind: 'mse',
    description: 'MSE of decode(encode(x)) against x, from the codes alone',
  },
  'phase1.checkpoint': { kind: 'path', description: 'path of the saved Robust checkpoint' },
  'phase2.main_token_acc': { kind: 'fraction', description: 'main model token accuracy, Robust tokenizer' },
  'phase2.main_token_acc_naive': {
    kind: 'fraction',
    description: 'main model token accuracy, naive tokenizer',
  },
  'phase2.draft_coarse_acc': { kind: 'fraction', description: 'draft model accuracy on L0-L2' },
  'phase3.success_rate': { kind: 'fraction', description: 'closed-loop success rate' },
  'phase3.fine_grained_success_rate': {
    kind: 'fraction',
    description: 'closed-loop success on fine-grained tasks',
  },
  'phase3.baseline_success_rate': { kind: 'fraction', description: 'success before the change (gates of C)' },
  'phase3.inference_ms': { kind: 'ms', description: 'policy inference time per step' },
  'phase3.swap_paired_delta': {
    kind: 'points',
    description: 'decoder swap minus baseline success, paired on the same seeds (gate of C)',
  },
  'phase3.swap_paired_delta_ci_low': { kind: 'points', description: 'lower end of its 95% interval' },
  'phase3.swap_paired_delta_ci_high': { kind: 'points', description: 'upper end of its 95% interval' },
  'phase3.swap_paired_trials': { kind: 'count', description: 'paired trials behind the swap delta' },
} as const;

export type MetricName = keyof typeof METRICS;
export type MetricValue = number | string;
export type Metrics = Partial<Record<MetricName, MetricValue>>;

/** What data a figure was measured on. `training` is the training data itself, never held out. */
export const DATA_KINDS = ['held-out', 'validation', 'training', 'trials'] as const;
export type DataKind = (typeof DATA_KINDS)[number];

/** What a figure is, beside where it came from: the data it was measured on and which epoch. */
export interface Provenance {
  data?: DataKind;
  /** `best`: the best epoch of a training run; `last`: its last epoch. */
  epoch?: 'best' | 'last';
  /** The line or results-file key the value was read from, as the script wrote it. */
  quote?: string;
  /** What else a reader must know (e.g. which tasks count as fine-grained, what a time covers). */
  detail?: string;
}

/** Where a metric value came from, so that a user can trace every number on the checklist. */
export interface MetricSource extends Provenance {
  /** `file:<path>`, `log:<path>:<line>`, or the path of a metrics file given to `rfsq verify`. */
  file: string;
}

/** A figure's provenance in one line: what it is, then where it came from. */
export function describeSource(source: MetricSource): string {
  const what = [
    source.data === undefined
      ? undefined
      : `${source.data === 'trials' ? 'closed-loop trials' : `${source.data} data`}`,
    source.epoch === undefined ? undefined : `${source.epoch} epoch`,
    source.detail,
  ].filter((part): part is string => part !== undefined);
  const quote = source.quote === undefined ? '' : ` "${source.quote}"`;
  return `${what.length > 0 ? `${what.join(', ')}; ` : ''}${source.file}${quote}`;
}

export interface ParsedMetrics {
  metrics: Metrics;
  sources: Partial<Record<MetricName, MetricSource>>;
  unknownKeys: string[];
}

export function isMetricName(name: string): name is MetricName {
  return Object.hasOwn(METRICS, name);
}

/**
 * Reads a metrics document: either flat (`{"phase1.robust_mse": 0.01}`) or nested by phase
 * (`{"phase1": {"robust_mse": 0.01}}`). Values are validated against the metric's kind, so
 * that a percentage written where a fraction belongs (91 instead of 0.91) is caught here.
 */
export function parseMetricsDocument(document: unknown, file: string): ParsedMetrics {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw inputError(
      `metrics file ${file} must hold a JSON object of metric names`,
      'write e.g. {"phase1.naive_mse": 0.018, "phase1.robust_mse": 0.010}',
    );
  }
  const flat: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(document)) {
    if (/^phase\d$/.test(key) && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [innerKey, innerValue] of Object.entries(value)) flat[`${key}.${innerKey}`] = innerValue;
    } else {
      flat[key] = value;
    }
  }
  const parsed: ParsedMetrics = { metrics: {}, sources: {}, unknownKeys: [] };
  for (const [key, value] of Object.entries(flat)) {
    if (!isMetricName(key)) {
      parsed.unknownKeys.push(key);
      continue;
    }
    if (value === null) continue;
    parsed.metrics[key] = validateMetricValue(key, value, file);
    parsed.sources[key] = { file };
  }
  return parsed;
}

/**
 * The range of each kind of value: one definition, applied to metrics files, to checklist thresholds
 * (`rfsq config set threshold.…`) and wherever else a value of that kind enters. `fraction-difference`
 * is a difference of two fractions (main minus naive accuracy), `points` one in percentage points.
 */
export const VALUE_RULES = {
  mse: { min: 0, hint: 'MSE is a non-negative number in normalized action units' },
  percent: {
    max: 100,
    hint: 'improvement is (naive − robust) / naive × 100: a percentage of at most 100, e.g. 44 for 44%',
  },
  fraction: { min: 0, max: 1, hint: 'accuracies and rates are fractions from 0 to 1: write 0.92, not 92' },
  'fraction-difference': {
    min: -1,
    max: 1,
    hint: 'a difference of two fractions, from -1 to 1: write 0.01 for one point, not 1',
  },
  points: {
    min: -100,
    max: 100,
    hint: 'a difference of success rates in percentage points, from -100 to 100',
  },
  ms: { min: 0, hint: 'times are non-negative numbers of milliseconds' },
  count: { min: 0, integer: true, hint: 'a count is a whole number ≥ 0' },
} as const satisfies Record<string, { min?: number; max?: number; integer?: boolean; hint: string }>;

export type ValueKind = keyof typeof VALUE_RULES;

/** What is wrong with `value` as a value of `kind` ("is 500, above 100"), or undefined when it is fine. */
export function valueProblem(kind: ValueKind, value: number): string | undefined {
  const rule: { min?: number; max?: number; integer?: boolean } = VALUE_RULES[kind];
  // JSON.parse turns 1e999 into Infinity, which JSON.stringify would show as null.
  if (!Number.isFinite(value)) return `is ${value}, not a finite number`;
  if (rule.integer && !Number.isInteger(value)) return `is ${value}, not a whole number`;
  const { min, max } = rule;
  const outside = (min !== undefined && value < min) || (max !== undefined && value > max);
  if (!outside) return undefined;
  if (min !== undefined && max !== undefined) return `is ${value}, outside ${min}–${max}`;
  return min !== undefined ? `is ${value}, below ${min}` : `is ${value}, above ${max}`;
}

export function validateMetricValue(name: MetricName, value: unknown, file: string): MetricValue {
  const kind = METRICS[name].kind;
  if (kind === 'path') {
    if (typeof value !== 'string' || value.length === 0) {
      throw inputError(`${name} in ${file} must be a file path`, 'write the checkpoint path as a string');
    }
    return value;
  }
  if (typeof value !== 'number') {
    throw inputError(
      `${name} in ${file} must be a finite number, got ${JSON.stringify(value)}`,
      VALUE_RULES[kind].hint,
    );
  }
  const problem = valueProblem(kind, value);
  if (problem) throw inputError(`${name} in ${file} ${problem}`, VALUE_RULES[kind].hint);
  return value;
}

/** Improvement of the Robust tokenizer over the naive one, in percent. */
export function improvementPct(naiveMse: number, robustMse: number): number {
  return ((naiveMse - robustMse) / naiveMse) * 100;
}

/** Fills in the metrics that follow from others, without overriding measured ones. */
export function withDerivedMetrics(metrics: Metrics): Metrics {
  const result: Metrics = { ...metrics };
  const naive = result['phase1.naive_mse'];
  const robust = result['phase1.robust_mse'];
  if (
    result['phase1.improvement_pct'] === undefined &&
    typeof naive === 'number' &&
    typeof robust === 'number'
  ) {
    if (naive > 0) result['phase1.improvement_pct'] = improvementPct(naive, robust);
  }
  return result;
}
