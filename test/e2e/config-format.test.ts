import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';
import { formatJson } from '../../src/services/files.js';
import { ROOT, rfsq, tempDir } from '../helpers/cli.js';

/** Whether the project's own Prettier check (`npm run format:check`) would pass `text` as `file`. */
async function prettierClean(text: string, file: string): Promise<boolean> {
  const options = await prettier.resolveConfig(path.join(ROOT, 'package.json'));
  return prettier.check(text, { ...options, filepath: file });
}

describe('files rfsq writes into a clone pass its format check', () => {
  it.each(['local', 'modal', 'slurm'])(
    'rfsq init --template %s writes a Prettier-clean rfsq.config.json',
    async (template) => {
      const dir = tempDir();
      const result = await rfsq([
        'init',
        '--template',
        template,
        '--dir',
        dir,
        '--var',
        'data=a/much/longer/path/to/libero_spatial_demos.hdf5',
      ]);
      expect(result.exitCode, result.stderr).toBe(0);
      const file = path.join(dir, 'rfsq.config.json');
      expect(await prettierClean(readFileSync(file, 'utf8'), file)).toBe(true);
    },
  );

  it('formatJson lays out what Prettier would: short arrays inline, long ones one value a line', async () => {
    const value = {
      empty: { list: [], object: {} },
      short: [1, 2.5e-7, 'x', null, true],
      long: Array.from({ length: 12 }, (_, i) => `--flag-number-${i}`),
      nested: [{ a: 1 }, [1, 2]],
    };
    const text = `${formatJson(value)}\n`;
    expect(JSON.parse(text)).toEqual(value);
    expect(await prettierClean(text, 'x.json')).toBe(true);
  });
});
