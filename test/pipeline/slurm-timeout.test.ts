import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runPipeline, type PlannedStep } from '../../src/pipeline/pipeline.js';
import { createSlurmExecutor } from '../../src/pipeline/slurm-runner.js';
import { completedJobs, describeWithSlurm, slurmEnv } from '../slurm/cluster.js';
import { script, tempDir, waitFor } from './helpers.js';

/**
 * A real TIMEOUT on the one-node test cluster: Slurm's time limits have a granularity of a minute, so
 * this file takes a little over one (it runs beside the other test files). The same job shows the live
 * output: its lines reach the step log and the events while Slurm still reports it RUNNING.
 */

function jobState(jobId: string): string | undefined {
  const shown = spawnSync('scontrol', ['show', 'job', '-o', jobId], { env: slurmEnv, encoding: 'utf8' });
  return /(?:^| )JobState=(\S*)/.exec(shown.stdout)?.[1];
}

describeWithSlurm('a job that outlives its time limit on the real cluster', () => {
  it('fails with TIMEOUT and a hint, keeps the metrics it printed live, and cancels the chained job', async () => {
    const dir = tempDir();
    const file = script(
      dir,
      'train.mjs',
      `console.log('Best MSE: 0.0098 (at epoch 87)');\nsetInterval(() => {}, 1000);\n`,
    );
    const plan: PlannedStep[] = ['train', 'after'].map((id) => ({
      id,
      title: id,
      argv: [process.execPath, file],
      cwd: dir,
      metricMap: { train_best_mse: 'phase1.robust_mse' },
      expectedMetrics: ['phase1.robust_mse'],
    }));
    const whileRunning: Array<string | undefined> = [];
    const result = await runPipeline({
      projectDir: dir,
      plan,
      strategy: 'A',
      executeStep: createSlurmExecutor({
        projectDir: dir,
        plan,
        env: slurmEnv,
        pollMs: 500,
        tailMs: 100,
        sbatchArgs: ['--time=0:01'],
      }),
      onEvent: (event) => {
        if (event.type === 'metric') {
          const jobId = spawnSync('squeue', ['-h', '-n', 'rfsq-train', '-o', '%i', '-t', 'RUNNING'], {
            env: slurmEnv,
            encoding: 'utf8',
            cwd: dir,
          })
            .stdout.trim()
            .split('\n')
            .find((id) => id && jobState(id) === 'RUNNING');
          whileRunning.push(jobId);
        }
      },
    });
    expect(result.status).toBe('failed');
    const [train, after] = result.state?.jobs?.map((job) => job.jobId) ?? [];
    // The metric line was read while the job still ran, a minute before its end.
    expect(whileRunning).toEqual([train]);
    const reason = result.state?.steps['train']?.reason ?? '';
    expect(reason).toMatch(new RegExp(`^slurm job ${train} hit its time limit \\(TIMEOUT\\); raise --time`));
    expect(reason).toContain('(slurm.sbatchArgs in rfsq.config.json)');
    expect(reason).toContain(`cancelled slurm job ${after} (chained after it)`);
    expect(result.state?.steps['train']?.metrics).toEqual({ 'phase1.robust_mse': 0.0098 });
    expect(result.state?.steps['after']?.status).toBe('pending');
    const ended = await waitFor(() => (completedJobs(dir).length >= 2 ? completedJobs(dir) : undefined));
    expect(ended.map((job) => `${job.name} ${job.state}`).sort()).toEqual([
      'rfsq-after CANCELLED',
      'rfsq-train TIMEOUT',
    ]);
    expect(path.basename(result.state?.jobs?.[0]?.output ?? '')).toBe(`train.${train}.out`);
  });
});
