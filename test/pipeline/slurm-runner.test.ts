import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runPipeline, type PipelineEvent, type PlannedStep } from '../../src/pipeline/pipeline.js';
import { createSlurmExecutor } from '../../src/pipeline/slurm-runner.js';
import { loadState, type RunState } from '../../src/pipeline/state.js';
import { nodeStep, script, tempDir } from './helpers.js';

/**
 * runPipeline with the Slurm executor against the STUB sbatch/squeue/sacct/scancel in ./stubs (there
 * is no scheduler here). With RFSQ_STUB_RUN_JOBS=1 the stub sbatch really runs each job script (bash,
 * synchronously at submission, only when its afterok dependency completed) and writes its output to
 * the --output file, so metrics come from real output of real child processes.
 */

const STUBS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'stubs');

type Call = { command: string; args: string[] };

function stubEnv(extra: Record<string, string> = {}) {
  const stubDir = tempDir('rfsq-slurm-stub-');
  const env = {
    ...process.env,
    PATH: `${STUBS}${path.delimiter}${process.env['PATH'] ?? ''}`,
    RFSQ_STUB_DIR: stubDir,
    RFSQ_STUB_RUN_JOBS: '1',
    ...extra,
  };
  const calls = (): Call[] => {
    const file = path.join(stubDir, 'calls.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Call);
  };
  const of = (command: string) => calls().filter((call) => call.command === command);
  return { env, calls, of };
}

/** `node job.mjs <name>`: appends <name> to runs.txt and prints what a training script of that kind prints. */
const JOB_SCRIPT = `import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
const [name] = process.argv.slice(2);
appendFileSync('runs.txt', name + '\\n');
console.log('starting ' + name);
console.error('a warning on stderr');
if (name === 'tok') console.log('Best MSE: 0.0098 (at epoch 87)');
if (name === 'main') console.log('  Val Loss: 0.2110 | Val Acc (avg): 0.909');
if (name === 'eval') {
  mkdirSync('results', { recursive: true });
  writeFileSync('results/libero_spatial_rsd_results.json', JSON.stringify({ final_success_rate: 0.92, rsd_stats: { avg_draft_time_ms: 10, avg_main_time_ms: 36, avg_decode_time_ms: 2 } }));
}
if (name === 'boom') { console.error('boom: CUDA error'); process.exit(3); }
`;

function project(options: { gateAfterTok?: boolean; failing?: string } = {}) {
  const dir = tempDir();
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
      [name === options.failing ? 'boom' : name],
    ),
  );
  const runs = () =>
    existsSync(path.join(dir, 'runs.txt'))
      ? readFileSync(path.join(dir, 'runs.txt'), 'utf8').split('\n').filter(Boolean)
      : [];
  return { dir, plan, runs };
}

function statuses(state: RunState | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(state?.steps ?? {}).map(([id, record]) => [id, record.status]));
}

function dependencies(calls: Call[]): Array<string | undefined> {
  return calls.map((call) => call.args.find((arg) => arg.startsWith('--dependency=')));
}

describe('createSlurmExecutor with runPipeline', () => {
  it('submits a plan without gates as one afterok chain and extracts metrics from the job output', async () => {
    const { dir, plan, runs } = project();
    const { env, calls, of } = stubEnv({ RFSQ_STUB_PENDING_POLLS: '1' });
    const events: PipelineEvent[] = [];
    const result = await runPipeline({
      projectDir: dir,
      plan,
      strategy: 'A',
      executeStep: createSlurmExecutor({
        projectDir: dir,
        plan,
        env,
        pollMs: 10,
        sbatchArgs: ['--time=1:00:00'],
      }),
      onEvent: (event) => events.push(event),
    });
    expect(result.status).toBe('succeeded');
    expect(runs()).toEqual(['tok', 'main', 'eval']);

    // All three submitted before the first squeue, each waiting for the previous one.
    const sbatch = of('sbatch');
    expect(sbatch).toHaveLength(3);
    expect(dependencies(sbatch)).toEqual([
      undefined,
      '--dependency=afterok:1001',
      '--dependency=afterok:1002',
    ]);
    expect(
      sbatch.every((call) => call.args.includes('--parsable') && call.args.includes('--time=1:00:00')),
    ).toBe(true);
    const order = calls().map((call) => call.command);
    expect(order.lastIndexOf('sbatch')).toBeLessThan(order.indexOf('squeue'));
    expect(of('scancel')).toEqual([]);

    const lines = events.flatMap((event) =>
      event.type === 'line' && event.step === 'tok' ? [event.line] : [],
    );
    expect(lines).toEqual(
      expect.arrayContaining(['slurm job 1001: PENDING', 'slurm job 1001: RUNNING', 'a warning on stderr']),
    );

    const saved = loadState(dir);
    expect(statuses(saved)).toEqual({ tok: 'succeeded', main: 'succeeded', eval: 'succeeded' });
    expect(saved?.steps['tok']?.metrics).toEqual({ 'phase1.robust_mse': 0.0098 });
    expect(saved?.steps['main']?.metrics).toEqual({ 'phase2.main_token_acc': 0.909 });
    expect(saved?.steps['eval']?.metrics).toEqual({ 'phase3.success_rate': 0.92, 'phase3.inference_ms': 48 });
    expect(saved?.steps['eval']?.metricSources['phase3.success_rate']).toBe(
      `file:${path.join(dir, 'results', 'libero_spatial_rsd_results.json')}`,
    );
    expect(saved?.steps['tok']?.pid).toBeUndefined();

    // The source names the exact line of the step log that holds the value.
    const logPath = saved?.steps['tok']?.logPath ?? '';
    const source = saved?.steps['tok']?.metricSources['phase1.robust_mse'] ?? '';
    expect(source.startsWith(`log:${logPath}:`)).toBe(true);
    const log = readFileSync(logPath, 'utf8').split('\n');
    expect(log[Number(source.slice(`log:${logPath}:`.length)) - 1]).toBe('Best MSE: 0.0098 (at epoch 87)');
    expect(log[0]).toMatch(/^--- rfsq: step tok started .*: slurm \[/);
    expect(log).toContain('slurm: step main submitted as job 1002 (afterok:1001)');
  });

  it('ends a chain at a gate: the gate decides before the rest is submitted', async () => {
    const { dir, plan } = project({ gateAfterTok: true });
    const { env, of } = stubEnv();
    const atGate: Array<{ submitted: number; metrics: unknown }> = [];
    const result = await runPipeline({
      projectDir: dir,
      plan,
      strategy: 'C',
      executeStep: createSlurmExecutor({ projectDir: dir, plan, env, pollMs: 10 }),
      gates: {
        mse: (metrics) => {
          atGate.push({ submitted: of('sbatch').length, metrics });
          return { decision: 'continue', message: 'MSE below target' };
        },
      },
    });
    expect(result.status).toBe('succeeded');
    expect(atGate).toEqual([{ submitted: 1, metrics: { 'phase1.robust_mse': 0.0098 } }]);
    const sbatch = of('sbatch');
    expect(sbatch).toHaveLength(3);
    // The second chain starts fresh after the gate.
    expect(dependencies(sbatch)).toEqual([undefined, undefined, '--dependency=afterok:1002']);
    expect(statuses(result.state)).toEqual({ tok: 'succeeded', main: 'succeeded', eval: 'succeeded' });
  });

  it('a gate that stops leaves nothing queued', async () => {
    const { dir, plan, runs } = project({ gateAfterTok: true });
    const { env, of } = stubEnv();
    const executor = createSlurmExecutor({ projectDir: dir, plan, env, pollMs: 10 });
    const result = await runPipeline({
      projectDir: dir,
      plan,
      strategy: 'C',
      executeStep: executor,
      gates: { mse: () => ({ decision: 'stop', message: 'MSE too high' }) },
    });
    expect(result.status).toBe('stopped');
    expect(of('sbatch')).toHaveLength(1);
    expect(executor.pendingJobIds()).toEqual([]);
    expect(runs()).toEqual(['tok']);
  });

  it('a TIMEOUT fails the step with a clear reason and cancels the chained jobs', async () => {
    const { dir, plan, runs } = project();
    const { env, of } = stubEnv({ RFSQ_STUB_FINAL: JSON.stringify({ '1001': 'TIMEOUT|0:15' }) });
    const executor = createSlurmExecutor({ projectDir: dir, plan, env, pollMs: 10 });
    const result = await runPipeline({ projectDir: dir, plan, strategy: 'A', executeStep: executor });
    expect(result.status).toBe('failed');
    expect(statuses(result.state)).toEqual({ tok: 'failed', main: 'pending', eval: 'pending' });
    const reason = result.state?.steps['tok']?.reason ?? '';
    expect(reason).toMatch(/^slurm job 1001 .*TIMEOUT.*raise --time/);
    expect(reason).toContain('slurm.sbatchArgs');
    expect(reason).toContain('cancelled slurm jobs 1002, 1003');
    // The output the job printed before its time ran out is kept, with its metrics.
    expect(result.state?.steps['tok']?.metrics).toEqual({ 'phase1.robust_mse': 0.0098 });
    expect(of('scancel').map((call) => call.args)).toEqual([['1002', '1003']]);
    expect(executor.pendingJobIds()).toEqual([]);
    // afterok: the later jobs never started.
    expect(runs()).toEqual(['tok']);
  });

  it('a job exiting nonzero fails with its exit code and last output line', async () => {
    const { dir, plan, runs } = project({ failing: 'main' });
    const { env, of } = stubEnv();
    const result = await runPipeline({
      projectDir: dir,
      plan,
      strategy: 'A',
      executeStep: createSlurmExecutor({ projectDir: dir, plan, env, pollMs: 10 }),
    });
    expect(result.status).toBe('failed');
    expect(statuses(result.state)).toEqual({ tok: 'succeeded', main: 'failed', eval: 'pending' });
    expect(result.state?.steps['main']?.exitCode).toBe(3);
    expect(result.state?.steps['main']?.reason).toMatch(
      /^slurm job 1002 FAILED with exit code 3; last output: boom: CUDA error; cancelled slurm job 1003/,
    );
    expect(of('scancel').map((call) => call.args)).toEqual([['1003']]);
    expect(runs()).toEqual(['tok', 'boom']);
  });

  it('Ctrl-C while a job runs: scancel the current and the chained jobs, run interrupted', async () => {
    const { dir, plan } = project();
    const { env, of } = stubEnv({ RFSQ_STUB_RUNNING_POLLS: '100000' });
    const controller = new AbortController();
    const asked: string[][] = [];
    const started = Date.now();
    const result = await runPipeline({
      projectDir: dir,
      plan,
      strategy: 'A',
      signal: controller.signal,
      // A long poll: the abort must not wait it out.
      executeStep: createSlurmExecutor({
        projectDir: dir,
        plan,
        env,
        pollMs: 20_000,
        confirmCancel: async (ids) => {
          asked.push(ids);
          return true;
        },
      }),
      onEvent: (event) => {
        if (event.type === 'line' && event.line === 'slurm job 1001: RUNNING') controller.abort();
      },
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.status).toBe('interrupted');
    expect(asked).toEqual([['1001', '1002', '1003']]);
    expect(of('scancel').map((call) => call.args)).toEqual([['1001', '1002', '1003']]);
    expect(statuses(loadState(dir))).toEqual({ tok: 'interrupted', main: 'pending', eval: 'pending' });
    expect(result.state?.steps['tok']?.reason).toBe('interrupted; cancelled slurm jobs 1001, 1002, 1003');
  });

  it('Ctrl-C without confirmation leaves the jobs queued and names them', async () => {
    const { dir, plan } = project();
    const { env, of } = stubEnv({ RFSQ_STUB_RUNNING_POLLS: '100000' });
    const controller = new AbortController();
    const result = await runPipeline({
      projectDir: dir,
      plan,
      strategy: 'A',
      signal: controller.signal,
      executeStep: createSlurmExecutor({
        projectDir: dir,
        plan,
        env,
        pollMs: 10,
        confirmCancel: async () => false,
      }),
      onEvent: (event) => {
        if (event.type === 'line' && event.line === 'slurm job 1001: RUNNING') controller.abort();
      },
    });
    expect(result.status).toBe('interrupted');
    expect(of('scancel')).toEqual([]);
    expect(result.state?.steps['tok']?.reason).toBe('interrupted; slurm jobs 1001, 1002, 1003 left queued');
  });

  it('on resume, submits only the steps that run: skipped steps are left out of the chain', async () => {
    const { dir, plan, runs } = project();
    const { env, of } = stubEnv();
    await runPipeline({
      projectDir: dir,
      plan,
      strategy: 'A',
      executeStep: createSlurmExecutor({ projectDir: dir, plan, env, pollMs: 10 }),
    });
    writeFileSync(path.join(dir, 'tok.txt'), 'changed\n');
    writeFileSync(path.join(dir, 'eval.txt'), 'changed\n');
    const resumed = await runPipeline({
      projectDir: dir,
      plan,
      strategy: 'A',
      resume: true,
      executeStep: createSlurmExecutor({ projectDir: dir, plan, env, pollMs: 10 }),
    });
    expect(resumed.status).toBe('succeeded');
    expect(statuses(resumed.state)).toEqual({ tok: 'succeeded', main: 'skipped', eval: 'succeeded' });
    const second = of('sbatch').slice(3);
    expect(second.map((call) => call.args.at(-1))).toEqual([
      path.join(dir, '.rfsq', 'jobs', 'tok.sh'),
      path.join(dir, '.rfsq', 'jobs', 'eval.sh'),
    ]);
    expect(dependencies(second)).toEqual([undefined, '--dependency=afterok:1004']);
    expect(runs()).toEqual(['tok', 'main', 'eval', 'tok', 'eval']);
  });
});
