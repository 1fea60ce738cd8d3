import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';

/**
 * The real one-node Slurm cluster of test/slurm/cluster.sh (.ci/run starts it before `npm test`).
 * Tests that need it use `describeWithSlurm`: without the cluster they are skipped with a loud reason
 * on a developer machine, and fail in CI (CI=true), where the cluster must be there.
 */

export const SLURM_DIR = process.env['RFSQ_SLURM_DIR'] ?? '/tmp/rfsq-slurm';
export const SLURM_CONF = path.join(SLURM_DIR, 'slurm.conf');

/** process.env with SLURM_CONF pointing at the test cluster. */
export const slurmEnv: NodeJS.ProcessEnv = { ...process.env, SLURM_CONF };

function clusterProblem(): string | undefined {
  if (!existsSync(SLURM_CONF)) return `no ${SLURM_CONF}`;
  const sinfo = spawnSync('sinfo', ['-h', '-N', '-o', '%t'], {
    env: slurmEnv,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (sinfo.error) return `sinfo: ${sinfo.error.message}`;
  if (sinfo.status !== 0) return `sinfo: ${sinfo.stderr.trim()}`;
  if (!/^(idle|mix|alloc)/m.test(sinfo.stdout)) return `its node is ${sinfo.stdout.trim() || 'missing'}`;
  return undefined;
}

const problem = clusterProblem();

export function describeWithSlurm(name: string, body: () => void): void {
  if (problem === undefined) {
    describe(name, body);
    return;
  }
  const reason = `the Slurm test cluster is not running (${problem}); start it with \`bash test/slurm/cluster.sh start\``;
  if (process.env['CI'] === 'true' || process.env['CI'] === '1') {
    describe(name, () => {
      it('needs the Slurm test cluster', () => {
        throw new Error(`CI=true, but ${reason}`);
      });
    });
    return;
  }
  console.warn(`\n*** SKIPPED "${name}": ${reason} ***\n`);
  describe.skip(name, body);
}

export interface CompletedJob {
  jobId: string;
  name: string;
  state: string;
  exitCode: string;
  workDir: string;
}

/**
 * Slurm's own record of every job that ended (jobcomp/filetxt), for jobs submitted from `workDir`:
 * what the tests count to prove a job ran once.
 */
export function completedJobs(workDir: string): CompletedJob[] {
  const file = path.join(SLURM_DIR, 'jobcomp.log');
  if (!existsSync(file)) return [];
  const field = (line: string, key: string) => new RegExp(`(?:^| )${key}=(\\S*)`).exec(line)?.[1] ?? '';
  return readFileSync(file, 'utf8')
    .split(/\n|(?=JobId=)/)
    .filter((line) => line.startsWith('JobId='))
    .map((line) => ({
      jobId: field(line, 'JobId'),
      name: field(line, 'Name'),
      state: field(line, 'JobState'),
      exitCode: field(line, 'ExitCode'),
      workDir: field(line, 'WorkDir'),
    }))
    .filter((job) => job.workDir === workDir);
}

/** Ids of the jobs submitted from `workDir` that are still queued or running (squeue). */
export function queuedJobs(workDir: string): string[] {
  const squeue = spawnSync('squeue', ['-h', '-o', '%i %Z'], { env: slurmEnv, encoding: 'utf8' });
  return squeue.stdout
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter(([id, dir]) => id && dir === workDir)
    .map(([id]) => id!)
    .sort((a, b) => Number(a) - Number(b));
}

/** Cancels what a failed or timed-out test left queued in these project folders, so later tests find free cores. */
export function cancelLeftovers(workDirs: Iterable<string>): void {
  const ids = [...workDirs].flatMap((dir) => queuedJobs(dir));
  if (ids.length > 0) spawnSync('scancel', ids, { env: slurmEnv });
}
