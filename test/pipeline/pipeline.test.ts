import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RfsqError } from '../../src/core/errors.js';
import { plainRunPrinter } from '../../src/cli/run-plain.js';
import { runPipeline, type PipelineEvent, type PlannedStep } from '../../src/pipeline/pipeline.js';
import { isStale, loadState, saveState, statePath, type RunState } from '../../src/pipeline/state.js';
import { lockPath } from '../../src/pipeline/lock.js';
import { processStartTicks } from '../../src/pipeline/process.js';
import { nodeStep, script, tempDir, waitFor } from './helpers.js';

/**
 * `node step.mjs <name> [block]`: appends <name> to runs.txt, prints an accuracy line and, with
 * `block`, waits until the file `go` exists (so that a test can interrupt it mid-way).
 */
const STEP_SCRIPT = `import { appendFileSync, existsSync, readFileSync } from 'node:fs';
const [name, mode] = process.argv.slice(2);
appendFileSync('runs.txt', name + '\\n');
if (existsSync(name + '.txt')) console.log('input: ' + readFileSync(name + '.txt', 'utf8').trim());
const finish = () => { console.log('RFSQ_METRIC phase2.draft_coarse_acc 0.91'); process.exit(0); };
if (mode === 'block' && !existsSync('go')) {
  console.log('waiting');
  setInterval(() => { if (existsSync('go')) finish(); }, 20);
} else finish();
`;

function project(): { dir: string; plan: (block?: string) => PlannedStep[]; runs: () => string[] } {
  const dir = tempDir();
  const file = script(dir, 'step.mjs', STEP_SCRIPT);
  for (const name of ['one', 'two', 'three'])
    writeFileSync(path.join(dir, `${name}.txt`), `data of ${name}\n`);
  const plan = (block?: string) =>
    ['one', 'two', 'three'].map((name) =>
      nodeStep(
        dir,
        name,
        file,
        { inputs: [`${name}.txt`], expectedMetrics: ['phase2.draft_coarse_acc'] },
        name === block ? [name, 'block'] : [name],
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

describe('runPipeline', () => {
  it('runs every step, records metrics with sources and emits events', async () => {
    const { dir, plan, runs } = project();
    const events: PipelineEvent[] = [];
    const result = await runPipeline({
      projectDir: dir,
      plan: plan(),
      strategy: 'A',
      onEvent: (event) => events.push(event),
    });
    expect(result.status).toBe('succeeded');
    expect(runs()).toEqual(['one', 'two', 'three']);
    const saved = loadState(dir);
    expect(saved?.status).toBe('succeeded');
    expect(statuses(saved)).toEqual({ one: 'succeeded', two: 'succeeded', three: 'succeeded' });
    expect(saved?.steps['two']?.metrics).toEqual({ 'phase2.draft_coarse_acc': 0.91 });
    expect(saved?.steps['two']?.metricSources['phase2.draft_coarse_acc']).toMatch(/^log:.*two\.log:\d+$/);
    const types = events.map((event) => event.type);
    expect(types[0]).toBe('run-start');
    expect(types.at(-1)).toBe('run-end');
    expect(types.filter((type) => type === 'step-start')).toHaveLength(3);
    expect(types).toContain('line');
    expect(types).toContain('metric');
  });

  it('resumes after an interruption: done steps skipped, the interrupted one rerun', async () => {
    const { dir, plan, runs } = project();
    const controller = new AbortController();
    const first = await runPipeline({
      projectDir: dir,
      plan: plan('two'),
      strategy: 'A',
      signal: controller.signal,
      graceMs: 300,
      onEvent: (event) => {
        if (event.type === 'line' && event.step === 'two' && event.line === 'waiting') controller.abort();
      },
    });
    expect(first.status).toBe('interrupted');
    const interrupted = loadState(dir);
    expect(interrupted?.status).toBe('interrupted');
    expect(statuses(interrupted)).toEqual({ one: 'succeeded', two: 'interrupted', three: 'pending' });

    writeFileSync(path.join(dir, 'go'), '');
    const second = await runPipeline({ projectDir: dir, plan: plan('two'), strategy: 'A', resume: true });
    expect(second.status).toBe('succeeded');
    expect(second.state?.runId).toBe(interrupted?.runId);
    expect(statuses(second.state)).toEqual({ one: 'skipped', two: 'succeeded', three: 'succeeded' });
    // A skipped step keeps the metrics of its successful run.
    expect(second.state?.steps['one']?.metrics).toEqual({ 'phase2.draft_coarse_acc': 0.91 });
    expect(runs()).toEqual(['one', 'two', 'two', 'three']);
  });

  it('reruns only the step whose input file changed', async () => {
    const { dir, plan, runs } = project();
    await runPipeline({ projectDir: dir, plan: plan(), strategy: 'A' });
    writeFileSync(path.join(dir, 'two.txt'), 'new data of two\n');
    const result = await runPipeline({ projectDir: dir, plan: plan(), strategy: 'A', resume: true });
    expect(result.decisions.map((decision) => decision.action)).toEqual(['skip', 'run', 'skip']);
    expect(statuses(result.state)).toEqual({ one: 'skipped', two: 'succeeded', three: 'skipped' });
    expect(runs()).toEqual(['one', 'two', 'three', 'two']);

    const forced = await runPipeline({
      projectDir: dir,
      plan: plan(),
      strategy: 'A',
      resume: true,
      force: true,
    });
    expect(forced.decisions.every((decision) => decision.action === 'run')).toBe(true);
    expect(runs()).toHaveLength(7);
  });

  it('reruns a step whose argv changed', async () => {
    const { dir, plan } = project();
    await runPipeline({ projectDir: dir, plan: plan(), strategy: 'A' });
    const changed = plan().map((step) => (step.id === 'three' ? { ...step, env: { SEED: '2' } } : step));
    const dry = await runPipeline({
      projectDir: dir,
      plan: changed,
      strategy: 'A',
      resume: true,
      dryRun: true,
    });
    expect(dry.decisions.map((decision) => decision.action)).toEqual(['skip', 'skip', 'run']);
  });

  it('--only runs one step and --from starts at a step', async () => {
    const { dir, plan, runs } = project();
    const only = await runPipeline({ projectDir: dir, plan: plan(), strategy: 'A', only: 'two' });
    expect(only.status).toBe('succeeded');
    expect(runs()).toEqual(['two']);
    expect(statuses(only.state)).toEqual({ one: 'pending', two: 'succeeded', three: 'pending' });

    const from = await runPipeline({ projectDir: dir, plan: plan(), strategy: 'A', from: 'three' });
    expect(runs()).toEqual(['two', 'three']);
    // Earlier steps are untouched: step two keeps its record from the --only run.
    expect(statuses(from.state)).toEqual({ one: 'pending', two: 'succeeded', three: 'succeeded' });
    expect(from.state?.steps['two']?.startedAt).toBe(only.state?.steps['two']?.startedAt);
  });

  it('rejects an unknown step id, listing the valid ones', async () => {
    const { dir, plan } = project();
    const error = await runPipeline({ projectDir: dir, plan: plan(), strategy: 'A', only: 'four' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RfsqError);
    expect((error as RfsqError).exitCode).toBe(2);
    expect((error as RfsqError).message).toContain('four');
    expect((error as RfsqError).hint).toContain('one, two, three');
  });

  it('a dry run resolves the plan and runs nothing', async () => {
    const { dir, plan, runs } = project();
    const result = await runPipeline({ projectDir: dir, plan: plan(), strategy: 'A', dryRun: true });
    expect(result.status).toBe('planned');
    expect(result.decisions.map((decision) => decision.action)).toEqual(['run', 'run', 'run']);
    expect(result.decisions[0]?.argv).toEqual([process.execPath, path.join(dir, 'step.mjs'), 'one']);
    expect(runs()).toEqual([]);
    expect(existsSync(statePath(dir))).toBe(false);
  });

  it('a gate that says stop ends the run as stopped and is recorded', async () => {
    const { dir, plan, runs } = project();
    const seen: unknown[] = [];
    const steps = plan().map((step) => (step.id === 'one' ? { ...step, gateAfter: 'gate1' } : step));
    const result = await runPipeline({
      projectDir: dir,
      plan: steps,
      strategy: 'C',
      gates: {
        gate1: (metrics) => {
          seen.push(metrics);
          return { decision: 'stop', message: 'draft accuracy below target' };
        },
      },
    });
    expect(result.status).toBe('stopped');
    expect(seen).toEqual([{ 'phase2.draft_coarse_acc': 0.91 }]);
    expect(runs()).toEqual(['one']);
    const saved = loadState(dir);
    expect(saved?.status).toBe('stopped');
    expect(saved?.gates).toMatchObject([
      { gate: 'gate1', step: 'one', decision: 'stop', message: 'draft accuracy below target' },
    ]);
    expect(statuses(saved)).toEqual({ one: 'succeeded', two: 'pending', three: 'pending' });
  });

  it('asks a passed gate again only when its step reran', async () => {
    const { dir, plan } = project();
    let calls = 0;
    const steps = plan().map((step) => (step.id === 'one' ? { ...step, gateAfter: 'gate1' } : step));
    const gates = {
      gate1: async () => {
        calls += 1;
        return { decision: 'continue' as const, message: `call ${calls}` };
      },
    };
    const first = await runPipeline({ projectDir: dir, plan: steps, strategy: 'C', gates });
    expect(first.status).toBe('succeeded');
    await runPipeline({ projectDir: dir, plan: steps, strategy: 'C', gates, resume: true });
    expect(calls).toBe(1);
    writeFileSync(path.join(dir, 'one.txt'), 'changed\n');
    const third = await runPipeline({ projectDir: dir, plan: steps, strategy: 'C', gates, resume: true });
    expect(calls).toBe(2);
    expect(third.state?.gates.map((gate) => gate.message)).toEqual(['call 1', 'call 2']);
  });

  it('rejects a plan whose gate has no handler', async () => {
    const { dir, plan } = project();
    const steps = plan().map((step) => (step.id === 'one' ? { ...step, gateAfter: 'missing' } : step));
    await expect(runPipeline({ projectDir: dir, plan: steps, strategy: 'C' })).rejects.toThrow(/no handler/);
  });

  it('stops at the first failed step', async () => {
    const { dir, plan, runs } = project();
    const failing = script(dir, 'fail.mjs', `console.error('boom');\nprocess.exit(3);\n`);
    const steps = plan().map((step) =>
      step.id === 'two' ? { ...step, argv: [process.execPath, failing] } : step,
    );
    const result = await runPipeline({ projectDir: dir, plan: steps, strategy: 'A' });
    expect(result.status).toBe('failed');
    expect(runs()).toEqual(['one']);
    expect(statuses(result.state)).toEqual({ one: 'succeeded', two: 'failed', three: 'pending' });
    expect(result.state?.steps['two']?.reason).toContain('boom');
    expect(result.state?.steps['two']?.exitCode).toBe(3);
  });

  it('detects a stale run (dead pid) and reruns the step that was running', async () => {
    const { dir, plan, runs } = project();
    const dead = spawn(process.execPath, ['-e', '']);
    const deadPid = dead.pid ?? 0;
    await new Promise((resolve) => dead.once('exit', resolve));

    const logs = path.join(dir, '.rfsq', 'logs', 'r1');
    mkdirSync(logs, { recursive: true });
    const done = await runPipeline({ projectDir: dir, plan: plan(), strategy: 'A', only: 'one' });
    const state = done.state as RunState;
    state.status = 'running';
    state.pid = deadPid;
    delete state.finishedAt;
    state.steps['two'] = {
      status: 'running',
      startedAt: new Date().toISOString(),
      logPath: path.join(logs, 'two.log'),
      metrics: {},
      metricSources: {},
    };
    saveState(dir, state);
    expect(isStale(loadState(dir) as RunState)).toBe(true);
    expect(isStale({ ...state, pid: process.pid })).toBe(false);

    const resumed = await runPipeline({ projectDir: dir, plan: plan(), strategy: 'A', resume: true });
    expect(resumed.decisions.map((decision) => decision.action)).toEqual(['skip', 'run', 'run']);
    expect(resumed.decisions[1]?.reason).toContain('interrupted');
    expect(runs()).toEqual(['one', 'two', 'three']);
  });

  it('refuses to start while another live rfsq holds the run lock', async () => {
    const { dir, plan } = project();
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      await waitFor(() => processStartTicks(live.pid ?? 0));
      mkdirSync(path.join(dir, '.rfsq'), { recursive: true });
      const holder = {
        pid: live.pid,
        startTicks: processStartTicks(live.pid ?? 0),
        startedAt: new Date().toISOString(),
      };
      writeFileSync(lockPath(dir), JSON.stringify(holder));
      await expect(runPipeline({ projectDir: dir, plan: plan(), strategy: 'A' })).rejects.toThrow(
        new RegExp(`another rfsq run \\(pid ${live.pid}\\) is in progress`),
      );
    } finally {
      live.kill('SIGKILL');
    }
  });

  it('estimates a run from the durations its commands took here before, never from constants', async () => {
    const { dir, plan } = project();
    const lines: string[] = [];
    const first = await runPipeline({
      projectDir: dir,
      plan: plan(),
      strategy: 'A',
      onEvent: plainRunPrinter((line) => lines.push(line)),
    });
    expect(first.decisions.map((decision) => decision.measuredSeconds)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(lines.join('\n')).toContain('no estimate yet: these commands have not run in this project before');

    lines.length = 0;
    writeFileSync(path.join(dir, 'go'), ''); // step two's new command passes straight through
    await runPipeline({
      projectDir: dir,
      plan: plan('two'),
      strategy: 'A',
      force: true,
      onEvent: plainRunPrinter((line) => lines.push(line)),
    });
    // Step two's command changed (it blocks now): it has no measurement; one and three do.
    expect(lines.join('\n')).toMatch(
      /estimate: at least \d+s for 2 of 3 steps, as measured here before; not measured yet: two/,
    );
    expect(lines.join('\n')).toMatch(/\[1\/3\] one: step one \(log: .*, took \d+s last time\)/);
  });
});
