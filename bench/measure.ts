/** Runs a benchmarked command as a real process and measures its wall time and peak RSS. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';

export const GNU_TIME = '/usr/bin/time';

export type RssMethod = 'gnu-time' | 'probe';

export interface Measured {
  stdout: string;
  wallSeconds: number;
  /** Peak resident set size of the child in KiB, or null when the method cannot see it. */
  peakRssKb: number | null;
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
 */
export async function measure(
  command: string,
  args: string[],
  method: RssMethod,
  rssFile: string,
  label: string,
  progressEveryMs = 60 * 1000,
): Promise<Measured> {
  await rm(rssFile, { force: true });
  let file = command;
  let argv = args;
  if (method === 'gnu-time') {
    file = GNU_TIME;
    argv = ['-f', '%M', '-o', rssFile, command, ...args];
  } else if (command === process.execPath) {
    argv = ['--import', RSS_PROBE, ...args];
  }
  const start = performance.now();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(file, argv, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NO_COLOR: '1', RFSQ_BENCH_RSS_FILE: rssFile },
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      // A long run (the plan's loop on 500 demos) is left to finish: say it is still going instead.
      const timer = setInterval(() => {
        const minutes = (performance.now() - start) / 60_000;
        process.stderr.write(`[bench] ${label}: still running after ${minutes.toFixed(0)} min\n`);
      }, progressEveryMs);
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
  if (existsSync(rssFile)) {
    // GNU time writes "Command exited with non-zero status" lines before the figure on failure.
    const last = (await readFile(rssFile, 'utf8')).trim().split('\n').pop() ?? '';
    const kb = Number(last);
    if (Number.isFinite(kb) && kb > 0) peakRssKb = kb;
  }
  return { stdout, wallSeconds, peakRssKb };
}
