import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { acquireRunLock, lockPath } from '../../src/pipeline/lock.js';
import { processStartTicks } from '../../src/pipeline/process.js';
import { BIN, tempDir as cliTempDir } from '../helpers/cli.js';
import { tempDir, waitFor } from './helpers.js';

function writeLock(dir: string, holder: object): void {
  mkdirSync(path.join(dir, '.rfsq'), { recursive: true });
  writeFileSync(lockPath(dir), JSON.stringify(holder));
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid ?? 0;
}

describe('the run lock', () => {
  it('is exclusive while held and free again once released', () => {
    const dir = tempDir();
    const lock = acquireRunLock(dir);
    expect(JSON.parse(readFileSync(lockPath(dir), 'utf8')).pid).toBe(process.pid);
    expect(() => acquireRunLock(dir)).toThrow(`another rfsq run (pid ${process.pid}) is in progress`);
    lock.release();
    expect(existsSync(lockPath(dir))).toBe(false);
    acquireRunLock(dir).release();
  });

  it('takes over a lock left by a dead rfsq', async () => {
    const dir = tempDir();
    writeLock(dir, { pid: await deadPid(), startTicks: 1, startedAt: new Date().toISOString() });
    const lock = acquireRunLock(dir);
    expect(JSON.parse(readFileSync(lockPath(dir), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('takes over a lock whose pid now belongs to another process (other start time)', () => {
    const dir = tempDir();
    const ticks = processStartTicks(process.ppid)!;
    writeLock(dir, { pid: process.ppid, startTicks: ticks + 1, startedAt: new Date().toISOString() });
    acquireRunLock(dir).release();
  });

  it('two `rfsq run` started together: exactly one runs, the other says which run holds the project', async () => {
    const dir = cliTempDir();
    // A large input: fingerprinting it takes long enough that a check-then-write lock let both runs through.
    writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(48 * 1024 * 1024, 7));
    writeFileSync(
      path.join(dir, 'step.mjs'),
      `import { appendFileSync, existsSync } from 'node:fs';
appendFileSync('runs.txt', process.argv[2] + ' ' + process.ppid + '\\n');
const finish = () => { console.log('RFSQ_METRIC phase1.robust_mse 0.01'); process.exit(0); };
if (process.argv[2] === 'train') setInterval(() => { if (existsSync('go')) finish(); }, 20);
else finish();
`,
    );
    const step = (id: string) => ({
      title: id,
      command: [process.execPath, 'step.mjs', id],
      inputs: ['big.bin'],
      expectedMetrics: ['phase1.robust_mse'],
    });
    writeFileSync(
      path.join(dir, 'rfsq.config.json'),
      JSON.stringify({
        version: 1,
        template: 'local',
        runner: 'local',
        steps: {
          'phase1-train': step('train'),
          'phase1-compare': step('compare'),
          'phase3-swap': step('swap'),
        },
      }),
    );
    const start = () => {
      const child = spawn(process.execPath, [BIN, 'run', '--strategy', 'B', '--yes'], {
        cwd: dir,
        env: { ...process.env, CI: 'true', RFSQ_CONFIG_DIR: cliTempDir() },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
      return { child, exit, stderr: () => stderr };
    };
    const runs = [start(), start()];
    onTestFinished(() => {
      // On failure both may still wait for `go`: Ctrl-C them, so they stop their steps.
      for (const run of runs) run.child.kill('SIGINT');
      writeFileSync(path.join(dir, 'go'), '');
    });
    const codes: Array<number | null> = [null, null];
    runs.forEach((run, index) => void run.exit.then((code) => (codes[index] = code)));
    // The loser exits while the winner's first step waits for `go`.
    const loser = await waitFor(() => {
      const index = codes.findIndex((code) => code !== null);
      return index === -1 ? undefined : index;
    });
    expect(codes[loser]).toBe(2);
    expect(runs[loser]!.stderr()).toMatch(/error: another rfsq run \(pid \d+\) is in progress/);
    writeFileSync(path.join(dir, 'go'), '');
    expect(await runs[1 - loser]!.exit).toBe(0);
    const lines = readFileSync(path.join(dir, 'runs.txt'), 'utf8').trim().split('\n');
    expect(lines.map((line) => line.split(' ')[0])).toEqual(['train', 'compare', 'swap']);
    expect(existsSync(lockPath(dir))).toBe(false);
  });
});
