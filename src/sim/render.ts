/**
 * ASCII top view of the table (x to the right, y up), for `rfsq sim show` and for debugging.
 *
 * Markers: `T` target footprint (plate, or the hole's walls with `+` at its centre), `*` end-effector path,
 * `E` end effector (last state), `s` object start, `O` object footprint (last state, drawn over `E`).
 * Later markers win.
 */
import { rotateInv, yawQuat } from './math.js';
import type { SimState } from './observation.js';
import type { Trajectory } from './rollout.js';
import { TASKS, type TaskName } from './tasks.js';

export interface TopViewOptions {
  /** Grid columns (default 41) and rows (default 21) covering the ±HALF_EXTENT square. */
  width?: number;
  height?: number;
}

/** Half the side of the square of table both top views cover (m, centred on the table's centre). */
export const TOP_VIEW_HALF_EXTENT = 0.3;
const HALF_EXTENT = TOP_VIEW_HALF_EXTENT;

/**
 * A rollout from above as data, small enough to keep in a results file: the end-effector path (xy, every
 * `stride`-th state and always the last), where the object started and ended, and the target. Metres,
 * rounded to 0.1 mm. The chart of `rfsq sim show --out x.svg` and of the report's miniature draws it.
 */
export interface TopViewTrack {
  task: TaskName;
  stride: number;
  path: [number, number][];
  objectStart: [number, number];
  objectEnd: [number, number];
  target: [number, number];
}

/** States kept per path point: about 30 points for the longest episodes (180 steps). */
export const TOP_VIEW_STRIDE = 6;

const xy = (point: readonly number[]): [number, number] => [
  Math.round(point[0]! * 1e4) / 1e4,
  Math.round(point[1]! * 1e4) / 1e4,
];

export function topViewTrack(trajectory: Trajectory, stride = TOP_VIEW_STRIDE): TopViewTrack {
  const { states } = trajectory;
  const first = states[0];
  const last = states.at(-1);
  if (!first || !last) throw new Error('a trajectory holds at least its initial state');
  const kept = states.filter((_, index) => index % stride === 0 || index === states.length - 1);
  return {
    task: last.task,
    stride,
    path: kept.map((state) => xy(state.eePos)),
    objectStart: xy(first.objectPos),
    objectEnd: xy(last.objectPos),
    target: xy(last.targetPos),
  };
}

function isTrajectory(x: Trajectory | SimState | readonly SimState[]): x is Trajectory {
  return !Array.isArray(x) && 'states' in x;
}

export function renderTopView(
  input: Trajectory | SimState | readonly SimState[],
  options: TopViewOptions = {},
): string {
  const states: readonly SimState[] = isTrajectory(input)
    ? input.states
    : Array.isArray(input)
      ? input
      : [input as SimState];
  const first = states[0];
  const last = states.at(-1);
  if (!first || !last) return '(no states)';
  const width = options.width ?? 41;
  const height = options.height ?? 21;
  const grid = Array.from({ length: height }, () => Array<string>(width).fill('.'));
  const cellW = (2 * HALF_EXTENT) / width;
  const cellH = (2 * HALF_EXTENT) / height;
  const centre = (col: number, row: number): [number, number] => [
    -HALF_EXTENT + (col + 0.5) * cellW,
    HALF_EXTENT - (row + 0.5) * cellH,
  ];
  const put = (x: number, y: number, ch: string): void => {
    const col = Math.floor((x + HALF_EXTENT) / cellW);
    const row = Math.floor((HALF_EXTENT - y) / cellH);
    if (col >= 0 && col < width && row >= 0 && row < height) grid[row]![col] = ch;
  };
  /** Marks every cell whose centre lies inside the box (half sizes hx, hy) at (x, y, yaw), and the centre cell. */
  const fillBox = (x: number, y: number, yaw: number, hx: number, hy: number, ch: string, hole = 0): void => {
    const q = yawQuat(yaw);
    for (let row = 0; row < height; row++) {
      for (let col = 0; col < width; col++) {
        const [cx, cy] = centre(col, row);
        const [lx, ly] = rotateInv(q, [cx - x, cy - y, 0]);
        const inside = Math.abs(lx) <= hx && Math.abs(ly) <= hy;
        const inHole = Math.abs(lx) < hole && Math.abs(ly) < hole;
        if (inside && !inHole) grid[row]![col] = ch;
      }
    }
    if (hole === 0) put(x, y, ch);
  };

  const task = TASKS[last.task];
  const t = task.target;
  if (t.kind === 'plate') {
    fillBox(last.targetPos[0], last.targetPos[1], last.targetYaw, t.halfSize[0], t.halfSize[1], 'T');
  } else {
    const outer = t.innerHalf + t.wall;
    fillBox(last.targetPos[0], last.targetPos[1], last.targetYaw, outer, outer, 'T', t.innerHalf);
    put(last.targetPos[0], last.targetPos[1], '+');
  }
  for (const s of states) put(s.eePos[0], s.eePos[1], '*');
  if (states.length > 1) put(first.objectPos[0], first.objectPos[1], 's');
  const [hx, hy] = task.object.halfSize;
  put(last.eePos[0], last.eePos[1], 'E');
  fillBox(last.objectPos[0], last.objectPos[1], last.objectYaw, hx, hy, 'O');

  const border = `+${'-'.repeat(width)}+`;
  const lines = [border, ...grid.map((r) => `|${r.join('')}|`), border];
  lines.push(
    `${last.task}: T target  O object  s object start  * gripper path  E gripper (${last.gripperClosure >= 1 ? 'closed' : last.gripperClosure <= 0 ? 'open' : 'closing/opening'})`,
  );
  return lines.join('\n');
}
