import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { inputError } from '../core/errors.js';
import { hashFile } from '../pipeline/fingerprint.js';
import { resolveSimData } from './phase1-data.js';

/**
 * What a dataset file is, beyond the string that named it: `l.hdf5`, `./l.hdf5`, `/abs/l.hdf5` and a
 * copy elsewhere are one dataset; the same path rewritten with other episodes is another.
 */
export interface DatasetIdentity {
  /** The file's real path (symlinks and relative parts resolved) when it was identified. */
  path: string;
  size: number;
  sha256: string;
}

/** Identifies a dataset file; undefined for the built-in `demo` (generated from its seed, no file). */
export async function datasetIdentity(source: string): Promise<DatasetIdentity | undefined> {
  if (source === 'demo') return undefined;
  const file = await realpath(await resolveSimData(source));
  const { size } = await stat(file);
  return { path: file, size, sha256: await hashFile(file) };
}

/** What a checkpoint recorded about the data it was trained on (config.json, `training`). */
export interface RecordedDataset {
  data?: string;
  dataIdentity?: DatasetIdentity;
}

async function identityIfPresent(source: string): Promise<DatasetIdentity | undefined> {
  try {
    return await datasetIdentity(source);
  } catch {
    return undefined;
  }
}

/**
 * Whether `source` is the dataset a checkpoint was trained on, judged by content (size and sha256),
 * never by the string that named it. A checkpoint from before content hashes were recorded is
 * judged by its recorded file as it is now; when that file is gone nothing can tell, and guessing
 * either way could report training episodes as held-out, so this throws (exit 2) instead.
 */
export async function isTrainingDataset(
  source: string,
  recorded: RecordedDataset,
  checkpoint: string,
): Promise<boolean> {
  if (recorded.data === undefined) return false;
  if (source === 'demo' || recorded.data === 'demo') return source === recorded.data;
  const given = await identityIfPresent(source);
  // Not readable: loading it reports why, with the data loader's own message and hint.
  if (!given) return false;
  const trainedOn = recorded.dataIdentity ?? (await identityIfPresent(recorded.data));
  if (!trainedOn) {
    throw inputError(
      `cannot tell whether ${source} is the dataset ${checkpoint} was trained on (${recorded.data} is gone, and the checkpoint records no content hash)`,
      `pass the training file itself with --data, or retrain with \`rfsq train\` (it records the dataset's hash)`,
    );
  }
  return given.size === trainedOn.size && given.sha256 === trainedOn.sha256;
}

/** A dataset path as a checkpoint records it: absolute, so that it means the same from any folder. */
export function recordedDataPath(source: string): string {
  return source === 'demo' || source === 'sim' ? source : path.resolve(source);
}
