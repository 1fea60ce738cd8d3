import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rfsq, tempDir } from '../helpers/cli.js';

/** The miniature at its smallest (one epoch, one trial per task), so that all seven steps stay quick. */
const FAST = ['--var', 'trials=1', '--var', 'phase2Epochs=1'];

describe('strategy C on the local template (built binary)', () => {
  it('runs every stage, its gates decided from the values the steps measured', async () => {
    const dir = tempDir();
    const configDir = tempDir();
    expect((await rfsq(['init', '--template', 'local', ...FAST], { cwd: dir, configDir })).exitCode).toBe(0);

    // --continue-when-good: whichever way the swap gate goes, the run goes on to retraining.
    const run = await rfsq(['run', '--strategy', 'C', '--yes', '--continue-when-good'], {
      cwd: dir,
      configDir,
    });
    expect(run.exitCode).toBe(0);
    const state = JSON.parse(readFileSync(path.join(dir, '.rfsq/state.json'), 'utf8'));
    const improvement = state.steps['phase1-compare'].metrics['phase1.improvement_pct'];
    const baseline = state.steps['phase3-baseline'].metrics['phase3.baseline_success_rate'];
    expect(typeof improvement).toBe('number');
    expect(typeof baseline).toBe('number');
    // The gate messages quote the measured figures, rounded as the gate shows them.
    const shownImprovement = `${Math.round(improvement * 100) / 100}%`;
    expect(run.stderr).toContain(
      `Improvement ${shownImprovement} > 30%: go on to the decoder-swap evaluation.`,
    );
    expect(run.stderr).toMatch(/Swap gain -?[\d.]+ points \([\d.]+% → [\d.]+%\) (< 5|≥ 5)/);
    expect(run.stderr).toContain(`(${Math.round(baseline * 1000) / 10}% →`);
    // The swap step pairs each trial with the same policies and their own decoder; the gate reads that.
    expect(run.stderr).toMatch(
      /Swap gain [^\n]*\(paired over 4 trials, 95% CI -?[\d.]+ to -?[\d.]+ points\)/,
    );
    expect(state.gates.map((gate: { gate: string; decision: string }) => [gate.gate, gate.decision])).toEqual(
      [
        ['phase1-improvement', 'continue'],
        ['swap-gain', expect.stringMatching(/^(continue|ask)$/)],
      ],
    );
    for (const step of [
      'phase1-train',
      'phase1-compare',
      'phase3-baseline',
      'phase3-swap',
      'phase2-main',
      'phase2-draft',
      'phase3-eval',
    ])
      expect(state.steps[step].status, step).toBe('succeeded');

    const verify = await rfsq(['verify', '--json'], { cwd: dir, configDir });
    const report = JSON.parse(verify.stdout);
    expect(report.strategy).toBe('C');
    expect(report.summary.pending).toBe(0);
    expect(report.summary['n/a']).toBe(0);
    expect(report.items.every((item: { value: unknown }) => item.value !== null)).toBe(true);
  });
});
