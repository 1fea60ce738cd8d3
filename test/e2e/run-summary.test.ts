import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rfsq, tempDir } from '../helpers/cli.js';

/** A step that prints its metrics the way rfsq's extractors read them (`RFSQ_METRIC <name> <value>`). */
function printing(metrics: Record<string, number>) {
  const script = Object.entries(metrics)
    .map(([name, value]) => `console.log('RFSQ_METRIC ${name} ${value}');`)
    .join('');
  return {
    title: 'prints its metrics',
    command: ['node', '-e', script],
    expectedMetrics: Object.keys(metrics),
  };
}

/** Strategy B's three steps as quick child processes; Phase 1's figures fail the plan's thresholds. */
function writeProject(template: 'local' | 'modal', dir = tempDir()): string {
  mkdirSync(dir, { recursive: true });
  const config = {
    version: 1,
    template,
    runner: 'local',
    steps: {
      'phase1-train': { title: 'trains nothing', command: ['node', '-e', ''] },
      'phase1-compare': printing({ 'phase1.naive_mse': 0.02, 'phase1.robust_mse': 0.019 }),
      'phase3-swap': printing({ 'phase3.success_rate': 0.95, 'phase3.inference_ms': 50 }),
    },
  };
  writeFileSync(path.join(dir, 'rfsq.config.json'), JSON.stringify(config));
  return dir;
}

const NOTE =
  /note: the failing items are the miniature's honest results.*README\.md, "What the miniature measured"/;

describe('the end of a run (built binary)', () => {
  it('on the local template, says in one line what failing items mean and where the README explains them', async () => {
    const dir = writeProject('local');
    const run = await rfsq(['run', '--strategy', 'B', '--yes'], { cwd: dir });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/\d+ pass, [1-9]\d* fail/);
    expect(run.stderr.split('\n').filter((line) => NOTE.test(line))).toHaveLength(1);
    // The last line names the page of the run's results (run in the project's folder: no --dir).
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Next: (npx )?rfsq report$/);
  });

  it('says nothing of the miniature on another template', async () => {
    const run = await rfsq(['run', '--strategy', 'B', '--yes'], { cwd: writeProject('modal') });
    expect(run.stdout).toMatch(/[1-9]\d* fail/);
    expect(run.stderr).not.toMatch(NOTE);
  });
});

describe('Next: hints', () => {
  it('name `npx rfsq` when rfsq is not on PATH, and quote a path that needs it', async () => {
    const dir = path.join(tempDir(), 'my project');
    const init = await rfsq(['init', '--template', 'local', '--dir', dir], {
      env: { PATH: path.dirname(process.execPath) },
    });
    expect(init.exitCode, init.stderr).toBe(0);
    expect(init.stdout).toContain(`Next: npx rfsq run --strategy B --dry-run --dir '${dir}'`);
  });

  it('name `rfsq` when it is on PATH', async () => {
    const bin = tempDir();
    writeFileSync(path.join(bin, 'rfsq'), '#!/bin/sh\n');
    chmodSync(path.join(bin, 'rfsq'), 0o755);
    const dir = tempDir();
    const init = await rfsq(['init', '--template', 'local', '--dir', dir], {
      env: { PATH: [bin, path.dirname(process.execPath)].join(path.delimiter) },
    });
    expect(init.stdout).toContain(`Next: rfsq run --strategy B --dry-run --dir ${dir}`);
  });
});

describe('the report hint', () => {
  it('ends a run with the report command for the same project, quoted', async () => {
    const dir = writeProject('local', path.join(tempDir(), 'my project'));
    const run = await rfsq(['run', '--strategy', 'B', '--yes', '--dir', dir], {
      env: { PATH: path.dirname(process.execPath) },
    });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(`Next: npx rfsq report --dir '${dir}'`);
  });
});

describe('running the Quick start twice', () => {
  it('init keeps a config that already holds what it would write (exit 0), and explains one that differs', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'demo-project'));
    const args = ['init', '--template', 'local', '--dir', 'demo-project'];
    expect((await rfsq(args, { cwd: dir })).exitCode).toBe(0);
    const again = await rfsq(args, { cwd: dir });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already holds the local template with these settings: kept as it is/);

    const different = await rfsq([...args, '--var', 'trials=3'], { cwd: dir });
    expect(different.exitCode).toBe(2);
    expect(different.stderr).toMatch(/already exists, and differs from what this init would write/);
    expect(different.stderr).toMatch(/hint: keep it .*or pass --force to replace it/);
  });
});
