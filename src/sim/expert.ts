/**
 * Scripted expert: a closed-loop state machine over the observation, with seeded Gaussian action noise.
 *
 * Phases: reach (above the object, gripper yaw aligned with it) → descend → grasp (close 2 steps; retry
 * from reach if the weld did not take) → lift → move (object over the target) → align (yaw, rotate_place
 * only) → place (lower until resting height, still correcting xy/yaw) → release (open 2 steps) → retreat.
 * Motion is proportional (60 % of the remaining error per step, capped at 1 unit = 2 cm), so actions
 * ramp down smoothly near each waypoint. Noise (std `noise`, in action units) is added to the six pose
 * dims of the executed action, including the ignored roll/pitch; the gripper dim is exactly -1 or +1.
 */
import { gaussian, hashSeed, mulberry32 } from '../ml/data/random.js';
import { ACTION_DIM, POS_SCALE, ROT_SCALE } from './env.js';
import { clamp, wrapAngle } from './math.js';
import { OBS } from './observation.js';
import { targetSurfaceZ, type TaskSpec } from './tasks.js';

export const DEFAULT_EXPERT_NOISE = 0.1;
export const EXPERT_PHASES = [
  'reach',
  'descend',
  'grasp',
  'lift',
  'move',
  'align',
  'place',
  'release',
  'retreat',
] as const;
export type ExpertPhase = (typeof EXPERT_PHASES)[number];

export interface ExpertOptions {
  /** Std of the Gaussian noise added to the pose dims, in action units (default 0.1 = 2 mm/step). */
  noise?: number;
  /** Seed of the noise stream. */
  seed?: number;
}

const GAIN = 0.6;
const ROT_GAIN = 0.7;
const HOVER = 0.06;
const LIFT_Z = 0.15;

export class ScriptedExpert {
  phase: ExpertPhase = 'reach';
  private readonly task: TaskSpec;
  private readonly noise: number;
  private readonly normal: () => number;
  private phaseSteps = 0;

  constructor(task: TaskSpec, options: ExpertOptions = {}) {
    this.task = task;
    this.noise = options.noise ?? DEFAULT_EXPERT_NOISE;
    this.normal = gaussian(mulberry32(hashSeed(0xe4e7, options.seed ?? 0)));
  }

  /** The next action for observation `obs`, with noise (also advances the phase). */
  act(obs: Float32Array): Float32Array {
    return this.decide(obs).executed;
  }

  /**
   * The next action twice: `intended` is the expert's noise-free command, `executed` adds the noise. Demos
   * execute the noisy one (so the states cover small mistakes) and record the intended one as the label,
   * which is what the expert would do from that state (DART-style noise injection).
   */
  decide(obs: Float32Array): { executed: Float32Array; intended: Float32Array } {
    const clean = this.plan(obs);
    const intended = Float32Array.from(clean);
    const executed = new Float32Array(ACTION_DIM);
    for (let i = 0; i < 6; i++) {
      const noisy = this.noise > 0 ? clean[i]! + this.noise * this.normal() : clean[i]!;
      executed[i] = clamp(noisy, -1, 1);
    }
    executed[6] = clean[6]!;
    return { executed, intended };
  }

  private goTo(phase: ExpertPhase): void {
    this.phase = phase;
    this.phaseSteps = 0;
  }

  private plan(o: Float32Array): number[] {
    const task = this.task;
    const ee = [o[OBS.eePos]!, o[OBS.eePos + 1]!, o[OBS.eePos + 2]!];
    const eeYaw = Math.atan2(o[OBS.eeYaw]!, o[OBS.eeYaw + 1]!);
    const obj = [o[OBS.objectPos]!, o[OBS.objectPos + 1]!, o[OBS.objectPos + 2]!];
    const objYaw = Math.atan2(o[OBS.objectYaw]!, o[OBS.objectYaw + 1]!);
    const target = [o[OBS.targetPos]!, o[OBS.targetPos + 1]!];
    const targetYaw = Math.atan2(o[OBS.targetYaw]!, o[OBS.targetYaw + 1]!);
    const grasped = o[OBS.grasped]! > 0.5;
    const period = task.object.yawPeriod;
    const halfZ = task.object.halfSize[2];
    const restZ = targetSurfaceZ(task) + halfZ + 0.004;
    const alignTol = Math.max(0.003, 0.3 * task.xyTolerance);
    // Offset that moves the object (not the end-effector point) onto the target.
    const carryDx = target[0]! - obj[0]!;
    const carryDy = target[1]! - obj[1]!;
    const carryXY = Math.hypot(carryDx, carryDy);
    const yawToTarget = task.yawTolerance === undefined ? 0 : wrapAngle(targetYaw - objYaw, period);

    let goal = ee.slice();
    let dyaw = 0;
    let gripper = -1;
    this.phaseSteps++;
    for (let guard = 0; guard < 3; guard++) {
      const phase = this.phase;
      if (phase === 'reach') {
        goal = [obj[0]!, obj[1]!, obj[2]! + HOVER];
        dyaw = wrapAngle(objYaw - eeYaw, period);
        const xy = Math.hypot(goal[0]! - ee[0]!, goal[1]! - ee[1]!);
        if (xy < 0.006 && Math.abs(goal[2]! - ee[2]!) < 0.015 && Math.abs(dyaw) < 0.1) {
          this.goTo('descend');
          continue;
        }
      } else if (phase === 'descend') {
        goal = [obj[0]!, obj[1]!, obj[2]!];
        dyaw = wrapAngle(objYaw - eeYaw, period);
        if (Math.hypot(goal[0]! - ee[0]!, goal[1]! - ee[1]!, goal[2]! - ee[2]!) < 0.006) {
          this.goTo('grasp');
          continue;
        }
      } else if (phase === 'grasp') {
        gripper = 1;
        if (this.phaseSteps > 2) {
          this.goTo(grasped ? 'lift' : 'reach');
          continue;
        }
      } else if (phase === 'lift') {
        gripper = 1;
        goal = [ee[0]!, ee[1]!, LIFT_Z];
        if (!grasped) {
          this.goTo('reach');
          continue;
        }
        if (Math.abs(LIFT_Z - ee[2]!) < 0.015) {
          this.goTo('move');
          continue;
        }
      } else if (phase === 'move') {
        gripper = 1;
        goal = [ee[0]! + carryDx, ee[1]! + carryDy, LIFT_Z];
        if (!grasped) {
          this.goTo('reach');
          continue;
        }
        if (carryXY < alignTol) {
          this.goTo(task.yawTolerance === undefined ? 'place' : 'align');
          continue;
        }
      } else if (phase === 'align') {
        gripper = 1;
        goal = [ee[0]! + carryDx, ee[1]! + carryDy, LIFT_Z];
        dyaw = yawToTarget;
        if (Math.abs(yawToTarget) < 0.03) {
          this.goTo('place');
          continue;
        }
      } else if (phase === 'place') {
        gripper = 1;
        goal = [ee[0]! + carryDx, ee[1]! + carryDy, ee[2]! + (restZ - obj[2]!)];
        dyaw = yawToTarget;
        if (!grasped) {
          this.goTo('reach');
          continue;
        }
        if (Math.abs(restZ - obj[2]!) < 0.006 && carryXY < alignTol && Math.abs(yawToTarget) < 0.05) {
          this.goTo('release');
          continue;
        }
      } else if (phase === 'release') {
        gripper = -1;
        if (this.phaseSteps > 2) {
          this.goTo('retreat');
          continue;
        }
      } else {
        goal = [ee[0]!, ee[1]!, LIFT_Z];
      }
      break;
    }
    const action = [0, 0, 0, 0, 0, 0, gripper];
    for (let i = 0; i < 3; i++) action[i] = clamp((GAIN * (goal[i]! - ee[i]!)) / POS_SCALE, -1, 1);
    action[5] = clamp((ROT_GAIN * dyaw) / ROT_SCALE, -1, 1);
    return action;
  }
}
