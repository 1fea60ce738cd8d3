import path from 'node:path';
import { RfsqError, inputError } from '../core/errors.js';
import type { MetricName, MetricValue, Metrics } from '../core/metrics.js';
import {
  runStep,
  type ResolvedStep,
  type RunStepOptions,
  type StepOutcome,
  type StreamName,
} from './executor.js';
import { fingerprintStep } from './fingerprint.js';
import { acquireRunLock } from './lock.js';
import { measuredSeconds, recordTiming } from './timings.js';
import { isProcessGroupAlive, isRecordedGroupAlive, killProcessTree, processStartTicks } from './process.js';
import {
  collectMetrics,
  createRunState,
  isStale,
  loadState,
  pendingStep,
  saveState,
  stateDir,
  type GateRecord,
  type JobRecord,
  type RunState,
  type RunStatus,
  type StepRecord,
} from './state.js';

export type GateId = string;

export interface PlannedStep extends ResolvedStep {
  title: string;
  /** Estimate from the plan, in hours: [min, max]. Shown, never treated as a measurement. */
  estimateHours?: [number, number];
  /** Gate evaluated after this step succeeds (or is skipped without an earlier 'continue'). */
  gateAfter?: GateId;
}

export interface GateResult {
  decision: 'continue' | 'stop';
  message: string;
}

/** Decides whether the run goes on; may prompt the user (async). */
export type GateHandler = (
  metrics: Metrics,
  context: { step: PlannedStep; state: RunState },
) => GateResult | Promise<GateResult>;

export type StepAction = 'run' | 'skip' | 'untouched';

/** What runPipeline passes to a step executor: runStep's options plus a look at the rest of the run. */
export interface StepExecutorOptions extends RunStepOptions {
  /**
   * Whether this run decided to execute the step with this id (false for steps it skips or leaves
   * untouched). A batch executor (Slurm) uses it to submit the steps that follow ahead of time.
   */
  willRun?: (stepId: string) => boolean;
  /** Scheduler jobs this run submitted before (saved in the state), oldest first: a resume adopts live ones. */
  recordedJobs?: readonly JobRecord[];
  /** Saves a submitted job in the run state at once, before it is followed. */
  recordJob?: (job: JobRecord) => void;
}

/**
 * Executes one step and resolves its outcome; never throws for a failing step. The default is
 * `runStep` (a local child process); `createSlurmExecutor` submits the step to Slurm instead.
 */
export type StepExecutor = (step: PlannedStep, options: StepExecutorOptions) => Promise<StepOutcome>;

export interface StepDecision {
  id: string;
  title: string;
  argv: string[];
  /** Commands run after argv in the same step. */
  then?: string[][];
  cwd: string;
  action: StepAction;
  reason: string;
  fingerprint: string;
  estimateHours?: [number, number];
  /** How long this very command took when it last succeeded in this project (timings.json). */
  measuredSeconds?: number;
}

export type PipelineEvent =
  | { type: 'run-start'; runId: string; resumed: boolean; decisions: StepDecision[] }
  | { type: 'warning'; message: string }
  | { type: 'step-start'; step: string; title: string; index: number; total: number; logPath: string }
  | { type: 'step-skip'; step: string; title: string; reason: string }
  | { type: 'line'; step: string; stream: StreamName; line: string }
  | { type: 'metric'; step: string; name: MetricName; value: MetricValue; source: string }
  | { type: 'step-end'; step: string; outcome: StepOutcome }
  | { type: 'gate'; step: string; record: GateRecord }
  | { type: 'run-end'; status: RunStatus; state: RunState };

export interface RunPipelineOptions {
  projectDir: string;
  plan: PlannedStep[];
  strategy: string;
  /** Continue the existing run (same runId): unchanged succeeded steps are skipped. */
  resume?: boolean;
  /** Start at this step; earlier steps are left untouched. */
  from?: string;
  /** Run only this step. */
  only?: string;
  /** Rerun selected steps even when unchanged. */
  force?: boolean;
  /** Decide and report, run nothing, write nothing. */
  dryRun?: boolean;
  gates?: Record<GateId, GateHandler>;
  onEvent?: (event: PipelineEvent) => void;
  /** Abort (Ctrl-C): the running step's process tree is stopped and the run saved as interrupted. */
  signal?: AbortSignal;
  /** SIGTERM → SIGKILL grace when interrupting a step. Default 5000 ms. */
  graceMs?: number;
  /** Runs a step; default `runStep` (local child process). Skipped and untouched steps never reach it. */
  executeStep?: StepExecutor;
}

export interface PipelineResult {
  /** 'planned' for a dry run; otherwise the final run status (the caller exits 130 on 'interrupted'). */
  status: RunStatus | 'planned';
  /** The final state; for a dry run the existing state, if any. */
  state: RunState | undefined;
  decisions: StepDecision[];
}

/**
 * How a run ended, in words: a run whose steps all exited 0 but left some unverified (none of their
 * metrics came) is incomplete, not succeeded.
 */
export function describeRunEnd(status: RunStatus, state: RunState): string {
  const unverified = Object.entries(state.steps)
    .filter(([, record]) => record.status === 'unverified')
    .map(([id]) => id);
  if (status === 'succeeded' && unverified.length > 0) {
    return `run incomplete: ${unverified.join(', ')} reported none of ${unverified.length === 1 ? 'its' : 'their'} metrics`;
  }
  return `run ${status}`;
}

const DONE: ReadonlySet<StepRecord['status']> = new Set(['succeeded', 'skipped']);

function validatePlan(options: RunPipelineOptions): void {
  const ids = options.plan.map((step) => step.id);
  const seen = new Set<string>();
  for (const id of ids) {
    if (!/^[A-Za-z0-9._-]+$/.test(id))
      throw inputError(`step id "${id}" may only use letters, digits, . _ -`);
    if (seen.has(id)) throw inputError(`step id "${id}" appears twice in the plan`);
    seen.add(id);
  }
  const valid = ids.join(', ');
  for (const [flag, value] of [
    ['--from', options.from],
    ['--only', options.only],
  ] as const) {
    if (value !== undefined && !seen.has(value)) {
      throw inputError(`unknown step "${value}" for ${flag}`, `valid steps: ${valid}`);
    }
  }
  if (options.from !== undefined && options.only !== undefined) {
    throw inputError('--from and --only cannot be combined', 'pass one of them');
  }
  for (const step of options.plan) {
    if (step.gateAfter !== undefined && options.gates?.[step.gateAfter] === undefined) {
      throw new RfsqError(`step ${step.id} declares gate "${step.gateAfter}" but no handler was given`, {
        exitCode: 70,
      });
    }
  }
}

function selectedIds(options: RunPipelineOptions): Set<string> {
  const ids = options.plan.map((step) => step.id);
  if (options.only !== undefined) return new Set([options.only]);
  if (options.from !== undefined) return new Set(ids.slice(ids.indexOf(options.from)));
  return new Set(ids);
}

function logPathFor(projectDir: string, runId: string, stepId: string): string {
  return path.join(stateDir(projectDir), 'logs', runId, `${stepId}.log`);
}

function withCwd(step: PlannedStep, projectDir: string): PlannedStep {
  return { ...step, cwd: path.resolve(projectDir, step.cwd) };
}

/**
 * Stops the process group a dead rfsq's step left behind, whatever happened to its leader (it may have
 * died on EPIPE while a child it started trains on). The group is recognised by its id and its leader's
 * recorded start time, never by a pid alone (pids get reused). Returns a warning for the run, if any.
 */
async function stopLeftoverGroup(
  id: string,
  record: StepRecord,
  options: RunPipelineOptions,
): Promise<string | undefined> {
  if (record.pid === undefined) return undefined;
  const pgid = record.pid;
  if (record.pidStartTicks === undefined) {
    // A state from an rfsq that did not record start times, or a platform without /proc.
    return isProcessGroupAlive(pgid)
      ? `step ${id}: processes of the previous attempt (group ${pgid}) may still be running`
      : undefined;
  }
  if (!isRecordedGroupAlive(pgid, record.pidStartTicks)) return undefined;
  if (options.dryRun)
    return `step ${id}: processes of the previous attempt (group ${pgid}) are still running`;
  await killProcessTree(pgid, options.graceMs ?? 5000);
  return `step ${id}: stopped the processes the previous attempt left running (group ${pgid})`;
}

/**
 * Runs a plan step by step with state saved before and after each step.
 * See RunPipelineOptions for the flags; the result carries the final state.
 */
export async function runPipeline(options: RunPipelineOptions): Promise<PipelineResult> {
  validatePlan(options);
  // The lock comes before anything is read: a check of the state followed by a write would let two
  // runs started together both pass (fingerprinting a large input takes a while). A dry run writes
  // nothing and takes no lock.
  if (options.dryRun) return runLocked(options);
  const lock = acquireRunLock(options.projectDir);
  try {
    return await runLocked(options);
  } finally {
    lock.release();
  }
}

async function runLocked(options: RunPipelineOptions): Promise<PipelineResult> {
  const { projectDir, strategy } = options;
  const plan = options.plan.map((step) => withCwd(step, projectDir));
  const order = plan.map((step) => step.id);
  const emit = (event: PipelineEvent) => options.onEvent?.(event);
  const warnings: string[] = [];

  const existing = loadState(projectDir);
  if (options.resume && existing && existing.strategy !== strategy) {
    throw inputError(
      `cannot resume: the saved run used strategy ${existing.strategy}, not ${strategy}`,
      `pass --strategy ${existing.strategy}, or start a new run without --resume`,
    );
  }

  // Base state: the existing run (resume), or a new run that keeps the records of untouched steps.
  let state: RunState;
  const resumed = Boolean(options.resume && existing);
  if (resumed && existing) {
    state = structuredClone(existing);
    // Holding the lock, a state that still says running was left by an rfsq that died (kill -9); a dry
    // run holds no lock and asks the state's pid.
    if (existing.status === 'running' && (!options.dryRun || isStale(existing))) {
      for (const [id, record] of Object.entries(state.steps)) {
        if (record.status !== 'running') continue;
        record.status = 'interrupted';
        record.reason = `the rfsq process (pid ${existing.pid}) died while this step ran`;
        const warning = await stopLeftoverGroup(id, record, options);
        if (warning) warnings.push(warning);
      }
    }
  } else {
    state = createRunState(strategy, [], () => '');
    const partial = options.from !== undefined || options.only !== undefined;
    if (partial && existing && existing.strategy === strategy) {
      for (const [id, record] of Object.entries(existing.steps)) {
        state.steps[id] = record.status === 'running' ? { ...record, status: 'interrupted' } : record;
      }
    }
  }
  for (const id of order) state.steps[id] ??= pendingStep(logPathFor(projectDir, state.runId, id));

  // Decisions.
  const selected = selectedIds(options);
  const decisions: StepDecision[] = [];
  for (const step of plan) {
    const fingerprint = await fingerprintStep(step);
    const measured = measuredSeconds(projectDir, step);
    const record = state.steps[step.id];
    let action: StepAction;
    let reason: string;
    if (!selected.has(step.id)) {
      action = 'untouched';
      reason =
        options.only !== undefined ? `only ${options.only} was asked for` : `before --from ${options.from}`;
    } else if (options.force) {
      action = 'run';
      reason = 'forced';
    } else if (resumed && record && DONE.has(record.status)) {
      const unchanged = record.fingerprint === fingerprint;
      action = unchanged ? 'skip' : 'run';
      reason = unchanged
        ? 'unchanged since it succeeded'
        : 'command, env or inputs changed since it succeeded';
    } else {
      action = 'run';
      reason = record && record.status !== 'pending' ? `previous attempt ${record.status}` : 'not run yet';
    }
    decisions.push({
      id: step.id,
      title: step.title,
      argv: step.argv,
      ...(step.then ? { then: step.then } : {}),
      cwd: step.cwd,
      action,
      reason,
      fingerprint,
      ...(step.estimateHours ? { estimateHours: step.estimateHours } : {}),
      ...(measured !== undefined ? { measuredSeconds: measured } : {}),
    });
  }
  if (options.dryRun) return { status: 'planned', state: existing, decisions };

  state.pid = process.pid;
  state.status = 'running';
  delete state.finishedAt;
  saveState(projectDir, state);
  emit({ type: 'run-start', runId: state.runId, resumed, decisions });
  for (const message of warnings) emit({ type: 'warning', message });

  const end = (status: RunStatus): PipelineResult => {
    state.status = status;
    state.finishedAt = new Date().toISOString();
    saveState(projectDir, state);
    emit({ type: 'run-end', status, state });
    return { status, state, decisions };
  };

  const executeStep: StepExecutor = options.executeStep ?? runStep;
  const toRun = new Set(
    decisions.filter((decision) => decision.action === 'run').map((decision) => decision.id),
  );
  const willRun = (stepId: string) => toRun.has(stepId);

  try {
    for (const [index, step] of plan.entries()) {
      const decision = decisions[index];
      if (!decision || decision.action === 'untouched') continue;
      if (options.signal?.aborted) return end('interrupted');
      const previous = state.steps[step.id] ?? pendingStep(logPathFor(projectDir, state.runId, step.id));

      if (decision.action === 'skip') {
        state.steps[step.id] = { ...previous, status: 'skipped', reason: decision.reason };
        saveState(projectDir, state);
        emit({ type: 'step-skip', step: step.id, title: step.title, reason: decision.reason });
      } else {
        const logPath = logPathFor(projectDir, state.runId, step.id);
        // Fingerprint the inputs as this step finds them: earlier steps of this run may have just written them.
        const fingerprint = await fingerprintStep(step);
        const record: StepRecord = {
          status: 'running',
          startedAt: new Date().toISOString(),
          logPath,
          metrics: {},
          metricSources: {},
        };
        state.steps[step.id] = record;
        saveState(projectDir, state);
        emit({ type: 'step-start', step: step.id, title: step.title, index, total: plan.length, logPath });
        const outcome = await executeStep(step, {
          logPath,
          graceMs: options.graceMs,
          signal: options.signal,
          onSpawn: (pid) => {
            record.pid = pid;
            // With the pid (= the group id), the leader's start time names this group even after its leader died.
            const startTicks = processStartTicks(pid);
            if (startTicks !== undefined) record.pidStartTicks = startTicks;
            saveState(projectDir, state);
          },
          onLine: (stream, line) => emit({ type: 'line', step: step.id, stream, line }),
          onMetric: (name, value, source) => emit({ type: 'metric', step: step.id, name, value, source }),
          willRun,
          recordedJobs: state.jobs ?? [],
          recordJob: (job) => {
            (state.jobs ??= []).push(job);
            saveState(projectDir, state);
          },
        });
        state.steps[step.id] = {
          status: outcome.status,
          startedAt: outcome.startedAt,
          finishedAt: outcome.finishedAt,
          exitCode: outcome.exitCode,
          logPath,
          metrics: outcome.metrics,
          metricSources: outcome.metricSources,
          ...(outcome.metricProvenance ? { metricProvenance: outcome.metricProvenance } : {}),
          fingerprint,
          ...(outcome.reason ? { reason: outcome.reason } : {}),
        };
        saveState(projectDir, state);
        if (outcome.status === 'succeeded' || outcome.status === 'unverified') {
          recordTiming(
            projectDir,
            step,
            (Date.parse(outcome.finishedAt) - Date.parse(outcome.startedAt)) / 1000,
          );
        }
        emit({ type: 'step-end', step: step.id, outcome });
        if (outcome.status === 'interrupted') return end('interrupted');
        // An unverified step exited 0: the run goes on, and the checklist shows its metrics as pending.
        if (outcome.status === 'failed') return end('failed');
      }

      if (step.gateAfter !== undefined) {
        const gateId = step.gateAfter;
        const alreadyPassed = state.gates.some(
          (gate) => gate.gate === gateId && gate.step === step.id && gate.decision === 'continue',
        );
        if (decision.action === 'run' || !alreadyPassed) {
          const handler = options.gates?.[gateId];
          if (!handler) throw new RfsqError(`no handler for gate ${gateId}`, { exitCode: 70 });
          const result = await handler(collectMetrics(state, order), { step, state });
          const gateRecord: GateRecord = {
            gate: gateId,
            step: step.id,
            decision: result.decision,
            message: result.message,
            at: new Date().toISOString(),
          };
          state.gates.push(gateRecord);
          saveState(projectDir, state);
          emit({ type: 'gate', step: step.id, record: gateRecord });
          if (result.decision === 'stop') return end('stopped');
        }
      }
    }
    if (options.signal?.aborted) return end('interrupted');
    return end('succeeded');
  } catch (error) {
    // Leave a truthful state behind before the error reaches the caller.
    for (const record of Object.values(state.steps)) {
      if (record.status === 'running') {
        record.status = 'failed';
        record.reason = `rfsq error: ${(error as Error).message}`;
      }
    }
    state.status = 'failed';
    state.finishedAt = new Date().toISOString();
    saveState(projectDir, state);
    throw error;
  }
}
