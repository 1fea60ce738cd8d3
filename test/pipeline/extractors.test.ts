import { describe, expect, it } from 'vitest';
import {
  EXTRACTORS,
  METRIC_MAPS,
  extractMetrics,
  extractRaw,
  metricsFromRsdResults,
  stripAnsi,
} from '../../src/pipeline/extractors.js';

describe('extractors', () => {
  it('maps Best MSE to the Robust MSE by default and to the naive one when the step says so', () => {
    expect(extractMetrics('Best MSE: 0.009812 (at epoch 87)')).toEqual({ 'phase1.robust_mse': 0.009812 });
    expect(extractMetrics('Best MSE: 0.018 (at epoch 90)', METRIC_MAPS['tokenizer-naive'])).toEqual({
      'phase1.naive_mse': 0.018,
    });
  });

  it('reads per-layer accuracies and maps the average', () => {
    const line = 'Val Acc: L0=0.951 L1=0.902 L2=0.874 | Avg=0.909';
    expect(extractRaw(line)).toEqual([
      { key: 'val_acc_l0', value: 0.951 },
      { key: 'val_acc_l1', value: 0.902 },
      { key: 'val_acc_l2', value: 0.874 },
      { key: 'val_acc_avg', value: 0.909 },
    ]);
    expect(extractMetrics(line)).toEqual({ 'phase2.main_token_acc': 0.909 });
    expect(extractMetrics(line, METRIC_MAPS['main-model-naive'])).toEqual({
      'phase2.main_token_acc_naive': 0.909,
    });
  });

  it('reads the draft accuracy', () => {
    expect(extractMetrics('Draft Model Accuracy: 0.915 (target: >90%)')).toEqual({
      'phase2.draft_coarse_acc': 0.915,
    });
  });

  it('turns a success percentage into a fraction', () => {
    expect(extractMetrics('Overall Success Rate: 92.0% (46/50)')).toEqual({ 'phase3.success_rate': 0.92 });
  });

  it('reads RFSQ_METRIC lines, including paths, and ignores unknown names', () => {
    expect(extractMetrics('RFSQ_METRIC phase3.inference_ms 48.5')).toEqual({ 'phase3.inference_ms': 48.5 });
    expect(extractRaw('RFSQ_METRIC phase1.checkpoint /models/rfsq_robust_best.pt')).toEqual([
      { key: 'phase1.checkpoint', value: '/models/rfsq_robust_best.pt' },
    ]);
    expect(extractMetrics('RFSQ_METRIC phase9.nothing 1')).toEqual({});
  });

  it.each([
    'Best MSE: nan',
    'Best MSE: inf (at epoch 3)',
    'Overall Success Rate: abc% (0/0)',
    'Val Acc: L0=',
    'Val Acc: L0= L1=x | Avg=',
    'Draft Model Accuracy: N/A',
    'RFSQ_METRIC phase1.robust_mse NaN',
    'Overall Success Rate: 920% (460/50)',
    'an ordinary line',
  ])('yields nothing for a malformed line: %s', (line) => {
    const metrics = extractMetrics(line);
    expect(metrics).toEqual({});
    for (const value of Object.values(metrics)) expect(Number.isNaN(value)).toBe(false);
  });

  it('strips ANSI colors before matching', () => {
    const colored = '\u001b[32mOverall Success Rate:\u001b[0m \u001b[1m92.0%\u001b[0m (46/50)';
    expect(stripAnsi(colored)).toBe('Overall Success Rate: 92.0% (46/50)');
    expect(extractMetrics(colored)).toEqual({ 'phase3.success_rate': 0.92 });
    expect(extractMetrics('\u001b[2K\rEpoch 3\rBest MSE: \u001b[33m0.01\u001b[0m')).toEqual({
      'phase1.robust_mse': 0.01,
    });
  });

  it('every extractor matches its own example', () => {
    for (const extractor of EXTRACTORS) {
      expect(extractor.regex.test(extractor.example), extractor.name).toBe(true);
      expect(extractRaw(extractor.example).length, extractor.name).toBeGreaterThan(0);
    }
  });

  describe('RSD results', () => {
    it('reads a fraction and the total time', () => {
      expect(
        metricsFromRsdResults({
          final_success_rate: 0.92,
          rsd_stats: { avg_draft_time_ms: 12, avg_total_time_ms: 48.2, acceptance_rate: 0.7 },
        }),
      ).toEqual({ 'phase3.success_rate': 0.92, 'phase3.inference_ms': 48.2 });
    });

    it('takes a rate above 1 as percent and never uses a partial time', () => {
      expect(metricsFromRsdResults({ final_success_rate: 87, rsd_stats: { avg_draft_time_ms: 12 } })).toEqual(
        {
          'phase3.success_rate': 0.87,
        },
      );
    });

    it('falls back to the inference time and ignores junk', () => {
      expect(metricsFromRsdResults({ rsd_stats: { avg_inference_time_ms: 47 } })).toEqual({
        'phase3.inference_ms': 47,
      });
      expect(metricsFromRsdResults({ final_success_rate: 'high', rsd_stats: null })).toEqual({});
      expect(metricsFromRsdResults([1, 2])).toEqual({});
    });
  });
});
