import { readFileSync, readdirSync } from 'node:fs';

/**
 * Process helpers shared by the executor and the run state.
 *
 * A zombie (a process that exited but was not reaped yet) counts as dead here: in containers
 * PID 1 often never reaps orphans, and `kill(pid, 0)` keeps succeeding for zombies.
 */

const hasProc = process.platform === 'linux';

function procState(pid: number): { state: string; pgrp: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: parse after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = rest[0];
    const pgrp = Number(rest[2]);
    if (state === undefined || !Number.isInteger(pgrp)) return undefined;
    return { state, pgrp };
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists and is not a zombie. */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (hasProc) {
    const info = procState(pid);
    if (info !== undefined && info.state === 'Z') return false;
  }
  return true;
}

/** Pids of the live (non-zombie) members of a process group; on non-Linux, a best guess. */
export function processGroupMembers(pgid: number): number[] {
  if (hasProc) {
    const members: number[] = [];
    let entries: string[];
    try {
      entries = readdirSync('/proc');
    } catch {
      entries = [];
    }
    for (const entry of entries) {
      if (!/^\d+$/.test(entry)) continue;
      const info = procState(Number(entry));
      if (info !== undefined && info.pgrp === pgid && info.state !== 'Z') members.push(Number(entry));
    }
    return members;
  }
  try {
    process.kill(-pgid, 0);
    return [pgid];
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? [pgid] : [];
  }
}

export function isProcessGroupAlive(pgid: number): boolean {
  return processGroupMembers(pgid).length > 0;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stops a whole process group led by `pid` (children are spawned with `detached: true`, so the
 * child's pid is its group id): SIGTERM to the group, then SIGKILL to whatever is left after
 * `graceMs`. Resolves once no live member remains (or shortly after SIGKILL).
 */
export async function killProcessTree(pid: number, graceMs = 5000): Promise<void> {
  if (!isProcessGroupAlive(pid)) return;
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isProcessGroupAlive(pid)) {
      // Catch any member the scan missed (a process mid-exec); ESRCH when the group is gone.
      signalGroup(pid, 'SIGKILL');
      return;
    }
    await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
  }
  signalGroup(pid, 'SIGKILL');
  for (let i = 0; i < 40 && isProcessGroupAlive(pid); i++) await sleep(25);
}

/** The argv of a live process (Linux only; undefined elsewhere or when it cannot be read). */
export function processArgv(pid: number): string[] | undefined {
  if (!hasProc) return undefined;
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const parts = raw.split('\0');
    if (parts[parts.length - 1] === '') parts.pop();
    return parts.length > 0 ? parts : undefined;
  } catch {
    return undefined;
  }
}
