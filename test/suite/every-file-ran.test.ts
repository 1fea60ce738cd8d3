import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/cli.js';

/**
 * The suite's own guard (vitest.config.ts): a test file that did not run fails the suite. Checked on a
 * small suite of its own, run by the real vitest in a child process.
 */
function suite(): string {
  const dir = tempDir('rfsq-suite-');
  writeFileSync(
    path.join(dir, 'vitest.config.mjs'),
    `const { EveryFileRan } = await import(${JSON.stringify(path.join(ROOT, 'test/helpers/every-file-ran.ts'))});
export default { test: { globals: true, include: ['*.test.mjs'], reporters: ['default', new EveryFileRan()] } };
`,
  );
  writeFileSync(path.join(dir, 'runs.test.mjs'), `it('runs', () => expect(1).toBe(1));\n`);
  // Like the PyTorch or Slurm tests when what they need is missing: every test skipped.
  writeFileSync(
    path.join(dir, 'skips.test.mjs'),
    `describe.skip('needs a cluster', () => { it('x', () => {}); });\n`,
  );
  return dir;
}

const vitest = (dir: string, env: Record<string, string | undefined>) =>
  execa(process.execPath, [path.join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--root', dir], {
    cwd: dir,
    reject: false,
    env: { ...env, NODE_PATH: path.join(ROOT, 'node_modules') },
    extendEnv: false,
  });

describe('a test file that did not run fails the suite', () => {
  it('in CI, a file whose tests were all skipped fails the run and is named', async () => {
    const result = await vitest(suite(), { CI: 'true', PATH: process.env['PATH'] });
    expect(result.stderr).toMatch(
      /These test files did not run, so the suite fails:\n\s+\S*skips\.test\.mjs \(every test skipped\)/,
    );
    expect(result.exitCode).toBe(1);
  });

  it('outside CI, skipped files are listed and the run passes', async () => {
    const result = await vitest(suite(), { PATH: process.env['PATH'] });
    expect(result.stderr).toMatch(/Skipped here \(they run in CI\):\n\s+\S*skips\.test\.mjs/);
    expect(result.exitCode).toBe(0);
  });
});
