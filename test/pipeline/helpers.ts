import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PlannedStep } from '../../src/pipeline/pipeline.js';

export function tempDir(prefix = 'rfsq-pipeline-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Writes a node script into `dir` and returns its path. */
export function script(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, body);
  return file;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls until `check` returns a value (not undefined). The deadline is generous on purpose: it is a
 * safety net for a broken test, never a timing assumption, and a busy 2-core machine must not hit it.
 */
export async function waitFor<T>(check: () => T | undefined, timeoutMs = 120_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not reached in ${timeoutMs / 1000} s`);
    await sleep(everyMs);
  }
}

export function readPid(file: string): number | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/** A step running `node <file> ...args` in `dir`. */
export function nodeStep(
  dir: string,
  id: string,
  file: string,
  extra: Partial<PlannedStep> = {},
  args: string[] = [],
): PlannedStep {
  return {
    id,
    title: `step ${id}`,
    argv: [process.execPath, file, ...args],
    cwd: dir,
    expectedMetrics: [],
    ...extra,
  };
}
