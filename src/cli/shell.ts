import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Shows an argument the way a POSIX shell needs it, for copy and paste. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * How the user can type this tool: `rfsq` when one is on PATH (installed, or linked), else `npx rfsq`,
 * which is how a clone runs it (npm ci builds it; the README's Quick start).
 */
export function rfsqInvocation(env: NodeJS.ProcessEnv = process.env): string {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(path.join(dir, 'rfsq'), constants.X_OK);
      return 'rfsq';
    } catch {
      // not in this folder
    }
  }
  return 'npx rfsq';
}

/** A command line to paste: rfsq as the user can type it, each argument quoted where a shell needs it. */
export function rfsqCommandLine(args: readonly string[]): string {
  return [rfsqInvocation(), ...args.map(shellQuote)].join(' ');
}

/** `--dir <dir>` for a hint, or nothing when the project is the current folder. */
export function projectDirArgs(dir: string): string[] {
  return path.resolve(dir) === process.cwd() ? [] : ['--dir', dir];
}
