/**
 * Demonstration collection with the scripted expert, saved in the robomimic / LIBERO HDF5 layout:
 *
 * ```
 * data                      attrs: total (steps), env_args (JSON: simulator, tasks, action/obs layout), rfsq_sim_version
 * data/demo_<i>             attrs: num_samples, task, seed, success (1)
 * data/demo_<i>/actions     [T, 7]        float32  (the expert's intended, noise-free actions: the labels that
 *                                                   Phase 1's loadActions and the Phase 2 policies read)
 * data/demo_<i>/executed_actions [T, 7]   float32  (the actions executed: intended + the expert's noise)
 * data/demo_<i>/obs/state   [T, OBS_DIM]  float32  (the observation before each action)
 * data/demo_<i>/rewards     [T]           float32  (1 on the last step, which reached success, else 0)
 * data/demo_<i>/dones       [T]           uint8    (1 on the last step)
 * ```
 * The expert executes noisy actions so that the recorded states include small deviations, and the labels are
 * what it meant to do from each of those states (DART-style noise injection): a policy learns how to recover,
 * and its targets are a function of the state rather than of the noise stream.
 * Demos are numbered in collection order: every task's episodes in TASK order. Only successful episodes are
 * kept; each task tries episode seeds until it has `episodesPerTask` successes (at most 3× as many tries).
 * Same options → same episodes and the same file bytes: HDF5 stamps every object header with the current
 * time (h5wasm gives no way to turn H5Pset_obj_track_times off), so saveDemosHdf5 pins the clock the wasm
 * module reads (`Date.now`) to FILE_TIMESTAMP_MS for the duration of the synchronous write.
 *
 * The cached default dataset lives at `<cache>/sim-demos-v2-<seed>-<episodesPerTask>.hdf5`, with
 * `<cache>` = $RFSQ_CACHE_DIR if set, else `<project dir>/.rfsq/cache`; it is generated once, atomically.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { inputError, RfsqError } from '../core/errors.js';
import { hashSeed } from '../ml/data/random.js';
import { hdf5Reason, loadH5wasm } from '../ml/data/hdf5.js';
import { ACTION_DIM, POS_SCALE, ROT_SCALE, SimEnv } from './env.js';
import { DEFAULT_EXPERT_NOISE } from './expert.js';
import { DEFAULT_SIM_EPISODES_PER_TASK } from '../core/training-defaults.js';
import { OBS_DIM } from './observation.js';
import { runExpertEpisode } from './rollout.js';
import { CONTROL_HZ, SUBSTEPS, TIMESTEP } from './scene.js';
import { TASK_NAMES, TASKS, type TaskName } from './tasks.js';

export const SIM_DATA_VERSION = 2;
export const DEFAULT_DEMO_SEED = 0;
export const DEFAULT_EPISODES_PER_TASK = DEFAULT_SIM_EPISODES_PER_TASK;
const MAX_TRY_FACTOR = 3;

export interface DemoEpisode {
  task: TaskName;
  /** Episode seed (layout and expert noise). */
  seed: number;
  steps: number;
  /** [steps, OBS_DIM] row-major. */
  obs: Float32Array;
  /** The expert's intended actions, [steps, 7] row-major: the labels. */
  actions: Float32Array;
  /** The actions executed (intended + noise), [steps, 7]; absent in files without them. */
  executedActions?: Float32Array;
  success: boolean;
}

export interface CollectOptions {
  tasks?: readonly TaskName[];
  episodesPerTask: number;
  seed?: number;
  /** Expert noise std in action units (default DEFAULT_EXPERT_NOISE). */
  noise?: number;
  /** Called after every attempted episode. */
  onEpisode?: (info: { task: TaskName; attempt: number; success: boolean; kept: number }) => void;
}

export interface CollectResult {
  episodes: DemoEpisode[];
  /** Per task: attempted and successful episodes. */
  counts: Record<string, { attempted: number; succeeded: number }>;
  physicsSteps: number;
  controlSteps: number;
  elapsedMs: number;
}

function checkCount(value: number, flag: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw inputError(`${flag} must be a positive integer, got ${value}`, `e.g. ${flag} 25`);
  }
}

/** Runs the expert on each task until `episodesPerTask` successes, keeping only successful episodes. */
export async function collectDemos(options: CollectOptions): Promise<CollectResult> {
  const tasks = options.tasks ?? TASK_NAMES;
  const seed = options.seed ?? DEFAULT_DEMO_SEED;
  const noise = options.noise ?? DEFAULT_EXPERT_NOISE;
  checkCount(options.episodesPerTask, '--episodes');
  if (tasks.length === 0)
    throw inputError('No simulated tasks selected', `Choose from ${TASK_NAMES.join(', ')}.`);
  if (!(noise >= 0)) throw inputError(`--noise must be ≥ 0, got ${noise}`, 'e.g. --noise 0.1');
  const start = performance.now();
  const episodes: DemoEpisode[] = [];
  const counts: CollectResult['counts'] = {};
  let physicsSteps = 0;
  let controlSteps = 0;
  for (const task of tasks) {
    const env = await SimEnv.create(task);
    const count = { attempted: 0, succeeded: 0 };
    counts[task] = count;
    try {
      for (let attempt = 0; count.succeeded < options.episodesPerTask; attempt++) {
        if (attempt >= MAX_TRY_FACTOR * options.episodesPerTask) break;
        const episodeSeed = hashSeed(seed, TASKS[task].index, attempt);
        const result = runExpertEpisode(env, episodeSeed, { noise, seed: episodeSeed });
        count.attempted++;
        controlSteps += result.steps;
        if (result.success) {
          count.succeeded++;
          episodes.push({
            task,
            seed: episodeSeed,
            steps: result.steps,
            obs: concat(result.trajectory.obs, OBS_DIM),
            actions: concat(result.trajectory.intended ?? result.trajectory.actions, ACTION_DIM),
            executedActions: concat(result.trajectory.actions, ACTION_DIM),
            success: true,
          });
        }
        options.onEpisode?.({ task, attempt, success: result.success, kept: count.succeeded });
      }
      physicsSteps += env.physicsSteps;
    } finally {
      env.dispose();
    }
  }
  return { episodes, counts, physicsSteps, controlSteps, elapsedMs: performance.now() - start };
}

function concat(rows: Float32Array[], dim: number): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => out.set(row.subarray(0, dim), i * dim));
  return out;
}

type H5 = Awaited<ReturnType<typeof loadH5wasm>>;

/** Runs `fn` with h5wasm's throwing error handler on, turning HDF5 failures into input errors. */
async function withH5<T>(file: string, action: 'read' | 'write', fn: (h5: H5) => T): Promise<T> {
  const h5 = await loadH5wasm();
  const module = await h5.ready;
  module.activate_throwing_error_handler();
  try {
    return fn(h5);
  } catch (err) {
    if (err instanceof RfsqError) throw err;
    throw action === 'read'
      ? inputError(
          `${file} is not a readable HDF5 file of simulated demos (${hdf5Reason(err)})`,
          'pass a file that `rfsq sim collect` wrote, or --data sim for the cached default',
        )
      : inputError(
          `Could not write ${file} (${hdf5Reason(err)})`,
          'Check the directory exists and is writable.',
        );
  } finally {
    module.deactivate_throwing_error_handler();
  }
}

export function envArgs(tasks: readonly TaskName[], seed?: number, noise?: number): Record<string, unknown> {
  return {
    env_name: 'rfsq-sim',
    version: SIM_DATA_VERSION,
    tasks,
    seed,
    noise,
    timestep: TIMESTEP,
    substeps: SUBSTEPS,
    control_hz: CONTROL_HZ,
    action: {
      dim: ACTION_DIM,
      pos_scale_m: POS_SCALE,
      rot_scale_rad: ROT_SCALE,
      gripper: '-1 open, +1 closed',
    },
    obs_dim: OBS_DIM,
  };
}

/** Timestamp (ms since the epoch, 2024-01-01) stored in every HDF5 object header we write. */
export const FILE_TIMESTAMP_MS = Date.UTC(2024, 0, 1);

/** Runs a synchronous `fn` with Date.now pinned (h5wasm's libc time() reads it). */
function withFixedClock<T>(fn: () => T): T {
  const realNow = Date.now;
  Date.now = () => FILE_TIMESTAMP_MS;
  try {
    return fn();
  } finally {
    Date.now = realNow;
  }
}

/** Writes episodes in the robomimic layout (see the header). Overwrites `file`. Byte-for-byte deterministic. */
export async function saveDemosHdf5(
  file: string,
  episodes: readonly DemoEpisode[],
  meta: Record<string, unknown> = envArgs([...new Set(episodes.map((e) => e.task))]),
): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await withH5(file, 'write', (h5) => withFixedClock(() => writeDemos(h5, file, episodes, meta)));
}

function writeDemos(
  h5: H5,
  file: string,
  episodes: readonly DemoEpisode[],
  meta: Record<string, unknown>,
): void {
  const out = new h5.File(file, 'w');
  try {
    const data = out.create_group('data');
    data.create_attribute(
      'total',
      episodes.reduce((n, e) => n + e.steps, 0),
      null,
      '<i',
    );
    data.create_attribute('env_args', JSON.stringify(meta));
    data.create_attribute('rfsq_sim_version', SIM_DATA_VERSION, null, '<i');
    episodes.forEach((ep, i) => {
      const group = data.create_group(`demo_${i}`);
      group.create_attribute('num_samples', ep.steps, null, '<i');
      group.create_attribute('task', ep.task);
      group.create_attribute('seed', ep.seed, null, '<I');
      group.create_attribute('success', ep.success ? 1 : 0, null, '<i');
      group.create_dataset({ name: 'actions', data: ep.actions, shape: [ep.steps, ACTION_DIM] });
      if (ep.executedActions) {
        const executed = { data: ep.executedActions, shape: [ep.steps, ACTION_DIM] };
        group.create_dataset({ name: 'executed_actions', ...executed });
      }
      const obs = group.create_group('obs');
      obs.create_dataset({ name: 'state', data: ep.obs, shape: [ep.steps, OBS_DIM] });
      const rewards = new Float32Array(ep.steps);
      const dones = new Uint8Array(ep.steps);
      if (ep.steps > 0) {
        rewards[ep.steps - 1] = ep.success ? 1 : 0;
        dones[ep.steps - 1] = 1;
      }
      group.create_dataset({ name: 'rewards', data: rewards, shape: [ep.steps] });
      group.create_dataset({ name: 'dones', data: dones, shape: [ep.steps] });
    });
  } finally {
    out.close();
  }
}

export interface LoadedDemos {
  source: string;
  obsDim: number;
  episodes: DemoEpisode[];
}

/** Reads a file written by saveDemosHdf5: observations, actions, task names (demos in numeric order). */
export async function loadSimDemos(file: string): Promise<LoadedDemos> {
  if (!existsSync(file)) {
    throw inputError(`Simulated demos not found: ${file}`, 'Collect them first (e.g. rfsq sim collect).');
  }
  return withH5(file, 'read', (h5) => {
    const input = new h5.File(file, 'r');
    try {
      const data = input.get('data');
      if (!(data instanceof h5.Group))
        throw inputError(`${file} has no "data" group`, 'Collect the demos again.');
      const keys = data
        .keys()
        .filter((k) => /^demo_\d+$/.test(k))
        .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
      const episodes = keys.map((key): DemoEpisode => {
        const group = data.get(key);
        const actions = group instanceof h5.Group ? group.get('actions') : null;
        const state = group instanceof h5.Group ? group.get('obs/state') : null;
        if (
          !(group instanceof h5.Group) ||
          !(actions instanceof h5.Dataset) ||
          !(state instanceof h5.Dataset)
        ) {
          throw inputError(
            `data/${key} in ${file} lacks actions or obs/state`,
            'This is not a file of simulated demos; collect them again.',
          );
        }
        const [steps, dim] = (actions.shape ?? []) as number[];
        const [obsSteps, obsDim] = (state.shape ?? []) as number[];
        if (dim !== ACTION_DIM || obsDim !== OBS_DIM || steps !== obsSteps || steps === undefined) {
          throw inputError(
            `data/${key} in ${file} has actions [${String(actions.shape)}] and obs/state [${String(state.shape)}], expected [T, ${ACTION_DIM}] and [T, ${OBS_DIM}]`,
            'The file comes from another simulator version; collect the demos again.',
          );
        }
        const executed = group.get('executed_actions');
        const task = String(group.attrs['task']?.value ?? '');
        if (!(TASK_NAMES as readonly string[]).includes(task)) {
          throw inputError(`data/${key} in ${file} has unknown task "${task}"`, 'Collect the demos again.');
        }
        return {
          task: task as TaskName,
          seed: Number(group.attrs['seed']?.value ?? 0),
          steps,
          obs: Float32Array.from(steps === 0 ? [] : (state.value as ArrayLike<number>)),
          actions: Float32Array.from(steps === 0 ? [] : (actions.value as ArrayLike<number>)),
          ...(executed instanceof h5.Dataset && steps > 0
            ? { executedActions: Float32Array.from(executed.value as ArrayLike<number>) }
            : {}),
          success: Number(group.attrs['success']?.value ?? 0) === 1,
        };
      });
      return { source: file, obsDim: OBS_DIM, episodes };
    } finally {
      input.close();
    }
  });
}

export interface DefaultDemoOptions {
  seed?: number;
  episodesPerTask?: number;
  /** Project directory (default: the current directory); ignored when $RFSQ_CACHE_DIR or cacheDir is set. */
  projectDir?: string;
  cacheDir?: string;
  /** Called after every attempted episode while the demos are collected (not when they are cached). */
  onEpisode?: CollectOptions['onEpisode'];
}

export function simCacheDir(options: DefaultDemoOptions = {}): string {
  return (
    options.cacheDir ??
    process.env.RFSQ_CACHE_DIR ??
    path.join(options.projectDir ?? process.cwd(), '.rfsq', 'cache')
  );
}

export function defaultDemoPath(options: DefaultDemoOptions = {}): string {
  const seed = options.seed ?? DEFAULT_DEMO_SEED;
  const n = options.episodesPerTask ?? DEFAULT_EPISODES_PER_TASK;
  return path.join(simCacheDir(options), `sim-demos-v${SIM_DATA_VERSION}-${seed}-${n}.hdf5`);
}

/** The cached default dataset (all tasks, default noise): collects and writes it on first use. */
export async function ensureDefaultDemos(
  options: DefaultDemoOptions = {},
): Promise<{ path: string; created: boolean; result?: CollectResult }> {
  const file = defaultDemoPath(options);
  if (existsSync(file)) return { path: file, created: false };
  const seed = options.seed ?? DEFAULT_DEMO_SEED;
  const result = await collectDemos({
    episodesPerTask: options.episodesPerTask ?? DEFAULT_EPISODES_PER_TASK,
    seed,
    onEpisode: options.onEpisode,
  });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await saveDemosHdf5(tmp, result.episodes, envArgs(TASK_NAMES, seed, DEFAULT_EXPERT_NOISE));
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { path: file, created: true, result };
}
