import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/pipeline/pipeline.js';
import { isProcessAlive } from '../../src/pipeline/process.js';
import { isStale, loadState } from '../../src/pipeline/state.js';
import { script, tempDir, waitFor } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Transpiles src/core and src/pipeline into a temp dir so that a plain `node` child can run the engine. */
function buildEngine(): string {
  const out = tempDir('rfsq-engine-');
  for (const folder of ['src/core', 'src/pipeline']) {
    mkdirSync(path.join(out, folder), { recursive: true });
    for (const name of readdirSync(path.join(ROOT, folder))) {
      if (!name.endsWith('.ts')) continue;
      const source = readFileSync(path.join(ROOT, folder, name), 'utf8');
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      });
      writeFileSync(path.join(out, folder, name.replace(/\.ts$/, '.js')), outputText);
    }
  }
  writeFileSync(path.join(out, 'package.json'), '{"type": "module"}\n');
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(out, 'node_modules'));
  return out;
}

/**
 * Starts the engine in a plain `node` child on a three-step plan (one, two, three), waits until step
 * two is under way, and kills the child with SIGKILL. Step two waits for a `go` file, which the tests
 * write only once the resumed run starts that step, so the old attempt cannot end on its own first.
 */
async function killParentDuringStepTwo(engine: string, stepBody: string) {
  const dir = tempDir();
  const stepFile = script(dir, 'step.mjs', stepBody);
  const plan = ['one', 'two', 'three'].map((id) => ({
    id,
    title: id,
    argv: [process.execPath, stepFile, id],
    cwd: dir,
    expectedMetrics: ['phase3.success_rate' as const],
  }));
  const driver = script(
    dir,
    'driver.mjs',
    `import { runPipeline } from ${JSON.stringify(path.join(engine, 'src/pipeline/pipeline.js'))};
await runPipeline({ projectDir: ${JSON.stringify(dir)}, plan: ${JSON.stringify(plan)}, strategy: 'A' });
`,
  );
  const parent = spawn(process.execPath, [driver], { stdio: 'ignore' });
  const parentExit = new Promise((resolve) => parent.once('exit', resolve));
  const stepPid = await waitFor(() => {
    const record = existsSync(path.join(dir, '.rfsq', 'state.json'))
      ? loadState(dir)?.steps['two']
      : undefined;
    return record?.status === 'running' ? record.pid : undefined;
  });
  // Wait until the step is really under way (it has logged its start) before killing the parent.
  await waitFor(() => (readText(path.join(dir, 'ready')) !== undefined ? true : undefined));
  parent.kill('SIGKILL');
  await parentExit;
  const resume = (warnings: string[]) =>
    runPipeline({
      projectDir: dir,
      plan,
      strategy: 'A',
      resume: true,
      graceMs: 300,
      onEvent: (event) => {
        if (event.type === 'warning') warnings.push(event.message);
        // Only now may step two finish: the old attempt has been dealt with before the run started.
        if (event.type === 'step-start' && event.step === 'two') writeFileSync(path.join(dir, 'go'), '');
      },
    });
  return { dir, stepPid, resume };
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

const STEP_PRELUDE = `import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
const name = process.argv[2];
appendFileSync('runs.txt', name + '\\n');
const finish = () => { console.log('RFSQ_METRIC phase3.success_rate 0.9'); process.exit(0); };
`;

describe('a parent killed with SIGKILL', () => {
  let engine: string;
  beforeAll(() => {
    engine = buildEngine();
  });

  it('leaves a stale state; resuming reruns the step that was running', async () => {
    const { dir, stepPid, resume } = await killParentDuringStepTwo(
      engine,
      `${STEP_PRELUDE}if (name === 'two' && !existsSync('go')) {
  writeFileSync('ready', '');
  setInterval(() => { if (existsSync('go')) finish(); }, 20);
} else finish();
`,
    );
    const stale = loadState(dir);
    expect(stale?.status).toBe('running');
    expect(stale && isStale(stale)).toBe(true);
    // The step leads its own process group, so it outlived the parent: resuming must stop it.
    expect(isProcessAlive(stepPid)).toBe(true);

    const warnings: string[] = [];
    const resumed = await resume(warnings);
    expect(isProcessAlive(stepPid)).toBe(false);
    expect(warnings.join('\n')).toContain('stopped the processes the previous attempt left running');
    expect(resumed.status).toBe('succeeded');
    expect(resumed.state?.runId).toBe(stale?.runId);
    expect(resumed.decisions.map((decision) => decision.action)).toEqual(['skip', 'run', 'run']);
    const runs = readFileSync(path.join(dir, 'runs.txt'), 'utf8').split('\n').filter(Boolean);
    expect(runs).toEqual(['one', 'two', 'two', 'three']);
  });

  it('stops the group even when its leader already died (EPIPE) and a child of it trains on', async () => {
    // The leader starts a side trainer in its own group, then writes to its stdout until the write fails
    // (its reader, the killed rfsq, is gone) and dies of it, as RVQExperiment's scripts do.
    const { dir, stepPid, resume } = await killParentDuringStepTwo(
      engine,
      `${STEP_PRELUDE}if (name === 'two' && !existsSync('go')) {
  const side = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  writeFileSync('side.pid', String(side.pid));
  process.stdout.on('error', () => process.exit(1));
  writeFileSync('ready', '');
  setInterval(() => console.log('epoch line'), 20);
} else finish();
`,
    );
    const sidePid = Number(readFileSync(path.join(dir, 'side.pid'), 'utf8'));
    await waitFor(() => (isProcessAlive(stepPid) ? undefined : true));
    expect(isProcessAlive(sidePid)).toBe(true);

    const warnings: string[] = [];
    const resumed = await resume(warnings);
    expect(isProcessAlive(sidePid)).toBe(false);
    expect(warnings.join('\n')).toContain(
      `stopped the processes the previous attempt left running (group ${stepPid})`,
    );
    expect(resumed.status).toBe('succeeded');
  });

  it('leaves alone a process that took the recorded pid after the group ended', async () => {
    const { dir, stepPid, resume } = await killParentDuringStepTwo(
      engine,
      `${STEP_PRELUDE}if (name === 'two' && !existsSync('go')) {
  writeFileSync('ready', '');
  setInterval(() => {}, 1000); // deaf to 'go': it must still be alive after the resume
} else finish();
`,
    );
    // Pretend the recorded group started at another time: the live process with that pid is not ours.
    const state = loadState(dir)!;
    state.steps['two']!.pidStartTicks = (state.steps['two']!.pidStartTicks ?? 0) + 1;
    writeFileSync(path.join(dir, '.rfsq', 'state.json'), JSON.stringify(state));
    const warnings: string[] = [];
    try {
      const resumed = await resume(warnings);
      expect(resumed.status).toBe('succeeded');
      expect(isProcessAlive(stepPid)).toBe(true);
      expect(warnings.join('\n')).not.toContain('stopped');
    } finally {
      process.kill(-stepPid, 'SIGKILL');
    }
  });
});
