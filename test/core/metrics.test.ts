import { describe, expect, it } from 'vitest';
import { parseMetricsDocument, withDerivedMetrics } from '../../src/core/metrics.js';

describe('metrics documents', () => {
  it('reads flat and nested names alike', () => {
    const flat = parseMetricsDocument({ 'phase1.robust_mse': 0.01 }, 'a.json');
    const nested = parseMetricsDocument({ phase1: { robust_mse: 0.01 } }, 'b.json');
    expect(flat.metrics).toEqual(nested.metrics);
    expect(nested.sources['phase1.robust_mse']).toEqual({ file: 'b.json' });
  });

  it('collects unknown names instead of failing', () => {
    expect(parseMetricsDocument({ 'phase1.robust_mes': 1 }, 'a.json').unknownKeys).toEqual([
      'phase1.robust_mes',
    ]);
  });

  it('rejects a percentage where a fraction belongs', () => {
    expect(() => parseMetricsDocument({ 'phase3.success_rate': 92 }, 'a.json')).toThrow(/outside 0–1/);
  });

  it.each([[[1, 2]], ['text'], [null], [3]])('rejects a document that is not an object: %j', (document) => {
    expect(() => parseMetricsDocument(document, 'a.json')).toThrow(/JSON object/);
  });

  it('rejects non-numeric values', () => {
    expect(() => parseMetricsDocument({ 'phase1.naive_mse': '0.1' }, 'a.json')).toThrow(/finite number/);
  });

  it('keeps a measured improvement over the derived one', () => {
    const metrics = withDerivedMetrics({
      'phase1.naive_mse': 0.02,
      'phase1.robust_mse': 0.01,
      'phase1.improvement_pct': 33,
    });
    expect(metrics['phase1.improvement_pct']).toBe(33);
    expect(
      withDerivedMetrics({ 'phase1.naive_mse': 0.02, 'phase1.robust_mse': 0.01 })['phase1.improvement_pct'],
    ).toBe(50);
  });
});
