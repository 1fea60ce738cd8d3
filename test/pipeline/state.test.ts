import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RfsqError } from '../../src/core/errors.js';
import { createRunState, loadState, saveState, statePath } from '../../src/pipeline/state.js';
import { fingerprintStep } from '../../src/pipeline/fingerprint.js';
import { tempDir } from './helpers.js';

describe('run state', () => {
  it('round-trips and leaves no temp files', () => {
    const dir = tempDir();
    const state = createRunState('B', ['a', 'b'], (id) => `/logs/${id}.log`);
    state.steps['a'] = {
      ...state.steps['a']!,
      status: 'succeeded',
      metrics: { 'phase1.robust_mse': 0.01, 'phase1.checkpoint': '/m/best.pt' },
      metricSources: { 'phase1.robust_mse': 'log:/logs/a.log:3' },
    };
    saveState(dir, state);
    expect(loadState(dir)).toEqual(state);
    expect(readdirSync(path.join(dir, '.rfsq'))).toEqual(['state.json']);
  });

  it('keeps the Slurm jobs of a run, and still reads a state written before they were recorded', () => {
    const dir = tempDir();
    const state = createRunState('A', ['a'], () => '/logs/a.log');
    const older = structuredClone(state);
    state.jobs = [{ step: 'a', jobId: '41', output: '/logs/a.41.out', submittedAt: state.startedAt }];
    saveState(dir, state);
    expect(loadState(dir)?.jobs).toEqual(state.jobs);
    writeFileSync(statePath(dir), JSON.stringify(older));
    expect(loadState(dir)?.jobs).toBeUndefined();
  });

  it('returns undefined when there is no state', () => {
    expect(loadState(tempDir())).toBeUndefined();
  });

  it.each([
    [{ status: 'bogus' }, 'status'],
    [{ pid: 'x' }, 'pid'],
    [
      { steps: { a: { status: 'running', logPath: 'l', metrics: { 'phase9.x': 1 }, metricSources: {} } } },
      'steps.a.metrics',
    ],
    [{ version: 'one' }, 'version'],
  ])('names the corrupt field: %j', (patch, field) => {
    const dir = tempDir();
    const state = { ...createRunState('A', ['a'], () => 'l'), ...patch };
    mkdirSync(path.join(dir, '.rfsq'));
    writeFileSync(statePath(dir), JSON.stringify(state));
    let error: unknown;
    try {
      loadState(dir);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RfsqError);
    expect((error as Error).message).toContain(`"${field}`);
  });

  it('names a state of a newer format as written by a newer rfsq, not as corrupt', () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, '.rfsq'));
    writeFileSync(statePath(dir), JSON.stringify({ ...createRunState('A', ['a'], () => 'l'), version: 2 }));
    expect(() => loadState(dir)).toThrow(/was written by a newer rfsq \(state format 2; this rfsq reads 1\)/);
  });

  it('reports invalid JSON clearly', () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, '.rfsq'));
    writeFileSync(statePath(dir), '{"version": 1,');
    expect(() => loadState(dir)).toThrow(/not valid JSON/);
  });

  it('keeps the state file pretty-printed', () => {
    const dir = tempDir();
    saveState(
      dir,
      createRunState('A', ['a'], () => 'l'),
    );
    expect(readFileSync(statePath(dir), 'utf8')).toContain('\n  "version": 1');
  });
});

describe('fingerprint', () => {
  it('changes with argv, declared env, cwd and input contents; missing inputs count', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'in.txt'), 'one');
    const base = {
      argv: ['python', 'train.py'],
      env: { A: '1' },
      cwd: dir,
      inputs: ['in.txt', 'absent.txt'],
    };
    const print = await fingerprintStep(base);
    expect(await fingerprintStep({ ...base })).toBe(print);
    expect(await fingerprintStep({ ...base, argv: ['python', 'train.py', '--x'] })).not.toBe(print);
    expect(await fingerprintStep({ ...base, env: { A: '2' } })).not.toBe(print);
    expect(await fingerprintStep({ ...base, cwd: tempDir() })).not.toBe(print);
    writeFileSync(path.join(dir, 'absent.txt'), '');
    const withFile = await fingerprintStep(base);
    expect(withFile).not.toBe(print);
    writeFileSync(path.join(dir, 'in.txt'), 'two');
    expect(await fingerprintStep(base)).not.toBe(withFile);
  });

  it('ignores the environment outside the declared env', async () => {
    const dir = tempDir();
    const base = { argv: ['x'], cwd: dir };
    const print = await fingerprintStep(base);
    process.env['RFSQ_FINGERPRINT_TEST'] = String(Math.random());
    try {
      expect(await fingerprintStep(base)).toBe(print);
    } finally {
      delete process.env['RFSQ_FINGERPRINT_TEST'];
    }
  });
});
