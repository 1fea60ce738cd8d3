import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { RfsqError } from '../core/errors.js';
import {
  parseMetricsDocument,
  type MetricName,
  type MetricValue,
  type Metrics,
  type Provenance,
} from '../core/metrics.js';
import {
  extractRaw,
  isPlausible,
  isResultsFile,
  mapRawMetrics,
  replaces,
  resultsFileMetrics,
  stripAnsi,
  type MappedMetric,
} from './extractors.js';
import { isProcessGroupAlive, killProcessTree } from './process.js';

export { killProcessTree } from './process.js';

/** A step with everything resolved: what to run, where, and what it must produce. */
export interface ResolvedStep {
  id: string;
  /** Program and arguments; spawned directly, never through a shell. */
  argv: string[];
  /** Commands run after `argv` exits 0, in order, in the same attempt (e.g. fetch the results file). */
  then?: string[][];
  /** Extra environment for the step (on top of the parent's); part of the fingerprint. */
  env?: Record<string, string>;
  /** Absolute working directory. */
  cwd: string;
  /** Input files (relative to cwd) whose contents decide whether the step must rerun. */
  inputs?: string[];
  /** JSON file the step writes (relative to cwd): a metrics document or an RSD results file. */
  metricsFile?: string;
  /**
   * Generic extractor keys (`train_best_mse`, `main_best_acc`, `draft_best_acc`, `success_rate`, ...)
   * to metric names. There is no default: a key the step does not map is never recorded.
   */
  metricMap?: Record<string, MetricName>;
  /** The step is verified when it yields at least one of these. */
  expectedMetrics: MetricName[];
  /** `task_description`s of a LIBERO results file that count as fine-grained. */
  fineGrainedTasks?: string[];
}

/** The metrics a step declares: its expected metrics and its map's targets. Nothing else is recorded. */
export function declaredMetrics(step: Pick<ResolvedStep, 'expectedMetrics' | 'metricMap'>): Set<MetricName> {
  return new Set([...step.expectedMetrics, ...Object.values(step.metricMap ?? {})]);
}

/** Every command of a step, in the order they run. */
export function stepCommands(step: Pick<ResolvedStep, 'argv' | 'then'>): string[][] {
  return [step.argv, ...(step.then ?? [])];
}

export type StreamName = 'stdout' | 'stderr';

export interface RunStepOptions {
  /** Log file; output is appended as-is (no stream prefix), after one `--- rfsq: ... ---` header line. */
  logPath: string;
  onLine?(stream: StreamName, line: string): void;
  onMetric?(name: MetricName, value: MetricValue, source: string): void;
  /** Called with the child's pid (= its process group id) once spawned. */
  onSpawn?(pid: number): void;
  signal?: AbortSignal;
  /** Time between SIGTERM and SIGKILL when stopping the process tree. Default 5000 ms. */
  graceMs?: number;
  /** Base environment; defaults to process.env. */
  baseEnv?: NodeJS.ProcessEnv;
}

export type StepOutcomeStatus = 'succeeded' | 'failed' | 'interrupted' | 'unverified';

export interface StepOutcome {
  status: StepOutcomeStatus;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  metrics: Metrics;
  /** `file:<abs path>` or `log:<log path>:<line number>` (1-based line of the log file). */
  metricSources: Partial<Record<MetricName, string>>;
  /** What each value is: held-out or training data, best or last epoch, the line or key it was read from. */
  metricProvenance?: Partial<Record<MetricName, Provenance>>;
  /** Why the step is not plainly succeeded, or notes (missing metrics, ignored files); '' when none. */
  reason: string;
  pid: number | undefined;
  startedAt: string;
  finishedAt: string;
}

function countLines(file: string): number {
  if (!existsSync(file)) return 0;
  const text = readFileSync(file);
  let count = 0;
  for (const byte of text) if (byte === 10) count++;
  // A final line without a newline still counts as a line.
  if (text.length > 0 && text[text.length - 1] !== 10) count++;
  return count;
}

export interface FileMetrics {
  metrics: MappedMetric[];
  note?: string;
}

/**
 * Metrics from a JSON file a step wrote: a LIBERO results file (mapped through the step's
 * `metricMap`, fine-grained success from its `fineGrainedTasks`) or a metrics document of metric
 * names. A file older than `startedMs` (less 1 s for coarse timestamps) was left by an earlier run
 * and is ignored. `rfsq verify` reads results files with the same `resultsFileMetrics`.
 */
export function readMetricsFile(
  file: string,
  startedMs: number,
  step: Pick<ResolvedStep, 'metricMap' | 'fineGrainedTasks'> = {},
): FileMetrics {
  if (!existsSync(file)) return { metrics: [], note: `metrics file ${file} was not written` };
  // Allow for coarse file system timestamps; anything older was left by an earlier run.
  if (statSync(file).mtimeMs < startedMs - 1000) {
    return { metrics: [], note: `metrics file ${file} is older than this attempt; ignored` };
  }
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return { metrics: [], note: `metrics file ${file} is not valid JSON: ${(error as Error).message}` };
  }
  if (isResultsFile(document)) {
    return {
      metrics: mapRawMetrics(resultsFileMetrics(document, step.fineGrainedTasks), step.metricMap ?? {}),
    };
  }
  try {
    const parsed = parseMetricsDocument(document, file);
    const metrics: MappedMetric[] = [];
    for (const [name, value] of Object.entries(parsed.metrics) as Array<[MetricName, MetricValue]>) {
      if (isPlausible(name, value)) metrics.push({ name, value, provenance: {} });
    }
    return { metrics };
  } catch (error) {
    const message = error instanceof RfsqError ? error.message : String(error);
    return { metrics: [], note: `metrics file rejected: ${message}` };
  }
}

/**
 * The bookkeeping of one attempt at a step, shared by every executor (local `runStep`, the Slurm
 * runner): the step log with its header, each output line written to it, passed to `onLine` and
 * searched for metrics, the metrics file, and the expected-metrics rule.
 */
export interface StepAttempt {
  readonly startedMs: number;
  readonly startedAt: string;
  readonly metrics: Metrics;
  /** `log:<log path>:<1-based line>` or `file:<abs path>` per metric. */
  readonly metricSources: Partial<Record<MetricName, string>>;
  readonly metricProvenance: Partial<Record<MetricName, Provenance>>;
  /** Notes that end up in the outcome's reason (missing metrics file, leftover processes, ...). */
  readonly notes: string[];
  /** The last non-empty stderr line (ANSI stripped), '' when none. */
  readonly lastStderr: string;
  /** Appends an output line to the log, passes it to `onLine` and records the metrics it holds. */
  line(stream: StreamName, raw: string): void;
  /** Appends a line of rfsq's own (e.g. a Slurm job state) to the log and `onLine`, without extraction. */
  info(line: string): void;
  /** Reads the step's `metricsFile` (relative to cwd) when written since `sinceMs`; its values win. */
  readMetricsFile(sinceMs?: number): void;
  /** The verdict for a clean exit: succeeded, or unverified when none of the expected metrics came. */
  cleanExit(): { status: 'succeeded' | 'unverified'; reason: string };
  outcome(
    status: StepOutcomeStatus,
    exitCode: number | null,
    signal: NodeJS.Signals | null,
    reason: string,
    pid: number | undefined,
  ): StepOutcome;
  /** Flushes and closes the log. */
  close(): Promise<void>;
}

/**
 * Opens the step log (appending one `--- rfsq: step <id> started <iso>: <detail> ---` header, where
 * detail defaults to the JSON argv) and starts collecting metrics for one attempt.
 */
export function startAttempt(
  step: ResolvedStep,
  options: RunStepOptions,
  detail: string = JSON.stringify(step.argv),
  startedMs: number = Date.now(),
): StepAttempt {
  const startedAt = new Date(startedMs).toISOString();
  const metricMap = step.metricMap ?? {};
  const declared = declaredMetrics(step);
  const metrics: Metrics = {};
  const metricSources: Partial<Record<MetricName, string>> = {};
  const metricProvenance: Partial<Record<MetricName, Provenance>> = {};
  const kept: Partial<Record<MetricName, MappedMetric>> = {};
  const undeclared = new Set<MetricName>();
  const notes: string[] = [];
  let lastStderr = '';

  mkdirSync(path.dirname(options.logPath), { recursive: true });
  let lineNumber = countLines(options.logPath);
  const log = createWriteStream(options.logPath, { flags: 'a' });
  const writeLog = (line: string) => {
    log.write(`${line}\n`);
    lineNumber += 1;
    return lineNumber;
  };
  writeLog(`--- rfsq: step ${step.id} started ${startedAt}: ${detail} ---`);

  // A step records only what it declares, so no line of another model or phase lands on its metrics.
  const record = (metric: MappedMetric, source: string, fromFile = false) => {
    const { name, value } = metric;
    if (!declared.has(name)) {
      undeclared.add(name);
      return;
    }
    // The metrics file is the step's own record of its result: it wins over what the log said.
    if (!fromFile && !replaces(kept[name], metric)) return;
    kept[name] = metric;
    metrics[name] = value;
    metricSources[name] = source;
    metricProvenance[name] = metric.provenance;
    options.onMetric?.(name, value, source);
  };

  return {
    startedMs,
    startedAt,
    metrics,
    metricSources,
    metricProvenance,
    notes,
    get lastStderr() {
      return lastStderr;
    },
    line(stream, raw) {
      const at = writeLog(raw);
      const clean = stripAnsi(raw);
      if (stream === 'stderr' && clean.trim().length > 0) lastStderr = clean.trim();
      options.onLine?.(stream, raw);
      for (const metric of mapRawMetrics(extractRaw(clean), metricMap)) {
        record(metric, `log:${options.logPath}:${at}`);
      }
    },
    info(line) {
      writeLog(line);
      options.onLine?.('stdout', line);
    },
    readMetricsFile(sinceMs = startedMs) {
      if (step.metricsFile === undefined) return;
      const file = path.resolve(step.cwd, step.metricsFile);
      const fromFile = readMetricsFile(file, sinceMs, step);
      if (fromFile.note) notes.push(fromFile.note);
      for (const metric of fromFile.metrics) record(metric, `file:${file}`, true);
    },
    cleanExit() {
      const found = step.expectedMetrics.filter((name) => metrics[name] !== undefined);
      const missing = step.expectedMetrics.filter((name) => metrics[name] === undefined);
      if (step.expectedMetrics.length > 0 && found.length === 0) {
        return { status: 'unverified', reason: `exited 0 but reported none of ${missing.join(', ')}` };
      }
      return { status: 'succeeded', reason: missing.length > 0 ? `missing ${missing.join(', ')}` : '' };
    },
    outcome(status, exitCode, signal, reason, pid) {
      const ignored =
        undeclared.size > 0 ? [`not declared by this step, not recorded: ${[...undeclared].join(', ')}`] : [];
      return {
        status,
        exitCode,
        signal,
        metrics,
        metricSources,
        metricProvenance,
        reason: [reason, ...notes, ...ignored].filter((part) => part.length > 0).join('; '),
        pid,
        startedAt,
        finishedAt: new Date().toISOString(),
      };
    },
    close() {
      return new Promise<void>((resolve) => log.end(resolve));
    },
  };
}

/** An outcome for an attempt that never opened its log (no command, aborted before start). */
function earlyOutcome(status: StepOutcomeStatus, reason: string, startedAt: string): StepOutcome {
  return {
    status,
    exitCode: null,
    signal: null,
    metrics: {},
    metricSources: {},
    reason,
    pid: undefined,
    startedAt,
    finishedAt: new Date().toISOString(),
  };
}

interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
  interrupted: boolean;
  pid: number | undefined;
}

/** Runs one command of a step as the leader of its own process group, its output into the attempt. */
async function runCommand(
  argv: string[],
  step: ResolvedStep,
  attempt: StepAttempt,
  options: RunStepOptions,
): Promise<CommandResult> {
  const graceMs = options.graceMs ?? 5000;
  const env: NodeJS.ProcessEnv = { ...(options.baseEnv ?? process.env), ...step.env };
  // Python buffers stdout when it is a pipe; unbuffered output makes the log live.
  env['PYTHONUNBUFFERED'] ??= '1';

  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: step.cwd,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid !== undefined) options.onSpawn?.(pid);

  let interrupted = false;
  let killing: Promise<void> | undefined;
  const onAbort = () => {
    interrupted = true;
    if (pid !== undefined) killing ??= killProcessTree(pid, graceMs);
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) =>
    attempt.line('stdout', line),
  );
  createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) =>
    attempt.line('stderr', line),
  );

  let closeTimer: NodeJS.Timeout | undefined;
  child.on('exit', () => {
    // The leader is gone; anything left in its group would be an orphan holding our pipes.
    if (pid !== undefined && !interrupted && isProcessGroupAlive(pid)) {
      attempt.notes.push('the step left processes running after it exited; they were stopped');
      killing ??= killProcessTree(pid, graceMs);
    }
    // A process that escaped the group (setsid) may still hold the pipes: stop waiting for them.
    void (killing ?? Promise.resolve()).then(() => {
      closeTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 2000);
    });
  });

  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
    (resolve) => {
      child.once('error', (error) => {
        if (pid === undefined) resolve({ code: null, signal: null, error });
      });
      child.once('close', (code, signal) => resolve({ code, signal }));
    },
  );
  options.signal?.removeEventListener('abort', onAbort);
  if (killing) await killing;
  clearTimeout(closeTimer);
  return { ...result, interrupted, pid };
}

/**
 * Runs one step: its command, then each of its `then` commands, as child processes that lead their
 * own process groups, streaming their output line by line into the log and the callbacks, and
 * extracting metrics from it.
 *
 * - every command exits 0 and at least one expected metric came (or none expected) → succeeded
 * - every command exits 0 and none of the expected metrics came → unverified
 * - a nonzero exit, death by signal, or failure to start → failed (reason: code + last stderr line);
 *   the commands after it do not run
 * - `signal` aborted → the whole process group gets SIGTERM, then SIGKILL after `graceMs` → interrupted
 *
 * Processes a command leaves behind in its group after it exits are stopped too.
 */
export async function runStep(step: ResolvedStep, options: RunStepOptions): Promise<StepOutcome> {
  const startedMs = Date.now();
  const commands = stepCommands(step);

  if (commands.some((argv) => argv[0] === undefined || argv[0].length === 0)) {
    return earlyOutcome('failed', `step ${step.id} has no command`, new Date(startedMs).toISOString());
  }
  if (options.signal?.aborted) {
    return earlyOutcome('interrupted', 'interrupted before start', new Date(startedMs).toISOString());
  }

  const attempt = startAttempt(
    step,
    options,
    commands.map((argv) => JSON.stringify(argv)).join(' then '),
    startedMs,
  );
  let pid: number | undefined;
  for (const [index, argv] of commands.entries()) {
    if (index > 0) attempt.info(`--- rfsq: then ${JSON.stringify(argv)} ---`);
    const result = await runCommand(argv, step, attempt, options);
    pid = result.pid ?? pid;
    const program = argv[0]!;
    if (result.error) {
      await attempt.close();
      const code = (result.error as NodeJS.ErrnoException).code;
      const reason = `could not start ${program}: ${code ?? result.error.message}`;
      return attempt.outcome('failed', null, null, reason, pid);
    }
    if (result.interrupted) {
      await attempt.close();
      return attempt.outcome('interrupted', result.code, result.signal, 'interrupted', pid);
    }
    if (result.code !== 0) {
      await attempt.close();
      attempt.readMetricsFile();
      const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
      const which = commands.length > 1 ? `${program} (command ${index + 1} of ${commands.length}) ` : '';
      const reason = attempt.lastStderr ? `${which}${how}: ${attempt.lastStderr}` : `${which}${how}`;
      return attempt.outcome('failed', result.code, result.signal, reason, pid);
    }
  }
  await attempt.close();
  attempt.readMetricsFile();
  const verdict = attempt.cleanExit();
  return attempt.outcome(verdict.status, 0, null, verdict.reason, pid);
}
