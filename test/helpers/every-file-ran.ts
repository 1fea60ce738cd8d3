import type { Reporter, TestModule, TestSpecification } from 'vitest/node';

/**
 * Fails the suite when a test file did not run: a file vitest scheduled but never reported (a worker
 * that never started on a loaded machine), one still queued or pending at the end, or, in CI, one
 * whose tests were all skipped (CI installs PyTorch and tmux and starts the Slurm cluster, so nothing
 * there has a reason to skip). Without this, such files vanish from the summary with no error.
 */
export class EveryFileRan implements Reporter {
  private scheduled: string[] = [];

  onTestRunStart(specifications: ReadonlyArray<TestSpecification>): void {
    this.scheduled = [...new Set(specifications.map((specification) => specification.moduleId))];
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, _errors: unknown, reason: string): void {
    // Ctrl-C, or a bail after a failure: the run already fails.
    if (reason === 'interrupted') return;
    const reported = new Map(testModules.map((module) => [module.moduleId, module]));
    const notRun: string[] = [];
    const skipped: string[] = [];
    for (const file of this.scheduled) {
      const state = reported.get(file)?.state();
      if (state === 'passed' || state === 'failed') continue;
      if (state === 'skipped') skipped.push(file);
      else notRun.push(`${file} (${state ?? 'never reported'})`);
    }
    const ci = Boolean(process.env['CI']);
    const failing = ci ? [...notRun, ...skipped.map((file) => `${file} (every test skipped)`)] : notRun;
    if (failing.length > 0) {
      process.stderr.write(
        `\nThese test files did not run, so the suite fails:\n  ${failing.join('\n  ')}\n`,
      );
      process.exitCode = 1;
    } else if (skipped.length > 0) {
      process.stderr.write(`\nSkipped here (they run in CI):\n  ${skipped.join('\n  ')}\n`);
    }
  }
}
