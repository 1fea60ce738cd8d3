import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { RfsqError } from '../core/errors.js';
import { startAttempt, type StepAttempt, type StepOutcome } from './executor.js';
import type { PlannedStep, StepExecutor, StepExecutorOptions } from './pipeline.js';
import { stateDir } from './state.js';
import {
  cancelJobs,
  followJob,
  interpretJobState,
  isFinalState,
  queryJob,
  submitJob,
  type JobResult,
  type SubmittedJob,
} from './slurm.js';

/**
 * A step executor for `runPipeline` that runs steps as Slurm jobs (`executeStep: createSlurmExecutor(...)`).
 *
 * - Submission: asked for a step that is not queued yet, it submits that step and the steps the run
 *   will execute after it (`willRun` from the pipeline; skipped and untouched steps are left out), up to
 *   and including the next step with a `gateAfter`, as one chain: `sbatch --parsable
 *   --kill-on-invalid-dep=yes`, each job with `--dependency=afterok:<previous id>`. A gate needs the
 *   measured result before the run goes on, so a chain never crosses one. Each job id goes into the run
 *   state (`recordJob`) as soon as sbatch returns it. An sbatch rejection (unknown partition, missing
 *   gres, unreachable controller) throws an RfsqError with a hint, after withdrawing the jobs already
 *   submitted for the chain.
 * - Resume: before submitting a step, the job recorded for it by an earlier attempt of this run
 *   (`recordedJobs`) is looked up in Slurm: still pending or running → followed, not resubmitted;
 *   COMPLETED → its output and metrics are read; failed, cancelled or unknown to Slurm → resubmitted
 *   (and every step after it in the chain too). Each attempt writes its own output file (`%j`).
 * - Following: `followJob` asks Slurm (sacct, scontrol, sacct -c) until the job reaches a final
 *   state; each state change goes to `onLine` as `slurm job <id>: PENDING` / `RUNNING`. Meanwhile the
 *   job's output file (stdout and stderr together, so every line is reported as stdout) is tailed
 *   into the step log line by line, through the same metric extraction as the local executor. Then
 *   `metricsFile` is read (ignored when older than the submission).
 * - Outcome: COMPLETED with exit 0 → succeeded, or unverified when none of `expectedMetrics` came;
 *   FAILED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, a nonzero exit... → failed with the reason from
 *   `interpretJobState`; CANCELLED → interrupted. The jobs chained after a job that did not succeed
 *   can never start (afterok): Slurm cancels them (--kill-on-invalid-dep), and so does rfsq; the
 *   reason says what Slurm reports for them afterwards.
 * - Abort (Ctrl-C): `confirmCancel(ids)` (default yes) decides whether the current job and the ones
 *   chained after it are cancelled; the outcome is interrupted, and its reason names the jobs left
 *   queued when the user said no (a resume then follows them).
 *
 * Job output goes to `<dir of the step log>/<step>.<job id>.out`. The step record never gets a `pid`
 * (a job id is not a local process group).
 */

export interface SlurmExecutorOptions {
  projectDir: string;
  /** The run's plan, in order (the same as runPipeline's); cwd relative to projectDir allowed. */
  plan: PlannedStep[];
  /** Extra sbatch arguments for every job (`slurm.sbatchArgs` of the config). */
  sbatchArgs?: string[];
  /** Interval between two questions to Slurm about a job. Default 30 000 ms. */
  pollMs?: number;
  /** How often the job's output file is read while it runs. Default 1000 ms (at most pollMs). */
  tailMs?: number;
  /** Environment of the Slurm commands (its PATH picks sbatch, sacct, scontrol, scancel) and the jobs. */
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
  if (RESOURCE_STATES.has(result.state) || /signal 9/.test(result.reason)) {
    reason += ' (slurm.sbatchArgs in rfsq.config.json)';
  }
  if (result.status === 'failed' && lastLine) reason += `; last output: ${lastLine}`;
  return reason;
}

/** Reads a growing file from where it left off and hands over each complete line. */
function fileTail(file: string, onLine: (line: string) => void) {
  const decoder = new StringDecoder('utf8');
  const chunk = Buffer.alloc(1 << 16);
  let offset = 0;
  let partial = '';
  let found = false;
  const read = () => {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return;
    }
    found = true;
    try {
      for (let bytes = readSync(fd, chunk, 0, chunk.length, offset); bytes > 0;) {
        offset += bytes;
        partial += decoder.write(chunk.subarray(0, bytes));
        bytes = readSync(fd, chunk, 0, chunk.length, offset);
      }
    } finally {
      closeSync(fd);
    }
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line.replace(/\r$/, ''));
  };
  return {
    read,
    /** Reads the rest, including a last line without a newline; false when the file never existed. */
    finish(): boolean {
      read();
      partial += decoder.end();
      if (partial.length > 0) onLine(partial);
      partial = '';
      return found;
    },
  };
}

export function createSlurmExecutor(options: SlurmExecutorOptions): SlurmExecutor {
  const { projectDir, plan, env } = options;
  const pollMs = options.pollMs ?? 30_000;
  const tailMs = Math.min(options.tailMs ?? 1000, pollMs);
  /** Jobs submitted (or adopted) for steps not followed yet, in chain order. */
  const queued = new Map<string, QueuedJob>();

  const takeQueued = (): string[] => {
    const ids = [...queued.values()].map((entry) => entry.job.jobId);
    queued.clear();
    return ids;
  };

  /** Cancels jobs (after asking, when `ask`), then says what Slurm reports for them. */
  const withdraw = async (ids: string[], ask: boolean): Promise<string> => {
    if (ids.length === 0) return '';
    if (ask && options.confirmCancel) {
      // A prompt that fails must not leave jobs behind: Ctrl-C means stop.
      const confirmed = await options.confirmCancel(ids).catch(() => true);
      if (!confirmed) return `${jobWord(ids)} left queued (\`rfsq run --resume\` follows them)`;
    }
    try {
      const report = await cancelJobs(ids, { env });
      const notes: string[] = [];
      if (report.cancelled.length > 0) notes.push(`cancelled ${jobWord(report.cancelled)}`);
      for (const { jobId, state } of report.ended)
        notes.push(`slurm job ${jobId} had already ended ${state}`);
      for (const { jobId, state } of report.unconfirmed) {
        notes.push(`slurm job ${jobId} is still ${state} after scancel`);
      }
      return notes.join('; ');
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

  /**
   * The job an earlier attempt of this run submitted for the step, when Slurm says it is still
   * pending or running, or completed successfully. Otherwise undefined, and a note says why; a live
   * job that cannot be adopted (its chain is being resubmitted) is cancelled.
   */
  const adoptable = async (
    step: PlannedStep,
    runOptions: StepExecutorOptions,
    adopting: boolean,
    attempt: StepAttempt,
  ): Promise<QueuedJob | undefined> => {
    const recorded = runOptions.recordedJobs?.filter((job) => job.step === step.id).at(-1);
    if (recorded === undefined) return undefined;
    const info = await queryJob(recorded.jobId, { env });
    const ours = info !== undefined && (info.name === '' || info.name === `rfsq-${step.id}`);
    const previous = `slurm: job ${recorded.jobId} of the previous attempt at ${step.id}`;
    if (!ours) {
      attempt.info(`${previous} is unknown to Slurm; resubmitting`);
      return undefined;
    }
    const live = !isFinalState(info.state);
    const completed = interpretJobState(recorded.jobId, info.rawState, info.exit).status === 'succeeded';
    if (adopting && (live || completed)) {
      attempt.info(`${previous} is ${info.state}: following it instead of resubmitting`);
      const script = path.join(stateDir(projectDir), 'jobs', `${step.id}.sh`);
      return {
        job: { stepId: step.id, jobId: recorded.jobId, script, logPath: recorded.output },
        submittedMs: Date.parse(recorded.submittedAt),
      };
    }
    if (live) {
      attempt.info(
        `${previous} is ${info.state} behind a resubmitted step: ${await withdraw([recorded.jobId], false)}`,
      );
    } else {
      attempt.info(`${previous} ended ${info.rawState}; resubmitting`);
    }
    return undefined;
  };

  /** Queues the step's chain: adopted jobs of an earlier attempt first, then new submissions. */
  const queueChain = async (step: PlannedStep, runOptions: StepExecutorOptions, attempt: StepAttempt) => {
    let afterJob: string | undefined;
    let adopting = true;
    // One sbatch call per job, so that a failed submission knows exactly which jobs to withdraw.
    for (const next of segmentFrom(step, runOptions.willRun)) {
      const adopted = await adoptable(next, runOptions, adopting, attempt);
      if (adopted) {
        queued.set(next.id, adopted);
        afterJob = adopted.job.jobId;
        continue;
      }
      adopting = false;
      const submittedMs = Date.now();
      let job: SubmittedJob;
      try {
        job = await submitJob(next, {
          projectDir,
          env,
          sbatchArgs: options.sbatchArgs,
          afterJob,
          outputDir: path.dirname(runOptions.logPath),
        });
      } catch (error) {
        const note = await withdraw(takeQueued(), false);
        if (note) attempt.info(`slurm: ${note}`);
        throw error;
      }
      runOptions.recordJob?.({
        step: next.id,
        jobId: job.jobId,
        output: job.logPath,
        submittedAt: new Date(submittedMs).toISOString(),
      });
      queued.set(next.id, { job, submittedMs });
      attempt.info(
        `slurm: step ${next.id} submitted as job ${job.jobId}${afterJob ? ` (afterok:${afterJob})` : ''}`,
      );
      afterJob = job.jobId;
    }
  };

  const execute = async (
    step: PlannedStep,
    runOptions: StepExecutorOptions,
    attempt: StepAttempt,
  ): Promise<StepOutcome> => {
    if (!queued.has(step.id)) {
      if (queued.size > 0) {
        // The run left the chain it was following; those jobs would run out of order.
        const note = await withdraw(takeQueued(), false);
        attempt.info(`slurm: the run left a chain: ${note}`);
      }
      await queueChain(step, runOptions, attempt);
    }
    const entry = queued.get(step.id);
    if (entry === undefined) throw new RfsqError(`step ${step.id} was not submitted`, { exitCode: 70 });
    queued.delete(step.id);
    const { job, submittedMs } = entry;

    attempt.info(`--- rfsq: output of slurm job ${job.jobId} (${job.logPath}) ---`);
    let lastLine = '';
    const tail = fileTail(job.logPath, (line) => {
      attempt.line('stdout', line);
      if (line.trim().length > 0) lastLine = line.trim();
    });
    const tailing = setInterval(tail.read, tailMs);
    let result: JobResult;
    try {
      result = await followJob(job.jobId, {
        env,
        pollMs,
        signal: runOptions.signal,
        onState: (state) => attempt.info(`slurm job ${job.jobId}: ${state}`),
      });
    } catch (error) {
      clearInterval(tailing);
      tail.finish();
      const note = await withdraw(takeQueued(), false);
      const reason = [
        `could not follow slurm job ${job.jobId}: ${messageOf(error)}`,
        `check it with scontrol show job ${job.jobId}`,
        note,
      ];
      return attempt.outcome('failed', null, null, reason.filter(Boolean).join('; '), undefined);
    }
    clearInterval(tailing);

    if (runOptions.signal?.aborted && result.status === 'interrupted') {
      // Ctrl-C while the job was queued or running (or it was cancelled meanwhile: scancel is harmless).
      const note = await withdraw([job.jobId, ...takeQueued()], true);
      tail.finish();
      return attempt.outcome('interrupted', null, null, `interrupted; ${note}`, undefined);
    }

    if (!tail.finish()) attempt.notes.push(`slurm output ${job.logPath} was not found`);
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
