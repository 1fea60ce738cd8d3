import { describe, expect, it } from 'vitest';
import { decideGate, STRATEGY_PLANS } from '../../src/core/pipeline-plan.js';
import { gateHandlers } from '../../src/services/run-plan.js';

describe('plans per strategy', () => {
  it('A: Phase 1, its verification, main, draft, evaluation', () => {
    expect(STRATEGY_PLANS.A.map((ref) => ref.step)).toEqual([
      'phase1-train',
      'phase1-compare',
      'phase2-main',
      'phase2-draft',
      'phase3-eval',
    ]);
    expect(STRATEGY_PLANS.A.some((ref) => ref.gateAfter)).toBe(false);
  });

  it('B: Phase 1, its verification, the decoder-swap evaluation', () => {
    expect(STRATEGY_PLANS.B.map((ref) => ref.step)).toEqual([
      'phase1-train',
      'phase1-compare',
      'phase3-swap',
    ]);
  });

  it("C: A's stages with a gate after Phase 1 and after the swap", () => {
    expect(STRATEGY_PLANS.C.map((ref) => [ref.step, ref.gateAfter ?? null])).toEqual([
      ['phase1-train', null],
      ['phase1-compare', 'phase1-improvement'],
      ['phase3-baseline', null],
      ['phase3-swap', 'swap-gain'],
      ['phase2-main', null],
      ['phase2-draft', null],
      ['phase3-eval', null],
    ]);
  });
});

describe('the gates of strategy C', () => {
  it.each([
    [{ 'phase1.improvement_pct': 30 }, 'stop'],
    [{ 'phase1.improvement_pct': 30.01 }, 'continue'],
    [{ 'phase1.naive_mse': 0.018, 'phase1.robust_mse': 0.0125 }, 'continue'],
    [{ 'phase1.naive_mse': 0.018, 'phase1.robust_mse': 0.0127 }, 'stop'],
    [{}, 'stop'],
  ])('after Phase 1, %j → %s', (metrics, decision) => {
    expect(decideGate('phase1-improvement', metrics).decision).toBe(decision);
  });

  it('stops with the advice to check the implementation', () => {
    expect(decideGate('phase1-improvement', { 'phase1.improvement_pct': 12 }).message).toMatch(
      /check the implementation/,
    );
  });

  it.each([
    [0.87, 0.9, 'continue'],
    [0.87, 0.9199, 'continue'],
    [0.87, 0.92, 'ask'],
    [0.87, 0.95, 'ask'],
    [0.87, 0.8, 'continue'],
  ])('after the swap, baseline %s and success %s → %s', (baseline, success, decision) => {
    const result = decideGate('swap-gain', {
      'phase3.baseline_success_rate': baseline,
      'phase3.success_rate': success,
    });
    expect(result.decision).toBe(decision);
  });

  it('decides the swap from the paired delta and its interval when the swap step recorded them', () => {
    const rates = { 'phase3.baseline_success_rate': 0.8, 'phase3.success_rate': 0.875 };
    const paired = (delta: number, low: number, high: number) => ({
      ...rates,
      'phase3.swap_paired_delta': delta,
      'phase3.swap_paired_delta_ci_low': low,
      'phase3.swap_paired_delta_ci_high': high,
      'phase3.swap_paired_trials': 480,
    });
    const real = decideGate('swap-gain', paired(7.5, 3.1, 11.9));
    expect(real.decision).toBe('ask');
    expect(real.message).toBe(
      'Swap gain 7.5 points (80% → 87.5%) ≥ 5 (paired over 480 trials, 95% CI 3.1 to 11.9 points): the decoder swap already delivers; retraining is optional.',
    );
    // A gain the interval cannot tell from none does not stop the retraining.
    const noisy = decideGate('swap-gain', paired(7.5, -1.2, 16));
    expect(noisy.decision).toBe('continue');
    expect(noisy.message).toContain('but the interval includes no gain');
    // The paired delta decides, not the difference of the two steps' rates.
    expect(decideGate('swap-gain', paired(2.5, -1, 6)).decision).toBe('continue');
    expect(decideGate('swap-gain', paired(2.5, -1, 6)).message).toMatch(
      /^Swap gain 2\.5 points \(80% → 87\.5%\) < 5 \(paired/,
    );
  });

  it('cannot decide the swap without a baseline', () => {
    expect(decideGate('swap-gain', { 'phase3.success_rate': 0.9 }).decision).toBe('stop');
  });

  it('a swap that already delivers continues with --continue-when-good, asks, or stops', async () => {
    const good = { 'phase3.baseline_success_rate': 0.8, 'phase3.success_rate': 0.9 };
    expect((await gateHandlers({ continueWhenGood: true })['swap-gain']!(good, {} as never)).decision).toBe(
      'continue',
    );
    const stopped = await gateHandlers({ continueWhenGood: false })['swap-gain']!(good, {} as never);
    expect(stopped.decision).toBe('stop');
    expect(stopped.message).toMatch(/--continue-when-good/);
    const asked: string[] = [];
    const yes = gateHandlers({
      continueWhenGood: false,
      ask: async (message) => (asked.push(message), true),
    });
    expect((await yes['swap-gain']!(good, {} as never)).decision).toBe('continue');
    expect(asked[0]).toMatch(/Retrain the main and draft models anyway\?/);
  });
});
