/**
 * The simulated LIBERO-like task family: one object, one target, four tasks.
 *
 * | task           | object                | target                         | success (from MjData)                      |
 * | -------------- | --------------------- | ------------------------------ | ------------------------------------------ |
 * | pick_place     | 4 cm cube             | 10 cm square plate             | centre within 3 cm (xy) of the plate centre |
 * | place_precise  | 4 cm cube             | 6 cm square marker             | within 1 cm (xy)                            |
 * | insert         | 2.4 × 2.4 × 8 cm peg  | square hole (3.6 cm, rim 4 cm) | within 8 mm (xy), peg bottom ≥ 2 cm below the rim |
 * | rotate_place   | 8 × 2.4 × 4 cm bar    | 12 × 5 cm plate with a yaw     | within 3 cm (xy) and yaw within 10° (mod 180°) |
 *
 * Every task also requires the object released (gripper open, no grasp), upright, at rest and resting
 * on the target surface. The fine-grained tasks are place_precise, insert and rotate_place.
 */
import { gaussian, hashSeed, mulberry32 } from '../ml/data/random.js';
import { inputError } from '../core/errors.js';
import type { Vec3 } from './math.js';

export const TASK_NAMES = ['pick_place', 'place_precise', 'insert', 'rotate_place'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

export interface TaskSpec {
  name: TaskName;
  /** Position in TASK_NAMES (the observation's one-hot index). */
  index: number;
  description: string;
  fineGrained: boolean;
  object: {
    kind: 'cube' | 'peg' | 'bar';
    /** Box half extents (m). */
    halfSize: Vec3;
    /** The object looks the same after a yaw of this period (rad): π/2 for square sections, π for the bar. */
    yawPeriod: number;
  };
  target:
    | { kind: 'plate'; halfSize: [number, number]; thickness: number }
    | { kind: 'hole'; innerHalf: number; wall: number; rimHeight: number };
  /** Max distance (m, xy) between object centre and target centre. */
  xyTolerance: number;
  /** Max yaw error (rad, modulo the object's yaw period) or undefined when yaw is free. */
  yawTolerance: number | undefined;
  /** Control steps (10 Hz) before the episode ends as a failure. */
  maxSteps: number;
}

const deg = Math.PI / 180;

export const TASKS: Record<TaskName, TaskSpec> = {
  pick_place: {
    name: 'pick_place',
    index: 0,
    description: 'pick the cube and place it on the plate (3 cm tolerance)',
    fineGrained: false,
    object: { kind: 'cube', halfSize: [0.02, 0.02, 0.02], yawPeriod: Math.PI / 2 },
    target: { kind: 'plate', halfSize: [0.05, 0.05], thickness: 0.005 },
    xyTolerance: 0.03,
    yawTolerance: undefined,
    maxSteps: 160,
  },
  place_precise: {
    name: 'place_precise',
    index: 1,
    description: 'place the cube on the small marker (1 cm tolerance)',
    fineGrained: true,
    object: { kind: 'cube', halfSize: [0.02, 0.02, 0.02], yawPeriod: Math.PI / 2 },
    target: { kind: 'plate', halfSize: [0.03, 0.03], thickness: 0.005 },
    xyTolerance: 0.01,
    yawTolerance: undefined,
    maxSteps: 160,
  },
  insert: {
    name: 'insert',
    index: 2,
    description: 'insert the peg into the hole (8 mm tolerance, peg bottom 2 cm below the rim)',
    fineGrained: true,
    object: { kind: 'peg', halfSize: [0.012, 0.012, 0.04], yawPeriod: Math.PI / 2 },
    target: { kind: 'hole', innerHalf: 0.018, wall: 0.012, rimHeight: 0.04 },
    xyTolerance: 0.008,
    yawTolerance: undefined,
    maxSteps: 180,
  },
  rotate_place: {
    name: 'rotate_place',
    index: 3,
    description: 'place the bar on the plate with the plate’s yaw (3 cm, 10° tolerance)',
    fineGrained: true,
    object: { kind: 'bar', halfSize: [0.04, 0.012, 0.02], yawPeriod: Math.PI },
    target: { kind: 'plate', halfSize: [0.06, 0.025], thickness: 0.005 },
    xyTolerance: 0.03,
    yawTolerance: 10 * deg,
    maxSteps: 180,
  },
};

export function parseTaskName(text: string): TaskName {
  const name = TASK_NAMES.find((t) => t === text.trim().toLowerCase());
  if (!name) {
    throw inputError(
      `Unknown simulated task "${text}"`,
      `Choose one of ${TASK_NAMES.join(', ')} (fine-grained: ${TASK_NAMES.filter((t) => TASKS[t].fineGrained).join(', ')}).`,
    );
  }
  return name;
}

/** Height of the surface the object must rest on (plate top, or the table inside the hole). */
export function targetSurfaceZ(task: TaskSpec): number {
  return task.target.kind === 'plate' ? task.target.thickness : 0;
}

/** Randomized initial conditions of one episode. */
export interface EpisodeLayout {
  eePos: Vec3;
  objectXY: [number, number];
  objectYaw: number;
  targetXY: [number, number];
  /** Target yaw: the required object yaw for rotate_place, 0 for the other tasks. */
  targetYaw: number;
}

/** Object and target spots lie in this square (m) around the table centre, at least MIN_SEPARATION apart. */
export const SPAWN_HALF_RANGE = 0.15;
export const MIN_SEPARATION = 0.12;

/** Deterministic layout of episode `seed` of `task` (independent streams per task). */
export function sampleLayout(task: TaskSpec, seed: number): EpisodeLayout {
  const uniform = mulberry32(hashSeed(0x51ae, task.index, seed));
  const normal = gaussian(uniform);
  const spot = (): [number, number] => [
    (uniform() * 2 - 1) * SPAWN_HALF_RANGE,
    (uniform() * 2 - 1) * SPAWN_HALF_RANGE,
  ];
  const objectXY = spot();
  let targetXY = spot();
  while (Math.hypot(targetXY[0] - objectXY[0], targetXY[1] - objectXY[1]) < MIN_SEPARATION) targetXY = spot();
  const objectYaw = (uniform() * 2 - 1) * Math.PI;
  const targetYaw = task.yawTolerance === undefined ? 0 : (uniform() * 2 - 1) * Math.PI;
  const eePos: Vec3 = [0.03 * normal(), 0.03 * normal(), 0.2 + 0.02 * normal()];
  return { eePos, objectXY, objectYaw, targetXY, targetYaw };
}
