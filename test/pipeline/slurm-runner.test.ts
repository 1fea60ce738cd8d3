import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { runPipeline, type PipelineEvent, type PlannedStep } from '../../src/pipeline/pipeline.js';
import { queryJob } from '../../src/pipeline/slurm.js';
import { createSlurmExecutor } from '../../src/pipeline/slurm-runner.js';
import { loadState, type RunState } from '../../src/pipeline/state.js';
import { cancelLeftovers, completedJobs, describeWithSlurm, queuedJobs, slurmEnv } from '../slurm/cluster.js';
import { nodeStep, script, tempDir, waitFor } from './helpers.js';

/**
 * runPipeline with the Slurm executor against the real one-node test cluster (test/slurm/cluster.sh):
 * real sbatch, scontrol, sacct -c and scancel; the jobs are node scripts that print what training
 * scripts print. What happened is checked with Slurm's own records (jobcomp log, squeue).
 */

/** `node job.mjs <name>`: appends <name> to runs.txt and prints what a training script of that kind prints. */
const JOB_SCRIPT = `import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
const [name] = process.argv.slice(2);
appendFileSync('runs.txt', name + '\\n');
console.log('starting ' + name);
console.error('a warning on stderr');
const finish = () => {
  if (name === 'tok' || name === 'slow-tok') console.log('Best MSE: 0.0098 (at epoch 87)');
  if (name === 'main') console.log('  Val Loss: 0.2110 | Val Acc (avg): 0.909');
  if (name === 'eval') {
    mkdirSync('results', { recursive: true });
    writeFileSync('results/libero_spatial_rsd_results.json', JSON.stringify({ final_success_rate: 0.92, rsd_stats: { avg_draft_time_ms: 10, avg_main_time_ms: 36, avg_decode_time_ms: 2 } }));
  }
  if (name === 'boom') { console.error('boom: CUDA error'); process.exit(3); }
  process.exit(0);
};
// slow-tok runs until the test creates the file "go".
if (name === 'slow-tok') setInterval(() => { if (existsSync('go')) finish(); }, 50);
else finish();
`;

const projects = new Set<string>();

function project(options: { gateAfterTok?: boolean; failing?: string; slowTok?: boolean } = {}) {
  const dir = tempDir();
  projects.add(dir);
  const file = script(dir, 'job.mjs', JOB_SCRIPT);
  for (const name of ['tok', 'main', 'eval']) writeFileSync(path.join(dir, `${name}.txt`), `${name}\n`);
  const extra: Record<string, Partial<PlannedStep>> = {
    tok: { metricMap: { train_best_mse: 'phase1.robust_mse' }, expectedMetrics: ['phase1.robust_mse'] },
    main: {
      metricMap: { main_epoch_val_acc: 'phase2.main_token_acc' },
      expectedMetrics: ['phase2.main_token_acc'],
    },
    eval: {
      metricsFile: 'results/libero_spatial_rsd_results.json',
      metricMap: { final_success_rate: 'phase3.success_rate', rsd_inference_ms: 'phase3.inference_ms' },
      expectedMetrics: ['phase3.success_rate', 'phase3.inference_ms'],
    },
  };
  const argument = (name: string) =>
    name === options.failing ? 'boom' : name === 'tok' && options.slowTok ? 'slow-tok' : name;
  const plan: PlannedStep[] = ['tok', 'main', 'eval'].map((name) =>
    nodeStep(
      dir,
      name,
      file,
      {
        ...extra[name],
        inputs: [`${name}.txt`],
        ...(name === 'tok' && options.gateAfterTok ? { gateAfter: 'mse' } : {}),
      },
      [argument(name)],
    ),
  );
  const runs = () =>
    existsSync(path.join(dir, 'runs.txt'))
      ? readFileSync(path.join(dir, 'runs.txt'), 'utf8').split('\n').filter(Boolean)
      : [];
  const executor = (extra: Partial<Parameters<typeof createSlurmExecutor>[0]> = {}) =>
    createSlurmExecutor({ projectDir: dir, plan, env: slurmEnv, pollMs: 200, tailMs: 100, ...extra });
  return { dir, plan, runs, executor };
}

function statuses(state: RunState | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(state?.steps ?? {}).map(([id, record]) => [id, record.status]));
}

/** Slurm's record of the jobs of `dir` that ended, as `<name> <state>`, once `count` of them are there. */
async function endedJobs(dir: string, count: number): Promise<string[]> {
  const jobs = await waitFor(() => {
    const ended = completedJobs(dir);
    return ended.length >= count ? ended : undefined;
  });
  return jobs.map((job) => `${job.name} ${job.state}`);
}

function stateJobIds(dir: string, step: string): string[] {
  return (loadState(dir)?.jobs ?? []).filter((job) => job.step === step).map((job) => job.jobId);
}

describeWithSlurm('createSlurmExecutor with runPipeline on the real cluster', () => {
  afterEach(() => cancelLeftovers(projects));

  it('submits a plan without gates as one afterok chain, records the job ids and extracts metrics', async () => {
    const { dir, plan, runs, executor } = project();
    const events: PipelineEvent[] = [];
    const result = await runPipeline({
      projectDir: dir,
      plan,
      strategy: 'A',
      executeStep: executor({ sbatchArgs: ['--time=10'] }),
      onEvent: (event) => events.push(event),
    });
    expect(result.status).toBe('succeeded');
    expect(runs()).toEqual(['tok', 'main', 'eval']);
    expect(await endedJobs(dir, 3)).toEqual([
      'rfsq-tok COMPLETED',
      'rfsq-main COMPLETED',
      'rfsq-eval COMPLETED',
    ]);

    const saved = loadState(dir);
    const ids = saved?.jobs?.map((job) => job.jobId) ?? [];
    expect(saved?.jobs?.map((job) => job.step)).toEqual(['tok', 'main', 'eval']);
    expect(statuses(saved)).toEqual({ tok: 'succeeded', main: 'succeeded', eval: 'succeeded' });
    expect(saved?.steps['tok']?.metrics).toEqual({ 'phase1.robust_mse': 0.0098 });
    expect(saved?.steps['main']?.metrics).toEqual({ 'phase2.main_token_acc': 0.909 });
    expect(saved?.steps['eval']?.metrics).toEqual({ 'phase3.success_rate': 0.92, 'phase3.inference_ms': 48 });
    expect(saved?.steps['eval']?.metricSources['phase3.success_rate']).toBe(
      `file:${path.join(dir, 'results', 'libero_spatial_rsd_results.json')}`,
    );
    expect(saved?.steps['tok']?.pid).toBeUndefined();

    // All three were submitted, each after the previous one, before the first was followed.
    const logPath = saved?.steps['tok']?.logPath ?? '';
    const log = readFileSync(logPath, 'utf8').split('\n');
    expect(log[0]).toMatch(/^--- rfsq: step tok started .*: slurm \[/);
    const submittedMain = log.indexOf(`slurm: step main submitted as job ${ids[1]} (afterok:${ids[0]})`);
    const submittedEval = log.indexOf(`slurm: step eval submitted as job ${ids[2]} (afterok:${ids[1]})`);
    expect(submittedMain).toBeGreaterThan(0);
    expect(submittedEval).toBeGreaterThan(submittedMain);
    const output = path.join(path.dirname(logPath), `tok.${ids[0]}.out`);
    expect(log.indexOf(`--- rfsq: output of slurm job ${ids[0]} (${output}) ---`)).toBeGreaterThan(
      submittedEval,
    );
    expect(saved?.jobs?.[0]?.output).toBe(output);

    // The source names the exact line of the step log that holds the value.
    const source = saved?.steps['tok']?.metricSources['phase1.robust_mse'] ?? '';
    expect(source.startsWith(`log:${logPath}:`)).toBe(true);
    expect(log[Number(source.slice(`log:${logPath}:`.length)) - 1]).toBe('Best MSE: 0.0098 (at epoch 87)');
    const lines = events.flatMap((event) =>
      event.type === 'line' && event.step === 'tok' ? [event.line] : [],
    );
    expect(lines).toEqual(expect.arrayContaining(['a warning on stderr', 'starting tok']));
  });

  it('ends a chain at a gate: the gate decides before the rest is submitted', async () => {
    const { dir, plan, executor } = project({ gateAfterTok: true });
    const atGate: Array<{ submitted: number; metrics: unknown }> = [];
    const result = await runPipeline({
      projectDir: dir,
      plan,
      strategy: 'C',
      executeStep: executor(),
      gates: {
        mse: (metrics, { state }) => {
          atGate.push({ submitted: state.jobs?.length ?? 0, metrics });
          return { decision: 'continue', message: 'MSE below target' };
        },
      },
    });
    expect(result.status).toBe('succeeded');
    expect(atGate).toEqual([{ submitted: 1, metrics: { 'phase1.robust_mse': 0.0098 } }]);
    // The second chain starts fresh after the gate.
    const mainLog = readFileSync(result.state?.steps['main']?.logPath ?? '', 'utf8');
    const [, main, evalJob] = result.state?.jobs?.map((job) => job.jobId) ?? [];
    expect(mainLog).toContain(`slurm: step main submitted as job ${main}\n`);
    expect(mainLog).toContain(`slurm: step eval submitted as job ${evalJob} (afterok:${main})`);
    expect(statuses(result.state)).toEqual({ tok: 'succeeded', main: 'succeeded', eval: 'succeeded' });
  });

  it('a gate that stops leaves nothing queued', async () => {
    const { dir, plan, runs, executor } = project({ gateAfterTok: true });
    const slurm = executor();
    const result = await runPipeline({
      projectDir: dir,
      plan,
      strategy: 'C',
      executeStep: slurm,
      gates: { mse: () => ({ decision: 'stop', message: 'MSE too high' }) },
    });
    expect(result.status).toBe('stopped');
    expect(result.state?.jobs).toHaveLength(1);
    expect(slurm.pendingJobIds()).toEqual([]);
    expect(queuedJobs(dir)).toEqual([]);
    expect(runs()).toEqual(['tok']);
  });

  it('a failing job fails the step; Slurm confirms the jobs chained after it cancelled; a resume reruns it into a new output file', async () => {
    const failing = project({ failing: 'main' });
    const { dir, runs } = failing;
    const result = await runPipeline({
      projectDir: dir,
      plan: failing.plan,
      strategy: 'A',
      executeStep: failing.executor(),
    });
    expect(result.status).toBe('failed');
    expect(statuses(result.state)).toEqual({ tok: 'succeeded', main: 'failed', eval: 'pending' });
    const [, mainJob, evalJob] = result.state?.jobs?.map((job) => job.jobId) ?? [];
    expect(result.state?.steps['main']?.exitCode).toBe(3);
    expect(result.state?.steps['main']?.reason).toBe(
      `slurm job ${mainJob} FAILED with exit code 3; last output: boom: CUDA error; cancelled slurm job ${evalJob} (chained after it)`,
    );
    expect(runs()).toEqual(['tok', 'boom']);
    expect(await endedJobs(dir, 3)).toEqual([
      'rfsq-tok COMPLETED',
      'rfsq-main FAILED',
      'rfsq-eval CANCELLED',
    ]);
    const firstOutput = result.state?.jobs?.[1]?.output ?? '';
    expect(readFileSync(firstOutput, 'utf8')).toContain('boom: CUDA error');

    // Fixed: the resume skips tok, resubmits main (its job FAILED) and eval (CANCELLED), as a new chain.
    const fixed = { ...project(), dir };
    const plan = fixed.plan.map((step) => ({
      ...step,
      cwd: dir,
      argv: [step.argv[0]!, path.join(dir, 'job.mjs'), step.id],
    }));
    const resumed = await runPipeline({
      projectDir: dir,
      plan,
      strategy: 'A',
      resume: true,
      executeStep: createSlurmExecutor({ projectDir: dir, plan, env: slurmEnv, pollMs: 200, tailMs: 100 }),
    });
    expect(resumed.status).toBe('succeeded');
    expect(statuses(resumed.state)).toEqual({ tok: 'skipped', main: 'succeeded', eval: 'succeeded' });
    expect(resumed.state?.jobs?.map((job) => job.step)).toEqual(['tok', 'main', 'eval', 'main', 'eval']);
    const mainLog = readFileSync(resumed.state?.steps['main']?.logPath ?? '', 'utf8');
    expect(mainLog).toContain(
      `slurm: job ${mainJob} of the previous attempt at main ended FAILED; resubmitting`,
    );
    expect(mainLog).toMatch(/slurm: step main submitted as job \d+\n/);
    // The earlier attempt's output is kept beside the new one.
    expect(readFileSync(firstOutput, 'utf8')).toContain('boom: CUDA error');
    expect(resumed.state?.jobs?.[3]?.output).not.toBe(firstOutput);
    expect(runs()).toEqual(['tok', 'boom', 'main', 'eval']);
  });

  it('Ctrl-C while a job runs: scancel the current and the chained jobs, checked with Slurm', async () => {
    const { dir, plan, executor } = project({ slowTok: true });
    const controller = new AbortController();
    const asked: string[][] = [];
    const started = Date.now();
    const result = await runPipeline({
      projectDir: dir,
      plan,
      strategy: 'A',
      signal: controller.signal,
      // A long poll: the abort must not wait it out.
      executeStep: executor({
        pollMs: 20_000,
        confirmCancel: async (ids) => {
          asked.push(ids);
          return true;
        },
      }),
      onEvent: (event) => {
        if (event.type === 'line' && event.line === 'starting slow-tok') controller.abort();
      },
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(result.status).toBe('interrupted');
    const ids = result.state?.jobs?.map((job) => job.jobId) ?? [];
    expect(asked).toEqual([ids]);
    expect(statuses(loadState(dir))).toEqual({ tok: 'interrupted', main: 'pending', eval: 'pending' });
    expect(result.state?.steps['tok']?.reason).toBe(`interrupted; cancelled slurm jobs ${ids.join(', ')}`);
    for (const id of ids) expect((await queryJob(id, { env: slurmEnv }))?.state).toBe('CANCELLED');
    expect(queuedJobs(dir)).toEqual([]);
  });

  it('Ctrl-C answered "no" leaves the jobs queued; the resume follows them and runs nothing twice', async () => {
    const { dir, plan, runs, executor } = project({ slowTok: true });
    const controller = new AbortController();
    const result = await runPipeline({
      projectDir: dir,
      plan,
      strategy: 'A',
      signal: controller.signal,
      executeStep: executor({ confirmCancel: async () => false }),
      onEvent: (event) => {
        if (event.type === 'line' && event.line === 'starting slow-tok') controller.abort();
      },
    });
    expect(result.status).toBe('interrupted');
    const ids = result.state?.jobs?.map((job) => job.jobId) ?? [];
    expect(result.state?.steps['tok']?.reason).toBe(
      `interrupted; slurm jobs ${ids.join(', ')} left queued (\`rfsq run --resume\` follows them)`,
    );
    expect(queuedJobs(dir)).toEqual(ids);

    writeFileSync(path.join(dir, 'go'), '');
    const resumed = await runPipeline({
      projectDir: dir,
      plan,
      strategy: 'A',
      resume: true,
      executeStep: executor(),
    });
    expect(resumed.status).toBe('succeeded');
    expect(resumed.state?.jobs?.map((job) => job.jobId)).toEqual(ids);
    expect(stateJobIds(dir, 'tok')).toEqual([ids[0]]);
    const tokLog = readFileSync(resumed.state?.steps['tok']?.logPath ?? '', 'utf8');
    expect(tokLog).toMatch(
      new RegExp(`slurm: job ${ids[0]} of the previous attempt at tok is [A-Z]+: following it`),
    );
    expect(resumed.state?.steps['tok']?.metrics).toEqual({ 'phase1.robust_mse': 0.0098 });
    expect(resumed.state?.steps['eval']?.metrics).toEqual({
      'phase3.success_rate': 0.92,
      'phase3.inference_ms': 48,
    });
    expect(runs()).toEqual(['slow-tok', 'main', 'eval']);
    expect(await endedJobs(dir, 3)).toEqual([
      'rfsq-tok COMPLETED',
      'rfsq-main COMPLETED',
      'rfsq-eval COMPLETED',
    ]);
  });

  it('an unknown partition is one line and a hint, with nothing left queued', async () => {
    const { dir, plan, executor } = project();
    const run = runPipeline({
      projectDir: dir,
      plan,
      strategy: 'A',
      executeStep: executor({ sbatchArgs: ['--partition=nosuch'] }),
    });
    await expect(run).rejects.toMatchObject({
      message: 'sbatch rejected step tok: Batch job submission failed: Invalid partition name specified',
      hint: expect.stringMatching(/--partition in slurm\.sbatchArgs in rfsq\.config\.json/),
    });
    expect(statuses(loadState(dir))).toMatchObject({ tok: 'failed' });
    expect(queuedJobs(dir)).toEqual([]);
  });
});
