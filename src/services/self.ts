import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built binary: dist/bin/rfsq.js, found from dist/src/services (built) or src/services (tests). */
export const RFSQ_BIN = [
  fileURLToPath(new URL('../../bin/rfsq.js', import.meta.url)),
  fileURLToPath(new URL('../../dist/bin/rfsq.js', import.meta.url)),
].find((candidate) => existsSync(candidate))!;

/** The argv that runs this very tool with the same Node: [node, rfsq.js, ...args]. */
export function rfsqArgv(args: string[]): [string, ...string[]] {
  return [process.execPath, RFSQ_BIN, ...args];
}
