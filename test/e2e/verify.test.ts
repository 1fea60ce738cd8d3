import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rfsq, tempDir } from '../helpers/cli.js';

function writeMetrics(dir: string, name: string, metrics: Record<string, unknown>): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(metrics));
  return file;
}

const PHASE1 = {
  'phase1.naive_mse': 0.018,
  'phase1.robust_mse': 0.0098,
  'phase1.checkpoint': 'ckpt/rfsq_robust_best',
};
const PHASE2 = {
  'phase2.main_token_acc': 0.925,
  'phase2.main_token_acc_naive': 0.909,
  'phase2.draft_coarse_acc': 0.915,
};
const PHASE3 = {
  'phase3.success_rate': 0.92,
  'phase3.fine_grained_success_rate': 0.86,
  'phase3.inference_ms': 48,
};

describe('rfsq verify (built binary)', () => {
  it('classifies every item and exits 0 when all pass', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'ckpt/rfsq_robust_best'), { recursive: true });
    const file = writeMetrics(dir, 'm.json', { ...PHASE1, ...PHASE2, ...PHASE3 });
    const result = await rfsq(['verify', '--metrics', file, '--json']);
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.items).toHaveLength(10);
    expect(report.items.map((item: { status: string }) => item.status)).toEqual(Array(10).fill('pass'));
    const checkpoint = report.items.find((item: { id: string }) => item.id === 'p1.checkpoint');
    expect(checkpoint.value).toBe(path.join(dir, 'ckpt/rfsq_robust_best'));
    expect(checkpoint.source).toBe(file);
  });

  it('exits 1 when an item fails, and names it in the table', async () => {
    const dir = tempDir();
    const file = writeMetrics(dir, 'm.json', { ...PHASE1, 'phase3.success_rate': 0.87 });
    const result = await rfsq(['verify', '--metrics', file]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/Success rate\s*│\s*87%\s*│\s*> 90%\s*│\s*✘ fail/);
    expect(result.stdout).toMatch(/Checkpoint saved.*✘ fail/);
    expect(result.stdout).toContain('p1.checkpoint: not found');
  });

  it('exits 3 when nothing fails but items are pending', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'ckpt/rfsq_robust_best'), { recursive: true });
    const file = writeMetrics(dir, 'm.json', PHASE1);
    const result = await rfsq(['verify', '--metrics', file, '--json']);
    expect(result.exitCode).toBe(3);
    expect(JSON.parse(result.stdout).summary).toEqual({ pass: 4, fail: 0, pending: 6, 'n/a': 0 });
  });

  it('lets later files win and makes Phase 2 n/a under strategy B', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'ckpt/rfsq_robust_best'), { recursive: true });
    const first = writeMetrics(dir, 'a.json', { ...PHASE1, ...PHASE3, 'phase3.success_rate': 0.5 });
    const second = writeMetrics(dir, 'b.json', { 'phase3.success_rate': 0.93 });
    const result = await rfsq([
      'verify',
      '--metrics',
      first,
      '--metrics',
      second,
      '--strategy',
      'b',
      '--json',
    ]);
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.summary).toEqual({ pass: 7, fail: 0, pending: 0, 'n/a': 3 });
    const success = report.items.find((item: { id: string }) => item.id === 'p3.success');
    expect(success.value).toBe(0.93);
    expect(success.source).toBe(second);
  });

  it('uses threshold overrides from the settings', async () => {
    const configDir = tempDir();
    const dir = tempDir();
    const file = writeMetrics(dir, 'm.json', { 'phase3.inference_ms': 12 });
    expect((await rfsq(['verify', '--metrics', file, '--json'], { configDir })).exitCode).toBe(1);
    expect((await rfsq(['config', 'set', 'threshold.p3.inference_ms', '5-20'], { configDir })).exitCode).toBe(
      0,
    );
    const result = await rfsq(['verify', '--metrics', file, '--json'], { configDir });
    expect(result.exitCode).toBe(3);
    const item = JSON.parse(result.stdout).items.find(
      (entry: { id: string }) => entry.id === 'p3.inference_ms',
    );
    expect(item.status).toBe('pass');
  });

  it('warns about unknown metric names on stderr', async () => {
    const file = writeMetrics(tempDir(), 'm.json', { 'phase1.robust_mes': 0.01 });
    const result = await rfsq(['verify', '--metrics', file, '--json']);
    expect(result.stderr).toContain('ignoring unknown metric "phase1.robust_mes"');
    expect(() => JSON.parse(result.stdout)).not.toThrow();
  });

  it.each([
    [['verify', '--metrics', '/nonexistent.json'], /metrics file \/nonexistent.json does not exist/],
    [['verify', '--strategy', 'D'], /--strategy "D" is not A, B or C/],
    [['verify', '--metricz', 'x'], /unknown option '--metricz'/],
    [['verify', '--watch'], /--watch needs a --metrics file or a run in --dir/],
  ])('rejects %j with exit 2', async (args, message) => {
    const result = await rfsq(args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^hint: /m);
  });

  it.each([
    ['{"phase3.success_rate": 92}', /outside 0–1/],
    ['{"phase1.robust_mse": ', /not valid JSON/],
    ['[1, 2]', /must hold a JSON object/],
  ])('rejects the malformed metrics file %s', async (content, message) => {
    const file = path.join(tempDir(), 'bad.json');
    writeFileSync(file, content);
    const result = await rfsq(['verify', '--metrics', file]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('honours NO_COLOR and --no-color', async () => {
    const file = writeMetrics(tempDir(), 'm.json', PHASE3);
    for (const run of [
      rfsq(['verify', '--metrics', file], { env: { NO_COLOR: '1', FORCE_COLOR: '1' } }),
      rfsq(['verify', '--metrics', file, '--no-color'], { env: { FORCE_COLOR: '1' } }),
    ]) {
      const result = await run;
      expect(result.stdout).toContain('✔ pass');
      expect(result.stdout).not.toContain('\u001b[');
    }
  });
});

describe('rfsq config (built binary)', () => {
  it('sets, gets, lists and unsets values', async () => {
    const configDir = tempDir();
    expect((await rfsq(['config', 'set', 'runner', 'slurm'], { configDir })).stdout).toBe('runner = slurm\n');
    expect((await rfsq(['config', 'get', 'runner'], { configDir })).stdout).toBe('slurm\n');
    await rfsq(['config', 'set', 'threshold.p1.mse', '0.015'], { configDir });
    expect(JSON.parse((await rfsq(['config', 'list', '--json'], { configDir })).stdout)).toEqual({
      runner: 'slurm',
      'threshold.p1.mse': 0.015,
    });
    expect((await rfsq(['config', 'path'], { configDir })).stdout.trim()).toBe(
      path.join(configDir, 'config.json'),
    );
    await rfsq(['config', 'unset', 'runner'], { configDir });
    const missing = await rfsq(['config', 'get', 'runner'], { configDir });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/not set/);
  });

  it.each([
    [['config', 'set', 'colour', 'red'], /unknown setting "colour"/],
    [['config', 'set', 'runner', 'kubernetes'], /runner "kubernetes" is not one of local, modal, slurm/],
    [['config', 'set', 'time-budget', 'soon'], /time-budget "soon" is not a duration/],
    [['config', 'set', 'threshold.p1.mse', 'low'], /threshold.p1.mse "low" is not a number/],
    [['config', 'set', 'threshold.p3.inference_ms', '60-40'], /is not a range/],
    [['config', 'set', 'threshold.p1.checkpoint', '1'], /unknown setting/],
  ])('rejects %j with exit 2', async (args, message) => {
    const result = await rfsq(args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
