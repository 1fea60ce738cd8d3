import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Options } from 'execa';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'dist/bin/rfsq.js');

export function tempDir(prefix = 'rfsq-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Runs the built binary as a user would, with its own settings directory and no terminal. */
export async function rfsq(args: string[], options: Options & { configDir?: string } = {}) {
  const { configDir, ...rest } = options;
  const result = await execa('node', [BIN, ...args], {
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: false,
    ...rest,
    env: { CI: 'true', RFSQ_CONFIG_DIR: configDir ?? tempDir('rfsq-config-'), ...rest.env },
  });
  return {
    exitCode: result.exitCode,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
  };
}
