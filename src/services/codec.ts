import path from 'node:path';
import { inputError } from '../core/errors.js';
import { loadCheckpoint, type Checkpoint } from '../ml/tokenizer/checkpoint.js';
import { chunkEpisodes, loadActions, readNpy } from '../ml/data/index.js';
import { encodeNpy } from '../ml/data/npy.js';
import { writeFileAtomic } from './files.js';

/** A checkpoint that can take raw actions: it must carry its normalization statistics. */
async function loadTokenizer(dir: string): Promise<Checkpoint> {
  const checkpoint = await loadCheckpoint(dir);
  if (!checkpoint.normalization) {
    throw inputError(`checkpoint ${dir} has no normalization statistics`, 'retrain it with `rfsq train`');
  }
  return checkpoint;
}

export interface EncodeReport {
  checkpoint: string;
  variant: string;
  input: string;
  output: string;
  episodes: number;
  chunks: number;
  shape: number[];
  droppedSteps: number;
  seconds: number;
}

/**
 * Raw actions → codes [N, chunk, hidden, layers] (int32 .npy). Each episode is cut into non-overlapping
 * chunks of the checkpoint's chunk length; a tail shorter than a chunk is dropped and counted.
 */
export async function encodeActions(options: {
  checkpoint: string;
  input: string;
  output: string;
  numEpisodes?: number;
}): Promise<EncodeReport> {
  const checkpoint = await loadTokenizer(options.checkpoint);
  const { actionDim, latentDim, numLayers } = checkpoint.config.architecture;
  const chunk = Number((checkpoint.config.training as { chunk?: number } | undefined)?.chunk ?? 8);
  const dataset = await loadActions(options.input, { numEpisodes: options.numEpisodes, actionDim });
  const start = performance.now();
  const chunks = chunkEpisodes(
    dataset.episodes.map((episode) => ({ ...episode, actions: checkpoint.normalize(episode.actions) })),
    chunk,
  );
  const codes = checkpoint.encode(chunks.data);
  const shape = [chunks.count, chunk, latentDim, numLayers];
  await writeFileAtomic(options.output, encodeNpy(codes, shape));
  const totalSteps = dataset.episodes.reduce((sum, episode) => sum + episode.steps, 0);
  return {
    checkpoint: path.resolve(options.checkpoint),
    variant: checkpoint.config.variant,
    input: options.input,
    output: path.resolve(options.output),
    episodes: dataset.episodes.length,
    chunks: chunks.count,
    shape,
    droppedSteps: totalSteps - chunks.count * chunk,
    seconds: (performance.now() - start) / 1000,
  };
}

export interface DecodeReport {
  checkpoint: string;
  input: string;
  output: string;
  shape: number[];
  seconds: number;
}

/** Codes [N, chunk, hidden, layers] → raw actions [N, chunk, actionDim] (float32 .npy). */
export async function decodeCodes(options: {
  checkpoint: string;
  input: string;
  output: string;
}): Promise<DecodeReport> {
  const checkpoint = await loadTokenizer(options.checkpoint);
  const { actionDim, latentDim, numLayers, numLevels } = checkpoint.config.architecture;
  const array = await readNpy(options.input);
  const [count, chunk, hidden, layers] = array.shape;
  if (array.shape.length !== 4 || hidden !== latentDim || layers !== numLayers) {
    throw inputError(
      `${options.input} has shape [${array.shape.join(', ')}], expected [N, chunk, ${latentDim}, ${numLayers}] for this checkpoint`,
      'pass codes written by `rfsq encode` with the same checkpoint',
    );
  }
  if (array.dtype !== '<i4' && array.dtype !== '<i8') {
    throw inputError(
      `${options.input} holds ${array.dtype} values, not integer codes`,
      'codes are int32 level indices',
    );
  }
  const codes = Int32Array.from(array.data as ArrayLike<number>);
  const bad = codes.findIndex((code) => code < 0 || code >= numLevels);
  if (bad !== -1) {
    throw inputError(
      `${options.input} has code ${codes[bad]} at flat index ${bad}, outside 0–${numLevels - 1}`,
      'pass codes written by `rfsq encode` with the same checkpoint',
    );
  }
  const start = performance.now();
  const actions = checkpoint.denormalize(checkpoint.decodeFromCodes(codes));
  const shape = [count!, chunk!, actionDim];
  await writeFileAtomic(options.output, encodeNpy(actions, shape));
  return {
    checkpoint: path.resolve(options.checkpoint),
    input: options.input,
    output: path.resolve(options.output),
    shape,
    seconds: (performance.now() - start) / 1000,
  };
}
