import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { STRATEGY_PLANS } from '../../src/core/pipeline-plan.js';
import { BIN, rfsq, tempDir } from '../helpers/cli.js';
import {
  SLURM_CONF,
  cancelLeftovers,
  completedJobs,
  describeWithSlurm,
  queuedJobs,
  slurmEnv,
} from '../slurm/cluster.js';
import { slurmProject } from '../slurm/project.js';

/**
 * `kill -9` of rfsq mid-chain, Ctrl-C, and sbatch rejections, through the built binary on the real
 * one-node test cluster. Each job is counted from Slurm's own records (jobcomp log, squeue).
 */

const STEPS_A = STRATEGY_PLANS.A.map((ref) => ref.step);
const projects = new Set<string>();

interface SavedState {
  pid: number;
  status: string;
  steps: Record<string, { status: string; logPath: string; reason?: string }>;
  jobs?: Array<{ step: string; jobId: string; output: string }>;
}

function readState(dir: string): SavedState | undefined {
  const file = path.join(dir, '.rfsq/state.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SavedState) : undefined;
}

/** Starts `rfsq run --strategy A` and waits until the job of phase2-main prints its first line. */
async function startRunUntilMainRuns(dir: string, configDir: string) {
  const child = spawn(process.execPath, [BIN, 'run', '--strategy', 'A', '--yes'], {
    cwd: dir,
    env: { ...slurmEnv, CI: 'true', RFSQ_CONFIG_DIR: configDir },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await expect
    .poll(
      () => {
        const main = readState(dir)?.jobs?.find((job) => job.step === 'phase2-main');
        return main && existsSync(main.output) ? readFileSync(main.output, 'utf8') : '';
      },
      { timeout: 60_000, interval: 100 },
    )
    .toContain('rfsq test step phase2-main');
  return { child, exited };
}

describeWithSlurm('Slurm runs that are interrupted, on the real cluster', () => {
  afterEach(() => cancelLeftovers(projects));

  it('kill -9 of rfsq mid-chain: status lists the live jobs, and --resume runs every job exactly once', async () => {
    const { dir, configDir, go } = await slurmProject({ waitIn: 'phase2-main' });
    projects.add(dir);
    const { child, exited } = await startRunUntilMainRuns(dir, configDir);
    child.kill('SIGKILL');
    await exited;

    const dead = readState(dir)!;
    expect(dead.status).toBe('running');
    const ids = Object.fromEntries((dead.jobs ?? []).map((job) => [job.step, job.jobId]));
    expect(Object.keys(ids)).toEqual(STEPS_A);
    const status = await rfsq(['status'], { cwd: dir, configDir, env: slurmEnv });
    expect(status.exitCode).toBe(3);
    expect(status.stdout).toContain(
      `Slurm jobs still queued or running: ${ids['phase2-main']} (phase2-main, RUNNING), ${ids['phase2-draft']} (phase2-draft, PENDING), ${ids['phase3-eval']} (phase3-eval, PENDING)`,
    );
    expect(status.stdout).toContain('rfsq run --resume follows them instead of resubmitting');
    const statusJson = JSON.parse(
      (await rfsq(['status', '--json'], { cwd: dir, configDir, env: slurmEnv })).stdout,
    );
    expect(statusJson.liveJobs.map((job: { step: string }) => job.step)).toEqual([
      'phase2-main',
      'phase2-draft',
      'phase3-eval',
    ]);

    // The job still runs while the resume adopts it; it finishes only afterwards.
    const resuming = rfsq(['run', '--resume', '--yes', '--json'], { cwd: dir, configDir, env: slurmEnv });
    const adopted = `slurm: job ${ids['phase2-main']} of the previous attempt at phase2-main is RUNNING: following it instead of resubmitting`;
    try {
      await expect
        .poll(() => readFileSync(dead.steps['phase2-main']!.logPath, 'utf8'), {
          timeout: 120_000,
          interval: 100,
        })
        .toContain(adopted);
    } catch (error) {
      // Say what the resume itself printed: the step log alone cannot tell a slow resume from a refusal.
      const settled = await Promise.race([
        resuming,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5000)),
      ]);
      const printed = settled
        ? `exit ${String(settled.exitCode)}; stdout: ${settled.stdout.slice(-2000)}; stderr: ${settled.stderr.slice(-2000)}`
        : 'still running';
      throw new Error(`${(error as Error).message}\nthe resume: ${printed}`, { cause: error });
    }
    go();
    const resumed = await resuming;
    expect(resumed.exitCode).toBe(0);
    const output = JSON.parse(resumed.stdout);
    expect(output.status).toBe('succeeded');
    expect(output.state.steps['phase2-main'].metrics).toEqual({ 'phase2.main_token_acc': 0.921 });
    // Nothing was resubmitted: the state holds the same five jobs...
    expect(output.state.jobs.map((job: { jobId: string }) => job.jobId)).toEqual(Object.values(ids));
    // ...and Slurm's own records show each step run exactly once.
    const ended = completedJobs(dir);
    expect(ended.map((job) => `${job.name} ${job.state}`).sort()).toEqual(
      STEPS_A.map((step) => `rfsq-${step} COMPLETED`).sort(),
    );
    expect(ended.map((job) => job.jobId).sort()).toEqual(Object.values(ids).sort());
    expect(queuedJobs(dir)).toEqual([]);
    for (const step of ['phase2-draft', 'phase3-eval']) {
      expect(readFileSync(output.state.steps[step].logPath, 'utf8')).not.toContain('submitted as job');
    }
  });

  it('Ctrl-C of rfsq cancels its jobs (checked with Slurm) and exits 130', async () => {
    const { dir, configDir } = await slurmProject({ waitIn: 'phase2-main' });
    projects.add(dir);
    const { child, exited } = await startRunUntilMainRuns(dir, configDir);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const state = readState(dir)!;
    expect(state.status).toBe('interrupted');
    expect(state.steps['phase2-main']?.reason).toMatch(/^interrupted; cancelled slurm jobs \d+, \d+, \d+$/);
    expect(queuedJobs(dir)).toEqual([]);
    await expect
      .poll(
        () =>
          completedJobs(dir)
            .map((job) => `${job.name} ${job.state}`)
            .sort(),
        { timeout: 30_000 },
      )
      .toEqual([
        'rfsq-phase1-compare COMPLETED',
        'rfsq-phase1-train COMPLETED',
        'rfsq-phase2-draft CANCELLED',
        'rfsq-phase2-main CANCELLED',
        'rfsq-phase3-eval CANCELLED',
      ]);
  });

  it("the template's default --gres=gpu:1 on a cluster without GPUs: one line, a hint, exit 2", async () => {
    const dir = tempDir('rfsq-slurm-e2e-');
    projects.add(dir);
    const configDir = tempDir('rfsq-config-');
    await rfsq(['init', '--template', 'slurm'], { cwd: dir, configDir });
    const run = await rfsq(['run', '--strategy', 'B', '--yes'], { cwd: dir, configDir, env: slurmEnv });
    expect(run.exitCode).toBe(2);
    const errors = run.stderr
      .split('\n')
      .filter((line) => line.startsWith('error:') || line.startsWith('hint:'));
    expect(errors).toEqual([
      'error: sbatch rejected step phase1-train: Invalid generic resource (gres) specification',
      expect.stringMatching(/^hint: .*--gres=gpu:1.*--gres in slurm\.sbatchArgs in rfsq\.config\.json/),
    ]);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(queuedJobs(dir)).toEqual([]);
  });

  it('an unreachable controller: one line and a hint', async () => {
    const { dir, configDir } = await slurmProject();
    projects.add(dir);
    // The same cluster, with a port nobody listens on.
    const conf = path.join(tempDir('rfsq-slurm-conf-'), 'slurm.conf');
    writeFileSync(conf, readFileSync(SLURM_CONF, 'utf8').replace(/^SlurmctldPort=\d+$/m, 'SlurmctldPort=1'));
    const run = await rfsq(['run', '--strategy', 'B', '--yes'], {
      cwd: dir,
      configDir,
      env: { ...slurmEnv, SLURM_CONF: conf },
    });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(
      'error: sbatch rejected step phase1-train: Batch job submission failed: Unable to contact slurm controller (connect failure)',
    );
    expect(run.stderr).toMatch(
      /hint: the Slurm controller cannot be reached from here: check `scontrol ping`/,
    );
  });
});
