import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import h5wasm from 'h5wasm/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/ml/tokenizer/checkpoint.js';
import { demoDataset, readNpy } from '../../src/ml/data/index.js';
import { heldOutMse, roundtripMse } from '../../src/ml/tokenizer/evaluate.js';
import { heldOutFor } from '../../src/services/phase1-data.js';
import { rfsq, tempDir } from '../helpers/cli.js';

/** Writes episodes in the robomimic / LIBERO layout: data/demo_<i>/actions [T, 7]. */
async function writeLiberoFile(file: string, episodes: number): Promise<void> {
  await h5wasm.ready;
  const handle = new h5wasm.File(file, 'w');
  const data = handle.create_group('data');
  demoDataset({ numEpisodes: episodes, seed: 3 }).episodes.forEach((episode, index) => {
    data
      .create_group(`demo_${index}`)
      .create_dataset({ name: 'actions', data: episode.actions, shape: [episode.steps, 7] });
  });
  handle.close();
}

describe('Phase 1 from the command line (built binary)', () => {
  const out = path.join(tempDir(), 'phase1');
  const metricsFile = path.join(out, 'metrics.json');

  let trainedStderr = '';

  beforeAll(async () => {
    // The project's default config, as the README promises: train both, then compare.
    const trained = await rfsq(['train', '--variant', 'both', '--data', 'demo', '--out', out, '--json']);
    expect(trained.stderr).not.toMatch(/error/);
    expect(trained.exitCode).toBe(0);
    trainedStderr = trained.stderr;
  });

  it('shows the validation and held-out MSE of every epoch as it trains', () => {
    const epochLines = trainedStderr.split('\n').filter((line) => / robust epoch \d+/.test(line));
    expect(epochLines.length).toBeGreaterThanOrEqual(2);
    for (const line of epochLines) {
      expect(line).toMatch(/validation MSE \d\.\d{3}e-\d+ {2}held-out MSE \d\.\d{3}e-\d+/);
    }
    // The last line of each variant, once it is in its final decay, names its last epoch.
    expect(trainedStderr).toMatch(/robust epoch (\d+)\/\1 decay/);
  });

  it('keeps one checkpoint per variant, in the PyTorch layout', () => {
    for (const variant of ['naive', 'robust']) {
      expect(existsSync(path.join(out, variant, 'model.safetensors'))).toBe(true);
      const config = JSON.parse(readFileSync(path.join(out, variant, 'config.json'), 'utf8'));
      expect(config.variant).toBe(variant);
      expect(config.normalization.low).toHaveLength(7);
      expect(config.training.heldOutEpisodes.length).toBeGreaterThan(0);
    }
  });

  it('compares on held-out episodes: robust below 0.012 and an exact round trip', async () => {
    const result = await rfsq(['compare', '--out', out, '--metrics-out', metricsFile, '--json']);
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.data.heldOutOnly).toBe(true);
    expect(report.robust.heldOutMse).toBeLessThan(0.012);
    expect(report.robust.heldOutMse).toBeLessThan(report.naive.heldOutMse);
    expect(report.robust.maxRoundtripDiff).toBe(0);
    expect(report.robust.roundtripMse).toBe(report.robust.heldOutMse);
    expect(report.robust.layers).toHaveLength(8);
    expect(report.robust.perDimensionMse).toHaveLength(7);
    expect(
      report.robust.references.map((reference: { tokensPerStep: number }) => reference.tokensPerStep),
    ).toEqual([7, 128]);
    // The naive quantizer's later layers collapse to one level; the Robust ones stay in use.
    expect(report.naive.layers[3].entropyBits).toBeLessThan(0.5);
    expect(report.robust.layers[3].entropyBits).toBeGreaterThan(1);

    const metrics = JSON.parse(readFileSync(metricsFile, 'utf8'));
    expect(metrics['phase1.robust_mse']).toBe(report.robust.heldOutMse);
    expect(metrics['phase1.improvement_pct']).toBeCloseTo(report.improvementPct, 10);
    expect(metrics['phase1.checkpoint']).toBe(path.join(out, 'robust'));
  });

  it('feeds rfsq verify and rfsq recommend --from', async () => {
    const verify = await rfsq(['verify', '--metrics', metricsFile, '--json']);
    const items = JSON.parse(verify.stdout).items as { id: string; status: string }[];
    const phase1 = items.filter((item) => item.id.startsWith('p1.')).map((item) => item.status);
    expect(phase1).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect(verify.exitCode).toBe(3);
    const recommend = await rfsq(['recommend', '--time-budget', '4d', '--from', metricsFile, '--json']);
    expect(JSON.parse(recommend.stdout).inputs.improvementPct).toBeGreaterThan(30);
  });

  it('encodes raw actions to codes and decodes them back', async () => {
    const dir = tempDir();
    const actions = path.join(dir, 'actions.npy');
    const { writeNpy } = await import('../../src/ml/data/index.js');
    const episodes = demoDataset({ numEpisodes: 2, seed: 9 }).episodes.map((episode) =>
      episode.actions.subarray(0, 80 * 7),
    );
    const flat = new Float32Array(episodes.length * 80 * 7);
    episodes.forEach((episode, index) => flat.set(episode, index * 80 * 7));
    await writeNpy(actions, flat, [2, 80, 7]);

    const encoded = await rfsq([
      'encode',
      '--checkpoint',
      path.join(out, 'robust'),
      '--input',
      actions,
      '--out',
      path.join(dir, 'codes.npy'),
      '--json',
    ]);
    expect(encoded.exitCode).toBe(0);
    const codes = await readNpy(path.join(dir, 'codes.npy'));
    expect(codes.dtype).toBe('<i4');
    expect(codes.shape).toEqual([20, 8, 16, 8]);

    const decoded = await rfsq([
      'decode',
      '--checkpoint',
      path.join(out, 'robust'),
      '--input',
      path.join(dir, 'codes.npy'),
      '--out',
      path.join(dir, 'back.npy'),
    ]);
    expect(decoded.exitCode).toBe(0);
    const back = await readNpy(path.join(dir, 'back.npy'));
    expect(back.shape).toEqual([20, 8, 7]);
    // Raw units: the position dims spread ~0.4, so a good tokenizer is far below that squared.
    let sum = 0;
    for (let i = 0; i < flat.length; i++) sum += (flat[i]! - back.data[i]!) ** 2;
    expect(sum / flat.length).toBeLessThan(0.01);
  });

  it('trains from a LIBERO-layout HDF5 file to a plateau, on three disjoint episode sets, with its curve', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'libero_spatial.hdf5');
    await writeLiberoFile(file, 10);
    const run = path.join(dir, 'run');
    const result = await rfsq([
      'train',
      '--use-layernorm',
      'True',
      '--data',
      file,
      '--max-epochs',
      '3',
      '--out',
      run,
      '--json',
    ]);
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.variants.map((variant: { variant: string }) => variant.variant)).toEqual(['robust']);
    // Every episode of the file: no --num-episodes means all of them.
    const { trainEpisodes, validationEpisodes, heldOutEpisodes } = report.data;
    expect(trainEpisodes + validationEpisodes + heldOutEpisodes).toBe(10);
    expect(validationEpisodes).toBeGreaterThanOrEqual(1);
    expect(['wasm', 'cpu', 'tensorflow', 'tensorflow-gpu']).toContain(report.backend);
    const [robust] = report.variants;
    expect(robust.stoppedBy).toBe('cap');
    expect(robust.epochs).toBe(3);
    expect(robust.curve).toHaveLength(3);
    for (const point of robust.curve) {
      for (const key of ['trainMse', 'validationMse', 'heldOutMse', 'seconds', 'lr']) {
        expect(Number.isFinite(point[key]), key).toBe(true);
      }
      expect(point.codeUsageBits).toHaveLength(8);
    }

    const config = JSON.parse(readFileSync(path.join(run, 'robust', 'config.json'), 'utf8'));
    expect(config.metrics.curve).toEqual(robust.curve);
    expect(config.metrics.heldOutMse).toBe(robust.bestHeldOutMse);
    const sets = [
      config.training.trainEpisodes,
      config.training.validationEpisodes,
      config.training.heldOutEpisodes,
    ];
    expect(sets.map((names: string[]) => names.length)).toEqual([
      trainEpisodes,
      validationEpisodes,
      heldOutEpisodes,
    ]);
    const all = sets.flat();
    expect(new Set(all).size).toBe(10);

    // The round trip from codes alone stays exact on the held-out episodes.
    const checkpoint = await loadCheckpoint(path.join(run, 'robust'));
    const { set } = await heldOutFor(
      file,
      { seed: 0, chunk: 8, episodes: config.training.heldOutEpisodes },
      checkpoint.normalization!,
    );
    expect(roundtripMse(checkpoint.model, set)).toBe(heldOutMse(checkpoint.model, set));
    expect(heldOutMse(checkpoint.model, set)).toBeCloseTo(robust.bestHeldOutMse, 12);
  });

  it('--epochs is a fixed budget and takes no stopping flags', async () => {
    const dir = tempDir();
    const args = ['train', '--variant', 'robust', '--num-episodes', '6', '--epochs', '2', '--out', dir];
    const result = await rfsq([...args, '--json']);
    expect(result.exitCode).toBe(0);
    const [robust] = JSON.parse(result.stdout).variants;
    expect(robust.epochs).toBe(2);
    expect(robust.stoppedBy).toBe('budget');
    expect(robust.curve).toHaveLength(2);
    const mixed = await rfsq([...args, '--patience', '3']);
    expect(mixed.exitCode).toBe(2);
    expect(mixed.stderr).toMatch(/--epochs is a fixed budget/);
  });

  it('--validation-fraction 0 (the local template): a fixed budget, no validation episodes, the last epoch kept', async () => {
    const dir = tempDir();
    const args = ['train', '--variant', 'robust', '--num-episodes', '6', '--validation-fraction', '0'];
    const result = await rfsq([...args, '--epochs', '3', '--out', dir, '--json']);
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.data.validationEpisodes).toBe(0);
    const [robust] = report.variants;
    expect(robust.bestEpoch).toBe(3);
    // Reported: the float64 evaluation of the last epoch's model; the curve: the float32 monitor's.
    expect(robust.bestHeldOutMse / robust.curve[2].heldOutMse).toBeCloseTo(1, 4);
    expect(robust.curve.every((point: { validationMse: unknown }) => point.validationMse === null)).toBe(
      true,
    );
    const toPlateau = await rfsq([...args, '--out', dir]);
    expect(toPlateau.exitCode).toBe(2);
    expect(toPlateau.stderr).toMatch(/no plateau to train to/);
    expect(toPlateau.stderr).toMatch(/hint: .*--epochs/);
  });

  it('reports the collection of the simulator demos (--data sim, first use) as it goes', async () => {
    const dir = tempDir();
    const result = await rfsq(
      ['train', '--variant', 'robust', '--data', 'sim', '--epochs', '1', '--out', path.join(dir, 'run')],
      { env: { RFSQ_CACHE_DIR: path.join(dir, 'cache') } },
    );
    expect(result.exitCode).toBe(0);
    const lines = result.stderr.split('\n').filter((line) => line.includes('collecting demos'));
    // Plain lines (no terminal): at most one a second, and always the last one.
    expect(lines.at(-1)).toMatch(/collecting demos (\d+)\/\1 kept \(\w+\)$/);
    const counts = lines.map((line) => Number(/(\d+)\/\d+ kept/.exec(line)![1]));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
  });

  it('trains both variants side by side (worker threads) to the checkpoints each reaches alone', async () => {
    const flags = ['--data', 'demo', '--num-episodes', '10', '--epochs', '2'];
    const both = tempDir();
    const alone = tempDir();
    const sideBySide = await rfsq(['train', '--variant', 'both', ...flags, '--out', both]);
    expect(sideBySide.exitCode).toBe(0);
    for (const variant of ['naive', 'robust']) {
      // A single variant trains in the command's own thread.
      const single = await rfsq(['train', '--variant', variant, ...flags, '--out', alone]);
      expect(single.exitCode).toBe(0);
      const weights = (dir: string): Buffer => readFileSync(path.join(dir, variant, 'model.safetensors'));
      expect(weights(both).equals(weights(alone))).toBe(true);
      // Each variant's epochs are reported under its own name.
      expect(sideBySide.stderr).toMatch(new RegExp(`${variant} +epoch 2/2 `));
    }
  });

  it('stops side-by-side training on a diverging loss with exit 1 and a hint, no stack trace', async () => {
    const dir = tempDir();
    const result = await rfsq([
      'train',
      '--variant',
      'both',
      '--epochs',
      '3',
      '--num-episodes',
      '6',
      '--lr',
      '1e9',
      '--out',
      dir,
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.match(/^error: /gm)).toHaveLength(1);
    expect(result.stderr).toMatch(/^error: training diverged/m);
    expect(result.stderr).toMatch(/^hint: lower the learning rate/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('stops on a diverging loss with exit 1 and a hint, no stack trace', async () => {
    const dir = tempDir();
    const result = await rfsq([
      'train',
      '--variant',
      'robust',
      '--epochs',
      '3',
      '--num-episodes',
      '6',
      '--lr',
      '1e9',
      '--out',
      dir,
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^error: training diverged/m);
    expect(result.stderr).toMatch(/^hint: lower the learning rate/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    [['train', '--variant', 'fancy'], /--variant "fancy" is not one of naive, robust, both/],
    [['train', '--variant', 'naive', '--use-layernorm', 'True'], /contradicts --use-layernorm/],
    [['train', '--use-layernorm', 'yes'], /--use-layernorm "yes" is not one of True, False/],
    [['train', '--data', '/nonexistent/libero.hdf5'], /does not exist|not found|No such/i],
    [['train', '--data', 'actions.csv'], /Unsupported dataset/],
    [['train', '--epochs', '0'], /--epochs "0" must be a whole number ≥ 1/],
    [['train', '--lr', 'fast'], /--lr "fast" must be a number/],
    [['train', '--backend', 'tpu'], /--backend "tpu" is not one of/],
    [
      ['compare', '--naive', '/nonexistent', '--robust', '/nonexistent'],
      /checkpoint directory \/nonexistent does not exist/,
    ],
    [['encode', '--checkpoint', '/nonexistent', '--input', 'a.npy', '--out', 'c.npy'], /does not exist/],
    [['decode', '--checkpoint', '/x'], /required option '--input <file>' not specified/],
  ])('rejects %j with exit 2 and a hint', async (args, message) => {
    const result = await rfsq(args, { cwd: tempDir() });
    expect(result.stderr).toMatch(message);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^hint: /m);
  });

  it('rejects a truncated HDF5 file and swapped checkpoints', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'demo.hdf5');
    await writeLiberoFile(file, 3);
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const truncated = await rfsq(['train', '--data', file, '--out', path.join(dir, 'run')]);
    expect(truncated.exitCode).toBe(2);
    expect(truncated.stderr).toMatch(/truncated or corrupt/);

    const swapped = await rfsq([
      'compare',
      '--naive',
      path.join(out, 'robust'),
      '--robust',
      path.join(out, 'naive'),
    ]);
    expect(swapped.exitCode).toBe(2);
    expect(swapped.stderr).toMatch(/is a robust checkpoint, not naive/);
  });
});
