import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_EXPERT_NOISE,
  ScriptedExpert,
  SimEnv,
  TASK_NAMES,
  TASKS,
  runEpisode,
  runExpertEpisode,
  type TaskName,
} from '../../src/sim/index.js';

const envs = new Map<TaskName, SimEnv>();
beforeAll(async () => {
  for (const task of TASK_NAMES) envs.set(task, await SimEnv.create(task));
});
afterAll(() => {
  for (const e of envs.values()) e.dispose();
});

function successes(task: TaskName, noise: number, seeds = 10): number {
  let ok = 0;
  for (let seed = 0; seed < seeds; seed++)
    ok += runExpertEpisode(envs.get(task)!, 100 + seed, { noise }).success ? 1 : 0;
  return ok;
}

describe('scripted expert', () => {
  it.each(TASK_NAMES)('%s: succeeds without noise and mostly with the default noise', (task) => {
    expect(successes(task, 0)).toBeGreaterThanOrEqual(9);
    expect(successes(task, DEFAULT_EXPERT_NOISE)).toBeGreaterThanOrEqual(7);
  });

  it('produces bounded, smooth-ish LIBERO-like actions', () => {
    const result = runExpertEpisode(envs.get('rotate_place')!, 3);
    expect(result.success).toBe(true);
    const actions = result.trajectory.actions;
    for (const a of actions) {
      for (let i = 0; i < 6; i++) expect(Math.abs(a[i]!)).toBeLessThanOrEqual(1);
      expect([-1, 1]).toContain(a[6]);
    }
    // The gripper closes once and opens once (grasp, then release).
    const flips = actions.slice(1).filter((a, i) => a[6] !== actions[i]![6]).length;
    expect(flips).toBe(2);
    // Yaw is used in the rotation task; roll/pitch carry only noise.
    expect(actions.some((a) => Math.abs(a[5]!) > 0.5)).toBe(true);
    const rollStd = Math.sqrt(actions.reduce((s, a) => s + a[3]! ** 2, 0) / actions.length);
    expect(rollStd).toBeGreaterThan(0.03);
    expect(rollStd).toBeLessThan(0.2);
  });

  it('is deterministic for a seed, and the noise depends on it', () => {
    const e = envs.get('place_precise')!;
    const a = runExpertEpisode(e, 4).trajectory.actions;
    const b = runExpertEpisode(e, 4).trajectory.actions;
    expect(b.map((x) => Array.from(x))).toEqual(a.map((x) => Array.from(x)));
    const c = runExpertEpisode(e, 4, { seed: 99 }).trajectory.actions;
    expect(c.map((x) => Array.from(x))).not.toEqual(a.map((x) => Array.from(x)));
  });

  it('drives runEpisode as a chunk policy (one action per chunk)', async () => {
    const e = envs.get('insert')!;
    e.reset(21);
    const expert = new ScriptedExpert(TASKS.insert, { seed: 21 });
    const result = await runEpisode(e, (obs) => expert.act(obs));
    expect(result.success).toBe(true);
    expect(result.steps).toBeLessThan(TASKS.insert.maxSteps);
    expect(result.trajectory.obs).toHaveLength(result.steps);
  });
});
