import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ResolvedStep } from '../../src/pipeline/executor.js';
import {
  cancelJobs,
  followChain,
  followJob,
  jobScript,
  parseJobId,
  shellQuote,
  submitChain,
} from '../../src/pipeline/slurm.js';
import { tempDir } from './helpers.js';

const STUBS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'stubs');

/** Environment with the stub Slurm commands first on PATH. */
function stubEnv(extra: Record<string, string> = {}) {
  const stubDir = tempDir('rfsq-slurm-stub-');
  const env = {
    ...process.env,
    PATH: `${STUBS}${path.delimiter}${process.env['PATH'] ?? ''}`,
    RFSQ_STUB_DIR: stubDir,
    ...extra,
  };
  const calls = (): Array<{ command: string; args: string[] }> =>
    readFileSync(path.join(stubDir, 'calls.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { command: string; args: string[] });
  return { env, calls };
}

function steps(dir: string): ResolvedStep[] {
  return ['phase1', 'phase2-main', 'phase3'].map((id) => ({
    id,
    argv: ['python', 'train.py', '--name', `it's ${id}`],
    cwd: dir,
    expectedMetrics: [],
  }));
}

describe('slurm', () => {
  it('chains jobs with afterok on the previous id', async () => {
    const dir = tempDir();
    const { env, calls } = stubEnv({ RFSQ_STUB_CLUSTER: 'gpu-cluster' });
    const jobs = await submitChain(steps(dir), { projectDir: dir, env, sbatchArgs: ['--time=08:00:00'] });
    expect(jobs.map((job) => job.jobId)).toEqual(['1001', '1002', '1003']);
    const submitted = calls().filter((call) => call.command === 'sbatch');
    expect(submitted).toHaveLength(3);
    expect(submitted[0]?.args.some((arg) => arg.startsWith('--dependency'))).toBe(false);
    expect(submitted[1]?.args).toContain('--dependency=afterok:1001');
    expect(submitted[2]?.args).toContain('--dependency=afterok:1002');
    expect(submitted[0]?.args).toEqual([
      '--parsable',
      '--job-name',
      'rfsq-phase1',
      '--output',
      path.join(dir, '.rfsq', 'logs', 'slurm', 'phase1.log'),
      '--time=08:00:00',
      path.join(dir, '.rfsq', 'jobs', 'phase1.sh'),
    ]);
    const script = readFileSync(path.join(dir, '.rfsq', 'jobs', 'phase2-main.sh'), 'utf8');
    expect(script).toContain(`exec python train.py --name 'it'\\''s phase2-main'`);
  });

  it('reports a failed submission', async () => {
    const dir = tempDir();
    const { env } = stubEnv({ RFSQ_STUB_SBATCH_FAIL: '1' });
    await expect(submitChain(steps(dir), { projectDir: dir, env })).rejects.toThrow(/Invalid account/);
  });

  it('follows a job to completion', async () => {
    const { env, calls } = stubEnv({ RFSQ_STUB_RUNNING_POLLS: '2' });
    const states: string[] = [];
    const result = await followJob('1001', { env, pollMs: 10, onState: (state) => states.push(state) });
    expect(result).toMatchObject({ jobId: '1001', state: 'COMPLETED', status: 'succeeded', exitCode: 0 });
    expect(states).toEqual(['RUNNING']);
    expect(calls().filter((call) => call.command === 'squeue')).toHaveLength(3);
    expect(calls().find((call) => call.command === 'sacct')?.args).toEqual([
      '-n',
      '-P',
      '-j',
      '1001',
      '-o',
      'State,ExitCode',
    ]);
  });

  it.each([
    ['TIMEOUT|0:15', 'failed', /TIMEOUT/],
    ['OUT_OF_MEMORY|0:125', 'failed', /OUT_OF_MEMORY/],
    ['FAILED|3:0', 'failed', /FAILED with exit code 3/],
    ['CANCELLED by 1000|0:15', 'interrupted', /CANCELLED/],
  ])('maps %s to a clear reason', async (final, status, reason) => {
    const { env } = stubEnv({ RFSQ_STUB_FINAL: JSON.stringify({ '1001': final }) });
    const result = await followJob('1001', { env, pollMs: 10 });
    expect(result.status).toBe(status);
    expect(result.reason).toMatch(reason);
  });

  it('cancels the rest of a chain when a job fails', async () => {
    const dir = tempDir();
    const { env, calls } = stubEnv({ RFSQ_STUB_FINAL: JSON.stringify({ '1001': 'TIMEOUT|0:15' }) });
    const jobs = await submitChain(steps(dir), { projectDir: dir, env });
    const results = await followChain(jobs, { env, pollMs: 10 });
    expect(results).toHaveLength(1);
    expect(results[0]?.reason).toMatch(/TIMEOUT/);
    expect(calls().find((call) => call.command === 'scancel')?.args).toEqual(['1002', '1003']);
  });

  it('scancel receives the ids', async () => {
    const { env, calls } = stubEnv();
    await cancelJobs(['41', '42'], { env });
    expect(calls()).toEqual([{ command: 'scancel', args: ['41', '42'] }]);
  });

  it('parses job ids and quotes words for the shell', () => {
    expect(parseJobId('12345\n')).toBe('12345');
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
});
