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

describe('a parent killed with SIGKILL', () => {
  let engine: string;
  beforeAll(() => {
    engine = buildEngine();
  });

  it('leaves a stale state; resuming reruns the step that was running', async () => {
    const dir = tempDir();
    const stepFile = script(
      dir,
      'step.mjs',
      `import { appendFileSync, existsSync } from 'node:fs';
const name = process.argv[2];
appendFileSync('runs.txt', name + '\\n');
const finish = () => { console.log('RFSQ_METRIC phase3.success_rate 0.9'); process.exit(0); };
if (name === 'two' && !existsSync('go')) setInterval(() => { if (existsSync('go')) finish(); }, 20);
else finish();
`,
    );
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
    await waitFor(() =>
      existsSync(path.join(dir, 'runs.txt')) &&
      readFileSync(path.join(dir, 'runs.txt'), 'utf8').includes('two')
        ? true
        : undefined,
    );
    parent.kill('SIGKILL');
    await parentExit;

    const stale = loadState(dir);
    expect(stale?.status).toBe('running');
    expect(stale && isStale(stale)).toBe(true);
    // The step leads its own process group, so it outlived the parent: resuming must stop it.
    expect(isProcessAlive(stepPid)).toBe(true);

    writeFileSync(path.join(dir, 'go'), '');
    const warnings: string[] = [];
    const resumed = await runPipeline({
      projectDir: dir,
      plan,
      strategy: 'A',
      resume: true,
      graceMs: 300,
      onEvent: (event) => {
        if (event.type === 'warning') warnings.push(event.message);
      },
    });
    expect(isProcessAlive(stepPid)).toBe(false);
    expect(warnings.join('\n')).toContain('stopped the processes the previous attempt left running');
    expect(resumed.status).toBe('succeeded');
    expect(resumed.state?.runId).toBe(stale?.runId);
    expect(resumed.decisions.map((decision) => decision.action)).toEqual(['skip', 'run', 'run']);
    const runs = readFileSync(path.join(dir, 'runs.txt'), 'utf8').split('\n').filter(Boolean);
    expect(runs).toEqual(['one', 'two', 'two', 'three']);
  });
});
