import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/ml/data/npy.js';
import { ROOT, rfsq, tempDir } from '../helpers/cli.js';

const LOCAL_CONFIG = readFileSync(path.join(ROOT, 'templates/pipeline/local.json'), 'utf8');

/**
 * The fault sweep's bad inputs (issue 16), each run through the built binary: exit 2, one `error:`
 * line and one `hint:` line on stderr, no stack trace. `dir` is a fresh folder holding a file
 * (`a-file`), a folder (`a-folder`), actions (`actions.npy`) and a tokenizer checkpoint (`ckpt`).
 */
interface BadInput {
  name: string;
  args: (dir: string) => string[];
  /** What the error line must say. */
  error: RegExp;
  hint: RegExp;
  /** Files to write first, relative to `dir`. */
  files?: Record<string, string>;
  /** Run as an unprivileged user (root may write anywhere). */
  unprivileged?: boolean;
}

const CASES: BadInput[] = [
  {
    name: 'init --dir <a file>',
    args: (dir) => ['init', '--template', 'local', '--dir', path.join(dir, 'a-file')],
    error: /a-file is a file, where a folder is needed/,
    hint: /choose another path/,
  },
  {
    name: 'init --dir <an unwritable folder>',
    args: (dir) => ['init', '--template', 'local', '--dir', path.join(dir, 'read-only', 'project')],
    error: /read-only.* is not accessible \(permission denied\)/,
    hint: /choose a place you can write to/,
    unprivileged: true,
  },
  {
    name: 'train --out <a file>',
    args: (dir) => ['train', '--out', path.join(dir, 'a-file'), '--epochs', '1', '--num-episodes', '4'],
    error: /a-file is a file, where a folder is needed/,
    hint: /choose another path/,
  },
  {
    name: 'encode --out <a folder>',
    args: (dir) => [
      'encode',
      '--checkpoint',
      path.join(dir, 'ckpt/robust'),
      '--input',
      path.join(dir, 'actions.npy'),
      '--out',
      path.join(dir, 'a-folder'),
    ],
    error: /a-folder is a folder, where a file is needed/,
    hint: /give the path of a file/,
  },
  {
    name: 'encode --out <a path through a file>',
    args: (dir) => [
      'encode',
      '--checkpoint',
      path.join(dir, 'ckpt/robust'),
      '--input',
      path.join(dir, 'actions.npy'),
      '--out',
      path.join(dir, 'a-file', 'codes.npy'),
    ],
    error: /a-file is a file, where a folder is needed/,
    hint: /choose another path/,
  },
  {
    name: 'verify --metrics <a folder>',
    args: (dir) => ['verify', '--metrics', path.join(dir, 'a-folder')],
    error: /metrics file .*a-folder is a folder, where a file is needed/,
    hint: /give the path of a file/,
  },
  {
    name: 'status of a state file written by a newer rfsq',
    args: () => ['status'],
    files: { '.rfsq/state.json': JSON.stringify({ version: 99, runId: 'from-the-future' }) },
    error: /state\.json was written by a newer rfsq \(state format 99; this rfsq reads 1\)/,
    hint: /update rfsq/,
  },
  {
    name: 'run --resume with no saved run',
    args: () => ['run', '--resume', '--yes'],
    files: { 'rfsq.config.json': LOCAL_CONFIG },
    error: /there is no run to resume in /,
    hint: /rfsq run --strategy A/,
  },
  {
    name: 'config set threshold.p2.main_acc 91 (a percentage where a fraction belongs)',
    args: () => ['config', 'set', 'threshold.p2.main_acc', '91'],
    error: /threshold\.p2\.main_acc is 91, outside 0–1/,
    hint: /write 0\.92, not 92/,
  },
  {
    name: 'verify: phase1.improvement_pct 500',
    args: (dir) => ['verify', '--metrics', path.join(dir, 'metrics.json')],
    files: { 'metrics.json': '{"phase1.improvement_pct": 500}' },
    error: /phase1\.improvement_pct in .* is 500, above 100/,
    hint: /at most 100/,
  },
  {
    name: 'verify: 1e999 (Infinity once parsed)',
    args: (dir) => ['verify', '--metrics', path.join(dir, 'metrics.json')],
    files: { 'metrics.json': '{"phase1.naive_mse": 1e999}' },
    error: /phase1\.naive_mse in .* is Infinity, not a finite number/,
    hint: /MSE is a non-negative number/,
  },
  ...[
    ['phase2Epochs=abc', /--var phase2Epochs=abc is passed to `rfsq phase2 train --epochs`|--policy-epochs/],
    [
      'trials=0',
      /--var trials=0 is passed to `rfsq phase3 eval --trials`, and --trials "0" must be a whole number ≥ 1/,
    ],
    ['actionEps=-1', /--action-eps "-1" must be a number ≥ 0/],
    ['data=', /--var data= is empty/],
  ].map(([assignment, error]): BadInput => ({
    name: `init --var ${String(assignment)}`,
    args: (dir) => ['init', '--template', 'local', '--dir', dir, '--var', String(assignment)],
    error: error as RegExp,
    hint: /e\.g\. --var \w+=/,
  })),
  {
    name: 'init --data "" (empty)',
    args: (dir) => ['init', '--template', 'local', '--dir', dir, '--data', ''],
    error: /--var data= is empty/,
    hint: /e\.g\. --var data=sim/,
  },
];

let checkpointDir: string;

beforeAll(async () => {
  checkpointDir = tempDir('rfsq-bad-input-ckpt-');
  const trained = await rfsq(
    ['train', '--variant', 'robust', '--epochs', '1', '--num-episodes', '4', '--out', checkpointDir],
    { cwd: checkpointDir },
  );
  expect(trained.exitCode, trained.stderr).toBe(0);
});

function prepare(testCase: BadInput): string {
  const dir = tempDir('rfsq-bad-input-');
  writeFileSync(path.join(dir, 'a-file'), 'not a folder\n');
  mkdirSync(path.join(dir, 'a-folder'));
  mkdirSync(path.join(dir, 'read-only'));
  chmodSync(path.join(dir, 'read-only'), 0o555);
  const actions = Float32Array.from({ length: 3 * 24 * 7 }, (_, i) => Math.sin(i / 5));
  writeFileSync(path.join(dir, 'actions.npy'), encodeNpy(actions, [3, 24, 7]));
  cpSync(path.join(checkpointDir, 'robust'), path.join(dir, 'ckpt/robust'), { recursive: true });
  for (const [name, text] of Object.entries(testCase.files ?? {})) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe('bad inputs (built binary): exit 2, one line, a hint, no stack trace', () => {
  it.each(CASES)('$name', async (testCase) => {
    const dir = prepare(testCase);
    const configDir = tempDir('rfsq-bad-input-config-');
    // Root writes anywhere; an unprivileged uid makes the permission error real.
    const asNobody = testCase.unprivileged && process.getuid?.() === 0;
    if (asNobody) chmodSync(configDir, 0o777);
    const result = await rfsq(testCase.args(dir), {
      cwd: dir,
      configDir,
      ...(asNobody ? { uid: 65534, gid: 65534 } : {}),
    });
    const lines = result.stderr.trimEnd().split('\n');
    expect(result.exitCode, result.stderr).toBe(2);
    expect(lines, result.stderr).toHaveLength(2);
    expect(lines[0]).toMatch(/^error: /);
    expect(lines[0]).toMatch(testCase.error);
    expect(lines[0]).not.toMatch(/internal error/);
    expect(lines[1]).toMatch(/^hint: /);
    expect(lines[1]).toMatch(testCase.hint);
  });
});

describe('output paths', () => {
  it('encode creates the folders of --out, as train does', async () => {
    const dir = prepare(CASES[0]!);
    const out = path.join(dir, 'no/such/dir/codes.npy');
    const result = await rfsq(
      [
        'encode',
        '--checkpoint',
        path.join(dir, 'ckpt/robust'),
        '--input',
        path.join(dir, 'actions.npy'),
        '--out',
        out,
      ],
      { cwd: dir },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
  });
});
