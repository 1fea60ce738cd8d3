import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, rfsq, tempDir } from '../helpers/cli.js';

/** The miniature at its smallest, so that end-to-end runs stay quick. */
const FAST = ['--var', 'trials=1', '--var', 'phase2Epochs=1'];

function readState(dir: string) {
  return JSON.parse(readFileSync(path.join(dir, '.rfsq/state.json'), 'utf8'));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2]!.startsWith('Z');
  } catch {
    return false;
  }
}

/** Starts `rfsq run` in the background and waits until the given step is running. */
async function startRunUntil(dir: string, step: string) {
  const child = spawn(process.execPath, [BIN, 'run', '--strategy', 'B', '--yes'], {
    cwd: dir,
    env: { ...process.env, CI: 'true', RFSQ_CONFIG_DIR: tempDir() },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await expect
    .poll(
      () => {
        if (!existsSync(path.join(dir, '.rfsq/state.json'))) return undefined;
        const record = readState(dir).steps[step];
        return record?.status === 'running' && record.pid ? 'running' : record?.status;
      },
      { timeout: 120_000, interval: 100 },
    )
    .toBe('running');
  return { child, exited, stepPid: readState(dir).steps[step].pid as number };
}

describe('init → run → status → verify on the local template (built binary)', () => {
  it('runs strategy B end to end on the miniature and fills the checklist from measured values', async () => {
    const dir = tempDir();
    const configDir = tempDir();
    expect((await rfsq(['init', '--template', 'local', ...FAST], { cwd: dir, configDir })).exitCode).toBe(0);
    const again = await rfsq(['init', '--template', 'local'], { cwd: dir, configDir });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/already exists/);

    const run = await rfsq(['run', '--strategy', 'B', '--yes'], { cwd: dir, configDir });
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toMatch(/phase1-train succeeded/);
    expect(run.stderr).toMatch(/phase1-compare metric phase1.robust_mse = /);
    expect(run.stderr).toMatch(/Measured improvement [\d.]+%: `rfsq recommend` says A with ≥ 3 days/);
    expect(run.stderr).toMatch(/phase3-swap metric phase3.inference_ms = /);
    expect(run.stderr).not.toContain('\u001b[');
    expect(run.stdout).toMatch(
      /Robust held-out MSE\s*│\s*[\d.]+(e-\d+)?\s*│\s*< 0.012, goal 0.01\s*│\s*✔ pass/,
    );

    const state = readState(dir);
    expect(state.steps['phase1-train'].status).toBe('succeeded');
    expect(state.steps['phase1-compare'].status).toBe('succeeded');
    expect(state.steps['phase1-compare'].metricSources['phase1.robust_mse']).toMatch(
      /^file:.*metrics\.json$/,
    );
    expect(existsSync(state.steps['phase1-train'].logPath)).toBe(true);

    const status = await rfsq(['status', '--json'], { cwd: dir, configDir });
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(status.stdout).stale).toBe(false);

    const verify = await rfsq(['verify', '--json'], { cwd: dir, configDir });
    const report = JSON.parse(verify.stdout);
    expect(report.strategy).toBe('B');
    expect(report.summary.pending).toBe(0);
    expect(report.summary['n/a']).toBe(3);
    const phase3 = report.items.filter((item: { phase: number }) => item.phase === 3);
    expect(phase3.every((item: { value: unknown }) => typeof item.value === 'number')).toBe(true);
    // The local template's own latency band, not the plan's 45–55 ms.
    expect(phase3.find((item: { id: string }) => item.id === 'p3.inference_ms').threshold).toBe('0.05–10 ms');
    expect([0, 1]).toContain(verify.exitCode);

    // Resume skips what is unchanged; --only --force reruns one step.
    const resumed = await rfsq(['run', '--resume', '--yes'], { cwd: dir, configDir });
    expect(resumed.stderr).toMatch(/skipped phase1-train: unchanged since it succeeded/);
    expect(resumed.stderr).toMatch(/skipped phase1-compare: unchanged since it succeeded/);
    expect(resumed.stderr).toMatch(/skipped phase3-swap: unchanged since it succeeded/);
    const only = await rfsq(['run', '--strategy', 'B', '--only', 'phase1-compare', '--force'], {
      cwd: dir,
      configDir,
    });
    expect(only.stderr).toMatch(/\[2\/3\] phase1-compare/);
    expect(only.stderr).not.toMatch(/\[1\/3\] phase1-train/);
    expect(only.exitCode).toBe(0);
  });

  it('stops on Ctrl-C with exit 130, leaves no process behind, and resumes', async () => {
    const dir = tempDir();
    await rfsq(['init', '--template', 'local', ...FAST], { cwd: dir });
    const { child, exited, stepPid } = await startRunUntil(dir, 'phase1-train');
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(isAlive(stepPid)).toBe(false);
    const state = readState(dir);
    expect(state.status).toBe('interrupted');
    expect(state.steps['phase1-train'].status).toBe('interrupted');

    const resumed = await rfsq(['run', '--resume'], { cwd: dir });
    expect(resumed.stderr).toMatch(/resuming run/);
    expect(resumed.stderr).toMatch(/\[1\/3\] phase1-train/);
    expect(readState(dir).steps['phase3-swap'].status).toBe('succeeded');
  });

  it('reports a killed rfsq as stale, and resumes it', async () => {
    const dir = tempDir();
    await rfsq(['init', '--template', 'local', ...FAST], { cwd: dir });
    const { child, exited, stepPid } = await startRunUntil(dir, 'phase1-train');
    child.kill('SIGKILL');
    await exited;
    const status = await rfsq(['status'], { cwd: dir });
    expect(status.stdout).toMatch(/stale \(its rfsq process is gone\)/);
    expect(status.stdout).toMatch(/rfsq run --resume/);
    expect(status.exitCode).toBe(3);

    const resumed = await rfsq(['run', '--resume'], { cwd: dir });
    expect(isAlive(stepPid)).toBe(false);
    expect(resumed.stderr).toMatch(/\[1\/3\] phase1-train/);
    expect(readState(dir).steps['phase3-swap'].status).toBe('succeeded');
  });

  it.each([
    [['run'], /the strategy is missing/],
    [['run', '--strategy', 'B', '--only', 'phase9'], /unknown step "phase9" for --only/],
    [['run', '--strategy', 'B', '--from', 'phase2-main'], /unknown step "phase2-main" for --from/],
  ])('rejects %j with exit 2', async (args, message) => {
    const dir = tempDir();
    await rfsq(['init', '--template', 'local'], { cwd: dir });
    const result = await rfsq(args, { cwd: dir });
    expect(result.stderr).toMatch(message);
    expect(result.exitCode).toBe(2);
  });

  it('names the field of a broken config, and the missing config', async () => {
    const dir = tempDir();
    expect((await rfsq(['run', '--strategy', 'B'], { cwd: dir })).stderr).toMatch(
      /no rfsq.config.json in .*rfsq init --template local/s,
    );
    await rfsq(['init', '--template', 'local'], { cwd: dir });
    const file = path.join(dir, 'rfsq.config.json');
    const config = JSON.parse(readFileSync(file, 'utf8'));
    config.steps['phase1-train'].command = 'rfsq train';
    writeFileSync(file, JSON.stringify(config));
    const result = await rfsq(['run', '--strategy', 'B'], { cwd: dir });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/steps\.phase1-train\.command: Invalid input: expected array/);
  });
});
