import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { demoDataset, writeNpy } from '../../src/ml/data/index.js';
import { rfsq, tempDir } from '../helpers/cli.js';

/** 20 demo episodes cut to 100 steps each, as one .npy [episodes, steps, 7]. */
async function writeEpisodes(file: string, seed: number): Promise<void> {
  const episodes = demoDataset({ numEpisodes: 20, seed }).episodes;
  const data = new Float32Array(20 * 100 * 7);
  episodes.forEach((episode, index) => data.set(episode.actions.subarray(0, 700), index * 700));
  await writeNpy(file, data, [20, 100, 7]);
}

/**
 * `rfsq compare` knows the dataset a checkpoint was trained on by its content: a relative path, another
 * spelling or a copy of the training file still evaluates on the held-out episodes only, never on all of
 * them (training episodes included) under the name "held-out".
 */
describe('rfsq compare identifies the dataset by content, not by the path string', () => {
  const project = tempDir();
  const out = path.join(project, 'phase1');
  let heldOut: string[] = [];

  beforeAll(async () => {
    await writeEpisodes(path.join(project, 'l.npy'), 1);
    const trained = await rfsq(
      ['train', '--variant', 'both', '--data', 'l.npy', '--epochs', '1', '--out', out, '--json'],
      { cwd: project },
    );
    expect(trained.stderr).not.toMatch(/error/);
    expect(trained.exitCode).toBe(0);
    const config = JSON.parse(readFileSync(path.join(out, 'robust', 'config.json'), 'utf8'));
    expect(config.training.data).toBe(path.join(project, 'l.npy'));
    expect(config.training.dataIdentity.size).toBeGreaterThan(0);
    heldOut = config.training.heldOutEpisodes;
    expect(heldOut.length).toBeGreaterThan(0);
    expect(heldOut.length).toBeLessThan(20);
  });

  const compare = async (data: string, cwd: string) => {
    const result = await rfsq(['compare', '--out', out, '--data', data, '--json'], { cwd });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    return JSON.parse(result.stdout);
  };

  it('a relative path from another folder is the training file: held-out episodes only', async () => {
    const elsewhere = path.join(project, 'sub');
    mkdirSync(elsewhere);
    const report = await compare('../l.npy', elsewhere);
    expect(report.data.heldOutOnly).toBe(true);
    expect(report.data.episodes).toBe(heldOut.length);
  });

  it('a copy of the training file under another name is the same dataset', async () => {
    copyFileSync(path.join(project, 'l.npy'), path.join(project, 'copy.npy'));
    const report = await compare('copy.npy', project);
    expect(report.data.heldOutOnly).toBe(true);
    expect(report.data.episodes).toBe(heldOut.length);
  });

  it('other episodes are another dataset, evaluated whole and not called held-out episodes of training', async () => {
    await writeEpisodes(path.join(project, 'other.npy'), 2);
    const report = await compare('other.npy', project);
    expect(report.data.heldOutOnly).toBe(false);
    expect(report.data.episodes).toBe(20);
  });
});
