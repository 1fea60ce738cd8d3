import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RfsqError } from '../../src/core/errors.js';
import { loadActions } from '../../src/ml/data/index.js';
import {
  OBS_DIM,
  TASK_NAMES,
  collectDemos,
  defaultDemoPath,
  ensureDefaultDemos,
  loadSimDemos,
  saveDemosHdf5,
  type CollectResult,
} from '../../src/sim/index.js';
import { makeTempDir } from '../ml/data/helpers.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let first: CollectResult;

beforeAll(async () => {
  tmp = await makeTempDir();
  first = await collectDemos({ episodesPerTask: 3, seed: 5 });
});
afterAll(() => tmp.cleanup());

describe('collectDemos', () => {
  it('keeps successful episodes of every task and reports counts', () => {
    expect(first.episodes).toHaveLength(12);
    expect(first.episodes.every((e) => e.success)).toBe(true);
    expect(first.episodes.map((e) => e.task)).toEqual(TASK_NAMES.flatMap((t) => [t, t, t]));
    for (const task of TASK_NAMES) {
      expect(first.counts[task]!.succeeded).toBe(3);
      expect(first.counts[task]!.attempted).toBeGreaterThanOrEqual(3);
    }
    for (const ep of first.episodes) {
      expect(ep.actions).toHaveLength(ep.steps * 7);
      expect(ep.obs).toHaveLength(ep.steps * OBS_DIM);
    }
    expect(first.physicsSteps).toBeGreaterThan(first.controlSteps);
  });

  it('is deterministic by seed: same values and the same file bytes', async () => {
    const again = await collectDemos({ episodesPerTask: 3, seed: 5 });
    expect(again.episodes).toEqual(first.episodes);
    await saveDemosHdf5(tmp.path('a.hdf5'), first.episodes);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // HDF5 timestamps have 1 s resolution
    await saveDemosHdf5(tmp.path('b.hdf5'), again.episodes);
    const [a, b] = await Promise.all([readFile(tmp.path('a.hdf5')), readFile(tmp.path('b.hdf5'))]);
    expect(a.equals(b)).toBe(true);
    const other = await collectDemos({ tasks: ['pick_place'], episodesPerTask: 1, seed: 6 });
    expect(Array.from(other.episodes[0]!.actions)).not.toEqual(Array.from(first.episodes[0]!.actions));
  });

  it('writes robomimic HDF5 that Phase 1 loadActions and loadSimDemos read back', async () => {
    const file = tmp.path('demos.hdf5');
    await saveDemosHdf5(file, first.episodes);
    const phase1 = await loadActions(file);
    expect(phase1.actionDim).toBe(7);
    expect(phase1.episodes).toHaveLength(12);
    phase1.episodes.forEach((ep, i) => {
      expect(ep.name).toBe(`demo_${i}`);
      expect(Array.from(ep.actions)).toEqual(Array.from(first.episodes[i]!.actions));
    });
    const sim = await loadSimDemos(file);
    expect(sim.obsDim).toBe(OBS_DIM);
    expect(sim.episodes).toEqual(first.episodes);
  });

  it('reports a missing demo file as an input error', async () => {
    await expect(loadSimDemos(tmp.path('missing.hdf5'))).rejects.toBeInstanceOf(RfsqError);
  });

  it('names a file that is not HDF5 and says what to pass instead', async () => {
    const garbage = tmp.path('garbage.hdf5');
    await writeFile(garbage, 'not an HDF5 file\n');
    const error = await loadSimDemos(garbage).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(RfsqError);
    expect((error as RfsqError).message).toContain(
      `${garbage} is not a readable HDF5 file of simulated demos`,
    );
    expect((error as RfsqError).message).not.toContain('\n');
    expect((error as RfsqError).hint).toContain('--data sim');
  });

  it('caches the default dataset once under the cache dir', async () => {
    const options = { cacheDir: tmp.path('cache'), episodesPerTask: 1, seed: 2 };
    const file = defaultDemoPath(options);
    expect(file).toBe(tmp.path('cache/sim-demos-v2-2-1.hdf5'));
    expect(defaultDemoPath({ projectDir: '/p' })).toMatch(
      /^(\/p\/\.rfsq\/cache|.+)\/sim-demos-v2-0-100\.hdf5$/,
    );
    const made = await ensureDefaultDemos(options);
    expect(made).toMatchObject({ path: file, created: true });
    const cached = await ensureDefaultDemos(options);
    expect(cached).toEqual({ path: file, created: false });
    expect((await loadActions(file)).episodes).toHaveLength(4);
  });
});
