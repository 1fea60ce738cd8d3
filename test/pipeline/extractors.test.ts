import { describe, expect, it } from 'vitest';
import type { MetricName } from '../../src/core/metrics.js';
import {
  EXTRACTORS,
  extractRaw,
  isResultsFile,
  mapRawMetrics,
  replaces,
  resultsFileMap,
  resultsFileMetrics,
  stripAnsi,
} from '../../src/pipeline/extractors.js';

/**
 * The lines below are what Oscar-Ge/RVQExperiment prints at commit d578ed2: each is the script's
 * format string filled in (Python's :.6f, :.3f, :.1%, :.2f), with the file and line it comes from.
 */
const REAL_LINES: Array<{ from: string; line: string; raw: Array<[string, number]> }> = [
  // Phase 1: the Robust trainers' best epoch (training MSE) and their epoch lines.
  {
    from: 'phase2_conditional/modal_train_rfsq_robust.py:449',
    line: '   Best MSE: 0.009812 (at epoch 87)',
    raw: [['train_best_mse', 0.009812]],
  },
  {
    from: 'phase2_conditional/modal_train_rfsq_robust.py:515',
    line: '   Best MSE: 0.009812',
    raw: [['train_best_mse', 0.009812]],
  },
  {
    from: 'slurm/scripts/train_phase1_rfsq.py:305',
    line: '   Best MSE: 0.010240 (at epoch 91)',
    raw: [['train_best_mse', 0.01024]],
  },
  {
    from: 'phase2_conditional/modal_train_rfsq_robust.py:395-399 (and slurm/scripts/train_phase1_rfsq.py:260-264)',
    line: 'Epoch 87/100 | MSE: 0.009812 | Entropy: -1.9459 | LR: 0.000012 | Time: 3.1s',
    raw: [['train_epoch_mse', 0.009812]],
  },
  // Phase 2, main model (the conditional RFSQ head): per-epoch average and best accuracy.
  {
    from: 'phase2_conditional/modal_train_phase2_conditional.py:1130 (complete.py:994, train_phase2_conditional.py:515)',
    line: '  Val Loss: 0.2110 | Val Acc (avg): 0.921',
    raw: [['main_epoch_val_acc', 0.921]],
  },
  {
    from: 'phase2_conditional/modal_train_phase2_complete.py:1113',
    line: '✅ RFSQ Head Best Accuracy: 0.921',
    raw: [['main_best_acc', 0.921]],
  },
  {
    from: 'phase2_conditional/modal_train_phase2_complete.py:1134',
    line: '   ✅ RFSQ Head Accuracy: 0.921 (target: >92%)',
    raw: [['main_best_acc', 0.921]],
  },
  {
    from: 'phase2_conditional/modal_train_phase2_conditional.py:1256',
    line: '✅ Conditional RFSQ Head Best Accuracy: 0.934',
    raw: [['main_best_acc', 0.934]],
  },
  {
    from: 'phase2_conditional/modal_train_phase2_conditional.py:1277 (slurm/scripts/train_phase2_conditional.py:637)',
    line: '   ⚠️ Conditional RFSQ Head Accuracy: 0.887 (target: >92%)',
    raw: [['main_best_acc', 0.887]],
  },
  // Phase 2, draft model (L0–L2): per-epoch average and best accuracy.
  {
    from: 'phase2_draft_retrain/modal_train_draft_with_projection.py:558 (complete.py:710, conditional.py:731, train_phase2_conditional.py:371)',
    line: '  Val Loss: 0.3012 | Val Acc: L0=0.951 L1=0.902 L2=0.874 | Avg=0.909',
    raw: [['draft_epoch_val_acc', 0.909]],
  },
  {
    from: 'phase2_conditional/modal_train_phase2_conditional.py:1237 (complete.py:1095)',
    line: '✅ Draft Model Best Accuracy: 0.915',
    raw: [['draft_best_acc', 0.915]],
  },
  {
    from: 'phase2_conditional/modal_train_phase2_conditional.py:1273 (complete.py:1130, train_phase2_conditional.py:633)',
    line: '   ✅ Draft Model Accuracy: 0.915 (target: >90%)',
    raw: [['draft_best_acc', 0.915]],
  },
  {
    from: 'phase2_draft_retrain/modal_train_draft_with_projection.py:635',
    line: '   Best Validation Accuracy: 0.902',
    raw: [['draft_best_acc', 0.902]],
  },
  // Phase 3.
  {
    from: 'phase3/modal_phase3_libero_eval_CONDITIONAL_FIXED.py:1145 and :1202 (modal_phase3_libero_eval_FIXED_v2.py:495, :543)',
    line: '   Success Rate: 92.0%',
    raw: [['success_rate', 0.92]],
  },
  {
    from: 'slurm/scripts/evaluate_phase3_rsd.py:707 (evaluate_openvla_baseline.py:561)',
    line: 'Overall Success Rate: 92.0% (46/50)',
    raw: [['success_rate', 0.92]],
  },
  {
    from: 'slurm/scripts/evaluate_openvla_baseline.py:572',
    line: '  Avg Inference Time: 71.84ms',
    raw: [['policy_inference_ms', 71.84]],
  },
];

/** The metrics a line yields through a step's map (the last value of a name on the line wins). */
function extractLineMetrics(line: string, metricMap: Record<string, MetricName> = {}) {
  return Object.fromEntries(
    mapRawMetrics(extractRaw(line), metricMap).map((metric) => [metric.name, metric.value]),
  );
}

const rawPairs = (line: string) => extractRaw(line).map((raw) => [raw.key, raw.value]);

describe('extractors', () => {
  it.each(REAL_LINES)('reads $from', ({ line, raw }) => {
    expect(rawPairs(line)).toEqual(raw);
    for (const metric of extractRaw(line)) expect(metric.provenance?.quote).toBe(line.trim());
  });

  it.each([
    // The one line that both the draft and the main trainer print: no key may guess whose it is.
    ['   Best Val Accuracy: 0.915', 'modal_train_phase2_conditional.py:773 (draft) and :1181 (main)'],
    // A single task's rate is not the overall success rate.
    ['   Task Success Rate: 100.0% (1/1)', 'modal_phase3_libero_eval_CONDITIONAL_FIXED.py:1111'],
    // Partial times: the draft and main heads alone are not the inference time.
    ['  Avg Draft Time: 3.10ms', 'slurm/scripts/evaluate_phase3_rsd.py:720'],
    ['  Avg Main Time: 6.40ms', 'slurm/scripts/evaluate_phase3_rsd.py:721'],
    ['  Per-layer: L0=0.951 L1=0.930 L2=0.921 L3=0.915', 'modal_train_phase2_conditional.py:1131'],
    ['   ✅ New best model saved! MSE: 0.009812', 'modal_train_rfsq_robust.py:423'],
  ])('yields nothing for %s (%s)', (line) => {
    expect(extractRaw(line)).toEqual([]);
  });

  it('labels the repo MSE as a training figure of the best epoch', () => {
    const [best] = extractRaw('   Best MSE: 0.009812 (at epoch 87)');
    expect(best?.provenance).toMatchObject({ data: 'training', epoch: 'best' });
    expect(best?.provenance?.detail).toMatch(/over all the data, best epoch 87/);
    const [epoch] = extractRaw('Epoch 3/100 | MSE: 0.012000 | Entropy: -1.9 | LR: 0.001 | Time: 3.1s');
    expect(epoch).toMatchObject({ aggregate: 'min', provenance: { data: 'training' } });
  });

  it('keeps the draft accuracy off the main model: each map takes only its own keys', () => {
    const mainMap: Record<string, MetricName> = {
      main_best_acc: 'phase2.main_token_acc',
      main_epoch_val_acc: 'phase2.main_token_acc',
    };
    expect(
      extractLineMetrics('  Val Loss: 0.3012 | Val Acc: L0=0.951 L1=0.902 L2=0.874 | Avg=0.909', mainMap),
    ).toEqual({});
    expect(extractLineMetrics('   ✅ Draft Model Accuracy: 0.915 (target: >90%)', mainMap)).toEqual({});
    expect(extractLineMetrics('✅ Conditional RFSQ Head Best Accuracy: 0.934', mainMap)).toEqual({
      'phase2.main_token_acc': 0.934,
    });
    // No map, no metric: there is no default.
    expect(extractLineMetrics('✅ Conditional RFSQ Head Best Accuracy: 0.934')).toEqual({});
  });

  it('keeps the best epoch, and a summary line wins over the epoch lines', () => {
    const map: Record<string, MetricName> = { draft_epoch_val_acc: 'phase2.draft_coarse_acc' };
    const [first, better, worse] = [
      '  Val Loss: 0.3 | Val Acc: L0=0.9 L1=0.8 L2=0.7 | Avg=0.800',
      '  Val Loss: 0.2 | Val Acc: L0=0.9 L1=0.9 L2=0.9 | Avg=0.900',
      '  Val Loss: 0.2 | Val Acc: L0=0.9 L1=0.8 L2=0.8 | Avg=0.850',
    ].map((line) => mapRawMetrics(extractRaw(line), map)[0]!);
    expect(replaces(undefined, first!)).toBe(true);
    expect(replaces(first, better!)).toBe(true);
    expect(replaces(better, worse!)).toBe(false);
    const summary = mapRawMetrics(extractRaw('✅ Draft Model Best Accuracy: 0.899'), {
      draft_best_acc: 'phase2.draft_coarse_acc',
    })[0]!;
    expect(replaces(better, summary)).toBe(true);
    expect(replaces(summary, better!)).toBe(false);
  });

  it('reads RFSQ_METRIC lines, including paths, and ignores unknown names', () => {
    expect(extractLineMetrics('RFSQ_METRIC phase3.inference_ms 48.5')).toEqual({
      'phase3.inference_ms': 48.5,
    });
    expect(rawPairs('RFSQ_METRIC phase1.checkpoint /models/rfsq_robust_best.pt')).toEqual([
      ['phase1.checkpoint', '/models/rfsq_robust_best.pt'],
    ]);
    expect(extractLineMetrics('RFSQ_METRIC phase9.nothing 1')).toEqual({});
  });

  it.each([
    '   Best MSE: nan',
    '   Best MSE: inf (at epoch 3)',
    'Overall Success Rate: abc% (0/0)',
    '  Val Loss: 0.3 | Val Acc: L0= L1=x L2= | Avg=',
    '   Best Validation Accuracy: N/A',
    'RFSQ_METRIC phase1.robust_mse NaN',
    'an ordinary line',
  ])('yields nothing for a malformed line: %s', (line) => {
    for (const raw of extractRaw(line)) expect(Number.isNaN(raw.value)).toBe(false);
    expect(extractLineMetrics(line, { success_rate: 'phase3.success_rate' })).toEqual({});
  });

  it('drops an implausible success rate', () => {
    expect(
      extractLineMetrics('Overall Success Rate: 920.0% (460/50)', { success_rate: 'phase3.success_rate' }),
    ).toEqual({});
  });

  it('strips ANSI colors before matching', () => {
    const colored = '\u001b[32mOverall Success Rate:\u001b[0m \u001b[1m92.0%\u001b[0m (46/50)';
    expect(stripAnsi(colored)).toBe('Overall Success Rate: 92.0% (46/50)');
    expect(extractLineMetrics(colored, { success_rate: 'phase3.success_rate' })).toEqual({
      'phase3.success_rate': 0.92,
    });
    expect(rawPairs('\u001b[2K\rEpoch 3\r   Best MSE: \u001b[33m0.010000\u001b[0m')).toEqual([
      ['train_best_mse', 0.01],
    ]);
  });

  it('every extractor matches its own example and names the lines it was written from', () => {
    for (const extractor of EXTRACTORS) {
      expect(extractor.regex.test(extractor.example), extractor.name).toBe(true);
      expect(extractRaw(extractor.example).length, extractor.name).toBeGreaterThan(0);
      for (const where of extractor.printedBy)
        expect(where, extractor.name).toMatch(/^(rfsq|[\w/]+\.py:\d+)$/);
    }
  });
});

/** A results file with the keys evaluate_phase3_rsd.py writes (lines 686-700, get_stats 283-292). */
const RSD_RESULTS = {
  task_suite: 'libero_spatial',
  use_speculative_decoding: true,
  model_type: 'conditional_rsd',
  total_episodes: 100,
  total_successes: 87,
  final_success_rate: 0.87,
  task_results: [
    {
      task_id: 0,
      task_description: 'pick up the black bowl on the stove and place it on the plate',
      successes: 40,
      episodes: 50,
      success_rate: 0.8,
    },
    {
      task_id: 1,
      task_description: 'pick up the black bowl next to the plate and place it on the plate',
      successes: 47,
      episodes: 50,
      success_rate: 0.94,
    },
  ],
  rsd_stats: {
    total_predictions: 2800,
    draft_acceptance_rate: 0.41,
    mode_locking_rate: 1,
    avg_draft_time_ms: 3.1,
    avg_main_time_ms: 6.4,
    avg_decode_time_ms: 0.7,
  },
};

describe('LIBERO results files', () => {
  it('reads the success rate, the RSD time and the fine-grained tasks named by the template', () => {
    const raw = resultsFileMetrics(RSD_RESULTS, [
      'Pick up the black bowl on the stove  and place it on the plate',
    ]);
    expect(raw.map((metric) => [metric.key, metric.value])).toEqual([
      ['final_success_rate', 0.87],
      ['fine_grained_success_rate', 0.8],
      ['rsd_inference_ms', expect.closeTo(10.2, 10)],
    ]);
    expect(raw[0]?.provenance?.detail).toBe('87/100 episodes');
    expect(raw[1]?.provenance?.detail).toBe(
      '40/50 episodes of the fine-grained tasks: pick up the black bowl on the stove and place it on the plate',
    );
    expect(raw[2]?.provenance?.detail).toMatch(/OpenVLA forward pass is not timed/);
  });

  it('computes no fine-grained rate without a task list, or when none of its tasks ran', () => {
    expect(resultsFileMetrics(RSD_RESULTS).map((metric) => metric.key)).not.toContain(
      'fine_grained_success_rate',
    );
    expect(
      resultsFileMetrics(RSD_RESULTS, ['a task that was not evaluated']).map((metric) => metric.key),
    ).not.toContain('fine_grained_success_rate');
  });

  it('reads the baseline policy time (evaluate_openvla_baseline.py:144) and maps the baseline file as the baseline', () => {
    const baseline = {
      model_type: 'openvla_baseline',
      total_episodes: 10,
      total_successes: 8,
      final_success_rate: 0.8,
      task_results: [],
      policy_stats: {
        total_predictions: 280,
        avg_inference_time_ms: 71.84,
        fallback_count: 0,
        fallback_rate: 0,
      },
    };
    const raw = resultsFileMetrics(baseline);
    expect(raw.map((metric) => [metric.key, metric.value])).toEqual([
      ['final_success_rate', 0.8],
      ['policy_inference_ms', 71.84],
    ]);
    expect(mapRawMetrics(raw, resultsFileMap(baseline)).map((metric) => [metric.name, metric.value])).toEqual(
      [['phase3.baseline_success_rate', 0.8]],
    );
    // The Modal baseline (modal_phase3_libero_eval_FIXED_v2.py:477) has neither model_type nor rsd_stats.
    expect(resultsFileMap({ final_success_rate: 0.8, task_results: [] })).toEqual({
      final_success_rate: 'phase3.baseline_success_rate',
    });
    expect(resultsFileMap(RSD_RESULTS)['final_success_rate']).toBe('phase3.success_rate');
  });

  it('needs all three partial times for the RSD time, and ignores junk', () => {
    const partial = { ...RSD_RESULTS, rsd_stats: { avg_draft_time_ms: 3.1, avg_main_time_ms: 6.4 } };
    expect(resultsFileMetrics(partial).map((metric) => metric.key)).toEqual(['final_success_rate']);
    expect(resultsFileMetrics({ final_success_rate: 'high', rsd_stats: null })).toEqual([]);
    expect(resultsFileMetrics({ final_success_rate: 87 })).toEqual([]);
    expect(resultsFileMetrics([1, 2])).toEqual([]);
  });

  it('tells a results file from a metrics document', () => {
    expect(isResultsFile(RSD_RESULTS)).toBe(true);
    expect(isResultsFile({ 'phase3.success_rate': 0.9 })).toBe(false);
    expect(isResultsFile({ phase3: { success_rate: 0.9 } })).toBe(false);
  });
});
