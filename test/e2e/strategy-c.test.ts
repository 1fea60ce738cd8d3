import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gatherReport } from '../../src/services/report/gather.js';
import { rolloutChartId } from '../../src/services/report/specs.js';
import { launchBrowser, visitPage } from '../helpers/browser.js';
import { ROOT, rfsq, tempDir } from '../helpers/cli.js';
import { pageProblems } from '../helpers/report-page.js';

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

    // The report of this run: every chart, each from the file the run wrote it to.
    const data = gatherReport(dir);
    const metric = (step: string, name: string) => state.steps[step].metrics[name];
    const present = <T>(part: { data: T; file: string } | { missing: string }) => {
      if ('missing' in part) throw new Error(part.missing);
      return part;
    };
    const robustCurve = present(data.phase1.robust);
    expect(robustCurve.file).toBe(path.join(dir, 'runs/phase1/robust/config.json'));
    expect(robustCurve.data.curve).toHaveLength(20); // the template's phase1Epochs
    expect(robustCurve.data.selectedBy).toBe('last epoch'); // --validation-fraction 0
    const compare = present(data.phase1.compare);
    expect(compare.file).toBe(path.join(dir, 'runs/phase1/compare-results.json'));
    expect(compare.data.robust.heldOutMse).toBe(metric('phase1-compare', 'phase1.robust_mse'));
    expect(compare.data.naive.layers).toHaveLength(8);
    expect(present(data.phase2.robust).data.mainTokenAcc).toBe(
      metric('phase2-main', 'phase2.main_token_acc'),
    );
    expect(present(data.phase2.naive).data.mainTokenAcc).toBe(
      metric('phase2-main', 'phase2.main_token_acc_naive'),
    );
    expect(present(data.phase2.draft).data.draftCoarseAcc).toBe(
      metric('phase2-draft', 'phase2.draft_coarse_acc'),
    );
    const phase3 = data.phase3.map((part) => present(part));
    expect(phase3.map((part) => [part.data.step, path.relative(dir, part.file)])).toEqual([
      ['phase3-baseline', 'runs/phase3/baseline-results.json'],
      ['phase3-swap', 'runs/phase3/swap-results.json'],
      ['phase3-eval', 'runs/phase3/eval-results.json'],
    ]);
    expect(phase3[2]!.data.report.candidate.successRate).toBe(metric('phase3-eval', 'phase3.success_rate'));
    expect(phase3[1]!.data.report.comparison.success.difference * 100).toBe(
      metric('phase3-swap', 'phase3.swap_paired_delta'),
    );
    // One trial per task: its top view, for each arm.
    expect(phase3[2]!.data.report.candidate.rollouts.map((rollout) => rollout.task)).toEqual([
      'pick_place',
      'place_precise',
      'insert',
      'rotate_place',
    ]);
    expect(present(data.timeline).data.gates).toHaveLength(2);

    const page = await rfsq(['report', '--json'], { cwd: dir, configDir });
    expect(page.exitCode, page.stderr).toBe(0);
    const written = JSON.parse(page.stdout);
    expect(written.missing).toEqual([]);
    const charts = [
      'phase1-mse-curves',
      'phase1-residual-std',
      'phase1-code-usage',
      'phase1-reference-tokenizers',
      'phase2-token-accuracy',
      'phase3-baseline-success',
      'phase3-swap-success',
      'phase3-eval-success',
      'phase3-paired-differences',
      'phase3-passes-vs-success',
      'run-timeline',
    ];
    // The miniature: the last evaluation's rollouts from above, one chart per trial and arm, same seeds.
    const { candidate, versus } = phase3[2]!.data.report;
    expect(versus.rollouts.map((rollout) => rollout.seed)).toEqual(candidate.rollouts.map((r) => r.seed));
    const rollouts = [candidate, versus].flatMap((arm, index) =>
      arm.rollouts.map((rollout) => rolloutChartId('phase3-eval', index, rollout)),
    );
    expect(rollouts).toHaveLength(8);
    expect(written.charts.map((chart: { id: string }) => chart.id)).toEqual([...charts, ...rollouts]);
    const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
    expect(html.match(/<svg/g)).toHaveLength(charts.length + rollouts.length);
    for (const id of charts) expect(html).toMatch(new RegExp(`<figure class="chart" id="${id}">\\n<svg`));
    const miniature = html.split('<section id="miniature">')[1]!.split('</section>')[0]!;
    expect(miniature).not.toContain('<pre>');
    expect(miniature.match(/<div class="pair">/g)).toHaveLength(4);
    for (const [index, id] of rollouts.entries()) {
      const arm = index < 4 ? candidate : versus;
      const rollout = arm.rollouts[index % 4]!;
      const outcome = rollout.success ? 'success' : 'failure';
      const figure = miniature.split(`<figure class="rollout" id="${id}">`)[1]!.split('</figure>')[0]!;
      expect(figure).toMatch(/^<svg /);
      expect(figure).toContain('class="mark-line role-mark');
      expect(figure).toContain('class="mark-symbol role-mark');
      expect(figure).toContain(
        `${rollout.task} seed ${rollout.seed}: ${outcome} after ${rollout.steps} steps`,
      );
      expect(figure).toContain(
        `<figcaption>${rollout.task}, seed ${rollout.seed} (trial ${rollout.trial + 1}): <span class="${outcome}">${outcome}</span>`,
      );
    }
    expect(html).not.toContain('class="missing"');

    // The same page in headless chromium, offline: each chart drawn with visible data, no error, nothing
    // asked of the network. The screenshot is there to look at.
    const screenshot = path.join(ROOT, 'test-output', 'report.png');
    mkdirSync(path.dirname(screenshot), { recursive: true });
    const browser = await launchBrowser();
    try {
      const visit = await visitPage(browser, written.out, { screenshot, width: 1200 });
      expect(pageProblems({ report: written, visit })).toEqual([]);
      const drawn = visit.sections.flatMap((section) => section.charts);
      // The charts in their sections' order; the rollouts pair the arms seed by seed.
      expect(drawn.slice(0, charts.length)).toEqual(charts);
      expect(drawn.slice(charts.length).sort()).toEqual([...rollouts].sort());
    } finally {
      await browser.close();
    }

    const folder = path.join(tempDir(), 'charts');
    const svg = await rfsq(['report', '--format', 'svg', '--out', folder], { cwd: dir, configDir });
    expect(svg.exitCode, svg.stderr).toBe(0);
    expect(readdirSync(folder).sort()).toEqual([...charts, ...rollouts].map((id) => `${id}.svg`).sort());
    for (const file of readdirSync(folder))
      expect(readFileSync(path.join(folder, file), 'utf8')).toMatch(
        /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/,
      );
  });
});
