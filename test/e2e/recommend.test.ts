import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rfsq, tempDir } from '../helpers/cli.js';

describe('rfsq recommend (built binary)', () => {
  it('says A for 4 days and 44%, as JSON', async () => {
    const result = await rfsq(['recommend', '--time-budget', '4d', '--improvement', '44', '--json']);
    expect(result.exitCode).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document.strategy).toBe('A');
    expect(document.rule.id).toBe('above40/atLeast3d');
    expect(document.inputs.timeBudget).toEqual({ text: '4d', hours: 96 });
    expect(document.steps).toHaveLength(4);
    expect(document.expectedGains.label).toBe('expected, from the integration plan, not measured');
    expect(result.stderr).toBe('');
  });

  it('computes the improvement from two MSEs', async () => {
    const result = await rfsq([
      'recommend',
      '--time-budget',
      '1d',
      '--naive-mse',
      '0.02',
      '--robust-mse',
      '0.015',
      '--json',
    ]);
    const document = JSON.parse(result.stdout);
    expect(document.inputs.improvementPct).toBeCloseTo(25);
    expect(document.strategy).toBe('B');
  });

  it('reads the improvement from a metrics file', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'metrics.json');
    writeFileSync(file, JSON.stringify({ 'phase1.naive_mse': 0.018, 'phase1.robust_mse': 0.012 }));
    const result = await rfsq(['recommend', '--time-budget', '3d', '--from', file, '--json']);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout).strategy).toBe('C');
  });

  it('prints the plan in text, with the gains labelled as expected', async () => {
    const result = await rfsq(['recommend', '--time-budget', '2d', '--not-measured']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('Strategy C');
    expect(result.stdout).toContain('expected, from the integration plan, not measured');
    expect(result.stdout).toMatch(/Next: (npx )?rfsq compare --train --data demo/);
    expect(result.stdout).not.toContain('\u001b[');
  });

  it('uses the time budget from the settings', async () => {
    const configDir = tempDir();
    expect((await rfsq(['config', 'set', 'time-budget', '6h'], { configDir })).exitCode).toBe(0);
    const result = await rfsq(['recommend', '--not-measured', '--json'], { configDir });
    expect(JSON.parse(result.stdout).strategy).toBe('B');
  });

  it.each([
    [
      ['recommend', '--time-budget', '3 days', '--improvement', '44'],
      /--time-budget "3 days" is not a duration/,
    ],
    [['recommend', '--time-budget', '3d', '--improvement', '-4'], /--improvement -4 is negative/],
    [['recommend', '--time-budget', '3d', '--improvement', 'lots'], /--improvement "lots" is not a number/],
    [['recommend', '--time-budget', '3d', '--naive-mse', '0.02'], /--naive-mse needs --robust-mse/],
    [['recommend', '--time-budget', '3d', '--from', '/nonexistent/m.json'], /does not exist/],
    [['recommend', '--time-budget', '3d'], /the measured improvement is missing/],
    [['recommend', '--improvement', '44', '--no-input'], /the time budget is missing/],
    [['recommend', '--time-budget', '3d', '--improvment', '4'], /unknown option '--improvment'/],
    [['recommend', '--time-budget', '3d', '--improvement', '4', '--not-measured'], /one way only/],
  ])('rejects %j with exit 2 and a hint', async (args, message) => {
    const result = await rfsq(args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^hint: /m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  });

  it('rejects a malformed metrics file', async () => {
    const file = path.join(tempDir(), 'bad.json');
    writeFileSync(file, '{"phase1.naive_mse": 0.02,');
    const result = await rfsq(['recommend', '--time-budget', '3d', '--from', file]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/is not valid JSON/);
  });

  it('shows a stack trace only with --debug', async () => {
    const result = await rfsq(['recommend', '--time-budget', 'x', '--improvement', '4', '--debug']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/\n\s+at /);
  });
});
