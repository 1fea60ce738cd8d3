import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { stepCommands, type ResolvedStep } from './executor.js';
import { stateDir, writeFileAtomic } from './state.js';

/**
 * How long each step's command took when it last succeeded here, in `<project>/.rfsq/timings.json`:
 * the estimates a run shows come from these measurements on this machine, never from constants.
 * A step is keyed by its id and its resolved commands, so a changed command (more epochs, more
 * trials) has no estimate until it has run once.
 */

const timingsSchema = z.record(
  z.string(),
  z.object({ command: z.string(), seconds: z.number().nonnegative(), at: z.string() }),
);
type Timings = z.infer<typeof timingsSchema>;

function timingsPath(projectDir: string): string {
  return path.join(stateDir(projectDir), 'timings.json');
}

function commandKey(step: Pick<ResolvedStep, 'argv' | 'then'>): string {
  return createHash('sha256')
    .update(JSON.stringify(stepCommands(step)))
    .digest('hex');
}

function readTimings(projectDir: string): Timings {
  try {
    const parsed = timingsSchema.safeParse(JSON.parse(readFileSync(timingsPath(projectDir), 'utf8')));
    return parsed.success ? parsed.data : {};
  } catch {
    // None yet, or unreadable: estimates are a convenience, never a reason to stop a run.
    return {};
  }
}

/** Seconds the step's current command took when it last succeeded in this project; undefined if never. */
export function measuredSeconds(
  projectDir: string,
  step: Pick<ResolvedStep, 'id' | 'argv' | 'then'>,
): number | undefined {
  const entry = readTimings(projectDir)[step.id];
  return entry && entry.command === commandKey(step) ? entry.seconds : undefined;
}

/** Records how long a step that succeeded took. */
export function recordTiming(
  projectDir: string,
  step: Pick<ResolvedStep, 'id' | 'argv' | 'then'>,
  seconds: number,
): void {
  const timings = readTimings(projectDir);
  timings[step.id] = { command: commandKey(step), seconds, at: new Date().toISOString() };
  writeFileAtomic(timingsPath(projectDir), `${JSON.stringify(timings, null, 2)}\n`);
}
