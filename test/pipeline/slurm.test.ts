import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RfsqError } from '../../src/core/errors.js';
import type { ResolvedStep } from '../../src/pipeline/executor.js';
import {
  cancelJobs,
  followJob,
  interpretJobState,
  jobScript,
  parseJobId,
  queryJob,
  shellQuote,
  submitChain,
} from '../../src/pipeline/slurm.js';
import { describeWithSlurm, slurmEnv } from '../slurm/cluster.js';
import { tempDir, waitFor } from './helpers.js';

const STUBS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'stubs');

function steps(dir: string, command: string[] = ['/bin/true']): ResolvedStep[] {
  return ['phase1', 'phase2-main', 'phase3'].map((id) => ({
    id,
    argv: [...command, `it's ${id}`],
    cwd: dir,
    expectedMetrics: [],
  }));
}

/** A field of `scontrol show job -o <id>`, asked of the real test cluster. */
function jobField(jobId: string, field: string): string | undefined {
  const shown = spawnSync('scontrol', ['show', 'job', '-o', jobId], { env: slurmEnv, encoding: 'utf8' });
  return new RegExp(`(?:^| )${field}=(\\S*)`).exec(shown.stdout)?.[1];
}

describe('slurm: parsing and messages', () => {
  it('parses job ids and quotes words for the shell', () => {
    expect(parseJobId('12345\n')).toBe('12345');
    // `sbatch --parsable` on a federation or multi-cluster setup appends the cluster name.
    expect(parseJobId('12345;cluster\n')).toBe('12345');
    expect(parseJobId('sbatch: error\n')).toBeUndefined();
    expect(shellQuote('plain/path.py')).toBe('plain/path.py');
    expect(shellQuote('$(rm -rf /)')).toBe(`'$(rm -rf /)'`);
    expect(shellQuote(`a'b`)).toBe(`'a'\\''b'`);
    expect(shellQuote('')).toBe(`''`);
    expect(() =>
      jobScript({ id: 'x', argv: ['a'], cwd: '/', env: { 'BAD-NAME': '1' }, expectedMetrics: [] }),
    ).toThrow(/not valid/);
  });

  // States a one-node cluster without cgroups cannot produce (OUT_OF_MEMORY needs task/cgroup).
  it.each([
    ['OUT_OF_MEMORY', '0:125', 'failed', /OUT_OF_MEMORY.*--mem/],
    ['FAILED', '0:9', 'failed', /signal 9.*OUT_OF_MEMORY only on clusters with cgroups.*FAILED 0:9/],
    ['NODE_FAIL', '0:0', 'failed', /lost its node/],
    ['PREEMPTED', '0:0', 'failed', /PREEMPTED/],
    ['CANCELLED by 1000', '0:15', 'interrupted', /CANCELLED \(CANCELLED by 1000\)/],
  ])('maps %s %s to a clear reason', (state, exit, status, reason) => {
    const result = interpretJobState('7', state, exit);
    expect(result.status).toBe(status);
    expect(result.reason).toMatch(reason);
  });

  it('follows a job through sacct where accounting exists, asking again while sacct lags (STUB sacct)', async () => {
    const stubDir = tempDir('rfsq-slurm-stub-');
    const env = {
      ...process.env,
      PATH: `${STUBS}${path.delimiter}${process.env['PATH'] ?? ''}`,
      RFSQ_STUB_DIR: stubDir,
      // Just after a job leaves the queue, sacct may still say PENDING or RUNNING.
      RFSQ_STUB_SACCT: 'PENDING|0:0,RUNNING|0:0,RUNNING|0:0,COMPLETED|0:0',
    };
    const states: string[] = [];
    const result = await followJob('1001', { env, pollMs: 10, onState: (state) => states.push(state) });
    expect(result).toMatchObject({ jobId: '1001', state: 'COMPLETED', status: 'succeeded', exitCode: 0 });
    expect(states).toEqual(['PENDING', 'RUNNING']);
    expect(readFileSync(path.join(stubDir, 'sacct.jsonl'), 'utf8').trim().split('\n')).toHaveLength(4);
  });
});

describeWithSlurm('slurm against the real test cluster', () => {
  it('chains jobs with afterok, submitted from the project folder, with one output file per job', async () => {
    const dir = tempDir();
    // A long first job keeps the chain pending, so that the controller still shows the dependencies.
    const chain = steps(dir, ['/bin/sh', '-c', 'sleep 30']);
    const jobs = await submitChain(chain, { projectDir: dir, env: slurmEnv, sbatchArgs: ['--time=5'] });
    try {
      const [first, second, third] = jobs.map((job) => job.jobId);
      expect(jobField(second!, 'Dependency')).toMatch(new RegExp(`^afterok:${first}`));
      expect(jobField(third!, 'Dependency')).toMatch(new RegExp(`^afterok:${second}`));
      expect(jobField(first!, 'KillOInInvalidDependent')).toBe('Yes');
      expect(jobField(first!, 'WorkDir')).toBe(dir);
      expect(jobField(first!, 'TimeLimit')).toBe('00:05:00');
      expect(jobField(first!, 'JobName')).toBe('rfsq-phase1');
      expect(jobs[0]?.logPath).toBe(path.join(dir, '.rfsq', 'logs', 'slurm', `phase1.${first}.out`));
      expect(jobField(first!, 'StdOut')).toBe(jobs[0]?.logPath);
      const script = readFileSync(path.join(dir, '.rfsq', 'jobs', 'phase2-main.sh'), 'utf8');
      expect(script).toContain(`exec /bin/sh -c 'sleep 30' 'it'\\''s phase2-main'`);
    } finally {
      const report = await cancelJobs(
        jobs.map((job) => job.jobId),
        { env: slurmEnv },
      );
      // Checked with Slurm afterwards, not assumed from scancel's exit code.
      expect(report).toEqual({ cancelled: jobs.map((job) => job.jobId), ended: [], unconfirmed: [] });
    }
  });

  it('follows a job to its final state, and after the controller forgot it, from the jobcomp log', async () => {
    const dir = tempDir();
    const [job] = await submitChain(
      [{ id: 'fails', argv: ['/bin/sh', '-c', 'echo going; exit 3'], cwd: dir, expectedMetrics: [] }],
      { projectDir: dir, env: slurmEnv },
    );
    const result = await followJob(job!.jobId, { env: slurmEnv, pollMs: 200 });
    expect(result).toMatchObject({ state: 'FAILED', exitCode: 3, status: 'failed' });
    expect(readFileSync(job!.logPath, 'utf8')).toBe('going\n');
    // MinJobAge=10 in the test cluster: the controller forgets the job, jobcomp/filetxt still knows it.
    const info = await waitFor(
      () => (jobField(job!.jobId, 'JobState') === undefined ? true : undefined),
      120_000,
      500,
    ).then(() => queryJob(job!.jobId, { env: slurmEnv }));
    expect(info).toMatchObject({ state: 'FAILED', exit: '3:0', name: 'rfsq-fails', source: 'sacct -c' });
  });

  it('a cancellation reports jobs that had already ended as ended, not as cancelled', async () => {
    const dir = tempDir();
    const [job] = await submitChain(steps(dir).slice(0, 1), { projectDir: dir, env: slurmEnv });
    const result = await followJob(job!.jobId, { env: slurmEnv, pollMs: 200 });
    expect(result.status).toBe('succeeded');
    const report = await cancelJobs([job!.jobId], { env: slurmEnv });
    expect(report).toEqual({
      cancelled: [],
      ended: [{ jobId: job!.jobId, state: 'COMPLETED' }],
      unconfirmed: [],
    });
  });

  it.each([
    [['--partition=nosuch'], /Invalid partition name specified/, /--partition in slurm\.sbatchArgs/],
    [['--gres=gpu:1'], /Invalid generic resource \(gres\) specification/, /--gres in slurm\.sbatchArgs/],
  ])('rejects %j with one line and a hint naming the field to change', async (sbatchArgs, message, hint) => {
    const dir = tempDir();
    const error = await submitChain(steps(dir).slice(0, 1), {
      projectDir: dir,
      env: slurmEnv,
      sbatchArgs,
    }).then(
      () => undefined,
      (caught: unknown) => caught as RfsqError,
    );
    expect(error).toBeInstanceOf(RfsqError);
    if (!error) return;
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('\n');
    expect(error.hint).toMatch(hint);
    expect(error.exitCode).toBe(2);
  });
});
