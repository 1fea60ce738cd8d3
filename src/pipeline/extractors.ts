import { METRICS, isMetricName, type MetricName, type MetricValue, type Metrics } from '../core/metrics.js';

/**
 * Metric extraction from the lines a step prints.
 *
 * Extractors are data: each has a name, a regex, an example line and a function turning the
 * match into generic keys (`best_mse`, `val_acc_avg`, ...). The scripts do not say *which* model
 * they trained, so a step maps generic keys to metric names with its `metricMap`; keys with no
 * mapping are dropped. `RFSQ_METRIC <name> <value>` lines name the metric directly.
 *
 * Malformed values (`nan`, `abc%`, an empty `L0=`) yield nothing, never NaN.
 */

export interface RawMetric {
  /** Generic key (e.g. `best_mse`), or a full metric name for `RFSQ_METRIC` lines. */
  key: string;
  value: number | string;
}

export interface ExtractorDefinition {
  name: string;
  regex: RegExp;
  example: string;
  /** Generic keys this extractor can yield. */
  keys: string[];
  extract(match: RegExpMatchArray): RawMetric[];
}

const NUMBER = String.raw`[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?`;

/** A finite number from text, or undefined (`nan`, `inf`, empty, junk). */
export function parseNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (!new RegExp(`^${NUMBER}$`).test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

/** A fraction from `0.92`, `92%` or `92.0`; values written as percent (with `%`) are divided by 100. */
function fraction(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  const isPercent = trimmed.endsWith('%');
  const value = parseNumber(isPercent ? trimmed.slice(0, -1) : trimmed);
  if (value === undefined) return undefined;
  return isPercent ? value / 100 : value;
}

function one(key: string, value: number | undefined): RawMetric[] {
  return value === undefined ? [] : [{ key, value }];
}

export const EXTRACTORS: readonly ExtractorDefinition[] = [
  {
    name: 'best-mse',
    regex: /\bBest MSE:\s*(\S+)/,
    example: 'Best MSE: 0.009812 (at epoch 87)',
    keys: ['best_mse'],
    extract: (match) => one('best_mse', parseNumber(match[1])),
  },
  {
    name: 'val-acc',
    regex: /\bVal Acc:\s*(.*)$/,
    example: 'Val Acc: L0=0.951 L1=0.902 L2=0.874 | Avg=0.909',
    keys: ['val_acc_l0', 'val_acc_l1', 'val_acc_l2', 'val_acc_avg'],
    extract: (match) => {
      const out: RawMetric[] = [];
      for (const part of (match[1] ?? '').matchAll(/\b(L\d+|Avg)=(\S*)/gi)) {
        const label = (part[1] ?? '').toLowerCase();
        out.push(...one(`val_acc_${label}`, fraction(part[2])));
      }
      return out;
    },
  },
  {
    name: 'draft-accuracy',
    regex: /\bDraft Model Accuracy:\s*(\S+)/,
    example: 'Draft Model Accuracy: 0.915 (target: >90%)',
    keys: ['draft_acc'],
    extract: (match) => one('draft_acc', fraction(match[1])),
  },
  {
    name: 'success-rate',
    regex: /\bOverall Success Rate:\s*(\S+)%/,
    example: 'Overall Success Rate: 92.0% (46/50)',
    keys: ['success_rate'],
    extract: (match) => {
      const percent = parseNumber(match[1]);
      return one('success_rate', percent === undefined ? undefined : percent / 100);
    },
  },
  {
    name: 'rfsq-metric',
    regex: /^\s*RFSQ_METRIC\s+(\S+)\s+(\S+)\s*$/,
    example: 'RFSQ_METRIC phase1.robust_mse 0.0098',
    keys: [],
    extract: (match) => {
      const name = match[1] ?? '';
      if (!isMetricName(name)) return [];
      if (METRICS[name].kind === 'path') return match[2] ? [{ key: name, value: match[2] }] : [];
      return one(name, parseNumber(match[2]));
    },
  },
];

/** Default mapping of generic keys: Phase 1 Robust tokenizer, Phase 2 main model (Robust), draft, Phase 3. */
export const DEFAULT_METRIC_MAP: Readonly<Record<string, MetricName>> = {
  best_mse: 'phase1.robust_mse',
  val_acc_avg: 'phase2.main_token_acc',
  draft_acc: 'phase2.draft_coarse_acc',
  success_rate: 'phase3.success_rate',
};

export type StepKind =
  'tokenizer-robust' | 'tokenizer-naive' | 'main-model' | 'main-model-naive' | 'draft' | 'eval';

/** Sensible metric maps per kind of step; a step config may override any key. */
export const METRIC_MAPS: Readonly<Record<StepKind, Readonly<Record<string, MetricName>>>> = {
  'tokenizer-robust': { best_mse: 'phase1.robust_mse' },
  'tokenizer-naive': { best_mse: 'phase1.naive_mse' },
  'main-model': { val_acc_avg: 'phase2.main_token_acc' },
  'main-model-naive': { val_acc_avg: 'phase2.main_token_acc_naive' },
  draft: { draft_acc: 'phase2.draft_coarse_acc' },
  eval: { success_rate: 'phase3.success_rate' },
};

/** ANSI escape sequences (colors, cursor moves, OSC titles) removed; `\r` progress redraws keep the last frame. */
export function stripAnsi(line: string): string {
  const withoutEscapes = line
    // eslint-disable-next-line no-control-regex
    .replace(/\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g, '')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u001b\u009b][[\]()#;?]*(?:\d{1,4}(?:;\d{0,4})*)?[\dA-ORZcf-nq-uy=><~]/g, '');
  const frames = withoutEscapes.split('\r').filter((frame) => frame.length > 0);
  return frames[frames.length - 1] ?? '';
}

/** Every generic key/value a line holds, before mapping. */
export function extractRaw(line: string): RawMetric[] {
  const clean = stripAnsi(line);
  const out: RawMetric[] = [];
  for (const extractor of EXTRACTORS) {
    const match = clean.match(extractor.regex);
    if (match) out.push(...extractor.extract(match));
  }
  return out;
}

/** Checks a value against its metric's kind (fractions in 0–1, MSE and ms non-negative). */
export function isPlausible(name: MetricName, value: MetricValue): boolean {
  const kind = METRICS[name].kind;
  if (kind === 'path') return typeof value === 'string' && value.length > 0;
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (kind === 'fraction') return value >= 0 && value <= 1;
  if (kind === 'mse' || kind === 'ms') return value >= 0;
  return true;
}

/** Maps raw keys to metric names; unmapped keys and implausible values are dropped. */
export function mapRawMetrics(
  raw: RawMetric[],
  metricMap: Readonly<Record<string, MetricName>> = DEFAULT_METRIC_MAP,
): Metrics {
  const out: Metrics = {};
  for (const { key, value } of raw) {
    const name = isMetricName(key) ? key : metricMap[key];
    if (name === undefined || !isPlausible(name, value)) continue;
    out[name] = value;
  }
  return out;
}

/** Metrics (including path-valued ones from `RFSQ_METRIC`) found on one line. */
export function extractLineMetrics(
  line: string,
  metricMap: Readonly<Record<string, MetricName>> = DEFAULT_METRIC_MAP,
): Metrics {
  return mapRawMetrics(extractRaw(line), metricMap);
}

/** Numeric metrics found on one log line. */
export function extractMetrics(
  line: string,
  metricMap: Readonly<Record<string, MetricName>> = DEFAULT_METRIC_MAP,
): Partial<Record<MetricName, number>> {
  const out: Partial<Record<MetricName, number>> = {};
  for (const [name, value] of Object.entries(extractLineMetrics(line, metricMap))) {
    if (typeof value === 'number') out[name as MetricName] = value;
  }
  return out;
}

/**
 * Metrics from a Phase 3 `<suite>_rsd_results.json` document.
 *
 * - `final_success_rate` → `phase3.success_rate`; a value above 1 is taken as percent.
 * - `rsd_stats` → `phase3.inference_ms`: the per-step *total* time is the policy inference time, so
 *   `avg_total_time_ms` is used, else `avg_inference_time_ms`. The partial times (draft, verify,
 *   decode) are never used in its place.
 */
export function metricsFromRsdResults(document: unknown): Partial<Record<MetricName, number>> {
  const out: Partial<Record<MetricName, number>> = {};
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return out;
  const record = document as Record<string, unknown>;
  const rate = record['final_success_rate'];
  if (typeof rate === 'number' && Number.isFinite(rate) && rate >= 0) {
    const asFraction = rate > 1 ? rate / 100 : rate;
    if (asFraction <= 1) out['phase3.success_rate'] = asFraction;
  }
  const stats = record['rsd_stats'];
  if (typeof stats === 'object' && stats !== null && !Array.isArray(stats)) {
    const statRecord = stats as Record<string, unknown>;
    for (const key of ['avg_total_time_ms', 'avg_inference_time_ms']) {
      const ms = statRecord[key];
      if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) {
        out['phase3.inference_ms'] = ms;
        break;
      }
    }
  }
  return out;
}

/** Whether a parsed JSON document looks like an RSD results file rather than a metrics document. */
export function isRsdResults(document: unknown, file?: string): boolean {
  if (file !== undefined && /_rsd_results\.json$/.test(file)) return true;
  return (
    typeof document === 'object' &&
    document !== null &&
    !Array.isArray(document) &&
    ('final_success_rate' in document || 'rsd_stats' in document)
  );
}
