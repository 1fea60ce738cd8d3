import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { RfsqError, inputError } from '../core/errors.js';
import { DATA_KINDS, METRICS, type MetricName, type MetricValue } from '../core/metrics.js';
import { isProcessAlive } from './process.js';

/**
 * Run state in `<project>/.rfsq/state.json`. Saved atomically (temp file in the same directory,
 * fsync, rename) before and after every step, so that a killed parent leaves a readable file.
 */

export const STATE_VERSION = 1;

export const RUN_STATUSES = ['running', 'succeeded', 'failed', 'interrupted', 'stopped'] as const;
export const STEP_STATUSES = [
  'pending',
  'running',
  'succeeded',
  'failed',
  'interrupted',
  'skipped',
  'unverified',
] as const;

export type RunStatus = (typeof RUN_STATUSES)[number];
export type StepStatus = (typeof STEP_STATUSES)[number];

const metricNames = Object.keys(METRICS) as [MetricName, ...MetricName[]];
const metricNameSchema = z.enum(metricNames);
const isoDate = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'expected an ISO date');

const provenanceSchema = z.object({
  data: z.enum(DATA_KINDS).optional(),
  epoch: z.enum(['best', 'last']).optional(),
  quote: z.string().optional(),
  detail: z.string().optional(),
});

const stepRecordSchema = z.object({
  status: z.enum(STEP_STATUSES),
  startedAt: isoDate.optional(),
  finishedAt: isoDate.optional(),
  exitCode: z.number().int().nullable().optional(),
  /** Pid (and process group id) of the step's process while it runs. */
  pid: z.number().int().positive().optional(),
  /** Start time of that process (clock ticks after boot, Linux): tells its group from a reused pid. */
  pidStartTicks: z.number().int().nonnegative().optional(),
  logPath: z.string(),
  metrics: z.partialRecord(metricNameSchema, z.union([z.number(), z.string()])),
  /** `file:<path>` or `log:<path>:<line number>` for each metric. */
  metricSources: z.partialRecord(metricNameSchema, z.string()),
  /** What each value is (held-out or training, best or last epoch, the line it was read from); optional. */
  metricProvenance: z.partialRecord(metricNameSchema, provenanceSchema).optional(),
  fingerprint: z.string().optional(),
  reason: z.string().optional(),
});

const gateRecordSchema = z.object({
  gate: z.string(),
  step: z.string(),
  decision: z.enum(['continue', 'stop']),
  message: z.string(),
  at: isoDate,
});

/** A batch job submitted for a step (Slurm), recorded as soon as the scheduler returned its id. */
const jobRecordSchema = z.object({
  step: z.string(),
  jobId: z.string().min(1),
  /** The job's own output file (one per attempt). */
  output: z.string(),
  submittedAt: isoDate,
});

export const runStateSchema = z.object({
  version: z.literal(STATE_VERSION),
  runId: z.string().min(1),
  strategy: z.string(),
  /** Pid of the rfsq process driving the run. */
  pid: z.number().int().positive(),
  startedAt: isoDate,
  updatedAt: isoDate,
  finishedAt: isoDate.optional(),
  status: z.enum(RUN_STATUSES),
  steps: z.record(z.string(), stepRecordSchema),
  gates: z.array(gateRecordSchema),
  /** Scheduler jobs of this run, oldest first (absent in runs that never used one). */
  jobs: z.array(jobRecordSchema).optional(),
});

export type StepRecord = z.infer<typeof stepRecordSchema>;
export type GateRecord = z.infer<typeof gateRecordSchema>;
export type JobRecord = z.infer<typeof jobRecordSchema>;
export type RunState = z.infer<typeof runStateSchema>;

export function stateDir(projectDir: string): string {
  return path.join(projectDir, '.rfsq');
}

export function statePath(projectDir: string): string {
  return path.join(stateDir(projectDir), 'state.json');
}

export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
}

export function createRunState(
  strategy: string,
  stepIds: string[],
  logPathFor: (id: string) => string,
): RunState {
  const now = new Date().toISOString();
  const state: RunState = {
    version: STATE_VERSION,
    runId: newRunId(),
    strategy,
    pid: process.pid,
    startedAt: now,
    updatedAt: now,
    status: 'running',
    steps: {},
    gates: [],
  };
  for (const id of stepIds) state.steps[id] = pendingStep(logPathFor(id));
  return state;
}

export function pendingStep(logPath: string): StepRecord {
  return { status: 'pending', logPath, metrics: {}, metricSources: {} };
}

/** Validates a parsed state document; the error names the first offending field. */
export function parseRunState(document: unknown, file: string): RunState {
  const result = runStateSchema.safeParse(document);
  if (result.success) return result.data;
  const version = (document as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version > STATE_VERSION) {
    throw inputError(
      `run state ${file} was written by a newer rfsq (state format ${version}; this rfsq reads ${STATE_VERSION})`,
      'update rfsq (npm install), or move the file aside to start a new run with this version',
    );
  }
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  throw new RfsqError(`run state ${file} is corrupt: field "${field}": ${issue?.message ?? 'invalid'}`, {
    hint: `move ${file} aside (or delete it) to start a new run`,
  });
}

/** Loads the run state, or undefined when there is none. */
export function loadState(projectDir: string): RunState | undefined {
  const file = statePath(projectDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw inputError(`cannot read run state ${file}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new RfsqError(`run state ${file} is corrupt: not valid JSON (${(error as Error).message})`, {
      hint: `move ${file} aside (or delete it) to start a new run`,
    });
  }
  return parseRunState(document, file);
}

/** Writes `content` to `file` atomically: temp file in the same directory, fsync, rename. */
export function writeFileAtomic(file: string, content: string): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(temp, 'w', 0o644);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  // Make the rename itself durable where the platform allows fsync on a directory.
  try {
    const dirFd = openSync(dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // Not supported (e.g. Windows); the rename is still atomic.
  }
}

/** Saves the state (validated, `updatedAt` refreshed) atomically. */
export function saveState(projectDir: string, state: RunState): RunState {
  state.updatedAt = new Date().toISOString();
  const valid = parseRunState(state, statePath(projectDir));
  writeFileAtomic(statePath(projectDir), `${JSON.stringify(valid, null, 2)}\n`);
  return state;
}

/** A run that says it is running but whose driving process is gone (e.g. `kill -9`). */
export function isStale(state: RunState): boolean {
  return state.status === 'running' && !isProcessAlive(state.pid);
}

/** Metrics of all steps that produced them, in step order (later steps win). */
export function collectMetrics(
  state: RunState,
  order: string[] = Object.keys(state.steps),
): Partial<Record<MetricName, MetricValue>> {
  const out: Partial<Record<MetricName, MetricValue>> = {};
  for (const id of order) {
    const record = state.steps[id];
    if (!record) continue;
    Object.assign(out, record.metrics);
  }
  return out;
}

/** Ids of the steps that are not done, in order (pending, running, failed, interrupted, unverified). */
export function unfinishedSteps(state: RunState, order: string[] = Object.keys(state.steps)): string[] {
  return order.filter((id) => {
    const status = state.steps[id]?.status;
    return status !== 'succeeded' && status !== 'skipped';
  });
}
