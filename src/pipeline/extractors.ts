import {
  METRICS,
  isMetricName,
  type MetricName,
  type MetricValue,
  type Provenance,
} from '../core/metrics.js';

/**
 * Metric extraction from what the steps print and write.
 *
 * Extractors are data: a name, a regex, an example line, the repo lines it was written from (file
 * and line of Oscar-Ge/RVQExperiment at d578ed2) and a function turning the match into generic keys
 * (`main_best_acc`, `draft_best_acc`, ...). Each key belongs to one model: the main model's
 * `Val Acc (avg)` and the draft's `Val Acc: L0=… | Avg=` never share a key. A step maps the keys it
 * declares to metric names with its `metricMap`; there is no default map, so a key a step does not
 * map is never recorded. `RFSQ_METRIC <name> <value>` lines name the metric directly.
 *
 * Per-epoch lines keep the best epoch (`aggregate`), and a summary line ("Best MSE: …") wins over
 * them. Malformed values (`nan`, `abc%`, an empty `L0=`) yield nothing, never NaN.
 */

export interface RawMetric {
  /** Generic key (e.g. `main_best_acc`), or a full metric name for `RFSQ_METRIC` lines. */
  key: string;
  value: number | string;
  /** A per-epoch value: the best one (`max` for accuracies, `min` for MSE) is kept. */
  aggregate?: 'min' | 'max';
  provenance?: Provenance;
}

export interface ExtractorDefinition {
  name: string;
  regex: RegExp;
  example: string;
  /** Where the format comes from: `<repo file>:<line>` at RVQExperiment d578ed2 ('rfsq' for our own). */
  printedBy: string[];
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

/** A fraction from `92.0%` (Python's `:.1%`). */
function percent(text: string | undefined): number | undefined {
  const value = parseNumber(text);
  return value === undefined ? undefined : value / 100;
}

function one(key: string, value: number | undefined, provenance: Provenance, aggregate?: 'min' | 'max') {
  if (value === undefined) return [];
  return [{ key, value, provenance, ...(aggregate ? { aggregate } : {}) }];
}

const TRAINING_BEST: Provenance = { data: 'training', epoch: 'best' };
const VALIDATION_BEST: Provenance = { data: 'validation', epoch: 'best' };

export const EXTRACTORS: readonly ExtractorDefinition[] = [
  {
    name: 'best-mse',
    // The repo's Phase 1 trainers average the MSE over the training batches of each epoch, over all
    // the data: there is no held-out split. Their best epoch is a training figure.
    regex: /^\s*Best MSE:\s*(\S+)(?:\s+\(at epoch (\d+)\))?\s*$/,
    example: '   Best MSE: 0.009812 (at epoch 87)',
    printedBy: [
      'phase2_conditional/modal_train_rfsq_robust.py:449',
      'phase2_conditional/modal_train_rfsq_robust.py:515',
      'slurm/scripts/train_phase1_rfsq.py:305',
    ],
    keys: ['train_best_mse'],
    extract: (match) =>
      one('train_best_mse', parseNumber(match[1]), {
        ...TRAINING_BEST,
        detail: `training-batch average over all the data${match[2] ? `, best epoch ${match[2]}` : ''}`,
      }),
  },
  {
    name: 'epoch-mse',
    regex: /^\s*Epoch (\d+)\/(\d+) \| MSE: (\S+) \|/,
    example: 'Epoch 87/100 | MSE: 0.009812 | Entropy: -1.9459 | LR: 0.000012 | Time: 3.1s',
    printedBy: [
      'phase2_conditional/modal_train_rfsq_robust.py:395',
      'slurm/scripts/train_phase1_rfsq.py:260',
    ],
    keys: ['train_epoch_mse'],
    extract: (match) =>
      one(
        'train_epoch_mse',
        parseNumber(match[3]),
        { data: 'training', epoch: 'best', detail: 'best of the epoch lines printed' },
        'min',
      ),
  },
  {
    name: 'main-epoch-val-acc',
    regex: /\bVal Acc \(avg\):\s*(\S+)\s*$/,
    example: '  Val Loss: 0.2110 | Val Acc (avg): 0.921',
    printedBy: [
      'phase2_conditional/modal_train_phase2_complete.py:994',
      'phase2_conditional/modal_train_phase2_conditional.py:1130',
      'slurm/scripts/train_phase2_conditional.py:515',
    ],
    keys: ['main_epoch_val_acc'],
    extract: (match) =>
      one(
        'main_epoch_val_acc',
        parseNumber(match[1]),
        { data: 'validation', epoch: 'best', detail: 'best of the epoch lines printed, all 8 layers' },
        'max',
      ),
  },
  {
    name: 'main-best-acc',
    regex: /\b(?:Conditional )?RFSQ Head (?:Best )?Accuracy:\s*(\S+)/,
    example: '   ✅ Conditional RFSQ Head Accuracy: 0.921 (target: >92%)',
    printedBy: [
      'phase2_conditional/modal_train_phase2_complete.py:1113',
      'phase2_conditional/modal_train_phase2_complete.py:1134',
      'phase2_conditional/modal_train_phase2_conditional.py:1256',
      'phase2_conditional/modal_train_phase2_conditional.py:1277',
      'slurm/scripts/train_phase2_conditional.py:637',
    ],
    keys: ['main_best_acc'],
    extract: (match) =>
      one('main_best_acc', parseNumber(match[1]), {
        ...VALIDATION_BEST,
        detail: 'best epoch on the validation split, all 8 layers',
      }),
  },
  {
    name: 'draft-epoch-val-acc',
    regex: /\bVal Acc: L0=(\S+) L1=(\S+) L2=(\S+) \| Avg=(\S+)\s*$/,
    example: '  Val Loss: 0.3012 | Val Acc: L0=0.951 L1=0.902 L2=0.874 | Avg=0.909',
    printedBy: [
      'phase2_draft_retrain/modal_train_draft_with_projection.py:558',
      'phase2_conditional/modal_train_phase2_complete.py:710',
      'phase2_conditional/modal_train_phase2_conditional.py:731',
      'slurm/scripts/train_phase2_conditional.py:371',
    ],
    keys: ['draft_epoch_val_acc'],
    extract: (match) =>
      one(
        'draft_epoch_val_acc',
        parseNumber(match[4]),
        { data: 'validation', epoch: 'best', detail: 'best of the epoch lines printed, L0–L2' },
        'max',
      ),
  },
  {
    name: 'draft-best-acc',
    regex: /\b(?:Draft Model Best Accuracy|Draft Model Accuracy|Best Validation Accuracy):\s*(\S+)/,
    example: '   ✅ Draft Model Accuracy: 0.915 (target: >90%)',
    printedBy: [
      'phase2_draft_retrain/modal_train_draft_with_projection.py:635',
      'phase2_conditional/modal_train_phase2_complete.py:1095',
      'phase2_conditional/modal_train_phase2_complete.py:1130',
      'phase2_conditional/modal_train_phase2_conditional.py:1237',
      'phase2_conditional/modal_train_phase2_conditional.py:1273',
      'slurm/scripts/train_phase2_conditional.py:633',
    ],
    keys: ['draft_best_acc'],
    extract: (match) =>
      one('draft_best_acc', parseNumber(match[1]), {
        ...VALIDATION_BEST,
        detail: 'best epoch on the validation split, L0–L2',
      }),
  },
  {
    name: 'success-rate',
    // Anchored: the per-task `Task Success Rate:` lines must not count as the overall rate.
    regex: /^\s*(?:Overall )?Success Rate:\s*(\S+)%(?:\s+\((\d+)\/(\d+)\))?\s*$/,
    example: 'Overall Success Rate: 92.0% (46/50)',
    printedBy: [
      'phase3/modal_phase3_libero_eval_CONDITIONAL_FIXED.py:1145',
      'phase3/modal_phase3_libero_eval_CONDITIONAL_FIXED.py:1202',
      'modal_phase3_libero_eval_FIXED_v2.py:495',
      'modal_phase3_libero_eval_FIXED_v2.py:543',
      'slurm/scripts/evaluate_phase3_rsd.py:707',
      'slurm/scripts/evaluate_openvla_baseline.py:561',
    ],
    keys: ['success_rate'],
    extract: (match) =>
      one('success_rate', percent(match[1]), {
        data: 'trials',
        ...(match[2] ? { detail: `${match[2]}/${match[3]} episodes` } : {}),
      }),
  },
  {
    name: 'policy-inference-time',
    regex: /^\s*Avg Inference Time:\s*(\S+?)\s*ms\s*$/,
    example: '  Avg Inference Time: 71.84ms',
    printedBy: ['slurm/scripts/evaluate_openvla_baseline.py:572'],
    keys: ['policy_inference_ms'],
    extract: (match) =>
      one('policy_inference_ms', parseNumber(match[1]), {
        data: 'trials',
        detail: 'OpenVLA forward pass and action head, per action chunk',
      }),
  },
  {
    name: 'rfsq-metric',
    regex: /^\s*RFSQ_METRIC\s+(\S+)\s+(\S+)\s*$/,
    example: 'RFSQ_METRIC phase1.robust_mse 0.0098',
    printedBy: ['rfsq'],
    keys: [],
    extract: (match) => {
      const name = match[1] ?? '';
      if (!isMetricName(name)) return [];
      if (METRICS[name].kind === 'path') return match[2] ? [{ key: name, value: match[2] }] : [];
      const value = parseNumber(match[2]);
      return value === undefined ? [] : [{ key: name, value }];
    },
  },
];

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

/** Every generic key/value a line holds, before mapping; each carries the line as its quote. */
export function extractRaw(line: string): RawMetric[] {
  const clean = stripAnsi(line);
  const out: RawMetric[] = [];
  for (const extractor of EXTRACTORS) {
    const match = clean.match(extractor.regex);
    if (!match) continue;
    for (const raw of extractor.extract(match)) {
      out.push({ ...raw, provenance: { ...raw.provenance, quote: clean.trim() } });
    }
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

export interface MappedMetric {
  name: MetricName;
  value: MetricValue;
  aggregate?: 'min' | 'max';
  provenance: Provenance;
}

/**
 * Maps raw keys to metric names through the step's own map: a generic key the map does not name
 * is dropped, and a full metric name (RFSQ_METRIC) passes as is. Implausible values are dropped.
 */
export function mapRawMetrics(
  raw: RawMetric[],
  metricMap: Readonly<Record<string, MetricName>>,
): MappedMetric[] {
  const out: MappedMetric[] = [];
  for (const { key, value, aggregate, provenance } of raw) {
    const name = isMetricName(key) ? key : metricMap[key];
    if (name === undefined || !isPlausible(name, value)) continue;
    out.push({ name, value, provenance: provenance ?? {}, ...(aggregate ? { aggregate } : {}) });
  }
  return out;
}

/**
 * Whether `next` replaces `current` for the same metric: a summary line (no aggregate) does unless
 * it repeats the same value, a per-epoch value only replaces another per-epoch value it beats, never
 * a summary.
 */
export function replaces(current: MappedMetric | undefined, next: MappedMetric): boolean {
  if (current === undefined) return true;
  // The same figure printed twice (a remote summary, then the local one): keep the fuller first line.
  if (current.aggregate === undefined && next.aggregate === undefined && current.value === next.value)
    return false;
  if (next.aggregate === undefined) return true;
  if (current.aggregate === undefined) return false;
  if (typeof current.value !== 'number' || typeof next.value !== 'number') return true;
  return next.aggregate === 'max' ? next.value > current.value : next.value < current.value;
}

/** The keys `resultsFileMetrics` yields from a LIBERO results file. */
export const RESULTS_FILE_KEYS = [
  'final_success_rate',
  'fine_grained_success_rate',
  'rsd_inference_ms',
  'policy_inference_ms',
] as const;

/** Every key a step's `metricMap` can map: the log extractors' and the results files'. */
export const EXTRACTOR_KEYS: readonly string[] = [
  ...new Set([...EXTRACTORS.flatMap((extractor) => extractor.keys), ...RESULTS_FILE_KEYS]),
];

// --- LIBERO results files ---------------------------------------------------------------------

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * Whether a parsed JSON document is a LIBERO evaluation results file rather than a metrics document:
 * it has `final_success_rate` (every results file of the repo: evaluate_phase3_rsd.py:692,
 * evaluate_openvla_baseline.py:544, modal_phase3_libero_eval_CONDITIONAL_FIXED.py:1131,
 * modal_phase3_libero_eval_FIXED_v2.py:482) and no metric names of ours.
 */
export function isResultsFile(document: unknown): boolean {
  const fields = record(document);
  return fields !== undefined && 'final_success_rate' in fields && !Object.keys(fields).some(isMetricName);
}

function normalizedTask(text: string): string {
  return text.trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * Generic keys from a LIBERO results file, with the key each value was read from:
 *
 * - `final_success_rate` (a fraction: `total_successes / total_episodes`);
 * - `fine_grained_success_rate`: successes over episodes of the `task_results[]` whose
 *   `task_description` is one of `fineGrainedTasks` (compared without case and extra spaces); the
 *   tasks found are recorded beside the value;
 * - `rsd_inference_ms`: `rsd_stats.avg_draft_time_ms + avg_main_time_ms + avg_decode_time_ms`
 *   (evaluate_phase3_rsd.py:289-291), the RSD heads and the decoder per action chunk; the OpenVLA
 *   forward pass that feeds them is not timed (evaluate_phase3_rsd.py:101);
 * - `policy_inference_ms`: `policy_stats.avg_inference_time_ms` (evaluate_openvla_baseline.py:144).
 */
export function resultsFileMetrics(document: unknown, fineGrainedTasks: readonly string[] = []): RawMetric[] {
  const fields = record(document);
  if (!fields) return [];
  const out: RawMetric[] = [];
  const successes = finite(fields['total_successes']);
  const episodes = finite(fields['total_episodes']);
  const rate = finite(fields['final_success_rate']);
  if (rate !== undefined && rate >= 0 && rate <= 1) {
    out.push({
      key: 'final_success_rate',
      value: rate,
      provenance: {
        data: 'trials',
        quote: 'final_success_rate',
        ...(successes !== undefined && episodes !== undefined
          ? { detail: `${successes}/${episodes} episodes` }
          : {}),
      },
    });
  }
  const tasks = Array.isArray(fields['task_results']) ? fields['task_results'].map(record) : [];
  const wanted = new Set(fineGrainedTasks.map(normalizedTask));
  const chosen = tasks.filter(
    (task): task is Record<string, unknown> =>
      task !== undefined &&
      typeof task['task_description'] === 'string' &&
      wanted.has(normalizedTask(task['task_description'])),
  );
  const fineEpisodes = chosen.reduce((sum, task) => sum + (finite(task['episodes']) ?? 0), 0);
  const fineSuccesses = chosen.reduce((sum, task) => sum + (finite(task['successes']) ?? 0), 0);
  if (fineEpisodes > 0) {
    const names = chosen.map((task) => String(task['task_description']));
    out.push({
      key: 'fine_grained_success_rate',
      value: fineSuccesses / fineEpisodes,
      provenance: {
        data: 'trials',
        quote: 'task_results[].successes / episodes',
        detail: `${fineSuccesses}/${fineEpisodes} episodes of the fine-grained tasks: ${names.join('; ')}`,
      },
    });
  }
  const rsd = record(fields['rsd_stats']);
  if (rsd) {
    const parts = ['avg_draft_time_ms', 'avg_main_time_ms', 'avg_decode_time_ms'].map((key) =>
      finite(rsd[key]),
    );
    if (parts.every((part) => part !== undefined && part >= 0)) {
      out.push({
        key: 'rsd_inference_ms',
        value: (parts as number[]).reduce((sum, part) => sum + part, 0),
        provenance: {
          data: 'trials',
          quote: 'rsd_stats.avg_draft_time_ms + avg_main_time_ms + avg_decode_time_ms',
          detail: 'draft and main heads plus decoder per action chunk; the OpenVLA forward pass is not timed',
        },
      });
    }
  }
  const policy = record(fields['policy_stats']);
  const policyMs = finite(policy?.['avg_inference_time_ms']);
  if (policyMs !== undefined && policyMs >= 0) {
    out.push({
      key: 'policy_inference_ms',
      value: policyMs,
      provenance: {
        data: 'trials',
        quote: 'policy_stats.avg_inference_time_ms',
        detail: 'OpenVLA forward pass and action head, per action chunk',
      },
    });
  }
  return out;
}

/**
 * How `rfsq verify --metrics <results file>` maps a results file, chosen by what the file says it is:
 * OpenVLA-OFT's own action head (`model_type: 'openvla_baseline'`, evaluate_openvla_baseline.py:541,
 * or the Modal baseline's file, which has neither `model_type` nor `rsd_stats`,
 * modal_phase3_libero_eval_FIXED_v2.py:477) is the baseline; any other evaluation is the policy
 * under test.
 */
export function resultsFileMap(document: unknown): Readonly<Record<string, MetricName>> {
  const fields = record(document);
  const isBaseline =
    fields?.['model_type'] === 'openvla_baseline' ||
    (fields !== undefined && !('model_type' in fields) && !('rsd_stats' in fields));
  if (isBaseline) {
    return { final_success_rate: 'phase3.baseline_success_rate' };
  }
  return {
    final_success_rate: 'phase3.success_rate',
    fine_grained_success_rate: 'phase3.fine_grained_success_rate',
    rsd_inference_ms: 'phase3.inference_ms',
  };
}
