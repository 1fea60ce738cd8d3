import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RfsqError } from '../core/errors.js';
import { isSameProcessAlive, processStartTicks } from './process.js';
import { stateDir } from './state.js';

/**
 * The run lock, `<project>/.rfsq/run.lock`: one rfsq run per project at a time. It is taken
 * atomically (a complete file hard-linked into place, which fails when one exists) before the run
 * reads anything, so two runs started together cannot both pass a check and then both run.
 *
 * The file names its holder by pid and start time, so a lock left by a killed rfsq (or by a pid that
 * has since been reused) is recognised as stale and taken over.
 */

interface LockHolder {
  pid: number;
  /** Clock ticks after boot (Linux); absent where the platform has no /proc. */
  startTicks?: number;
  startedAt: string;
}

export function lockPath(projectDir: string): string {
  return path.join(stateDir(projectDir), 'run.lock');
}

function readHolder(file: string): LockHolder | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
  }
  try {
    const holder = JSON.parse(text) as Partial<LockHolder>;
    if (typeof holder.pid === 'number' && Number.isInteger(holder.pid)) return holder as LockHolder;
  } catch {
    // Not JSON: not a lock this code wrote (files are linked into place whole, never half-written).
  }
  return 'unreadable';
}

export interface RunLock {
  /** Removes the lock if this process still holds it. */
  release(): void;
}

/**
 * Takes the project's run lock, or throws an RfsqError (exit 2) naming the live run that holds it.
 * A stale lock (its holder died, or its pid now belongs to another process) is taken over.
 */
export function acquireRunLock(projectDir: string): RunLock {
  const file = lockPath(projectDir);
  mkdirSync(path.dirname(file), { recursive: true });
  const startTicks = processStartTicks(process.pid);
  const me: LockHolder = {
    pid: process.pid,
    ...(startTicks !== undefined ? { startTicks } : {}),
    startedAt: new Date().toISOString(),
  };
  const content = `${JSON.stringify(me)}\n`;
  const unique = () => `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const draft = unique();
  writeFileSync(draft, content);
  try {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        linkSync(draft, file);
        return { release: () => releaseIfMine(file, content) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readHolder(file);
      if (holder === 'missing') continue; // released between our link and our read: try again
      if (holder !== 'unreadable' && isSameProcessAlive(holder.pid, holder.startTicks)) {
        throw new RfsqError(`another rfsq run (pid ${holder.pid}) is in progress in ${projectDir}`, {
          hint: 'wait for it to finish, or stop it with Ctrl-C in its terminal',
        });
      }
      breakStaleLock(file, unique());
    }
    throw new RfsqError(`could not take the run lock ${file}: other runs keep taking it`, {
      hint: 'start one run at a time in a project',
    });
  } finally {
    rmSync(draft, { force: true });
  }
}

/**
 * Moves a stale lock aside by rename (atomic: of two rfsq that both found it stale, one moves it). If
 * what got moved is a live holder's fresh lock (it was replaced between our read and our rename), it is
 * linked back into place.
 */
function breakStaleLock(file: string, aside: string): void {
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = readHolder(aside);
  if (moved !== 'missing' && moved !== 'unreadable' && isSameProcessAlive(moved.pid, moved.startTicks)) {
    try {
      linkSync(aside, file);
    } catch {
      // Someone else linked a lock in the meantime; theirs stands.
    }
  }
  rmSync(aside, { force: true });
}

function releaseIfMine(file: string, content: string): void {
  try {
    if (readFileSync(file, 'utf8') === content) rmSync(file, { force: true });
  } catch {
    // Already gone.
  }
}
