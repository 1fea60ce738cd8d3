import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { STRATEGY_PLANS } from '../../src/core/pipeline-plan.js';
import { rfsq } from '../helpers/cli.js';
import { cancelLeftovers, completedJobs, describeWithSlurm, slurmEnv } from '../slurm/cluster.js';
import { STEP_METRICS, slurmProject } from '../slurm/project.js';

/** Strategies A, B and C through the built binary on the real one-node test cluster. */

const projects = new Set<string>();

describeWithSlurm('rfsq run on the slurm template, on the real cluster', () => {
  afterEach(() => cancelLeftovers(projects));

  it.each(['A', 'B', 'C'] as const)(
    'strategy %s: one job per step, each run once, and the checklist filled from the job output',
    async (strategy) => {
      const { dir, configDir } = await slurmProject();
      projects.add(dir);
      const run = await rfsq(['run', '--strategy', strategy, '--yes', '--json'], {
        cwd: dir,
        configDir,
        env: slurmEnv,
      });
      expect(run.stderr).toBe('');
      expect(run.exitCode).toBe(0);
      const output = JSON.parse(run.stdout);
      expect(output.status).toBe('succeeded');
      const steps = STRATEGY_PLANS[strategy].map((ref) => ref.step);
      expect(
        Object.values(output.state.steps).map((record) => (record as { status: string }).status),
      ).toEqual(steps.map(() => 'succeeded'));
      // Slurm's own record: every step ran as exactly one job, and completed.
      expect(
        completedJobs(dir)
          .map((job) => `${job.name} ${job.state} ${job.exitCode}`)
          .sort(),
      ).toEqual(steps.map((step) => `rfsq-${step} COMPLETED 0:0`).sort());
      expect(output.state.jobs.map((job: { step: string }) => job.step)).toEqual(steps);

      const values = Object.fromEntries(
        output.checklist.items.map((item: { id: string; value: unknown }) => [item.id, item.value]),
      );
      expect(values['p1.mse']).toBe(0.0098);
      const last = steps.at(-1)!;
      if (strategy !== 'B')
        expect(values['p3.inference_ms']).toBe(STEP_METRICS[last]!['phase3.inference_ms']);
      expect(values['p3.success']).toBe(STEP_METRICS[last]!['phase3.success_rate']);
      if (strategy === 'C') {
        expect(output.state.gates.map((gate: { decision: string }) => gate.decision)).toEqual([
          'continue',
          'continue',
        ]);
      }
      const log = readFileSync(path.join(output.state.steps[steps[0]!].logPath), 'utf8');
      expect(log).toContain(`rfsq test step ${steps[0]}`);
      // phase1-compare's job runs its command, then its follow-up (the template's export).
      const compareLog = readFileSync(path.join(output.state.steps['phase1-compare'].logPath), 'utf8');
      expect(compareLog).toMatch(/rfsq test step phase1-compare[\s\S]*rfsq test follow-up of phase1-compare/);
    },
    120_000,
  );
});
