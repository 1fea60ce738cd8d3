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
}

export interface PreparedData {
  source: string;
  description: string;
  train: ChunkSet;
  heldOut: ChunkSet;
  normalization: NormStats;
  trainEpisodes: string[];
  heldOutEpisodes: string[];
}

function toChunkSet(episodes: Episode[], chunk: number, stats: NormStats): ChunkSet {
  const chunks = chunkEpisodes(normalizeEpisodes(episodes, stats), chunk);
  return chunkSet(chunks.data, chunks.chunk, chunks.actionDim);
}

/**
 * Loads actions, splits them by episode (so that no held-out step was seen in training), computes the
 * 1st/99th-percentile normalization on the training episodes only, and chunks both sets.
 */
export async function prepareData(options: DataOptions): Promise<PreparedData> {
  const dataset = await loadActions(await resolveSimData(options.data), {
    numEpisodes: options.numEpisodes,
    seed: options.seed,
  });
  const { train, heldOut } = splitEpisodes(dataset.episodes, {
    heldOutFraction: options.heldOutFraction,
    seed: options.seed,
  });
  const normalization = computeNormStats(train);
  return {
    source: options.data,
    description: dataset.source,
    train: toChunkSet(train, options.chunk, normalization),
    heldOut: toChunkSet(heldOut, options.chunk, normalization),
    normalization,
    trainEpisodes: train.map((episode) => episode.name),
    heldOutEpisodes: heldOut.map((episode) => episode.name),
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
export async function resolveSimData(data: string): Promise<string> {
  if (data !== 'sim') return data;
  const { ensureDefaultDemos } = await import('../sim/index.js');
  return (await ensureDefaultDemos()).path;
}
