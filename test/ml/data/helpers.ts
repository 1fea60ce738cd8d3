import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { RfsqError } from '../../../src/core/errors.js';

/** Awaits `run`, expects an RfsqError whose message matches `message`, and returns it. */
export async function expectInputError(run: () => unknown, message: RegExp): Promise<RfsqError> {
  let caught: unknown;
  try {
    await run();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected an RfsqError to be thrown').toBeInstanceOf(RfsqError);
  const err = caught as RfsqError;
  expect(err.message).toMatch(message);
  expect(err.message).not.toContain('\n');
  expect(err.hint ?? '').not.toBe('');
  expect(err.exitCode).toBe(2);
  return err;
}

export async function makeTempDir(): Promise<{
  dir: string;
  path: (name: string) => string;
  cleanup: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'rfsq-data-'));
  return { dir, path: (name) => join(dir, name), cleanup: () => rm(dir, { recursive: true, force: true }) };
}
