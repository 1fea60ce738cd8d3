import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimEnv, renderTopView, runExpertEpisode, type SimState } from '../../src/sim/index.js';

let env: SimEnv;
beforeAll(async () => {
  env = await SimEnv.create('insert');
});
afterAll(() => env.dispose());

const state = (over: Partial<SimState>): SimState => ({
  task: 'pick_place',
  eePos: [0.2, 0.2, 0.2],
  eeYaw: 0,
  gripperClosure: 0,
  grasped: false,
  objectPos: [-0.2, -0.1, 0.02],
  objectYaw: 0,
  objectUpright: 1,
  objectSpeed: 0,
  targetPos: [0.1, -0.15],
  targetYaw: 0,
  ...over,
});

/** Row and column of the first `ch` in the grid (inside the border). */
function find(view: string, ch: string): [number, number] {
  const rows = view.split('\n').slice(1, 22);
  const row = rows.findIndex((r) => r.slice(1, -1).includes(ch));
  return [row, row < 0 ? -1 : rows[row]!.slice(1, -1).indexOf(ch)];
}

describe('renderTopView', () => {
  it('places the object, the target and the gripper where they are', () => {
    const view = renderTopView(state({}));
    const [oRow, oCol] = find(view, 'O');
    const [tRow, tCol] = find(view, 'T');
    const [eRow, eCol] = find(view, 'E');
    expect(oCol).toBeGreaterThanOrEqual(0);
    expect(oCol).toBeLessThan(20); // x < 0: left half of 41 columns
    expect(tCol).toBeGreaterThan(20);
    expect(eRow).toBeLessThan(oRow); // y = 0.2 is above y = -0.1
    expect(eCol).toBeGreaterThan(tCol);
    expect(tRow).toBeGreaterThan(oRow - 1);
    expect(view).toContain('T target');
    expect(view.split('\n')[0]).toBe(`+${'-'.repeat(41)}+`);
  });

  it('draws the path of an expert episode and the hole of the insert task', () => {
    const { trajectory } = runExpertEpisode(env, 2);
    const view = renderTopView(trajectory);
    for (const marker of ['*', 's', 'O', 'T', '+']) expect(view).toContain(marker);
    expect(view).toContain('insert');
  });
});
