import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadActions } from '../../../src/ml/data/index.js';
import { expectInputError, makeTempDir } from './helpers.js';

type DemoSpec = { name: string; actions?: Float32Array | Float64Array; shape?: number[] };

/** Writes a robomimic-layout file: data/<demo>/actions for each spec (data group only if withData). */
function writeRobomimic(path: string, demos: DemoSpec[], withData = true): void {
  const file = new h5wasm.File(path, 'w');
  try {
    if (!withData) {
      file.create_group('mask');
      return;
    }
    const data = file.create_group('data');
    for (const demo of demos) {
      const group = data.create_group(demo.name);
      if (demo.actions) {
        const shape = demo.shape ?? [demo.actions.length / 7, 7];
        group.create_dataset({ name: 'actions', data: demo.actions, shape });
      }
      group.create_dataset({ name: 'dones', data: new Int32Array(3), shape: [3] });
    }
  } finally {
    file.close();
  }
}

/** Episode i, step t, dim d = i * 1000 + t + d / 10 (so we can tell rows apart after reading). */
function rampActions(
  episode: number,
  steps: number,
  Ctor: typeof Float32Array | typeof Float64Array = Float32Array,
) {
  const a = new Ctor(steps * 7);
  for (let t = 0; t < steps; t++) for (let d = 0; d < 7; d++) a[t * 7 + d] = episode * 1000 + t + d / 10;
  return a;
}

describe('LIBERO / robomimic HDF5 reader', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let valid: string;

  beforeAll(async () => {
    await h5wasm.ready;
    tmp = await makeTempDir();
    valid = tmp.path('libero.hdf5');
    // Deliberately created out of order, with demo_10 and demo_2 to test numeric sorting.
    writeRobomimic(valid, [
      { name: 'demo_10', actions: rampActions(10, 5) },
      { name: 'demo_2', actions: rampActions(2, 4, Float64Array) },
      { name: 'demo_0', actions: rampActions(0, 6) },
      { name: 'demo_1', actions: rampActions(1, 3) },
    ]);
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('reads demos in numeric order, float32 and float64, row-major [steps, 7]', async () => {
    const ds = await loadActions(valid);
    expect(ds.actionDim).toBe(7);
    expect(ds.episodes.map((e) => e.name)).toEqual(['demo_0', 'demo_1', 'demo_2', 'demo_10']);
    expect(ds.episodes.map((e) => e.steps)).toEqual([6, 3, 4, 5]);
    const demo2 = ds.episodes[2]!;
    expect(demo2.actions).toBeInstanceOf(Float32Array);
    expect(demo2.actions.length).toBe(4 * 7);
    expect(demo2.actions[3 * 7 + 5]).toBeCloseTo(2000 + 3 + 0.5, 3);
    expect(Array.from(ds.episodes[3]!.actions)).toEqual(Array.from(rampActions(10, 5)));
  });

  it('accepts the .h5 extension and limits --num-episodes after sorting', async () => {
    const h5 = tmp.path('copy.h5');
    await copyFile(valid, h5);
    const ds = await loadActions(h5, { numEpisodes: 3 });
    expect(ds.episodes.map((e) => e.name)).toEqual(['demo_0', 'demo_1', 'demo_2']);
  });

  it('names a missing file', async () => {
    const err = await expectInputError(() => loadActions(tmp.path('nope.hdf5')), /not found: .*nope\.hdf5/);
    expect(err.hint).toMatch(/path/);
  });

  it('rejects a file without a data group', async () => {
    const p = tmp.path('nodata.hdf5');
    writeRobomimic(p, [], false);
    await expectInputError(() => loadActions(p), /has no "data" group \(top-level keys: mask\)/);
  });

  it('names the demo without an actions dataset', async () => {
    const p = tmp.path('noactions.hdf5');
    writeRobomimic(p, [{ name: 'demo_0', actions: rampActions(0, 3) }, { name: 'demo_1' }]);
    await expectInputError(
      () => loadActions(p),
      /data\/demo_1 in .*noactions\.hdf5 has no "actions" dataset/,
    );
  });

  it('reports wrong action dimension as found vs expected', async () => {
    const p = tmp.path('dim6.hdf5');
    writeRobomimic(p, [{ name: 'demo_0', actions: new Float32Array(4 * 6), shape: [4, 6] }]);
    await expectInputError(
      () => loadActions(p),
      /data\/demo_0\/actions .* has action dimension 6, expected 7/,
    );
    // ...and it loads when 6 is what the caller expects.
    expect((await loadActions(p, { actionDim: 6 })).episodes[0]!.steps).toBe(4);
  });

  it('rejects 1-D actions', async () => {
    const p = tmp.path('flat.hdf5');
    writeRobomimic(p, [{ name: 'demo_0', actions: new Float32Array(14), shape: [14] }]);
    await expectInputError(() => loadActions(p), /has shape \[14\], expected \[steps, 7\]/);
  });

  it('names the episode, step and dimension of a NaN or Inf', async () => {
    const p = tmp.path('nan.hdf5');
    const bad = rampActions(1, 5);
    bad[3 * 7 + 4] = Number.NaN;
    writeRobomimic(p, [
      { name: 'demo_0', actions: rampActions(0, 5) },
      { name: 'demo_1', actions: bad },
    ]);
    await expectInputError(
      () => loadActions(p),
      /"demo_1" .* non-finite action \(NaN\) at step 3, dimension 4/,
    );

    const pInf = tmp.path('inf.hdf5');
    const inf = rampActions(0, 5, Float64Array);
    inf[2 * 7 + 6] = -Infinity;
    writeRobomimic(pInf, [{ name: 'demo_0', actions: inf }]);
    await expectInputError(
      () => loadActions(pInf),
      /"demo_0" .* non-finite action \(-Inf\) at step 2, dimension 6/,
    );
  });

  it('rejects an empty data group and all-zero-length demos', async () => {
    const p = tmp.path('empty.hdf5');
    writeRobomimic(p, []);
    await expectInputError(() => loadActions(p), /has no demos/);

    const pZero = tmp.path('zero.hdf5');
    writeRobomimic(pZero, [{ name: 'demo_0', actions: new Float32Array(0), shape: [0, 7] }]);
    await expectInputError(() => loadActions(pZero), /all of them have zero steps/);
  });

  it('reports a truncated file as truncated/corrupt, without HDF5 noise on stderr', async () => {
    const bytes = await readFile(valid);
    const p = tmp.path('truncated.hdf5');
    await writeFile(p, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const chunks: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      chunks.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    let err;
    try {
      err = await expectInputError(
        () => loadActions(p),
        /truncated\.hdf5 is truncated or corrupt: .*truncated file/,
      );
    } finally {
      process.stderr.write = write;
    }
    expect(err.hint).toMatch(/re-download/i);
    expect(chunks.join('')).not.toContain('HDF5-DIAG');
  });

  it('reports a non-HDF5 file as corrupt, and still reads valid files afterwards', async () => {
    const p = tmp.path('garbage.hdf5');
    await writeFile(p, 'this is not an hdf5 file at all');
    const err = await expectInputError(() => loadActions(p), /garbage\.hdf5 is truncated or corrupt/);
    expect(err.hint).toMatch(/re-export/i);
    expect((await loadActions(valid)).episodes).toHaveLength(4);
  });

  it('rejects unknown extensions and directories', async () => {
    await expectInputError(() => loadActions(tmp.path('x.csv')), /Unsupported dataset/);
    const dirAsFile = tmp.path('folder.hdf5');
    await mkdir(dirAsFile);
    await expectInputError(() => loadActions(dirAsFile), /folder\.hdf5 is not a file/);
  });
});
