import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gatherReport } from '../../src/services/report/gather.js';
import { rfsq, tempDir } from '../helpers/cli.js';

/** Strategy B as three quick child processes that print their metrics and write no files. */
function printingProject(): string {
  const dir = tempDir();
  const printing = (metrics: Record<string, number>) => ({
    title: 'prints its metrics',
    command: [
      'node',
      '-e',
      Object.entries(metrics)
        .map(([name, value]) => `console.log('RFSQ_METRIC ${name} ${value}');`)
        .join(''),
    ],
    expectedMetrics: Object.keys(metrics),
  });
  const config = {
    version: 1,
    template: 'local',
    runner: 'local',
    steps: {
      'phase1-train': { title: 'trains nothing', command: ['node', '-e', ''] },
      'phase1-compare': printing({ 'phase1.naive_mse': 0.02, 'phase1.robust_mse': 0.01 }),
      'phase3-swap': printing({ 'phase3.success_rate': 0.9, 'phase3.inference_ms': 5 }),
    },
  };
  writeFileSync(path.join(dir, 'rfsq.config.json'), JSON.stringify(config));
  return dir;
}

/** Every external reference a page could make a browser fetch: src/href attributes and url(...). */
function externalReferences(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="(?!#)([^"]*)"|url\(([^)]*)\)/g)].map((match) => match[0]);
}

describe('rfsq report when data are missing (built binary)', () => {
  it('writes a page before any run whose every section says why it is empty', async () => {
    const dir = tempDir();
    expect((await rfsq(['init', '--template', 'local', '--dir', dir])).exitCode).toBe(0);
    const result = await rfsq(['report', '--dir', dir, '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.out).toBe(path.join(dir, 'report.html'));
    expect(report.charts).toEqual([]);
    const html = readFileSync(report.out, 'utf8');
    for (const section of ['checklist', 'phase1', 'phase2', 'phase3', 'run', 'miniature']) {
      const body = html.split(`<section id="${section}">`)[1]!.split('</section>')[0]!;
      expect(body, section).toContain('class="missing"');
      expect(body, section).toContain('no run yet in');
    }
    expect(html).not.toContain('<script');
    expect(externalReferences(html)).toEqual([]);
  });

  it("names each step whose files hold no figure, and still draws the run's timeline", async () => {
    const dir = printingProject();
    expect((await rfsq(['run', '--strategy', 'B', '--yes'], { cwd: dir })).exitCode).toBe(0);
    const data = gatherReport(dir);
    expect(data.phase1.robust).toEqual({
      missing: expect.stringContaining("phase1-train's command in rfsq.config.json passes no --out"),
    });
    expect(data.phase1.compare).toEqual({ missing: expect.stringContaining('passes no --results-out') });
    expect(data.phase2.robust).toEqual({ missing: "this project's template has no phase2-main step" });
    expect(data.phase3).toEqual([{ missing: expect.stringContaining("phase3-swap's command") }]);
    if (!('data' in data.timeline)) throw new Error(data.timeline.missing);
    expect(data.timeline.data.steps.map((step) => [step.step, step.status])).toEqual([
      ['phase1-train', 'succeeded'],
      ['phase1-compare', 'succeeded'],
      ['phase3-swap', 'succeeded'],
    ]);

    const out = path.join(tempDir(), 'nested', 'page.html');
    const result = await rfsq(['report', '--dir', dir, '--out', out], {
      env: { DISPLAY: '', WAYLAND_DISPLAY: '' },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Report written to .*page\.html: 1 charts, \d+ not shown$/m);
    expect(result.stdout).toMatch(/not shown: Phase 2: .*: this project's template has no phase2-main step/);
    const html = readFileSync(out, 'utf8');
    expect(html.match(/<svg/g)).toHaveLength(1);
    expect(html).toContain('id="run-timeline"');
    expect(externalReferences(html)).toEqual([]);

    // --open without a display says why in one line, and the page is still written.
    const open = await rfsq(['report', '--dir', dir, '--out', out, '--open'], {
      env: { DISPLAY: '', WAYLAND_DISPLAY: '' },
    });
    expect(open.exitCode).toBe(0);
    expect(open.stderr.trim()).toMatch(/^not opening .*page\.html: no display here/);
  });

  it('refuses a folder that is not a project, with a hint (exit 2)', async () => {
    const dir = path.join(tempDir(), 'empty');
    mkdirSync(dir);
    const result = await rfsq(['report', '--dir', dir]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^error: .*has no rfsq.config.json, so it is not an rfsq project\nhint: /);
    const format = await rfsq(['report', '--dir', dir, '--format', 'png']);
    expect(format.exitCode).toBe(2);
  });
});
