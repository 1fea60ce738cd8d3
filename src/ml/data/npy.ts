/**
 * Minimal NumPy `.npy` reader/writer (format versions 1.0, 2.0 and 3.0).
 *
 * Supported dtypes: '<f4', '<f8', '<i4', '<i8' (int64 is read as float64 numbers), C order only.
 * Assumes a little-endian host (every platform Node 20 ships prebuilt binaries for but s390x).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { inputError } from '../../core/errors.js';
import { assertReadableFile } from './files.js';
import { checkFinite, checkNotEmpty } from './validate.js';
import { DEFAULT_ACTION_DIM, type ActionDataset, type Episode } from './types.js';

export type NpyDtype = '<f4' | '<f8' | '<i4' | '<i8';
export type NpyData = Float32Array | Float64Array | Int32Array;

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  /** '<i8' arrays are returned as Float64Array (exact up to 2^53). */
  data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ITEM_SIZE: Record<NpyDtype, number> = { '<f4': 4, '<f8': 8, '<i4': 4, '<i8': 8 };

function corrupt(label: string, detail: string) {
  return inputError(
    `${label} is truncated or corrupt: ${detail}`,
    'Re-export the array with numpy.save (or re-download the file) and try again.',
  );
}

/** Parses the bytes of an .npy file. `label` names the file in error messages. */
export function parseNpy(bytes: Uint8Array, label = 'the .npy file'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw corrupt(label, 'it does not start with the .npy magic string "\\x93NUMPY"');
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw corrupt(label, 'the header is cut short');
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw corrupt(label, `unknown .npy format version ${major}.${bytes[7]}`);
  }
  const dataStart = headerStart + headerLen;
  if (bytes.length < dataStart) throw corrupt(label, 'the header is cut short');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, dataStart),
  );

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw corrupt(label, 'its header has no descr/fortran_order/shape entries');
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number(s.replace(/L$/, '')));
  if (shape.some((n) => !Number.isInteger(n) || n < 0)) {
    throw corrupt(label, `its header has an invalid shape (${shapeText})`);
  }
  if (!(descr in ITEM_SIZE)) {
    throw inputError(
      `${label} has dtype '${descr}', which is not supported (use float32, float64, int32 or int64, little-endian)`,
      "Convert it first, e.g. np.save(path, arr.astype('<f4')).",
    );
  }
  if (fortran === 'True') {
    throw inputError(
      `${label} is stored in Fortran order, which is not supported`,
      'Save a C-ordered copy: np.save(path, np.ascontiguousarray(arr)).',
    );
  }
  const dtype = descr as NpyDtype;
  const count = shape.reduce((a, b) => a * b, 1);
  const nbytes = count * ITEM_SIZE[dtype];
  const available = bytes.length - dataStart;
  if (available < nbytes) {
    throw corrupt(
      label,
      `its header promises ${nbytes} data bytes for shape [${shape.join(', ')}] but only ${available} are present`,
    );
  }
  // Copy into a fresh, aligned buffer (Node Buffers may sit at odd offsets inside a pool).
  const raw = new Uint8Array(bytes.subarray(dataStart, dataStart + nbytes)).buffer;
  let data: NpyData;
  if (dtype === '<f4') data = new Float32Array(raw);
  else if (dtype === '<f8') data = new Float64Array(raw);
  else if (dtype === '<i4') data = new Int32Array(raw);
  else data = Float64Array.from(new BigInt64Array(raw), (v) => Number(v));
  return { dtype, shape, data };
}

/** Reads an .npy file from disk. */
export async function readNpy(path: string): Promise<NpyArray> {
  await assertReadableFile(path);
  return parseNpy(await readFile(path), path);
}

function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  return '<i4';
}

/** Encodes a C-ordered array as .npy bytes (format 1.0, or 2.0 for very long headers). */
export function encodeNpy(data: NpyData, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.some((n) => !Number.isInteger(n) || n < 0) || count !== data.length) {
    throw new Error(`encodeNpy: shape [${shape.join(', ')}] does not match ${data.length} elements`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${dtypeOf(data)}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad with spaces so that the data starts on a 64-byte boundary; header ends with '\n'.
  let prefix = 10;
  if (dict.length + 1 + prefix > 65535) prefix = 12;
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const headerLen = total - prefix;
  const header = dict + ' '.repeat(headerLen - dict.length - 1) + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = prefix === 10 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (prefix === 10) view.setUint16(8, headerLen, true);
  else view.setUint32(8, headerLen, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

/**
 * Writes `data` (C order) with the given shape as an .npy file, e.g. codes as int32
 * [N, chunk, hidden, layers]. Float32Array -> '<f4', Float64Array -> '<f8', Int32Array -> '<i4'.
 */
export async function writeNpy(path: string, data: NpyData, shape: readonly number[]): Promise<void> {
  await writeFile(path, encodeNpy(data, shape));
}

/**
 * Loads actions from an .npy file shaped [episodes, steps, actionDim] or [steps, actionDim]
 * (one episode). Episodes are named `episode_<i>` (or the file name for a single episode).
 */
export async function loadNpyActions(
  path: string,
  options: { numEpisodes?: number; actionDim?: number } = {},
): Promise<ActionDataset> {
  const actionDim = options.actionDim ?? DEFAULT_ACTION_DIM;
  const arr = await readNpy(path);
  const { shape } = arr;
  let numEpisodes: number;
  let steps: number;
  let single = false;
  if (shape.length === 3) {
    numEpisodes = shape[0]!;
    steps = shape[1]!;
  } else if (shape.length === 2) {
    numEpisodes = 1;
    steps = shape[0]!;
    single = true;
  } else {
    throw inputError(
      `${path} has shape [${shape.join(', ')}], expected [episodes, steps, ${actionDim}] or [steps, ${actionDim}]`,
      'Save the actions as a 3-D array (episodes, steps, dims) or a 2-D array for a single episode.',
    );
  }
  const dim = shape[shape.length - 1]!;
  if (dim !== actionDim) {
    throw inputError(
      `${path} has action dimension ${dim}, expected ${actionDim} (shape [${shape.join(', ')}])`,
      `Export ${actionDim}-D actions (6 delta-pose dims + gripper), or set the action dimension to ${dim} if that is intended.`,
    );
  }
  const keep = Math.min(numEpisodes, options.numEpisodes ?? numEpisodes);
  const per = steps * actionDim;
  const episodes: Episode[] = [];
  for (let e = 0; e < keep; e++) {
    const actions = Float32Array.from(arr.data.subarray(e * per, (e + 1) * per));
    episodes.push({ name: single ? basename(path) : `episode_${e}`, actions, steps });
  }
  checkNotEmpty(episodes, path);
  for (const ep of episodes) checkFinite(ep, actionDim, path);
  return { source: path, actionDim, episodes };
}
