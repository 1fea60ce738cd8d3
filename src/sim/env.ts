/**
 * SimEnv: one MuJoCo scene of one task, stepped at 10 Hz with LIBERO-like 7-D actions.
 *
 * Action (Float32Array or number[] of ACTION_DIM = 7, each clipped to [-1, 1]):
 * - 0-2 delta position: 1 unit = POS_SCALE = 2 cm of end-effector motion per control step (0.2 m/s at 10 Hz);
 * - 3-5 delta rotation roll, pitch, yaw: 1 unit = ROT_SCALE = 0.15 rad (≈ 8.6°) per control step. Only yaw
 *   (index 5) acts; roll and pitch are accepted and ignored (the expert writes 0 + noise there);
 * - 6 gripper: > 0 closes (+1), ≤ 0 opens (-1). The fingers move at a finite speed, as a Panda gripper's do:
 *   the closure (0 open, 1 closed) changes by GRIPPER_RATE per control step toward the command. The grasp
 *   takes when the closure reaches GRASP_CLOSURE with the object within GRASP_RADIUS, and lets go when it
 *   falls below RELEASE_CLOSURE: a single-step open command while carrying slackens the grip but holds.
 * The mocap target moves linearly over the SUBSTEPS physics steps of a control step, so a carried
 * object is dragged smoothly. The end-effector point is clamped to WORKSPACE.
 */
import { inputError } from '../core/errors.js';
import { bodyId, compileModel, type CompiledModel } from './mujoco.js';
import { clamp, quatMul, quatYaw, rotateInv, wrapAngle, yawQuat, type Quat, type Vec3 } from './math.js';
import { observe, type SimState } from './observation.js';
import { sceneXml, SUBSTEPS } from './scene.js';
import {
  sampleLayout,
  targetSurfaceZ,
  TASKS,
  type EpisodeLayout,
  type TaskName,
  type TaskSpec,
} from './tasks.js';

export const ACTION_DIM = 7;
export const POS_SCALE = 0.02;
export const ROT_SCALE = 0.15;
/** The gripper grasps when it closes with the object's centre within this distance (m) of the end-effector point. */
export const GRASP_RADIUS = 0.025;
/** Change of the gripper closure per control step: fully open to fully closed in 3 steps (0.3 s). */
export const GRIPPER_RATE = 1 / 3;
/** Closure at which the fingers hold the object (reached on the second closing step). */
export const GRASP_CLOSURE = 0.6;
/** Closure under which a held object is let go (reached on the second opening step). */
export const RELEASE_CLOSURE = 0.5;
export const WORKSPACE = { min: [-0.3, -0.3, 0.005] as Vec3, max: [0.3, 0.3, 0.35] as Vec3 };
/** Object speed (m/s) under which it counts as at rest. */
export const REST_SPEED = 0.05;

export interface StepResult {
  obs: Float32Array;
  success: boolean;
  /** success, or the task's maxSteps reached. */
  done: boolean;
  steps: number;
}

export interface EnvOptions {
  /** Override the task's control-step limit. */
  maxSteps?: number;
}

/** Success of `task` in `state`, judged only from the simulator state (see tasks.ts for the table). */
export function isSuccess(task: TaskSpec, state: SimState): boolean {
  if (state.grasped || state.objectSpeed > REST_SPEED || state.objectUpright < Math.cos((20 * Math.PI) / 180))
    return false;
  const dx = state.objectPos[0] - state.targetPos[0];
  const dy = state.objectPos[1] - state.targetPos[1];
  if (Math.hypot(dx, dy) > task.xyTolerance) return false;
  const bottom = state.objectPos[2] - task.object.halfSize[2];
  if (task.target.kind === 'hole') {
    if (bottom > task.target.rimHeight - 0.02) return false;
  } else {
    const surface = targetSurfaceZ(task);
    if (bottom < surface - 0.004 || bottom > surface + 0.01) return false;
  }
  if (task.yawTolerance !== undefined) {
    const err = wrapAngle(state.objectYaw - state.targetYaw, task.object.yawPeriod);
    if (Math.abs(err) > task.yawTolerance) return false;
  }
  return true;
}

export class SimEnv {
  readonly task: TaskSpec;
  readonly maxSteps: number;
  /** Physics steps run since creation (for speed measurements). */
  physicsSteps = 0;
  private readonly sim: CompiledModel;
  private readonly objectBody: number;
  private readonly eeBody: number;
  private eePos: Vec3 = [0, 0, 0.2];
  private eeYaw = 0;
  /** 0 open, 1 closed. */
  private gripperClosure = 0;
  private grasped = false;
  private layout: EpisodeLayout | undefined;
  private stepCount = 0;
  private disposed = false;

  private constructor(task: TaskSpec, sim: CompiledModel, options: EnvOptions) {
    this.task = task;
    this.sim = sim;
    this.maxSteps = options.maxSteps ?? task.maxSteps;
    this.objectBody = bodyId(sim.mujoco, sim.model, 'object');
    this.eeBody = bodyId(sim.mujoco, sim.model, 'ee');
    if (sim.model.nmocap !== 2 || sim.model.neq !== 1 || sim.model.nq !== 7) {
      throw new Error('unexpected scene layout (mocap, equality or joint count)');
    }
  }

  static async create(task: TaskName, options: EnvOptions = {}): Promise<SimEnv> {
    const spec = TASKS[task];
    return new SimEnv(spec, await compileModel(sceneXml(spec)), options);
  }

  get steps(): number {
    return this.stepCount;
  }

  get episodeLayout(): EpisodeLayout {
    if (!this.layout) throw new Error('reset() the environment first');
    return this.layout;
  }

  /** Starts episode `seed` (deterministic layout) or an explicit layout; returns the first observation. */
  reset(seedOrLayout: number | EpisodeLayout): Float32Array {
    this.checkAlive();
    const layout = typeof seedOrLayout === 'number' ? sampleLayout(this.task, seedOrLayout) : seedOrLayout;
    this.layout = layout;
    const { mujoco, model, data } = this.sim;
    mujoco.mj_resetData(model, data);
    data.eq_active[0] = 0;
    this.grasped = false;
    this.gripperClosure = 0;
    this.stepCount = 0;
    this.eePos = [...layout.eePos];
    this.eeYaw = 0;
    this.writeMocap(0, this.eePos, this.eeYaw);
    this.writeMocap(1, [layout.targetXY[0], layout.targetXY[1], 0], layout.targetYaw);
    this.setObjectPose(
      [layout.objectXY[0], layout.objectXY[1], this.task.object.halfSize[2]],
      layout.objectYaw,
    );
    // Let contacts settle (not counted as control steps).
    for (let i = 0; i < 20; i++) this.physicsStep();
    return this.observe();
  }

  /** Places the object by hand (qpos) at rest; used by tests and by resets. */
  setObjectPose(pos: Vec3, yaw: number): void {
    this.checkAlive();
    const { mujoco, model, data } = this.sim;
    const qpos = data.qpos as Float64Array;
    qpos.set(pos, 0);
    qpos.set(yawQuat(yaw), 3);
    (data.qvel as Float64Array).fill(0);
    mujoco.mj_forward(model, data);
  }

  /** Runs physics without moving the end effector (e.g. to let a hand-placed object settle). */
  settle(physicsSteps: number): void {
    this.checkAlive();
    for (let i = 0; i < physicsSteps; i++) this.physicsStep();
  }

  /** Applies one 7-D action for one control step (SUBSTEPS physics steps). */
  step(action: ArrayLike<number>): StepResult {
    this.checkAlive();
    if (!this.layout) throw new Error('reset() the environment before step()');
    if (action.length < ACTION_DIM) {
      throw inputError(
        `A simulator action has ${action.length} values, expected ${ACTION_DIM}`,
        'Actions are [dx, dy, dz, droll, dpitch, dyaw, gripper].',
      );
    }
    const a = Array.from({ length: ACTION_DIM }, (_, i) => {
      const x = action[i]!;
      if (!Number.isFinite(x)) {
        throw inputError(
          `Action value ${i} is ${x}`,
          'The policy produced a non-finite action; check its outputs.',
        );
      }
      return clamp(x, -1, 1);
    });
    const close = a[6]! > 0;
    const before = this.gripperClosure;
    this.gripperClosure = clamp(before + (close ? GRIPPER_RATE : -GRIPPER_RATE), 0, 1);
    // Closing through the grasp closure takes hold of what is between the fingers, if anything.
    if (before < GRASP_CLOSURE && this.gripperClosure >= GRASP_CLOSURE - 1e-9) this.tryGrasp();
    if (this.grasped && this.gripperClosure < RELEASE_CLOSURE) this.release();

    const from = this.eePos;
    const fromYaw = this.eeYaw;
    const to: Vec3 = [0, 1, 2].map((i) =>
      clamp(from[i]! + a[i]! * POS_SCALE, WORKSPACE.min[i]!, WORKSPACE.max[i]!),
    ) as Vec3;
    const dyaw = a[5]! * ROT_SCALE;
    for (let k = 1; k <= SUBSTEPS; k++) {
      const s = k / SUBSTEPS;
      this.writeMocap(
        0,
        [0, 1, 2].map((i) => from[i]! + s * (to[i]! - from[i]!)) as Vec3,
        fromYaw + s * dyaw,
      );
      this.physicsStep();
    }
    this.eePos = to;
    this.eeYaw = wrapAngle(fromYaw + dyaw);
    this.stepCount++;
    const success = this.isSuccess();
    return {
      obs: this.observe(),
      success,
      done: success || this.stepCount >= this.maxSteps,
      steps: this.stepCount,
    };
  }

  state(): SimState {
    this.checkAlive();
    const data = this.sim.data;
    const qpos = data.qpos as Float64Array;
    const qvel = data.qvel as Float64Array;
    const q: Quat = [qpos[3]!, qpos[4]!, qpos[5]!, qpos[6]!];
    // z axis of the object in world: third column of its rotation matrix.
    const upright = 1 - 2 * (q[1] * q[1] + q[2] * q[2]);
    return {
      task: this.task.name,
      eePos: [...this.eePos],
      eeYaw: this.eeYaw,
      gripperClosure: this.gripperClosure,
      grasped: this.grasped,
      objectPos: [qpos[0]!, qpos[1]!, qpos[2]!],
      objectYaw: quatYaw(q),
      objectUpright: upright,
      objectSpeed: Math.hypot(qvel[0]!, qvel[1]!, qvel[2]!),
      targetPos: this.layout ? [...this.layout.targetXY] : [0, 0],
      targetYaw: this.layout?.targetYaw ?? 0,
    };
  }

  observe(): Float32Array {
    return observe(this.state());
  }

  isSuccess(): boolean {
    return isSuccess(this.task, this.state());
  }

  /** Frees the wasm model and data; the environment cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.sim.data.delete();
    this.sim.model.delete();
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('this SimEnv was disposed');
  }

  private physicsStep(): void {
    this.sim.mujoco.mj_step(this.sim.model, this.sim.data);
    this.physicsSteps++;
  }

  private writeMocap(index: number, pos: Vec3, yaw: number): void {
    const data = this.sim.data;
    (data.mocap_pos as Float64Array).set(pos, index * 3);
    (data.mocap_quat as Float64Array).set(yawQuat(yaw), index * 4);
  }

  /** Closing near the object: weld it at its current pose relative to the end effector. */
  private tryGrasp(): void {
    const { mujoco, model, data } = this.sim;
    mujoco.mj_kinematics(model, data);
    const xpos = data.xpos as Float64Array;
    const xquat = data.xquat as Float64Array;
    const e = this.eeBody * 3;
    const o = this.objectBody * 3;
    const rel: Vec3 = [xpos[o]! - xpos[e]!, xpos[o + 1]! - xpos[e + 1]!, xpos[o + 2]! - xpos[e + 2]!];
    if (Math.hypot(...rel) > GRASP_RADIUS) return;
    const qe: Quat = [
      xquat[this.eeBody * 4]!,
      xquat[this.eeBody * 4 + 1]!,
      xquat[this.eeBody * 4 + 2]!,
      xquat[this.eeBody * 4 + 3]!,
    ];
    const qo: Quat = [
      xquat[this.objectBody * 4]!,
      xquat[this.objectBody * 4 + 1]!,
      xquat[this.objectBody * 4 + 2]!,
      xquat[this.objectBody * 4 + 3]!,
    ];
    // Weld eq_data: anchor (3, on body2), relpos (3, in body1's frame), relquat (4) = q1⁻¹ q2, torquescale.
    const eqData = model.eq_data as Float64Array;
    eqData.set([0, 0, 0], 0);
    eqData.set(rotateInv(qe, rel), 3);
    eqData.set(quatMul([qe[0], -qe[1], -qe[2], -qe[3]], qo), 6);
    eqData[10] = 1;
    (data.eq_active as Uint8Array)[0] = 1;
    this.grasped = true;
  }

  private release(): void {
    (this.sim.data.eq_active as Uint8Array)[0] = 0;
    this.grasped = false;
  }
}
