import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RfsqError } from '../../src/core/errors.js';
import {
  OBS,
  OBS_DIM,
  POS_SCALE,
  SimEnv,
  TASK_NAMES,
  TASKS,
  runEpisode,
  sampleLayout,
  targetSurfaceZ,
  type TaskName,
} from '../../src/sim/index.js';
import { wrapAngle } from '../../src/sim/math.js';

const envs = new Map<TaskName, SimEnv>();
const env = (task: TaskName): SimEnv => envs.get(task)!;

beforeAll(async () => {
  for (const task of TASK_NAMES) envs.set(task, await SimEnv.create(task));
});
afterAll(() => {
  for (const e of envs.values()) e.dispose();
});

/** Drives the end effector to `goal` (P control, gripper fixed) for up to `steps` control steps. */
function driveTo(e: SimEnv, goal: number[], gripper: number, steps = 25): void {
  for (let i = 0; i < steps; i++) {
    const s = e.state();
    const a = [0, 1, 2].map((k) => Math.max(-1, Math.min(1, (0.8 * (goal[k]! - s.eePos[k]!)) / POS_SCALE)));
    e.step([...a, 0, 0, 0, gripper]);
  }
}

/** Commands the gripper closed for `steps` control steps without moving. */
function close(e: SimEnv, steps: number): void {
  for (let i = 0; i < steps; i++) e.step([0, 0, 0, 0, 0, 0, 1]);
}

describe('scene', () => {
  it('loads every task and resets to a deterministic, task-tagged observation', () => {
    for (const task of TASK_NAMES) {
      const obs = env(task).reset(7);
      expect(obs).toHaveLength(OBS_DIM);
      expect(Array.from(obs.subarray(OBS.task, OBS.task + 4))).toEqual(
        TASK_NAMES.map((t) => (t === task ? 1 : 0)),
      );
      expect(obs[OBS.gripper]).toBe(-1);
      const layout = sampleLayout(TASKS[task], 7);
      expect(obs[OBS.objectPos]).toBeCloseTo(layout.objectXY[0], 3);
      expect(obs[OBS.targetPos + 1]).toBeCloseTo(layout.targetXY[1], 5);
      expect(Array.from(env(task).reset(7))).toEqual(Array.from(obs));
    }
    expect(Array.from(env('pick_place').reset(8))).not.toEqual(Array.from(env('pick_place').reset(7)));
  });

  it('observes the yaw errors the alignments need, wrapped to the object symmetry', () => {
    const bar = env('rotate_place');
    bar.reset(4);
    const { targetYaw } = bar.episodeLayout;
    bar.setObjectPose([0, 0, TASKS.rotate_place.object.halfSize[2]], targetYaw + Math.PI + 0.2);
    const obs = bar.observe();
    // The bar looks the same after half a turn: 0.2 rad to go, not π + 0.2.
    expect(obs[OBS.objectToTargetYaw]).toBeCloseTo(-0.2, 4);
    expect(obs[OBS.eeToObjectYaw]).toBeCloseTo(wrapAngle(targetYaw + 0.2, Math.PI), 4);
    const cube = env('pick_place');
    cube.reset(4);
    cube.setObjectPose([0, 0, 0.02], 1.7);
    expect(cube.observe()[OBS.eeToObjectYaw]).toBeCloseTo(1.7 - Math.PI / 2, 4);
    expect(cube.observe()[OBS.objectToTargetYaw]).toBe(0);
  });

  it('gravity pulls a raised object down onto the table', () => {
    const e = env('pick_place');
    e.reset(1);
    const { objectXY } = e.episodeLayout;
    e.setObjectPose([objectXY[0], objectXY[1], 0.25], 0.3);
    e.settle(100); // 0.2 s: free fall of ~20 cm
    const mid = e.state().objectPos[2];
    expect(mid).toBeLessThan(0.25 - 0.1);
    e.settle(400);
    expect(e.state().objectPos[2]).toBeCloseTo(TASKS.pick_place.object.halfSize[2], 2);
  });
});

describe('gripper', () => {
  it('carries the object only when closed near it', () => {
    const e = env('pick_place');
    e.reset(3);
    const start = e.state().objectPos;
    // Closing high above the object grasps nothing; moving then leaves the object in place.
    driveTo(e, [start[0], start[1], 0.12], -1);
    close(e, 3);
    expect(e.state().gripperClosure).toBe(1);
    expect(e.state().grasped).toBe(false);
    driveTo(e, [start[0] + 0.1, start[1], 0.15], 1, 10);
    expect(e.state().objectPos[0]).toBeCloseTo(start[0], 3);

    // Open gripper passing through the object does not move it either (the end effector has no collision).
    driveTo(e, [start[0], start[1], start[2]], -1);
    driveTo(e, [start[0] + 0.05, start[1], start[2]], -1, 10);
    expect(e.state().objectPos[0]).toBeCloseTo(start[0], 3);

    // Closed at the object: the fingers take 2 steps to hold it; then it follows the end effector.
    driveTo(e, [start[0], start[1], start[2]], -1);
    close(e, 1);
    expect(e.state().grasped).toBe(false);
    close(e, 1);
    expect(e.state().grasped).toBe(true);
    driveTo(e, [start[0] - 0.05, start[1] + 0.04, 0.15], 1);
    const held = e.state();
    expect(held.objectPos[2]).toBeGreaterThan(0.13);
    expect(held.objectPos[0]).toBeCloseTo(start[0] - 0.05, 2);
    expect(held.objectPos[1]).toBeCloseTo(start[1] + 0.04, 2);

    // One open step slackens the grip but holds; the second releases it and it falls back to the table.
    e.step([0, 0, 0, 0, 0, 0, -1]);
    expect(e.state().grasped).toBe(true);
    e.step([0, 0, 0, 0, 0, 0, 1]);
    e.step([0, 0, 0, 0, 0, 0, -1]);
    e.step([0, 0, 0, 0, 0, 0, -1]);
    expect(e.state().grasped).toBe(false);
    driveTo(e, [held.eePos[0], held.eePos[1], 0.2], -1, 10);
    expect(e.state().objectPos[2]).toBeCloseTo(TASKS.pick_place.object.halfSize[2], 2);
  });

  it('rejects malformed actions with an input error', () => {
    const e = env('pick_place');
    e.reset(0);
    expect(() => e.step([0, 0, Number.NaN, 0, 0, 0, 0])).toThrow(RfsqError);
    expect(() => e.step([0, 0, 0])).toThrow(RfsqError);
  });
});

describe('success detection', () => {
  /** Places the object by hand at target + (dx, dy) with `yaw`, resting, lets it settle, judges success. */
  function placed(task: TaskName, dx: number, dy: number, yaw?: number): boolean {
    const e = env(task);
    e.reset(11);
    const spec = TASKS[task];
    const { targetXY, targetYaw } = e.episodeLayout;
    const z = (spec.target.kind === 'hole' ? 0 : targetSurfaceZ(spec)) + spec.object.halfSize[2];
    e.setObjectPose([targetXY[0] + dx, targetXY[1] + dy, z], yaw ?? targetYaw);
    e.settle(100);
    return e.isSuccess();
  }

  it.each(TASK_NAMES)('%s: inside the tolerance succeeds, outside fails', (task) => {
    const tol = TASKS[task].xyTolerance;
    expect(placed(task, 0.3 * tol, -0.2 * tol)).toBe(true);
    expect(placed(task, 0.1, 0.1)).toBe(false);
    if (task !== 'insert') expect(placed(task, 1.5 * tol, 0)).toBe(false);
  });

  it('place_precise fails at 2 cm where pick_place still succeeds', () => {
    expect(placed('pick_place', 0.02, 0)).toBe(true);
    expect(placed('place_precise', 0.02, 0)).toBe(false);
  });

  it('rotate_place needs the yaw (modulo the bar’s 180° symmetry)', () => {
    const e = env('rotate_place');
    e.reset(11);
    const { targetYaw } = e.episodeLayout;
    expect(placed('rotate_place', 0, 0, targetYaw + Math.PI)).toBe(true);
    expect(placed('rotate_place', 0, 0, targetYaw + 0.1)).toBe(true);
    expect(placed('rotate_place', 0, 0, targetYaw + 0.35)).toBe(false);
    expect(placed('rotate_place', 0, 0, targetYaw + Math.PI / 2)).toBe(false);
  });

  it('a held object over the target is not a success', () => {
    const e = env('pick_place');
    e.reset(11);
    const { targetXY } = e.episodeLayout;
    const obj = e.state().objectPos;
    driveTo(e, obj, -1);
    close(e, 2);
    driveTo(e, [targetXY[0], targetXY[1], 0.03], 1, 30);
    expect(e.state().grasped).toBe(true);
    expect(e.isSuccess()).toBe(false);
  });
});

describe('do-nothing policy', () => {
  it.each(TASK_NAMES)('%s: never succeeds', async (task) => {
    const e = env(task);
    e.reset(5);
    let calls = 0;
    const result = await runEpisode(
      e,
      () => {
        calls++;
        return new Float32Array(7 * 8); // a chunk of 8 zero actions (gripper open)
      },
      { maxSteps: 40 },
    );
    expect(result.success).toBe(false);
    expect(result.steps).toBe(40);
    expect(calls).toBe(5);
    expect(result.trajectory.actions).toHaveLength(40);
    expect(result.trajectory.states).toHaveLength(41);
  });
});
