/**
 * The observation: a fixed-length Float32Array of OBS_DIM = 24 values, all in metres / unitless.
 *
 * | index  | field                                                                        |
 * | ------ | ---------------------------------------------------------------------------- |
 * | 0-2    | end-effector position x, y, z (m; table top is z = 0)                         |
 * | 3-4    | end-effector yaw as sin, cos                                                  |
 * | 5      | gripper closure mapped to [-1, 1]: -1 open, +1 closed (moves 2/3 per step)    |
 * | 6      | grasped: 1 when the weld holds the object, else 0                             |
 * | 7-9    | object centre x, y, z (m)                                                     |
 * | 10-11  | object yaw as sin, cos                                                        |
 * | 12-14  | target centre x, y and surface height z (m)                                   |
 * | 15-16  | target (required) yaw as sin, cos — 0 (i.e. 0, 1) for tasks without a yaw goal |
 * | 17-19  | object → target vector: target xy − object xy, (surface + half height) − object z |
 * | 20-23  | task one-hot in TASK_NAMES order (pick_place, place_precise, insert, rotate_place) |
 * | 24     | gripper → object yaw error (rad), wrapped to the object's symmetry period              |
 * | 25     | object → target yaw error (rad), wrapped to the period; 0 for tasks without a yaw goal |
 *
 * The last two are what the yaw alignments need, given directly as 17-19 give the object → target offset:
 * an angle difference modulo a symmetry period is awkward to learn from sines and cosines.
 */
import { TASK_NAMES, TASKS, targetSurfaceZ, type TaskName } from './tasks.js';
import { wrapAngle, type Vec3 } from './math.js';

export const OBS_DIM = 26;

/** Named offsets into the observation (see the table above). */
export const OBS = {
  eePos: 0,
  eeYaw: 3,
  gripper: 5,
  grasped: 6,
  objectPos: 7,
  objectYaw: 10,
  targetPos: 12,
  targetYaw: 15,
  objectToTarget: 17,
  task: 20,
  eeToObjectYaw: 24,
  objectToTargetYaw: 25,
} as const;

/** Everything a policy or a renderer needs to know about the simulator at one instant. */
export interface SimState {
  task: TaskName;
  eePos: Vec3;
  eeYaw: number;
  /** Finger closure: 0 open, 1 closed (it moves at a finite speed, see env.ts). */
  gripperClosure: number;
  grasped: boolean;
  objectPos: Vec3;
  objectYaw: number;
  /** Cosine of the object's tilt (its z axis · world z): 1 when upright. */
  objectUpright: number;
  /** Object linear speed (m/s). */
  objectSpeed: number;
  targetPos: [number, number];
  targetYaw: number;
}

export function observe(state: SimState): Float32Array {
  const task = TASKS[state.task];
  const obs = new Float32Array(OBS_DIM);
  obs.set(state.eePos, OBS.eePos);
  obs[OBS.eeYaw] = Math.sin(state.eeYaw);
  obs[OBS.eeYaw + 1] = Math.cos(state.eeYaw);
  obs[OBS.gripper] = 2 * state.gripperClosure - 1;
  obs[OBS.grasped] = state.grasped ? 1 : 0;
  obs.set(state.objectPos, OBS.objectPos);
  obs[OBS.objectYaw] = Math.sin(state.objectYaw);
  obs[OBS.objectYaw + 1] = Math.cos(state.objectYaw);
  const surface = targetSurfaceZ(task);
  obs[OBS.targetPos] = state.targetPos[0];
  obs[OBS.targetPos + 1] = state.targetPos[1];
  obs[OBS.targetPos + 2] = surface;
  obs[OBS.targetYaw] = Math.sin(state.targetYaw);
  obs[OBS.targetYaw + 1] = Math.cos(state.targetYaw);
  obs[OBS.objectToTarget] = state.targetPos[0] - state.objectPos[0];
  obs[OBS.objectToTarget + 1] = state.targetPos[1] - state.objectPos[1];
  obs[OBS.objectToTarget + 2] = surface + task.object.halfSize[2] - state.objectPos[2];
  obs[OBS.task + TASK_NAMES.indexOf(state.task)] = 1;
  const period = task.object.yawPeriod;
  obs[OBS.eeToObjectYaw] = wrapAngle(state.objectYaw - state.eeYaw, period);
  obs[OBS.objectToTargetYaw] =
    task.yawTolerance === undefined ? 0 : wrapAngle(state.targetYaw - state.objectYaw, period);
  return obs;
}
