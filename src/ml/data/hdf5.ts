/**
 * LIBERO / robomimic HDF5 reader: groups `data/demo_<i>`, each with a dataset `actions` [T, actionDim].
 *
 * h5wasm's Node build (`h5wasm/node`) is compiled with Emscripten's NODERAWFS, so it opens real
 * paths directly (no virtual-FS copy). Its HDF5 errors are not thrown by default: a failed open
 * prints an "HDF5-DIAG" trace to stderr and returns a File with file_id < 0. We switch on its
 * throwing error handler only while we read, so failures become exceptions and nothing is printed.
 */
import { inputError, RfsqError } from '../../core/errors.js';
import { assertReadableFile } from './files.js';
import { checkFinite, checkNotEmpty } from './validate.js';
import { DEFAULT_ACTION_DIM, type ActionDataset, type Episode } from './types.js';

type H5 = typeof import('h5wasm/node').default;
let h5Promise: Promise<H5> | undefined;

/** Loads and initialises h5wasm once (lazily: the wasm module is a few MB). */
export function loadH5wasm(): Promise<H5> {
  h5Promise ??= import('h5wasm/node').then(async (mod) => {
    await mod.default.ready;
    return mod.default;
  });
  return h5Promise;
}

/** Extracts the innermost HDF5 diagnostic ("truncated file: eof = ..."), on one line. */
export function hdf5Reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = [...text.matchAll(/#\d+: .*?\(\): (.*)$/gm)].map((m) => m[1]!.trim());
  return lines.at(-1) ?? text.split('\n')[0]!.trim();
}

function demoIndex(key: string): number | undefined {
  const m = /^demo_(\d+)$/.exec(key);
  return m ? Number(m[1]) : undefined;
}

/** Reads a robomimic-layout HDF5 file into episodes (demos sorted numerically: demo_2 before demo_10). */
export async function loadHdf5Actions(
  path: string,
  options: { numEpisodes?: number; actionDim?: number } = {},
): Promise<ActionDataset> {
  const actionDim = options.actionDim ?? DEFAULT_ACTION_DIM;
  await assertReadableFile(path);
  const h5 = await loadH5wasm();
  const module = await h5.ready;

  module.activate_throwing_error_handler();
  let file: InstanceType<H5['File']>;
  try {
    file = new h5.File(path, 'r');
    if (file.file_id < 0n) throw new Error('H5Fopen returned an invalid id');
  } catch (err) {
    module.deactivate_throwing_error_handler();
    throw inputError(
      `${path} is truncated or corrupt: HDF5 could not open it (${hdf5Reason(err)})`,
      'Re-export the dataset or re-download it (check the download finished and the file size matches).',
    );
  }
  try {
    return readEpisodes(h5, file, path, actionDim, options.numEpisodes);
  } catch (err) {
    if (err instanceof RfsqError) throw err;
    throw inputError(
      `${path} is truncated or corrupt: reading it failed (${hdf5Reason(err)})`,
      'Re-export the dataset or re-download it (check the download finished and the file size matches).',
    );
  } finally {
    try {
      file.close();
    } finally {
      module.deactivate_throwing_error_handler();
    }
  }
}

function readEpisodes(
  h5: H5,
  file: InstanceType<H5['File']>,
  path: string,
  actionDim: number,
  numEpisodes: number | undefined,
): ActionDataset {
  const data = file.keys().includes('data') ? file.get('data') : null;
  if (!(data instanceof h5.Group)) {
    throw inputError(
      `${path} has no "data" group (top-level keys: ${file.keys().join(', ') || 'none'})`,
      'Expected the LIBERO/robomimic layout data/demo_0/actions, data/demo_1/actions, ...',
    );
  }
  const demos = data
    .keys()
    .map((key) => ({ key, index: demoIndex(key) }))
    .filter((d): d is { key: string; index: number } => d.index !== undefined)
    .sort((a, b) => a.index - b.index)
    .slice(0, numEpisodes);
  if (demos.length === 0) {
    throw inputError(
      `${path} has no demos: the "data" group contains no demo_<i> groups`,
      'Check the file was exported completely (LIBERO/robomimic layout data/demo_0/actions, ...).',
    );
  }

  const episodes: Episode[] = [];
  for (const { key } of demos) {
    const group = data.get(key);
    const where = `data/${key}`;
    if (!(group instanceof h5.Group) || !group.keys().includes('actions')) {
      throw inputError(
        `${where} in ${path} has no "actions" dataset`,
        'Every demo needs an actions array [steps, 7]; re-export the dataset with actions included.',
      );
    }
    const ds = group.get('actions');
    if (!(ds instanceof h5.Dataset)) {
      throw inputError(
        `${where}/actions in ${path} is not a dataset`,
        'Store actions as a numeric [steps, 7] dataset.',
      );
    }
    const shape = ds.shape ?? [];
    if (shape.length !== 2) {
      throw inputError(
        `${where}/actions in ${path} has shape [${shape.join(', ')}], expected [steps, ${actionDim}]`,
        "Store each demo's actions as a 2-D array (steps, action dims).",
      );
    }
    const [steps, dim] = shape as [number, number];
    if (dim !== actionDim) {
      throw inputError(
        `${where}/actions in ${path} has action dimension ${dim}, expected ${actionDim}`,
        `Export ${actionDim}-D actions (6 delta-pose dims + gripper), or set the action dimension to ${dim} if that is intended.`,
      );
    }
    const value = steps === 0 ? new Float32Array(0) : ds.value;
    if (
      !ArrayBuffer.isView(value) ||
      value instanceof DataView ||
      value instanceof BigInt64Array ||
      value instanceof BigUint64Array
    ) {
      throw inputError(
        `${where}/actions in ${path} has dtype ${String(ds.dtype)}, which is not a supported number type`,
        'Store actions as float32 or float64.',
      );
    }
    const actions = Float32Array.from(value as ArrayLike<number>);
    if (actions.length !== steps * dim)
      throw new Error(`read ${actions.length} values, expected ${steps * dim}`);
    episodes.push({ name: key, actions, steps });
  }
  checkNotEmpty(episodes, path);
  for (const ep of episodes) checkFinite(ep, actionDim, path);
  return { source: path, actionDim, episodes };
}
