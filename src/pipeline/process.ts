import { readFileSync, readdirSync } from 'node:fs';

/**
 * Process helpers shared by the executor and the run state.
 *
 * A zombie (a process that exited but was not reaped yet) counts as dead here: in containers
 * PID 1 often never reaps orphans, and `kill(pid, 0)` keeps succeeding for zombies.
 */

const hasProc = process.platform === 'linux';

interface ProcState {
  state: string;
  pgrp: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot. With the pid, it names one process for good. */
  startTicks: number;
}

function procState(pid: number): ProcState | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: parse after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = rest[0];
    const pgrp = Number(rest[2]);
    const startTicks = Number(rest[19]);
    if (state === undefined || !Number.isInteger(pgrp) || !Number.isInteger(startTicks)) return undefined;
    return { state, pgrp, startTicks };
  } catch {
    return undefined;
  }
}

/**
 * When the process started (clock ticks after boot; Linux only), zombies included: a pid alone can be
 * reused, the pair (pid, start) cannot. Undefined when there is no such process or no /proc.
 */
export function processStartTicks(pid: number): number | undefined {
  return hasProc ? procState(pid)?.startTicks : undefined;
}

/** Whether the process `pid` is alive and is the one that started at `startTicks` (not a reused pid). */
export function isSameProcessAlive(pid: number, startTicks: number | undefined): boolean {
  if (!isProcessAlive(pid)) return false;
  return startTicks === undefined || processStartTicks(pid) === startTicks;
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

/**
 * Whether the live members of group `pgid` are the group a step started, whose leader started at
 * `leaderStartTicks`: the leader itself (alive or a zombie, with that start time), or, once it is
 * gone, members that started after it. Linux never hands out a pid that is still some group's id,
 * so a group outliving its leader keeps its id until its last member exits.
 */
export function isRecordedGroupAlive(pgid: number, leaderStartTicks: number): boolean {
  const leaderStart = processStartTicks(pgid);
  // The leader's pid is taken by a process that started later: our group ended before it got the pid.
  if (leaderStart !== undefined && leaderStart !== leaderStartTicks) return false;
  return processGroupMembers(pgid).some((member) => (processStartTicks(member) ?? -1) >= leaderStartTicks);
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
