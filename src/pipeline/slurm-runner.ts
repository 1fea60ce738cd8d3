import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { RfsqError } from '../core/errors.js';
import { startAttempt, type StepAttempt, type StepOutcome } from './executor.js';
import type { PlannedStep, StepExecutor, StepExecutorOptions } from './pipeline.js';
import { cancelJobs, followJob, submitChain, type JobResult, type SubmittedJob } from './slurm.js';

/**
 * A step executor for `runPipeline` that runs steps as Slurm jobs (`executeStep: createSlurmExecutor(...)`).
 *
 * - Submission: asked for a step that is not queued yet, it submits that step and the steps the run
 *   will execute after it (`willRun` from the pipeline; skipped and untouched steps are left out), up to
 *   and including the next step with a `gateAfter`, as one chain: `sbatch --parsable`, each job with
 *   `--dependency=afterok:<previous id>`. A gate needs the measured result before the run goes on, so
 *   a chain never crosses one (a skipped step with a gate also ends the chain).
 * - Following: the step's job is followed with `squeue`/`sacct` (`followJob`); each state change is
 *   passed to `onLine` as `slurm job <id>: PENDING` / `RUNNING` (and written to the step log).
 * - When the job has finished, its Slurm output file (stdout and stderr together, so every line is
 *   reported as stdout) is appended to the step log, line by line through the same metric extraction
 *   as the local executor, then `metricsFile` is read (ignored when older than the submission).
 * - Outcome: COMPLETED with exit 0 → succeeded, or unverified when none of `expectedMetrics` came;
 *   FAILED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, a nonzero exit... → failed with the reason from
 *   `interpretJobState`; CANCELLED → interrupted. The jobs chained after a job that did not succeed can
 *   never start (afterok), so they are cancelled with `scancel`.
 * - Abort (Ctrl-C): `confirmCancel(ids)` (default yes) decides whether the current job and the ones
 *   chained after it are cancelled; the outcome is interrupted, and its reason names the jobs left
 *   queued when the user said no.
 *
 * Job output goes to `<dir of the step log>/<step>.slurm.out`. The step record never gets a `pid`
 * (a job id is not a local process group).
 */

export interface SlurmExecutorOptions {
  projectDir: string;
  /** The run's plan, in order (the same as runPipeline's); cwd relative to projectDir allowed. */
  plan: PlannedStep[];
  /** Extra sbatch arguments for every job (`slurm.sbatchArgs` of the config). */
  sbatchArgs?: string[];
  /** squeue poll interval. Default 30 000 ms. */
  pollMs?: number;
  /** Environment of the Slurm commands (its PATH picks sbatch, squeue, sacct, scancel) and the jobs. */
  env?: NodeJS.ProcessEnv;
  /** Asked on abort with the ids of the jobs still queued or running; default: cancel them. */
  confirmCancel?: (jobIds: string[]) => Promise<boolean>;
}

export type SlurmExecutor = StepExecutor & {
  /** Ids of jobs submitted ahead for later steps and not followed yet (empty after a clean run). */
  pendingJobIds(): string[];
};

interface QueuedJob {
  job: SubmittedJob;
  /** Submission time: a metrics file older than this was left by an earlier run. */
  submittedMs: number;
}

const RESOURCE_STATES = new Set(['TIMEOUT', 'OUT_OF_MEMORY']);

function jobWord(ids: string[]): string {
  return `slurm ${ids.length === 1 ? 'job' : 'jobs'} ${ids.join(', ')}`;
}

function messageOf(error: unknown): string {
  if (error instanceof RfsqError) return error.hint ? `${error.message} (${error.hint})` : error.message;
  return error instanceof Error ? error.message : String(error);
}

/** The reason for a job that did not succeed, with where to change its resources and its last line. */
function failureReason(result: JobResult, lastLine: string): string {
  let reason = `slurm ${result.reason}`;
  if (RESOURCE_STATES.has(result.state)) reason += ' (slurm.sbatchArgs in rfsq.config.json)';
  if (result.status === 'failed' && lastLine) reason += `; last output: ${lastLine}`;
  return reason;
}

export function createSlurmExecutor(options: SlurmExecutorOptions): SlurmExecutor {
  const { projectDir, plan, env } = options;
  /** Jobs submitted for steps not followed yet, in chain order. */
  const queued = new Map<string, QueuedJob>();

  const takeQueued = (): string[] => {
    const ids = [...queued.values()].map((entry) => entry.job.jobId);
    queued.clear();
    return ids;
  };

  /** Cancels jobs (after asking, when `ask`); returns a note for the outcome's reason. */
  const withdraw = async (ids: string[], ask: boolean): Promise<string> => {
    if (ids.length === 0) return '';
    if (ask && options.confirmCancel) {
      // A prompt that fails must not leave jobs behind: Ctrl-C means stop.
      const confirmed = await options.confirmCancel(ids).catch(() => true);
      if (!confirmed) return `${jobWord(ids)} left queued`;
    }
    try {
      await cancelJobs(ids, { env });
      return `cancelled ${jobWord(ids)}`;
    } catch (error) {
      return `${messageOf(error)}; ${jobWord(ids)} may still be queued`;
    }
  };

  /** The step and the ones this run executes after it, up to and including the next gated one. */
  const segmentFrom = (step: PlannedStep, willRun: ((id: string) => boolean) | undefined): PlannedStep[] => {
    const segment = [step];
    const index = plan.findIndex((planned) => planned.id === step.id);
    if (step.gateAfter !== undefined || index < 0) return segment;
    for (const next of plan.slice(index + 1)) {
      if (willRun && !willRun(next.id)) {
        // A skipped step's gate may still be asked: do not queue work beyond it.
        if (next.gateAfter !== undefined) break;
        continue;
      }
      segment.push({ ...next, cwd: path.resolve(projectDir, next.cwd) });
      if (next.gateAfter !== undefined) break;
    }
    return segment;
  };

  /** Appends the job's output file to the step log through the metric extraction; returns its last line. */
  const appendOutput = async (attempt: StepAttempt, job: SubmittedJob): Promise<string> => {
    if (!existsSync(job.logPath)) {
      attempt.notes.push(`slurm output ${job.logPath} was not found`);
      return '';
    }
    attempt.info(`--- rfsq: output of slurm job ${job.jobId} (${job.logPath}) ---`);
    let lastLine = '';
    const lines = createInterface({ input: createReadStream(job.logPath), crlfDelay: Infinity });
    for await (const line of lines) {
      attempt.line('stdout', line);
      if (line.trim().length > 0) lastLine = line.trim();
    }
    return lastLine;
  };

  const execute = async (
    step: PlannedStep,
    runOptions: StepExecutorOptions,
    attempt: StepAttempt,
  ): Promise<StepOutcome> => {
    let entry = queued.get(step.id);
    if (entry === undefined) {
      if (queued.size > 0) {
        // The run left the chain it was following; those jobs would run out of order.
        const note = await withdraw(takeQueued(), false);
        attempt.info(`slurm: the run left a chain: ${note}`);
      }
      let afterJob: string | undefined;
      try {
        // One sbatch call per job (same chain as submitChain(segment)), so that a failed submission
        // knows exactly which jobs to cancel.
        for (const next of segmentFrom(step, runOptions.willRun)) {
          const submittedMs = Date.now();
          const [job] = await submitChain([next], {
            projectDir,
            env,
            sbatchArgs: options.sbatchArgs,
            afterJob,
            logPathFor: (id) => path.join(path.dirname(runOptions.logPath), `${id}.slurm.out`),
          });
          if (job === undefined) throw new RfsqError(`sbatch returned no job for step ${next.id}`);
          queued.set(next.id, { job, submittedMs });
          attempt.info(
            `slurm: step ${next.id} submitted as job ${job.jobId}${afterJob ? ` (afterok:${afterJob})` : ''}`,
          );
          afterJob = job.jobId;
        }
      } catch (error) {
        const note = await withdraw(takeQueued(), false);
        const reason = [messageOf(error), note].filter(Boolean).join('; ');
        return attempt.outcome('failed', null, null, reason, undefined);
      }
      entry = queued.get(step.id);
      if (entry === undefined) throw new RfsqError(`step ${step.id} was not submitted`, { exitCode: 70 });
    }
    queued.delete(step.id);
    const { job, submittedMs } = entry;

    let result: JobResult;
    try {
      result = await followJob(job.jobId, {
        env,
        pollMs: options.pollMs ?? 30_000,
        signal: runOptions.signal,
        onState: (state) => attempt.info(`slurm job ${job.jobId}: ${state}`),
      });
    } catch (error) {
      const note = await withdraw(takeQueued(), false);
      const reason = [
        `could not follow slurm job ${job.jobId}: ${messageOf(error)}`,
        `check it with sacct -j ${job.jobId}`,
        note,
      ];
      return attempt.outcome('failed', null, null, reason.filter(Boolean).join('; '), undefined);
    }

    if (runOptions.signal?.aborted && result.status === 'interrupted') {
      // Ctrl-C while the job was queued or running (or it was cancelled meanwhile: scancel is harmless).
      const note = await withdraw([job.jobId, ...takeQueued()], true);
      await appendOutput(attempt, job);
      return attempt.outcome('interrupted', null, null, `interrupted; ${note}`, undefined);
    }

    const lastLine = await appendOutput(attempt, job);
    attempt.readMetricsFile(submittedMs);

    if (result.status !== 'succeeded') {
      const note = await withdraw(takeQueued(), false);
      const reason = [failureReason(result, lastLine), note && `${note} (chained after it)`];
      return attempt.outcome(
        result.status,
        result.exitCode,
        null,
        reason.filter(Boolean).join('; '),
        undefined,
      );
    }
    const verdict = attempt.cleanExit();
    // Aborted after the job finished: the run stops before the next step, so withdraw its queued jobs.
    const note = runOptions.signal?.aborted ? await withdraw(takeQueued(), true) : '';
    const reason = [verdict.reason, note].filter(Boolean).join('; ');
    return attempt.outcome(verdict.status, result.exitCode ?? 0, null, reason, undefined);
  };

  const executor = async (step: PlannedStep, runOptions: StepExecutorOptions): Promise<StepOutcome> => {
    const startedMs = Date.now();
    if (runOptions.signal?.aborted) {
      const note = await withdraw(takeQueued(), true);
      const startedAt = new Date(startedMs).toISOString();
      return {
        status: 'interrupted',
        exitCode: null,
        signal: null,
        metrics: {},
        metricSources: {},
        reason: ['interrupted before submission', note].filter(Boolean).join('; '),
        pid: undefined,
        startedAt,
        finishedAt: new Date().toISOString(),
      };
    }
    const attempt = startAttempt(step, runOptions, `slurm ${JSON.stringify(step.argv)}`, startedMs);
    try {
      return await execute(step, runOptions, attempt);
    } finally {
      await attempt.close();
    }
  };

  return Object.assign(executor, {
    pendingJobIds: () => [...queued.values()].map((entry) => entry.job.jobId),
  });
}
