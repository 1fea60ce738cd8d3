import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRunState, type RunStatus } from '../../src/pipeline/state.js';
import { rfsq, tempDir } from '../helpers/cli.js';

/** A project whose saved run ended with `status`, its rfsq process gone (this test's pid lives on). */
function projectWithRun(status: RunStatus): string {
  const dir = tempDir();
  const state = createRunState('B', ['phase1-train'], () => path.join(dir, 'phase1-train.log'));
  state.status = status;
  mkdirSync(path.join(dir, '.rfsq'));
  writeFileSync(path.join(dir, '.rfsq/state.json'), JSON.stringify(state));
  return dir;
}

describe('rfsq status exit codes (built binary; README "Exit codes")', () => {
  it.each([
    ['interrupted', 3],
    ['failed', 1],
    ['stopped', 1],
    ['succeeded', 0],
  ] as const)('a run that is %s exits %i', async (status, exitCode) => {
    const result = await rfsq(['status'], { cwd: projectWithRun(status) });
    expect(result.exitCode, result.stderr).toBe(exitCode);
    expect(result.stdout).toContain(`strategy B · ${status}`);
  });
});
