import { inputError } from '../core/errors.js';
import {
  chunkEpisodes,
  computeNormStats,
  loadActions,
  normalizeEpisodes,
  splitEpisodes,
  type Episode,
  type NormStats,
} from '../ml/data/index.js';
import { chunkSet, type ChunkSet } from '../ml/tokenizer/config.js';

export interface DataOptions {
  /** 'demo', a LIBERO/robomimic .hdf5 file or an .npy array. */
  data: string;
  numEpisodes?: number;
  chunk: number;
  seed: number;
  heldOutFraction: number;
  /** Fraction of the non-held-out episodes kept for validation (best epoch, early stopping). */
  validationFraction: number;
  /** Reports the collection of the simulator's demonstrations (`sim`, first use only). */
  onCollect?: OnCollect;
}

/** Collection progress: demonstrations kept so far out of the total wanted, and the current task. */
export type OnCollect = (kept: number, total: number, task: string) => void;

export interface PreparedData {
  source: string;
  description: string;
  train: ChunkSet;
  heldOut: ChunkSet;
  /** Absent when the validation fraction is 0. */
  validation: ChunkSet | undefined;
  normalization: NormStats;
  trainEpisodes: string[];
  heldOutEpisodes: string[];
  validationEpisodes: string[];
}

function toChunkSet(episodes: Episode[], chunk: number, stats: NormStats): ChunkSet {
  const chunks = chunkEpisodes(normalizeEpisodes(episodes, stats), chunk);
  return chunkSet(chunks.data, chunks.chunk, chunks.actionDim);
}

/**
 * Loads actions, splits them by episode into held-out (reported), validation (picks the best epoch and
 * decides when to stop) and training episodes, so that no reported step was seen or used for a decision in
 * training; computes the 1st/99th-percentile normalization on the training episodes only; chunks all three.
 */
export async function prepareData(options: DataOptions): Promise<PreparedData> {
  const dataset = await loadActions(await resolveSimData(options.data, options.onCollect), {
    numEpisodes: options.numEpisodes,
    seed: options.seed,
  });
  const { train: rest, heldOut } = splitEpisodes(dataset.episodes, {
    heldOutFraction: options.heldOutFraction,
    seed: options.seed,
  });
  // Relative to the remaining episodes: e.g. 0.2 held out, then 0.1 of the rest for validation. A fraction
  // of 0 keeps no validation episodes (a fixed budget only; the last epoch is kept).
  let train = rest;
  let validation: Episode[] = [];
  if (options.validationFraction > 0) {
    if (rest.length < 2) {
      throw inputError(
        `${dataset.episodes.length} episodes leave ${rest.length} for training and validation: at least 2 are needed`,
        'use a dataset with at least 3 episodes (or raise --num-episodes)',
      );
    }
    ({ train, heldOut: validation } = splitEpisodes(rest, {
      heldOutFraction: options.validationFraction,
      seed: options.seed + 1,
    }));
  }
  const normalization = computeNormStats(train);
  return {
    source: options.data,
    description: dataset.source,
    train: toChunkSet(train, options.chunk, normalization),
    heldOut: toChunkSet(heldOut, options.chunk, normalization),
    validation: validation.length > 0 ? toChunkSet(validation, options.chunk, normalization) : undefined,
    normalization,
    trainEpisodes: train.map((episode) => episode.name),
    heldOutEpisodes: heldOut.map((episode) => episode.name),
    validationEpisodes: validation.map((episode) => episode.name),
  };
}

/** The held-out chunks of a dataset that a checkpoint recorded, normalized with that checkpoint's stats. */
export async function heldOutFor(
  data: string,
  options: { numEpisodes?: number; seed: number; chunk: number; episodes?: readonly string[] },
  normalization: NormStats,
): Promise<{ set: ChunkSet; episodes: string[] }> {
  const dataset = await loadActions(await resolveSimData(data), {
    numEpisodes: options.numEpisodes,
    seed: options.seed,
  });
  const wanted = options.episodes ? new Set(options.episodes) : undefined;
  const episodes = wanted ? dataset.episodes.filter((episode) => wanted.has(episode.name)) : dataset.episodes;
  return { set: toChunkSet(episodes, options.chunk, normalization), episodes: episodes.map((e) => e.name) };
}

/**
 * `sim` names the embedded simulator's demonstrations: expert episodes of the MuJoCo task family,
 * collected once (deterministically) and cached under .rfsq/cache. Other sources pass through.
 */
export async function resolveSimData(data: string, onCollect?: OnCollect): Promise<string> {
  if (data !== 'sim') return data;
  const { DEFAULT_EPISODES_PER_TASK, TASK_NAMES, ensureDefaultDemos } = await import('../sim/index.js');
  const total = TASK_NAMES.length * DEFAULT_EPISODES_PER_TASK;
  const done = new Map<string, number>();
  const demos = await ensureDefaultDemos({
    onEpisode: ({ task, kept }) => {
      done.set(task, kept);
      onCollect?.(
        [...done.values()].reduce((a, b) => a + b, 0),
        total,
        task,
      );
    },
  });
  return demos.path;
}
