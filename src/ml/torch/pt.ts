import os from 'node:os';
import { inputError } from '../../core/errors.js';
import {
  type PyValue,
  type Reducer,
  type TensorData,
  type TorchDtype,
  PyGlobal,
  PyOrderedDict,
  PyTuple,
  TorchTensor,
  readPickle,
  writePickle,
} from './pickle.js';
import { readZip, writeZip } from './zip.js';

/**
 * torch's zip checkpoint format (torch.save since 1.6; torch/serialization.py `_save` and `_load`):
 *
 *   archive/data.pkl    the object, pickled; each tensor is _rebuild_tensor_v2(storage, offset, size,
 *                       stride, requires_grad, hooks), its storage a persistent id
 *                       ('storage', torch.<Type>Storage, key, location, numel)
 *   archive/byteorder   "little"
 *   archive/data/<key>  the storage's raw bytes, little-endian
 *   archive/version     "3"
 */

interface StorageType {
  dtype: TorchDtype;
  bytes: number;
}

const STORAGE_TYPES: Record<string, StorageType> = {
  FloatStorage: { dtype: 'float32', bytes: 4 },
  DoubleStorage: { dtype: 'float64', bytes: 8 },
  HalfStorage: { dtype: 'float16', bytes: 2 },
  BFloat16Storage: { dtype: 'bfloat16', bytes: 2 },
  LongStorage: { dtype: 'int64', bytes: 8 },
  IntStorage: { dtype: 'int32', bytes: 4 },
  ShortStorage: { dtype: 'int16', bytes: 2 },
  CharStorage: { dtype: 'int8', bytes: 1 },
  ByteStorage: { dtype: 'uint8', bytes: 1 },
  BoolStorage: { dtype: 'bool', bytes: 1 },
};

const WRITABLE: Partial<Record<TorchDtype, string>> = {
  float32: 'FloatStorage',
  float64: 'DoubleStorage',
  int64: 'LongStorage',
  int32: 'IntStorage',
  uint8: 'ByteStorage',
  bool: 'BoolStorage',
};

function requireLittleEndian(): void {
  // Typed arrays use the host's byte order; torch's files are little-endian.
  if (os.endianness() !== 'LE')
    throw new Error('torch checkpoints are supported on little-endian hosts only');
}

/** torch.save's bytes for `value` (dicts, lists, tuples, strings, ints, bools, None, tensors). */
export function encodeTorchCheckpoint(value: PyValue, archive = 'archive'): Buffer {
  requireLittleEndian();
  const keys = new Map<TorchTensor, string>();
  const storages: { key: string; data: Uint8Array }[] = [];
  const data = writePickle(value, (tensor) => {
    const storageType = WRITABLE[tensor.dtype];
    if (!storageType) throw new TypeError(`cannot write ${tensor.dtype} tensors`);
    let key = keys.get(tensor);
    if (key === undefined) {
      key = String(keys.size);
      keys.set(tensor, key);
      const d = tensor.data;
      storages.push({ key, data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) });
    }
    return { storageType, key, numel: tensor.data.length };
  });
  return writeZip([
    { name: `${archive}/data.pkl`, data },
    { name: `${archive}/byteorder`, data: Buffer.from('little') },
    ...storages.map((s) => ({ name: `${archive}/data/${s.key}`, data: s.data })),
    { name: `${archive}/version`, data: Buffer.from('3\n') },
  ]);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function typedView(type: StorageType, bytes: Uint8Array): TensorData {
  // Copy first: the zip entry's offset in the file need not be aligned to the element size.
  const copy = bytes.slice();
  const b = copy.buffer;
  const n = copy.length / type.bytes;
  switch (type.dtype) {
    case 'float32':
      return new Float32Array(b, 0, n);
    case 'float64':
      return new Float64Array(b, 0, n);
    case 'int64':
      return new BigInt64Array(b, 0, n);
    case 'int32':
      return new Int32Array(b, 0, n);
    case 'int16':
      return new Int16Array(b, 0, n);
    case 'int8':
      return new Int8Array(b, 0, n);
    case 'float16': {
      const half = new Uint16Array(b, 0, n);
      return Float32Array.from(half, halfToFloat);
    }
    case 'bfloat16': {
      const half = new Uint16Array(b, 0, n);
      const words = Uint32Array.from(half, (h) => h << 16);
      return new Float32Array(words.buffer);
    }
    default:
      return copy;
  }
}

const asInt = (v: PyValue): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'bigint' ? Number(v) : undefined;

/** A tensor of `size`/`stride` viewing `storage` (a 1-d tensor) from `offset`, copied contiguous. */
function rebuildTensor(args: PyValue[], source: string): TorchTensor {
  const [storage, offsetValue, size, stride] = args;
  const bad = (why: string) =>
    inputError(`${source}: a tensor cannot be rebuilt: ${why}`, 'the checkpoint is corrupt; save it again');
  if (!(storage instanceof TorchTensor)) throw bad('its storage is missing');
  const offset = asInt(offsetValue ?? null);
  if (offset === undefined || offset < 0) throw bad('invalid storage offset');
  if (
    !(size instanceof PyTuple) ||
    !(stride instanceof PyTuple) ||
    size.items.length !== stride.items.length
  ) {
    throw bad('invalid size or stride');
  }
  const shape = size.items.map(asInt);
  const strides = stride.items.map(asInt);
  if (shape.some((d) => d === undefined || d < 0) || strides.some((s) => s === undefined || s < 0)) {
    throw bad('invalid size or stride');
  }
  const dims = shape as number[];
  const steps = strides as number[];
  const count = dims.reduce((a, b) => a * b, 1);
  const last =
    count === 0 ? offset : offset + dims.reduce((m, d, i) => m + (d - 1) * (steps[i] as number), 0);
  if (last >= storage.data.length && count > 0) throw bad('it reaches past the end of its storage');
  const src = storage.data;
  const out = new (src.constructor as new (n: number) => TensorData)(count);
  const index = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < count; i++) {
    let at = offset;
    for (let k = 0; k < dims.length; k++) at += (index[k] as number) * (steps[k] as number);
    (out as unknown as number[])[i] = (src as unknown as number[])[at] as number;
    for (let k = dims.length - 1; k >= 0; k--) {
      index[k] = (index[k] as number) + 1;
      if ((index[k] as number) < (dims[k] as number)) break;
      index[k] = 0;
    }
  }
  return new TorchTensor(storage.dtype, dims, out);
}

const orderedDict: Reducer = (args, source) => {
  const dict = new PyOrderedDict();
  const [items] = args;
  if (items === undefined) return dict;
  if (!Array.isArray(items))
    throw inputError(`${source}: OrderedDict built from something other than a list`);
  for (const pair of items) {
    if (!(pair instanceof PyTuple) || pair.items.length !== 2) {
      throw inputError(`${source}: OrderedDict built from something other than (key, value) pairs`);
    }
    dict.set(pair.items[0] as string, pair.items[1] as PyValue);
  }
  return dict;
};

const CALLABLES: Record<string, Reducer> = {
  'collections.OrderedDict': orderedDict,
  'torch._utils._rebuild_tensor': rebuildTensor,
  'torch._utils._rebuild_tensor_v2': rebuildTensor,
  // A saved nn.Parameter: (data, requires_grad, backward_hooks[, state]); the data is what we need.
  'torch._utils._rebuild_parameter': (args, source) => parameterData(args, source),
  'torch._utils._rebuild_parameter_with_state': (args, source) => parameterData(args, source),
};

function parameterData(args: PyValue[], source: string): TorchTensor {
  const [data] = args;
  if (!(data instanceof TorchTensor)) throw inputError(`${source}: a parameter without tensor data`);
  return data;
}

const STORAGE_NAMES = new Set(Object.keys(STORAGE_TYPES).map((name) => `torch.${name}`));

/**
 * Parses a torch.save file without Python. Only the content of checkpoints of weights is accepted (see
 * pickle.ts); anything else is an input error, and nothing in the file is ever executed.
 */
export function decodeTorchCheckpoint(bytes: Uint8Array, source: string): PyValue {
  requireLittleEndian();
  if (bytes.length >= 2 && bytes[0] === 0x80) {
    throw inputError(
      `${source} is a legacy (pre-1.6) torch file, not a zip checkpoint`,
      'load it in Python and save it again with torch.save(obj, path) (torch >= 1.6)',
    );
  }
  const entries = readZip(bytes, source);
  const first = entries.keys().next().value as string | undefined;
  const archive = first?.includes('/') ? first.slice(0, first.indexOf('/')) : undefined;
  const pickle = archive === undefined ? undefined : entries.get(`${archive}/data.pkl`);
  if (archive === undefined || !pickle) {
    throw inputError(
      `${source} is a zip file but not a torch checkpoint (no data.pkl)`,
      'pass a file written by torch.save',
    );
  }
  const byteorder = entries.get(`${archive}/byteorder`);
  if (byteorder && Buffer.from(byteorder).toString('utf8').trim() !== 'little') {
    throw inputError(
      `${source} was saved on a big-endian machine`,
      'save it again on a little-endian machine',
    );
  }
  const loaded = new Map<string, TorchTensor>();
  const persistentLoad = (id: PyValue): PyValue => {
    const items = id instanceof PyTuple ? id.items : [];
    const [kind, type, key, , numelValue] = items;
    const storage = type instanceof PyGlobal ? STORAGE_TYPES[type.name] : undefined;
    if (kind !== 'storage' || items.length !== 5 || !storage || typeof key !== 'string') {
      throw inputError(
        `${source}: a persistent id other than a tensor storage`,
        'the file is not a checkpoint of weights',
      );
    }
    const cached = loaded.get(key);
    if (cached) return cached;
    const record = entries.get(`${archive}/data/${key}`);
    const numel = asInt(numelValue ?? null);
    if (!record || numel === undefined || record.length !== numel * storage.bytes) {
      throw inputError(
        `${source}: storage ${key} is missing or has the wrong size`,
        'the checkpoint is corrupt; save it again',
      );
    }
    const tensor = new TorchTensor(storage.dtype, [numel], typedView(storage, record));
    loaded.set(key, tensor);
    return tensor;
  };
  return readPickle(pickle, { callables: CALLABLES, names: STORAGE_NAMES, persistentLoad, source });
}
