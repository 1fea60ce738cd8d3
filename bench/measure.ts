/** Runs a benchmarked command as a real process and measures its wall time and peak RSS. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';

export const GNU_TIME = '/usr/bin/time';

export type RssMethod = 'gnu-time' | 'probe';

export interface Measured {
  stdout: string;
  wallSeconds: number;
  /** Peak resident set size of the child in KiB, or null when the method cannot see it. */
  peakRssKb: number | null;
  /**
   * User + system CPU seconds of the command and its children (GNU time's %U + %S), or null without GNU
   * time. Unlike wall time it barely moves with the machine's load, so runs on a busy machine compare.
   */
  cpuSeconds: number | null;
}

/**
 * Node preload for the probe method: writes the process's own peak RSS (KiB) when it exits.
 * process.resourceUsage().maxRSS is in KiB.
 */
const RSS_PROBE =
  'data:text/javascript,' +
  encodeURIComponent(
    "import{writeFileSync}from'node:fs';process.on('exit',()=>writeFileSync(process.env.RFSQ_BENCH_RSS_FILE,String(process.resourceUsage().maxRSS)));",
  );

/**
 * Runs a command to completion and measures its wall time (spawn to exit, startup included) and peak
 * RSS: with GNU time's %M, or (probe method) through RSS_PROBE for Node children; Python children
 * report their own ru_maxrss in their JSON.
 *
 * No time limit: a loaded machine makes a run slow, not wrong. Instead a progress line on stderr every
 * `progressSeconds` (default 30) says what is running and for how long, so a stuck run is seen and
 * stopped by whoever watches it. `env` adds variables for the child only (e.g. LD_LIBRARY_PATH to pick a
 * BLAS).
 */
export async function measure(
  command: string,
  args: string[],
  method: RssMethod,
  rssFile: string,
  label: string,
  options: { env?: NodeJS.ProcessEnv; progressSeconds?: number } = {},
): Promise<Measured> {
  await rm(rssFile, { force: true });
  let file = command;
  let argv = args;
  if (method === 'gnu-time') {
    file = GNU_TIME;
    argv = ['-f', '%M %U %S', '-o', rssFile, command, ...args];
  } else if (command === process.execPath) {
    argv = ['--import', RSS_PROBE, ...args];
  }
  const start = performance.now();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(file, argv, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...options.env, NO_COLOR: '1', RFSQ_BENCH_RSS_FILE: rssFile },
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      const every = (options.progressSeconds ?? 30) * 1000;
      const timer = setInterval(() => {
        const minutes = (performance.now() - start) / 60000;
        process.stderr.write(`  … ${label}: still running after ${minutes.toFixed(1)} min\n`);
      }, every);
      child.on('error', (error) => {
        clearInterval(timer);
        reject(error);
      });
      child.on('close', (exitCode) => {
        clearInterval(timer);
        resolve({
          code: exitCode,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        });
      });
    },
  );
  const wallSeconds = (performance.now() - start) / 1000;
  if (code !== 0) {
    const tail = stderr.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${label} exited with code ${String(code)}:\n${tail}`);
  }
  let peakRssKb: number | null = null;
  let cpuSeconds: number | null = null;
  if (existsSync(rssFile)) {
    // GNU time writes "Command exited with non-zero status" lines before the figure on failure.
    const last = (await readFile(rssFile, 'utf8')).trim().split('\n').pop() ?? '';
    const [kb, user, system] = last.split(' ').map(Number) as [number, number?, number?];
    if (Number.isFinite(kb) && kb > 0) peakRssKb = kb;
    if (user !== undefined && system !== undefined && Number.isFinite(user + system))
      cpuSeconds = user + system;
  }
  return { stdout, wallSeconds, peakRssKb, cpuSeconds };
}

/** The median of the values (the mean of the middle two for an even count); NaN for none. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The machine's 1, 5 and 15 minute load averages, two decimals each: part of every timing's record. */
export function loadAverage(separator = ' / '): string {
  return os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(separator);
}
