import { inputError } from './errors.js';
import {
  describeSource,
  valueProblem,
  VALUE_RULES,
  type ValueKind,
  withDerivedMetrics,
  type MetricName,
  type Metrics,
  type MetricSource,
} from './metrics.js';
import type { StrategyId } from './plan-facts.js';

/** How an item compares its value against its threshold. */
export type Comparison =
  | { kind: 'present' }
  | { kind: 'fileExists' }
  | { kind: 'lessThan'; threshold: number; target?: number }
  | { kind: 'greaterThan'; threshold: number; target?: number }
  | { kind: 'atLeast'; threshold: number }
  | { kind: 'between'; min: number; max: number };

/** A checklist value: a metric, or a difference of two (main minus naive accuracy). */
export type ItemValue = { metric: MetricName } | { difference: [MetricName, MetricName] };

export type Phase = 1 | 2 | 3;

export interface ChecklistItem {
  id: string;
  phase: Phase;
  label: string;
  value: ItemValue;
  comparison: Comparison;
  /** points: a difference of two fractions, shown in percentage points. */
  unit: 'mse' | 'percent' | 'fraction' | 'points' | 'ms' | 'path';
  /** The item measures generalization: a figure on the training data cannot pass it. */
  needsHeldOut?: boolean;
}

/** The plan's verification checklist (验证清单), defined once. */
export const CHECKLIST: readonly ChecklistItem[] = [
  {
    id: 'p1.trained',
    phase: 1,
    label: 'Robust RFSQ training complete',
    value: { metric: 'phase1.robust_mse' },
    comparison: { kind: 'present' },
    unit: 'mse',
  },
  {
    id: 'p1.mse',
    phase: 1,
    label: 'Robust held-out MSE',
    value: { metric: 'phase1.robust_mse' },
    comparison: { kind: 'lessThan', threshold: 0.012, target: 0.01 },
    unit: 'mse',
    needsHeldOut: true,
  },
  {
    id: 'p1.improvement',
    phase: 1,
    label: 'Improvement over naive',
    value: { metric: 'phase1.improvement_pct' },
    comparison: { kind: 'greaterThan', threshold: 30 },
    unit: 'percent',
    needsHeldOut: true,
  },
  {
    id: 'p1.checkpoint',
    phase: 1,
    label: 'Checkpoint saved',
    value: { metric: 'phase1.checkpoint' },
    comparison: { kind: 'fileExists' },
    unit: 'path',
  },
  {
    id: 'p2.main_acc',
    phase: 2,
    label: 'Main model token accuracy',
    value: { metric: 'phase2.main_token_acc' },
    comparison: { kind: 'greaterThan', threshold: 0.91 },
    unit: 'fraction',
  },
  {
    id: 'p2.main_vs_naive',
    phase: 2,
    label: 'Main accuracy minus naive',
    value: { difference: ['phase2.main_token_acc', 'phase2.main_token_acc_naive'] },
    comparison: { kind: 'atLeast', threshold: 0.01 },
    unit: 'points',
  },
  {
    id: 'p2.draft_acc',
    phase: 2,
    label: 'Draft coarse accuracy (L0–L2)',
    value: { metric: 'phase2.draft_coarse_acc' },
    comparison: { kind: 'greaterThan', threshold: 0.9 },
    unit: 'fraction',
  },
  {
    id: 'p3.success',
    phase: 3,
    label: 'Success rate',
    value: { metric: 'phase3.success_rate' },
    comparison: { kind: 'greaterThan', threshold: 0.9 },
    unit: 'fraction',
  },
  {
    id: 'p3.fine_grained',
    phase: 3,
    label: 'Fine-grained success rate',
    value: { metric: 'phase3.fine_grained_success_rate' },
    comparison: { kind: 'greaterThan', threshold: 0.85 },
    unit: 'fraction',
  },
  {
    id: 'p3.inference_ms',
    phase: 3,
    label: 'Inference time per step',
    value: { metric: 'phase3.inference_ms' },
    comparison: { kind: 'between', min: 45, max: 55 },
    unit: 'ms',
  },
];

export const CHECKLIST_IDS = CHECKLIST.map((item) => item.id);

export type ItemStatus = 'pass' | 'fail' | 'pending' | 'n/a';

/** A user's override of an item's threshold: one number, or a min–max range for `between`. */
export type ThresholdOverride = number | { min: number; max: number };

export interface ItemResult {
  id: string;
  phase: Phase;
  label: string;
  status: ItemStatus;
  value: number | string | null;
  threshold: string;
  comparison: Comparison;
  unit: ChecklistItem['unit'];
  source: string | null;
  /** What the value is and where it came from (held-out or training, best epoch, the line it was read from). */
  provenance?: string[];
  note?: string;
}

export interface ChecklistResult {
  items: ItemResult[];
  summary: Record<ItemStatus, number>;
  exitStatus: 'pass' | 'fail' | 'pending';
}

export interface EvaluateOptions {
  strategy?: StrategyId;
  overrides?: Record<string, ThresholdOverride>;
  sources?: Partial<Record<MetricName, MetricSource>>;
  /** Metrics the pipeline's scripts cannot supply, with the reason (from the template's `notMeasured`). */
  notMeasured?: Partial<Record<MetricName, string>>;
  /** Resolves whether a checkpoint path exists; injected so this module stays free of I/O. */
  fileExists: (path: string) => boolean;
}

export function applyOverride(comparison: Comparison, override: ThresholdOverride | undefined): Comparison {
  if (override === undefined) return comparison;
  switch (comparison.kind) {
    case 'between':
      return typeof override === 'number'
        ? comparison
        : { kind: 'between', min: override.min, max: override.max };
    case 'lessThan':
    case 'greaterThan':
      return typeof override === 'number' ? { kind: comparison.kind, threshold: override } : comparison;
    case 'atLeast':
      return typeof override === 'number' ? { kind: 'atLeast', threshold: override } : comparison;
    default:
      return comparison;
  }
}

/** The kind of value each unit shows, whose rule (VALUE_RULES) a threshold of that unit must obey too. */
const UNIT_KINDS: Record<Exclude<ChecklistItem['unit'], 'path'>, ValueKind> = {
  mse: 'mse',
  percent: 'percent',
  fraction: 'fraction',
  points: 'fraction-difference',
  ms: 'ms',
};

/**
 * A threshold override is held to the rule of the item's values, so that a threshold no value can
 * reach (91 for an accuracy, shown as "> 9100%") is refused where it is entered. `key` names it.
 */
export function validateThreshold(
  itemId: string,
  override: ThresholdOverride,
  key: string,
): ThresholdOverride {
  const item = CHECKLIST.find((candidate) => candidate.id === itemId);
  if (!item || item.unit === 'path') return override;
  const kind = UNIT_KINDS[item.unit];
  for (const value of typeof override === 'number' ? [override] : [override.min, override.max]) {
    const problem = valueProblem(kind, value);
    if (problem) throw inputError(`${key} ${problem}`, VALUE_RULES[kind].hint);
  }
  return override;
}

/** Which items can take which override: used to validate settings. */
export function overrideShape(itemId: string): 'number' | 'range' | null {
  const item = CHECKLIST.find((candidate) => candidate.id === itemId);
  if (!item) return null;
  if (item.comparison.kind === 'between') return 'range';
  if (item.comparison.kind === 'present' || item.comparison.kind === 'fileExists') return null;
  return 'number';
}

export function describeComparison(comparison: Comparison, unit: ChecklistItem['unit']): string {
  const show = (value: number) => formatValue(value, unit);
  switch (comparison.kind) {
    case 'present':
      return 'recorded';
    case 'fileExists':
      return 'file exists';
    case 'lessThan':
      return `< ${show(comparison.threshold)}${comparison.target === undefined ? '' : `, goal ${show(comparison.target)}`}`;
    case 'greaterThan':
      return `> ${show(comparison.threshold)}${comparison.target === undefined ? '' : `, goal ${show(comparison.target)}`}`;
    case 'atLeast':
      return `≥ ${show(comparison.threshold)}`;
    case 'between':
      return unit === 'ms'
        ? `${comparison.min}–${comparison.max} ms`
        : `${show(comparison.min)}–${show(comparison.max)}`;
  }
}

export function formatValue(value: number | string, unit: ChecklistItem['unit']): string {
  if (typeof value === 'string') return value;
  switch (unit) {
    case 'percent':
      return `${round(value, 2)}%`;
    case 'fraction':
      return `${round(value * 100, 2)}%`;
    case 'points': {
      const points = round(value * 100, 2);
      return `${points} ${Math.abs(points) === 1 ? 'pt' : 'pts'}`;
    }
    case 'mse':
      // Six decimals would show a Robust MSE of 9.5e-6 as 0.00001: keep three significant digits.
      return value !== 0 && Math.abs(value) < 1e-3 ? value.toExponential(2) : String(round(value, 6));
    case 'ms':
      return `${round(value, 2)} ms`;
    default:
      return String(round(value, 6));
  }
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function compare(comparison: Comparison, value: number): boolean {
  switch (comparison.kind) {
    case 'lessThan':
      return value < comparison.threshold;
    case 'greaterThan':
      return value > comparison.threshold;
    case 'atLeast':
      // A small tolerance so that 0.92 - 0.91 (0.00999...) counts as the 1 point it is.
      return value >= comparison.threshold - 1e-9;
    case 'between':
      return value >= comparison.min && value <= comparison.max;
    default:
      return true;
  }
}

export function evaluateChecklist(rawMetrics: Metrics, options: EvaluateOptions): ChecklistResult {
  const metrics = withDerivedMetrics(rawMetrics);
  const items = CHECKLIST.map((item): ItemResult => {
    const comparison = applyOverride(item.comparison, options.overrides?.[item.id]);
    const base = {
      id: item.id,
      phase: item.phase,
      label: item.label,
      comparison,
      unit: item.unit,
      threshold: describeComparison(comparison, item.unit),
    };
    if (item.phase === 2 && options.strategy === 'B') {
      return {
        ...base,
        status: 'n/a',
        value: null,
        source: null,
        note: 'strategy B keeps the Phase 2 models',
      };
    }
    const { value, source } = readValue(item.value, metrics, options.sources);
    const inputs = valueInputs(item.value, rawMetrics, options.sources);
    const known = inputs.flatMap((name) => {
      const found = options.sources?.[name];
      return found ? [{ name, source: found }] : [];
    });
    const provenance = known.map(({ name, source: found }) => `${name}: ${describeSource(found)}`);
    const traced = provenance.length > 0 ? { provenance } : {};
    if (value === undefined) {
      const why = inputs.map((name) => options.notMeasured?.[name]).find((reason) => reason !== undefined);
      return { ...base, status: 'pending', value: null, source: null, ...(why ? { note: why } : {}) };
    }
    const training = known.filter(({ source: found }) => found.data === 'training');
    if (item.needsHeldOut && training.length > 0) {
      return {
        ...base,
        status: 'pending',
        value,
        source,
        ...traced,
        note: `${training.map(({ name }) => name).join(' and ')} ${training.length === 1 ? 'is a figure' : 'are figures'} on the training data; this item needs held-out data (rfsq train / rfsq compare measure it)`,
      };
    }
    if (comparison.kind === 'fileExists') {
      const exists = typeof value === 'string' && options.fileExists(value);
      return {
        ...base,
        status: exists ? 'pass' : 'fail',
        value,
        source,
        ...traced,
        ...(exists ? {} : { note: 'not found' }),
      };
    }
    if (comparison.kind === 'present') return { ...base, status: 'pass', value, source, ...traced };
    if (typeof value !== 'number')
      return { ...base, status: 'fail', value, source, ...traced, note: 'not a number' };
    return { ...base, status: compare(comparison, value) ? 'pass' : 'fail', value, source, ...traced };
  });
  const summary: Record<ItemStatus, number> = { pass: 0, fail: 0, pending: 0, 'n/a': 0 };
  for (const item of items) summary[item.status] += 1;
  const exitStatus = summary.fail > 0 ? 'fail' : summary.pending > 0 ? 'pending' : 'pass';
  return { items, summary, exitStatus };
}

/** The measured metrics an item's value rests on: the derived improvement rests on the two MSEs. */
function valueInputs(value: ItemValue, measured: Metrics, sources: EvaluateOptions['sources']): MetricName[] {
  if ('difference' in value) return [...value.difference];
  const derived =
    value.metric === 'phase1.improvement_pct' &&
    measured['phase1.improvement_pct'] === undefined &&
    sources?.['phase1.improvement_pct'] === undefined;
  return derived ? ['phase1.naive_mse', 'phase1.robust_mse'] : [value.metric];
}

function readValue(
  value: ItemValue,
  metrics: Metrics,
  sources: EvaluateOptions['sources'],
): { value: number | string | undefined; source: string | null } {
  if ('metric' in value) {
    const source = sources?.[value.metric]?.file ?? (metrics[value.metric] === undefined ? null : 'derived');
    return { value: metrics[value.metric], source };
  }
  const [left, right] = value.difference;
  const a = metrics[left];
  const b = metrics[right];
  if (typeof a !== 'number' || typeof b !== 'number') return { value: undefined, source: null };
  const files = [sources?.[left]?.file, sources?.[right]?.file].filter(Boolean);
  return { value: a - b, source: files.length > 0 ? [...new Set(files)].join(', ') : 'derived' };
}
