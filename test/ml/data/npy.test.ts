import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy, loadActions, parseNpy, readNpy, writeNpy } from '../../../src/ml/data/index.js';
import { expectInputError, makeTempDir } from './helpers.js';

describe('.npy reader/writer', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeAll(async () => {
    tmp = await makeTempDir();
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('round-trips float32, float64 and int32 with their shapes', async () => {
    const f4 = Float32Array.from({ length: 2 * 3 * 7 }, (_, i) => i * 0.25 - 3);
    const f8 = Float64Array.from({ length: 5 }, (_, i) => Math.PI * i);
    const i4 = Int32Array.from({ length: 4 * 8 * 2 * 3 }, (_, i) => (i % 7) - 3);
    await writeNpy(tmp.path('f4.npy'), f4, [2, 3, 7]);
    await writeNpy(tmp.path('f8.npy'), f8, [5]);
    await writeNpy(tmp.path('i4.npy'), i4, [4, 8, 2, 3]);

    const a = await readNpy(tmp.path('f4.npy'));
    expect(a.dtype).toBe('<f4');
    expect(a.shape).toEqual([2, 3, 7]);
    expect(a.data).toEqual(f4);
    const b = await readNpy(tmp.path('f8.npy'));
    expect([b.dtype, b.shape]).toEqual(['<f8', [5]]);
    expect(b.data).toEqual(f8);
    const c = await readNpy(tmp.path('i4.npy'));
    expect([c.dtype, c.shape]).toEqual(['<i4', [4, 8, 2, 3]]);
    expect(c.data).toBeInstanceOf(Int32Array);
    expect(c.data).toEqual(i4);
  });

  it('writes a header numpy accepts: magic, v1.0, 64-byte aligned, newline-terminated', () => {
    const bytes = encodeNpy(new Int32Array([1, 2, 3]), [3]);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLen = bytes[8]! | (bytes[9]! << 8);
    expect((10 + headerLen) % 64).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLen));
    expect(header).toMatch(/^\{'descr': '<i4', 'fortran_order': False, 'shape': \(3,\), \} *\n$/);
    expect(bytes.length).toBe(10 + headerLen + 12);
    expect(() => encodeNpy(new Int32Array(3), [2, 2])).toThrow(/does not match/);
  });

  it('reads a numpy-written file (int64, v2.0 header, Python long suffix)', () => {
    const header = "{'descr': '<i8', 'fortran_order': False, 'shape': (2L, 1L), }";
    const padded = header + ' '.repeat(128 - 12 - header.length - 1) + '\n';
    const bytes = new Uint8Array(12 + padded.length + 16);
    bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]);
    new DataView(bytes.buffer).setUint32(8, padded.length, true);
    bytes.set(new TextEncoder().encode(padded), 12);
    new DataView(bytes.buffer).setBigInt64(12 + padded.length, -5n, true);
    new DataView(bytes.buffer).setBigInt64(12 + padded.length + 8, 7n, true);
    const arr = parseNpy(bytes);
    expect(arr.shape).toEqual([2, 1]);
    expect(Array.from(arr.data)).toEqual([-5, 7]);
  });

  it('rejects a bad magic string as corrupt', async () => {
    const p = tmp.path('badmagic.npy');
    const bytes = encodeNpy(new Float32Array(7), [1, 7]);
    bytes[1] = 0x58;
    await writeFile(p, bytes);
    const err = await expectInputError(() => readNpy(p), /badmagic\.npy is truncated or corrupt: .*magic/);
    expect(err.hint).toMatch(/re-download/);
  });

  it('rejects a corrupt header and data shorter than the header says', async () => {
    const good = encodeNpy(new Float32Array(3 * 7), [3, 7]);
    const latin = new TextDecoder('latin1').decode(good);
    const noShape = Uint8Array.from(latin.replace("'shape'", "'shapx'"), (ch) => ch.charCodeAt(0));
    await expectInputError(() => parseNpy(noShape, 'x.npy'), /x\.npy is truncated or corrupt: its header/);

    const p = tmp.path('short.npy');
    await writeFile(p, good.subarray(0, good.length - 5));
    await expectInputError(
      () => readNpy(p),
      /short\.npy is truncated or corrupt: .*84 data bytes .* only 79/,
    );
    await expectInputError(
      () => parseNpy(good.subarray(0, 40)),
      /truncated or corrupt: the header is cut short/,
    );
  });

  it('rejects unsupported dtypes and Fortran order', () => {
    const good = new TextDecoder('latin1').decode(encodeNpy(new Float32Array(7), [1, 7]));
    const enc = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
    expect(() => parseNpy(enc(good.replace("'<f4'", "'>f4'")))).toThrow(/dtype '>f4'.* not supported/);
    expect(() => parseNpy(enc(good.replace('False', 'True ')))).toThrow(/Fortran order/);
  });

  it('loads actions from [episodes, steps, 7] and [steps, 7]', async () => {
    const three = Float64Array.from({ length: 3 * 10 * 7 }, (_, i) => i / 100);
    await writeNpy(tmp.path('eps.npy'), three, [3, 10, 7]);
    const ds = await loadActions(tmp.path('eps.npy'), { numEpisodes: 2 });
    expect(ds.episodes.map((e) => [e.name, e.steps])).toEqual([
      ['episode_0', 10],
      ['episode_1', 10],
    ]);
    expect(ds.episodes[1]!.actions[0]).toBeCloseTo(0.7, 6);

    await writeNpy(tmp.path('one.npy'), new Float32Array(12 * 7), [12, 7]);
    const one = await loadActions(tmp.path('one.npy'));
    expect(one.episodes.map((e) => [e.name, e.steps])).toEqual([['one.npy', 12]]);
  });

  it('validates npy actions: dimension, rank, NaN, emptiness', async () => {
    await writeNpy(tmp.path('d8.npy'), new Float32Array(2 * 3 * 8), [2, 3, 8]);
    await expectInputError(() => loadActions(tmp.path('d8.npy')), /action dimension 8, expected 7/);
    await writeNpy(tmp.path('r1.npy'), new Float32Array(7), [7]);
    await expectInputError(() => loadActions(tmp.path('r1.npy')), /has shape \[7\], expected/);
    const nan = new Float32Array(2 * 4 * 7);
    nan[(1 * 4 + 2) * 7 + 0] = Number.NaN;
    await writeNpy(tmp.path('nan.npy'), nan, [2, 4, 7]);
    await expectInputError(
      () => loadActions(tmp.path('nan.npy')),
      /"episode_1" .* non-finite action \(NaN\) at step 2, dimension 0/,
    );
    await writeNpy(tmp.path('none.npy'), new Float32Array(0), [0, 5, 7]);
    await expectInputError(() => loadActions(tmp.path('none.npy')), /contains no episodes/);
    await writeNpy(tmp.path('zero.npy'), new Float32Array(0), [3, 0, 7]);
    await expectInputError(() => loadActions(tmp.path('zero.npy')), /all of them have zero steps/);
    await expectInputError(() => loadActions(tmp.path('missing.npy')), /not found: .*missing\.npy/);
    // the i4 file from the writer also loads as actions (converted to float32)
    await writeNpy(
      tmp.path('int.npy'),
      Int32Array.from({ length: 14 }, (_, i) => i),
      [2, 7],
    );
    expect(Array.from((await loadActions(tmp.path('int.npy'))).episodes[0]!.actions.subarray(7, 9))).toEqual([
      7, 8,
    ]);
    expect((await readFile(tmp.path('int.npy'))).length).toBe(128 + 56);
  });
});
