import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { killProcessTree, runStep } from '../../src/pipeline/executor.js';
import { isProcessAlive } from '../../src/pipeline/process.js';
import { nodeStep, readPid, script, tempDir, waitFor } from './helpers.js';

describe('runStep', () => {
  it('collects metrics from the log and the metrics file, with sources', async () => {
    const dir = tempDir();
    const file = script(
      dir,
      'train.mjs',
      `import { writeFileSync } from 'node:fs';
console.log('epoch 1');
console.log('\\u001b[32mBest MSE: 0.0123 (at epoch 1)\\u001b[0m');
console.error('warning: something on stderr');
console.log('Best MSE: 0.0098 (at epoch 87)');
writeFileSync('metrics.json', JSON.stringify({ phase1: { naive_mse: 0.018 } }));
`,
    );
    const lines: string[] = [];
    const seen: string[] = [];
    const logPath = path.join(dir, 'logs', 'train.log');
    const outcome = await runStep(
      nodeStep(dir, 'train', file, {
        metricsFile: 'metrics.json',
        metricMap: { train_best_mse: 'phase1.robust_mse' },
        expectedMetrics: ['phase1.robust_mse', 'phase1.naive_mse'],
      }),
      {
        logPath,
        onLine: (stream, line) => lines.push(`${stream}:${line}`),
        onMetric: (name, value) => seen.push(`${name}=${value}`),
      },
    );
    expect(outcome.status).toBe('succeeded');
    expect(outcome.exitCode).toBe(0);
    expect(outcome.metrics).toEqual({ 'phase1.robust_mse': 0.0098, 'phase1.naive_mse': 0.018 });
    expect(outcome.metricSources['phase1.naive_mse']).toBe(`file:${path.join(dir, 'metrics.json')}`);
    // The source names the log line (1-based) that holds the value; stdout and stderr may interleave.
    const source = outcome.metricSources['phase1.robust_mse'] ?? '';
    expect(source.startsWith(`log:${logPath}:`)).toBe(true);
    const lineNumber = Number(source.slice(`log:${logPath}:`.length));
    const log = readFileSync(logPath, 'utf8').split('\n');
    expect(log[0]).toMatch(/^--- rfsq: step train started/);
    expect(log[lineNumber - 1]).toBe('Best MSE: 0.0098 (at epoch 87)');
    expect(log).toContain('warning: something on stderr');
    expect(lines).toContain('stderr:warning: something on stderr');
    expect(seen).toEqual(['phase1.robust_mse=0.0123', 'phase1.robust_mse=0.0098', 'phase1.naive_mse=0.018']);
  });

  it('reads an RSD results file as the metrics file', async () => {
    const dir = tempDir();
    const file = script(
      dir,
      'eval.mjs',
      `import { writeFileSync } from 'node:fs';
writeFileSync('libero_spatial_rsd_results.json', JSON.stringify({ final_success_rate: 0.92, rsd_stats: { avg_draft_time_ms: 10, avg_main_time_ms: 36, avg_decode_time_ms: 2 } }));
`,
    );
    const outcome = await runStep(
      nodeStep(dir, 'eval', file, {
        metricsFile: 'libero_spatial_rsd_results.json',
        metricMap: { final_success_rate: 'phase3.success_rate', rsd_inference_ms: 'phase3.inference_ms' },
        expectedMetrics: ['phase3.success_rate'],
      }),
      { logPath: path.join(dir, 'eval.log') },
    );
    expect(outcome.status).toBe('succeeded');
    expect(outcome.metrics).toEqual({ 'phase3.success_rate': 0.92, 'phase3.inference_ms': 48 });
  });

  it('reports a failing step with its exit code and last stderr line', async () => {
    const dir = tempDir();
    const file = script(
      dir,
      'fail.mjs',
      `console.error('loading data');\nconsole.error('CUDA out of memory');\nprocess.exit(3);\n`,
    );
    const outcome = await runStep(nodeStep(dir, 'fail', file), { logPath: path.join(dir, 'fail.log') });
    expect(outcome.status).toBe('failed');
    expect(outcome.exitCode).toBe(3);
    expect(outcome.reason).toContain('exited with code 3');
    expect(outcome.reason).toContain('CUDA out of memory');
  });

  it('reports a command that cannot start', async () => {
    const dir = tempDir();
    const outcome = await runStep(
      { id: 'x', argv: [path.join(dir, 'no-such-program')], cwd: dir, expectedMetrics: [] },
      { logPath: path.join(dir, 'x.log') },
    );
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(/could not start .*ENOENT/);
  });

  it('marks a step that exits 0 without its metrics as unverified', async () => {
    const dir = tempDir();
    const file = script(dir, 'quiet.mjs', `console.log('done, trust me');\n`);
    const outcome = await runStep(
      nodeStep(dir, 'quiet', file, { expectedMetrics: ['phase2.draft_coarse_acc'], metricsFile: 'm.json' }),
      { logPath: path.join(dir, 'quiet.log') },
    );
    expect(outcome.status).toBe('unverified');
    expect(outcome.reason).toContain('phase2.draft_coarse_acc');
    expect(outcome.reason).toContain('was not written');
  });

  it('ignores a metrics file left by an earlier attempt', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'm.json'), JSON.stringify({ 'phase2.draft_coarse_acc': 0.9 }));
    const old = new Date(Date.now() - 60_000);
    const { utimesSync } = await import('node:fs');
    utimesSync(path.join(dir, 'm.json'), old, old);
    const file = script(dir, 'quiet.mjs', `console.log('nothing new');\n`);
    const outcome = await runStep(
      nodeStep(dir, 'quiet', file, { expectedMetrics: ['phase2.draft_coarse_acc'], metricsFile: 'm.json' }),
      { logPath: path.join(dir, 'quiet.log') },
    );
    expect(outcome.status).toBe('unverified');
    expect(outcome.metrics).toEqual({});
  });

  it('kills the whole process tree on abort, leaving no orphans', async () => {
    const dir = tempDir();
    const pidFile = path.join(dir, 'grandchild.pid');
    const childPidFile = path.join(dir, 'child.pid');
    // The grandchild ignores SIGTERM, so only the SIGKILL after the grace period stops it.
    const grandchild = script(
      dir,
      'grandchild.mjs',
      `import { writeFileSync } from 'node:fs';
process.on('SIGTERM', () => {});
writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
setInterval(() => {}, 1000);
`,
    );
    const child = script(
      dir,
      'child.mjs',
      `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
writeFileSync(${JSON.stringify(childPidFile)}, String(process.pid));
spawn(process.execPath, [${JSON.stringify(grandchild)}], { stdio: 'inherit' });
console.log('started');
setInterval(() => {}, 1000);
`,
    );
    const controller = new AbortController();
    const logPath = path.join(dir, 'tree.log');
    const running = runStep(nodeStep(dir, 'tree', child), {
      logPath,
      signal: controller.signal,
      graceMs: 300,
    });
    const grandPid = await waitFor(() => readPid(pidFile));
    const childPid = await waitFor(() => readPid(childPidFile));
    expect(isProcessAlive(grandPid)).toBe(true);
    controller.abort();
    const outcome = await running;
    expect(outcome.status).toBe('interrupted');
    expect(isProcessAlive(childPid)).toBe(false);
    expect(isProcessAlive(grandPid)).toBe(false);
    expect(readFileSync(logPath, 'utf8')).toContain('started');
  });

  it('stops processes a step leaves behind after it exits', async () => {
    const dir = tempDir();
    const pidFile = path.join(dir, 'left.pid');
    const file = script(
      dir,
      'leaver.mjs',
      `import { spawn } from 'node:child_process';
const left = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
left.unref();
import('node:fs').then(({ writeFileSync }) => { writeFileSync(${JSON.stringify(pidFile)}, String(left.pid)); process.exit(0); });
`,
    );
    const outcome = await runStep(nodeStep(dir, 'leaver', file), {
      logPath: path.join(dir, 'l.log'),
      graceMs: 300,
    });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.reason).toContain('left processes running');
    expect(isProcessAlive(readPid(pidFile) ?? 0)).toBe(false);
  });

  it('killProcessTree stops a detached group', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      detached: true,
      stdio: 'ignore',
    });
    const pid = child.pid ?? 0;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await killProcessTree(pid, 300);
    await exited;
    expect(isProcessAlive(pid)).toBe(false);
  });
});

describe('runStep log', () => {
  it('appends attempts to the same log and keeps line numbers exact', async () => {
    const dir = tempDir();
    const file = script(
      dir,
      'acc.mjs',
      `console.log('noise');\nconsole.log('Val Acc: L0=0.9 L1=0.8 L2=0.7 | Avg=0.8');\n`,
    );
    const logPath = path.join(dir, 'acc.log');
    const step = nodeStep(dir, 'acc', file, {
      metricMap: { draft_epoch_val_acc: 'phase2.draft_coarse_acc' },
      expectedMetrics: ['phase2.draft_coarse_acc'],
    });
    const first = await runStep(step, { logPath });
    const second = await runStep(step, { logPath });
    expect(first.metricSources['phase2.draft_coarse_acc']).toBe(`log:${logPath}:3`);
    expect(second.metricSources['phase2.draft_coarse_acc']).toBe(`log:${logPath}:6`);
    const lines = readFileSync(logPath, 'utf8').split('\n');
    expect(lines[5]).toBe('Val Acc: L0=0.9 L1=0.8 L2=0.7 | Avg=0.8');
    expect(lines.filter((line) => line.startsWith('--- rfsq: step acc'))).toHaveLength(2);
  });
});

describe('runStep metrics, by step and model', () => {
  const MODAL_STUB = path.resolve('test/e2e/stubs/modal');

  it('records only what the step declares: the draft lines of a full Phase 2 run never reach the main model', async () => {
    const dir = tempDir();
    const volumes = path.join(dir, 'volumes');
    writeFileSync(path.join(dir, 'tok.pt'), 'tokenizer\n');
    const baseEnv = { ...process.env, MODAL_STUB_VOLUMES: volumes, MODAL_STUB_MAIN_ACC: '0.93' };
    await runStep(
      {
        id: 'put',
        argv: [MODAL_STUB, 'volume', 'put', 'rsd-models', 'tok.pt', '/rfsq_robust_best.pt'],
        cwd: dir,
        expectedMetrics: [],
      },
      { logPath: path.join(dir, 'put.log'), baseEnv },
    );
    // modal_train_phase2_conditional.py without --skip-draft-training trains the draft first and
    // prints its accuracy (lines 731, 1237, 1273) before the main model's (1130, 1256, 1277).
    const logPath = path.join(dir, 'main.log');
    const outcome = await runStep(
      {
        id: 'phase2-main',
        argv: [
          MODAL_STUB,
          'run',
          'RVQExperiment/phase2_conditional/modal_train_phase2_conditional.py',
          '--epochs',
          '10',
        ],
        cwd: dir,
        metricMap: { main_best_acc: 'phase2.main_token_acc', main_epoch_val_acc: 'phase2.main_token_acc' },
        expectedMetrics: ['phase2.main_token_acc'],
      },
      { logPath, baseEnv },
    );
    expect(outcome.status).toBe('succeeded');
    expect(outcome.metrics).toEqual({ 'phase2.main_token_acc': 0.925 });
    const log = readFileSync(logPath, 'utf8');
    expect(log).toContain('✅ Draft Model Best Accuracy: 0.910');
    expect(outcome.metricProvenance?.['phase2.main_token_acc']).toEqual({
      data: 'validation',
      epoch: 'best',
      detail: 'best epoch on the validation split, all 8 layers',
      quote: '✅ Conditional RFSQ Head Best Accuracy: 0.925',
    });
  });

  it("says what the Modal evaluation's quick test rests on: one episode, and no fine-grained task", async () => {
    const dir = tempDir();
    const baseEnv = { ...process.env, MODAL_STUB_VOLUMES: path.join(dir, 'volumes') };
    const script = 'RVQExperiment/phase3/modal_phase3_libero_eval_CONDITIONAL_FIXED.py';
    const outcome = await runStep(
      {
        id: 'phase3-eval',
        argv: [MODAL_STUB, 'run', script, '--num-trials', '50', '--use-speculative-decoding'],
        then: [
          [
            MODAL_STUB,
            'volume',
            'get',
            'rsd-results',
            '/libero_spatial_conditional_fixed_rsd.json',
            'eval.json',
          ],
        ],
        cwd: dir,
        metricsFile: 'eval.json',
        metricMap: {
          final_success_rate: 'phase3.success_rate',
          fine_grained_success_rate: 'phase3.fine_grained_success_rate',
        },
        fineGrainedTasks: ['pick up the black bowl on the stove and place it on the plate'],
        expectedMetrics: ['phase3.success_rate', 'phase3.fine_grained_success_rate'],
      },
      { logPath: path.join(dir, 'eval.log'), baseEnv },
    );
    expect(outcome.status).toBe('succeeded');
    expect(outcome.reason).toBe('missing phase3.fine_grained_success_rate');
    expect(outcome.metricProvenance?.['phase3.success_rate']).toMatchObject({
      data: 'trials',
      quote: 'final_success_rate',
      detail: '1/1 episodes',
    });
  });

  it('keeps the best epoch of the epoch lines, lets a summary line win, and names what it did not record', async () => {
    const dir = tempDir();
    const file = script(
      dir,
      'train.mjs',
      `for (const [epoch, avg] of [[1, 0.8], [2, 0.9], [3, 0.85]]) console.log('  Val Loss: 0.3 | Val Acc: L0=0.9 L1=0.8 L2=0.7 | Avg=' + avg.toFixed(3));
console.log('RFSQ_METRIC phase3.success_rate 0.5');
`,
    );
    const step = nodeStep(dir, 'draft', file, {
      metricMap: { draft_epoch_val_acc: 'phase2.draft_coarse_acc' },
      expectedMetrics: ['phase2.draft_coarse_acc'],
    });
    const outcome = await runStep(step, { logPath: path.join(dir, 'draft.log') });
    expect(outcome.metrics).toEqual({ 'phase2.draft_coarse_acc': 0.9 });
    expect(outcome.metricSources['phase2.draft_coarse_acc']).toBe(`log:${path.join(dir, 'draft.log')}:3`);
    expect(outcome.metricProvenance?.['phase2.draft_coarse_acc']).toMatchObject({ epoch: 'best' });
    expect(outcome.reason).toBe('not declared by this step, not recorded: phase3.success_rate');

    writeFileSync(
      file,
      `console.log('  Val Loss: 0.3 | Val Acc: L0=0.9 L1=0.9 L2=0.9 | Avg=0.900');\nconsole.log('✅ Draft Model Best Accuracy: 0.880');\n`,
    );
    const withSummary = await runStep(
      { ...step, metricMap: { ...step.metricMap, draft_best_acc: 'phase2.draft_coarse_acc' } },
      { logPath: path.join(dir, 'draft2.log') },
    );
    expect(withSummary.metrics).toEqual({ 'phase2.draft_coarse_acc': 0.88 });
  });

  it('runs the then-commands in order in the same attempt, and stops at the first that fails', async () => {
    const dir = tempDir();
    const say = (word: string) => [process.execPath, '-e', `console.log(${JSON.stringify(word)})`];
    const logPath = path.join(dir, 'multi.log');
    const outcome = await runStep(
      {
        id: 'multi',
        argv: say('first'),
        then: [
          say('RFSQ_METRIC phase3.success_rate 0.75'),
          [process.execPath, '-e', 'console.error("no volume"); process.exit(4)'],
          say('never'),
        ],
        cwd: dir,
        expectedMetrics: ['phase3.success_rate'],
      },
      { logPath },
    );
    expect(outcome.status).toBe('failed');
    expect(outcome.exitCode).toBe(4);
    expect(outcome.reason).toMatch(/\(command 3 of 4\) exited with code 4: no volume$/);
    expect(outcome.metrics).toEqual({ 'phase3.success_rate': 0.75 });
    const log = readFileSync(logPath, 'utf8').split('\n');
    expect(log[1]).toBe('first');
    expect(log[2]).toMatch(/^--- rfsq: then \[".*","-e","console.log\(\\"RFSQ_METRIC/);
    expect(log).not.toContain('never');
    expect(log.filter((line) => line.startsWith('--- rfsq: then'))).toHaveLength(2);
  });
});
