/**
 * MJCF for one task, generated in TypeScript.
 *
 * - The table is a box whose top is the plane z = 0; the workspace is the 60 × 60 cm square around the origin.
 * - The end effector `ee` is a mocap body (position + yaw set by the environment, not simulated). Its geoms
 *   are visual only (contype/conaffinity 0): it never pushes the object, it only carries it.
 * - Grasping: the weld equality `grasp` between `ee` and `object` is inactive at load. When the gripper
 *   closes while the object's centre is within GRASP_RADIUS of the end-effector point, the environment
 *   writes the current relative pose into the weld's eq_data and activates it; opening the gripper
 *   deactivates it. So the object follows the end effector only while the gripper is closed on it.
 * - The target is a second mocap body (static for the physics, moved once per episode): a thin plate,
 *   or four walls around a square hole.
 * - The object is a free-floating box (cube, peg or bar) with 50 g of mass.
 */
import type { TaskSpec } from './tasks.js';

/** MuJoCo timestep (s) and physics steps per control step: 2 ms × 50 = 10 Hz control. */
export const TIMESTEP = 0.002;
export const SUBSTEPS = 50;
export const CONTROL_HZ = 1 / (TIMESTEP * SUBSTEPS);

const f = (x: number): string => String(Number(x.toFixed(6)));
const v = (...xs: number[]): string => xs.map(f).join(' ');

function targetGeoms(task: TaskSpec): string {
  const t = task.target;
  if (t.kind === 'plate') {
    return `<geom name="target_plate" type="box" size="${v(t.halfSize[0], t.halfSize[1], t.thickness / 2)}" pos="0 0 ${f(t.thickness / 2)}" rgba="0.2 0.6 0.9 1"/>`;
  }
  const h = t.rimHeight / 2;
  const off = t.innerHalf + t.wall / 2;
  const long = t.innerHalf + t.wall;
  return [
    `<geom name="hole_wall_px" type="box" size="${v(t.wall / 2, long, h)}" pos="${v(off, 0, h)}" rgba="0.2 0.6 0.9 1"/>`,
    `<geom name="hole_wall_nx" type="box" size="${v(t.wall / 2, long, h)}" pos="${v(-off, 0, h)}" rgba="0.2 0.6 0.9 1"/>`,
    `<geom name="hole_wall_py" type="box" size="${v(t.innerHalf, t.wall / 2, h)}" pos="${v(0, off, h)}" rgba="0.2 0.6 0.9 1"/>`,
    `<geom name="hole_wall_ny" type="box" size="${v(t.innerHalf, t.wall / 2, h)}" pos="${v(0, -off, h)}" rgba="0.2 0.6 0.9 1"/>`,
  ].join('\n      ');
}

export function sceneXml(task: TaskSpec): string {
  const [hx, hy, hz] = task.object.halfSize;
  return `<mujoco model="rfsq-${task.name}">
  <compiler angle="radian"/>
  <option timestep="${f(TIMESTEP)}" gravity="0 0 -9.81" integrator="implicitfast" cone="elliptic" impratio="10"/>
  <default>
    <geom friction="1 0.005 0.0001" condim="4"/>
  </default>
  <worldbody>
    <light pos="0 0 1.5" dir="0 0 -1"/>
    <geom name="table" type="box" size="0.4 0.4 0.02" pos="0 0 -0.02" rgba="0.6 0.5 0.4 1"/>
    <body name="ee" mocap="true" pos="0 0 0.2">
      <geom name="ee_palm" type="box" size="0.01 0.035 0.006" pos="0 0 0.03" contype="0" conaffinity="0" rgba="0.3 0.3 0.3 1"/>
      <geom name="ee_finger_l" type="box" size="0.006 0.004 0.02" pos="0 0.03 0.01" contype="0" conaffinity="0" rgba="0.3 0.3 0.3 1"/>
      <geom name="ee_finger_r" type="box" size="0.006 0.004 0.02" pos="0 -0.03 0.01" contype="0" conaffinity="0" rgba="0.3 0.3 0.3 1"/>
    </body>
    <body name="target" mocap="true" pos="0.1 0 0">
      ${targetGeoms(task)}
    </body>
    <body name="object" pos="0 0 ${f(hz)}">
      <freejoint name="object_free"/>
      <geom name="object_geom" type="box" size="${v(hx, hy, hz)}" mass="0.05" rgba="0.9 0.3 0.2 1"/>
    </body>
  </worldbody>
  <equality>
    <weld name="grasp" body1="ee" body2="object" active="false" solref="0.01 1"/>
  </equality>
</mujoco>
`;
}
