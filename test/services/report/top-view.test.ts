import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderSvgs } from '../../../src/services/report/render.js';
import { topViewSpec } from '../../../src/services/report/specs.js';
import { ACTION_DIM, SimEnv, runEpisode, topViewTrack } from '../../../src/sim/index.js';
import { expectWellFormedXml, markGroup, pointLabels } from '../../helpers/svg.js';

let env: SimEnv;
beforeAll(async () => {
  env = await SimEnv.create('pick_place');
});
afterAll(() => env.dispose());

describe('topViewSpec', () => {
  it('draws a failed rollout with its outcome in red, the object where it stayed', async () => {
    // A policy that never moves: the episode runs out of steps, a real failure.
    env.reset(5);
    const result = await runEpisode(env, () => new Float32Array(ACTION_DIM));
    expect(result.success).toBe(false);
    const track = topViewTrack(result.trajectory);
    expect(track.objectEnd).toEqual(track.objectStart);
    const [svg] = await renderSvgs([topViewSpec(track, { seed: 5, ...result }, 'a policy that never moves')]);
    expectWellFormedXml(svg!);
    expect(svg).toMatch(
      new RegExp(`fill="#c62828"[^>]*>pick_place seed 5: failure after ${result.steps} steps</text>`),
    );
    expect(markGroup(svg!, 'line')).toContain('<path ');
    expect(pointLabels(markGroup(svg!, 'symbol')).map((point) => point.mark)).toEqual([
      'object end',
      'target',
      'object start',
    ]);
  });
});
