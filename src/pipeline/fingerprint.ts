import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedStep } from './executor.js';

/** Files above this size contribute size + mtime instead of their contents. */
export const LARGE_FILE_BYTES = 50 * 1024 * 1024;

export type FingerprintInput = Pick<ResolvedStep, 'argv' | 'then' | 'env' | 'cwd' | 'inputs'>;

/** sha256 of a file's contents, streamed. */
export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function describeInput(file: string): Promise<string> {
  let info;
  try {
    info = await stat(file);
  } catch {
    return 'missing';
  }
  if (info.isDirectory()) return `dir mtime=${info.mtimeMs}`;
  if (info.size > LARGE_FILE_BYTES) return `size=${info.size} mtime=${info.mtimeMs}`;
  return `sha256=${await hashFile(file)}`;
}

/**
 * sha256 over the step's resolved argv (and its `then` commands), its declared env (not the whole environment), its cwd and
 * its declared input files (relative paths resolve against cwd). Each input contributes its path
 * and its content hash, or size + mtime above 50 MB, or `missing`.
 */
export async function fingerprintStep(step: FingerprintInput): Promise<string> {
  const env = Object.entries(step.env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const inputs: Array<[string, string]> = [];
  for (const input of [...(step.inputs ?? [])].sort()) {
    inputs.push([input, await describeInput(path.resolve(step.cwd, input))]);
  }
  // `then` only when present, so that the fingerprints of one-command steps stay what they were.
  const document = JSON.stringify({
    argv: step.argv,
    ...(step.then && step.then.length > 0 ? { then: step.then } : {}),
    env,
    cwd: path.resolve(step.cwd),
    inputs,
  });
  return createHash('sha256').update(document).digest('hex');
}
