import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, rfsq, tempDir } from '../helpers/cli.js';

const MODULE = path.join('phase1_improved', 'rfsq_robust.py');
const TEMPLATE = path.join(ROOT, 'templates/pytorch/rfsq_robust.py');

describe('rfsq init --research-code puts the drop-in module where the scripts import it', () => {
  it('writes it into a checkout, and never replaces the research code’s file without --force', async () => {
    const project = tempDir('rfsq-dropin-');
    const checkout = tempDir('rfsq-checkout-');
    await mkdir(path.join(checkout, 'phase1_improved'));
    const original = '# the research code’s per-vector LayerNorm module\n';
    await writeFile(path.join(checkout, MODULE), original);

    const refused = await rfsq([
      'init',
      '--template',
      'modal',
      '--dir',
      project,
      '--research-code',
      checkout,
    ]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/is not rfsq's drop-in module; refusing to overwrite it/);
    expect(refused.stderr).toMatch(/hint: pass --force/);
    expect(await readFile(path.join(checkout, MODULE), 'utf8')).toBe(original);
    expect(existsSync(path.join(project, 'rfsq.config.json'))).toBe(false);

    const forced = await rfsq([
      'init',
      '--template',
      'modal',
      '--dir',
      project,
      '--research-code',
      checkout,
      '--force',
      '--json',
    ]);
    expect(forced.exitCode, forced.stderr).toBe(0);
    const report = JSON.parse(forced.stdout) as { dropIn: { status: string; backup: string } };
    expect(report.dropIn.status).toBe('different');
    expect(await readFile(path.join(checkout, MODULE), 'utf8')).toBe(await readFile(TEMPLATE, 'utf8'));
    expect(await readFile(report.dropIn.backup, 'utf8')).toBe(original);

    // Run again: already there, and the original backup stays the research code's file.
    const again = await rfsq([
      'init',
      '--template',
      'slurm',
      '--dir',
      project,
      '--research-code',
      checkout,
      '--force',
    ]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/drop-in tokenizer: .*rfsq_robust\.py \(already there\)/);
    expect(await readFile(report.dropIn.backup, 'utf8')).toBe(original);

    const local = await rfsq([
      'init',
      '--template',
      'local',
      '--dir',
      project,
      '--force',
      '--research-code',
      checkout,
    ]);
    expect(local.exitCode).toBe(2);
    expect(local.stderr).toMatch(/--research-code is for the modal and slurm templates/);
  });

  it.skipIf(spawnSync('/usr/bin/python3', ['-c', 'import torch']).status !== 0)(
    'is importable as the scripts import it (from phase1_improved.rfsq_robust import ActionRFSQAE)',
    async () => {
      const checkout = tempDir('rfsq-checkout-');
      const result = await rfsq([
        'init',
        '--template',
        'modal',
        '--dir',
        tempDir(),
        '--research-code',
        checkout,
      ]);
      expect(result.exitCode, result.stderr).toBe(0);
      const python = spawnSync(
        '/usr/bin/python3',
        [
          '-c',
          'import sys; sys.path.insert(0, sys.argv[1]); from phase1_improved.rfsq_robust import ActionRFSQAE; print(type(ActionRFSQAE(use_layernorm=True)).__name__)',
          checkout,
        ],
        { encoding: 'utf8' },
      );
      expect(python.stderr).toBe('');
      expect(python.stdout.trim()).toBe('ActionRFSQAE');
    },
  );
});
