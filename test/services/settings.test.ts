import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RfsqError } from '../../src/core/errors.js';
import { Settings } from '../../src/services/settings.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('Settings', () => {
  it('reads the file conf wrote (tab-indented JSON in config.json) and writes the same format', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'rfsq-settings-'));
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ 'time-budget': '3d', 'threshold.p1.mse': 0.02 }, undefined, '\t'));
    const settings = new Settings(dir);
    expect(settings.path).toBe(file);
    expect(settings.timeBudget()).toBe('3d');
    expect(settings.thresholdOverrides()).toEqual({ 'p1.mse': 0.02 });
    settings.set('runner', 'slurm');
    settings.unset('time-budget');
    const written = await readFile(file, 'utf8');
    expect(written).toBe(JSON.stringify({ 'threshold.p1.mse': 0.02, runner: 'slurm' }, undefined, '\t'));
    // Written through a temporary file renamed over the target: nothing else is left in the folder.
    expect(await readdir(dir)).toEqual(['config.json']);
    expect(new Settings(dir).list()).toEqual({ 'threshold.p1.mse': 0.02, runner: 'slurm' });
  });

  it('is empty without a file, and creates the folder on the first write', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'rfsq-settings-'));
    const nested = path.join(dir, 'a', 'b');
    const settings = new Settings(nested);
    expect(settings.list()).toEqual({});
    settings.set('time-budget', '6h');
    expect(new Settings(nested).timeBudget()).toBe('6h');
  });

  it('refuses a settings file that is not a JSON object with an input error naming it', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'rfsq-settings-'));
    await writeFile(path.join(dir, 'config.json'), '{"time-budget": ');
    const error = (() => {
      try {
        new Settings(dir).list();
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(RfsqError);
    expect((error as RfsqError).exitCode).toBe(2);
    expect((error as RfsqError).message).toContain(path.join(dir, 'config.json'));
  });
});
