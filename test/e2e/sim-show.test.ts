import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rfsq, tempDir } from '../helpers/cli.js';
import { expectWellFormedXml, markGroup, pointLabels } from '../helpers/svg.js';

describe('rfsq sim show --out (built binary)', () => {
  it('writes the top view as an SVG chart when the name ends in .svg, and as text otherwise', async () => {
    const dir = tempDir();
    const svgFile = path.join(dir, 'pictures', 'insert.svg');
    const show = await rfsq(['sim', 'show', '--task', 'insert', '--seed', '3', '--out', svgFile, '--json']);
    expect(show.exitCode, show.stderr).toBe(0);
    const episode = JSON.parse(show.stdout);
    expect(episode.success).toBe(true);
    const { track } = episode;
    // Every 6th state and the last one: the path is a small record, not the whole trajectory.
    expect(track.path).toHaveLength(Math.floor(episode.steps / 6) + 1 + (episode.steps % 6 === 0 ? 0 : 1));

    const svg = readFileSync(svgFile, 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expectWellFormedXml(svg);
    // The end-effector path: one line whose vertices are the track's points.
    const line = markGroup(svg, 'line');
    expect(line.match(/<path /g)).toHaveLength(1);
    const d = /\bd="(M[^"]*)"/.exec(line)![1]!;
    expect(d.split(/[ML]/).filter(Boolean)).toHaveLength(track.path.length);
    // The object's start and end and the target: three symbols, where the track puts them.
    const points = pointLabels(markGroup(svg, 'symbol'));
    expect(points.map((point) => point.mark)).toEqual(['object end', 'target', 'object start']);
    expect(points[0]!.y).toBeCloseTo(track.objectEnd[1], 3);
    expect(points[1]!.x).toBeCloseTo(track.target[0], 3);
    expect(points[1]!.y).toBeCloseTo(track.target[1], 3);
    expect(points[2]!.x).toBeCloseTo(track.objectStart[0], 3);
    expect(svg).toContain(`>insert seed 3: success after ${episode.steps} steps</text>`);
    for (const label of ['gripper path', 'object start', 'object end', 'target'])
      expect(svg).toContain(`>${label}</text>`);

    const textFile = path.join(dir, 'insert.txt');
    const text = await rfsq(['sim', 'show', '--task', 'insert', '--seed', '3', '--out', textFile]);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(readFileSync(textFile, 'utf8')).toBe(`${episode.picture}\n`);
  });
});
