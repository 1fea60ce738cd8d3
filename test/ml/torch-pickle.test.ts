import { describe, expect, it } from 'vitest';
import { RfsqError } from '../../src/core/errors.js';
import { PyOrderedDict, PyTuple, type PyValue, TorchTensor, writePickle } from '../../src/ml/torch/pickle.js';
import { decodeTorchCheckpoint, encodeTorchCheckpoint } from '../../src/ml/torch/pt.js';
import { readZip, writeZip } from '../../src/ml/torch/zip.js';

/** A torch zip checkpoint whose data.pkl is `pickle`, with one float storage '0' of `floats` values. */
function archive(pickle: Buffer | number[], floats = 0): Buffer {
  return writeZip([
    { name: 'archive/data.pkl', data: Buffer.from(pickle) },
    { name: 'archive/data/0', data: new Uint8Array(new Float32Array(floats).fill(1.5).buffer) },
    { name: 'archive/version', data: Buffer.from('3\n') },
  ]);
}

const op = (text: string) => [...Buffer.from(text, 'latin1')];

function rejects(bytes: Buffer, message: RegExp): void {
  let error: unknown;
  try {
    decodeTorchCheckpoint(bytes, 'x.pt');
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(RfsqError);
  expect((error as RfsqError).exitCode).toBe(2);
  expect((error as RfsqError).message).toMatch(message);
}

describe('torch checkpoint pickles', () => {
  it('round-trips the values a checkpoint holds', () => {
    const weight = new TorchTensor('float32', [2, 3], Float32Array.of(1, 2, 3, 4, 5, 6));
    const state = new PyOrderedDict([
      ['w', weight],
      ['steps', new TorchTensor('int64', [2], BigInt64Array.of(-3n, 1n << 40n))],
    ]);
    const value = new Map<string, PyValue>([
      ['model', state],
      ['again', state],
      ['ints', [0, 255, 65536, -1, -(2 ** 31), 2 ** 40, 2n ** 70n, -(2n ** 70n)]],
      ['text', 'ünïcode ✓'],
      ['flags', new PyTuple([true, false, null])],
      ['mse', new TorchTensor('float64', [], Float64Array.of(0.125))],
    ]);
    const back = decodeTorchCheckpoint(encodeTorchCheckpoint(value), 'x.pt') as Map<string, PyValue>;
    const model = back.get('model') as PyOrderedDict;
    expect(model).toBeInstanceOf(PyOrderedDict);
    expect([...model.keys()]).toEqual(['w', 'steps']);
    expect(model.get('w')).toEqual(weight);
    expect(Array.from((model.get('steps') as TorchTensor).data as BigInt64Array)).toEqual([-3n, 1n << 40n]);
    expect(back.get('ints')).toEqual([0, 255, 65536, -1, -(2 ** 31), 2 ** 40, 2n ** 70n, -(2n ** 70n)]);
    expect(back.get('text')).toBe('ünïcode ✓');
    expect(back.get('flags')).toEqual(new PyTuple([true, false, null]));
    expect((back.get('mse') as TorchTensor).shape).toEqual([]);
    expect((back.get('mse') as TorchTensor).data[0]).toBe(0.125);
  });

  it('aligns every entry to 64 bytes and checks CRCs', () => {
    const bytes = encodeTorchCheckpoint(
      new Map([['a', new TorchTensor('float32', [3], Float32Array.of(1, 2, 3))]]),
    );
    const entries = readZip(bytes, 'x.pt');
    expect([...entries.keys()]).toEqual([
      'archive/data.pkl',
      'archive/byteorder',
      'archive/data/0',
      'archive/version',
    ]);
    const data = entries.get('archive/data/0')!;
    const offset = data.byteOffset - bytes.byteOffset; // where the entry's data sits in the file
    expect(offset % 64).toBe(0);
    const corrupt = Buffer.from(bytes);
    corrupt[offset] = (corrupt[offset] as number) ^ 0xff;
    expect(() => readZip(corrupt, 'x.pt')).toThrow(/fails its CRC check/);
  });

  it('writes no float opcode (torch 1.13 weights_only has none)', () => {
    expect(() => writePickle(0.5, () => ({ storageType: 'FloatStorage', key: '0', numel: 0 }))).toThrow(
      /as a tensor/,
    );
  });

  it('refuses globals, calls and opcodes a checkpoint of weights never needs', () => {
    const proto = [0x80, 2];
    rejects(
      archive([...proto, ...op('cposix\nsystem\n'), ...op('X'), 2, 0, 0, 0, ...op('ls'), 0x85, ...op('R.')]),
      /refusing the global posix\.system/,
    );
    rejects(archive([...proto, ...op('cbuiltins\neval\n.')]), /refusing the global builtins\.eval/);
    rejects(archive([...proto, ...op('ctorch\nFloatStorage\n)R.')]), /refusing to call torch\.FloatStorage/);
    rejects(archive([...proto, ...op('}}b.')]), /BUILD .* only on an OrderedDict/);
    rejects(archive([...proto, ...op('(i__main__\nX\n.')]), /unsupported pickle opcode 0x69/);
    rejects(
      archive([...proto, 0x8c, 1, ...op('a'), 0x8c, 1, ...op('b'), 0x93, ...op('.')]),
      /refusing the global a\.b/,
    );
    rejects(archive([...proto, ...op('h'), 7, ...op('.')]), /memo slot 7/);
    rejects(archive([...proto, ...op('X'), 0xff, 0xff, 0, 0]), /ends early/);
    rejects(
      archive([...proto, ...op('(X'), 3, 0, 0, 0, ...op('abctQ.')]),
      /persistent id other than a tensor storage/,
    );
    rejects(Buffer.from([0x80, 2, 0x8a, 10]), /legacy \(pre-1\.6\) torch file/);
    rejects(Buffer.from('PK not really'), /not a readable zip archive/);
  });

  it('reads a storage view with an offset and strides, and refuses one past its storage', () => {
    // _rebuild_tensor_v2(storage of 6 floats, offset 1, size (2, 2), stride (1, 2), False, OrderedDict())
    const storage = [
      ...op('(X'),
      7,
      0,
      0,
      0,
      ...op('storagectorch\nFloatStorage\nX'),
      1,
      0,
      0,
      0,
      ...op('0X'),
      3,
      0,
      0,
      0,
      ...op('cpuK'),
      6,
      ...op('tQ'),
    ];
    const rebuild = (offset: number) => [
      0x80,
      2,
      ...op('ctorch._utils\n_rebuild_tensor_v2\n('),
      ...storage,
      ...op('K'),
      offset,
      ...op('K'),
      2,
      ...op('K'),
      2,
      0x86,
      ...op('K'),
      1,
      ...op('K'),
      2,
      0x86,
      0x89,
      ...op('ccollections\nOrderedDict\n)RtR.'),
    ];
    const zip = (offset: number) => {
      const values = Float32Array.of(0, 1, 2, 3, 4, 5);
      return writeZip([
        { name: 'archive/data.pkl', data: Buffer.from(rebuild(offset)) },
        { name: 'archive/data/0', data: new Uint8Array(values.buffer) },
      ]);
    };
    const tensor = decodeTorchCheckpoint(zip(1), 'x.pt') as TorchTensor;
    expect(tensor.shape).toEqual([2, 2]);
    expect(Array.from(tensor.data as Float32Array)).toEqual([1, 3, 2, 4]);
    rejects(zip(3), /reaches past the end of its storage/);
  });
});
