/** Exit codes shared by every command (see README: "Exit codes"). */
export const ExitCode = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
  pending: 3,
  /** A bug in rfsq itself, not in the user's input. */
  internal: 70,
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error the user can act on: one line saying what was wrong, and a hint saying how to fix it.
 * The CLI prints `error: <message>` and `hint: <hint>` and exits with `exitCode`, with no stack
 * trace unless --debug is given.
 */
export class RfsqError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: ExitCodeValue;

  constructor(message: string, options: { hint?: string; exitCode?: ExitCodeValue; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RfsqError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.usage;
  }
}

/** Input the user gave (flag, file, data) is wrong: exit code 2. */
export function inputError(message: string, hint?: string): RfsqError {
  return new RfsqError(message, { hint, exitCode: ExitCode.usage });
}

/**
 * What each filesystem error means for the path the user gave, and how to fix it. EEXIST comes from
 * creating a folder where a file is (`--dir <a file>`, `--out <a file>`).
 */
const FILE_SYSTEM_ERRORS: Record<string, { problem: string; hint: string }> = {
  EEXIST: {
    problem: 'is a file, where a folder is needed',
    hint: 'choose another path, or move the file away',
  },
  EISDIR: {
    problem: 'is a folder, where a file is needed',
    hint: 'give the path of a file (one inside that folder, if you like)',
  },
  ENOENT: { problem: 'does not exist', hint: 'check the path' },
  ENOTDIR: {
    problem: 'is not a folder (a part of the path is a file)',
    hint: 'check the path: each part before the last must be a folder',
  },
  EACCES: {
    problem: 'is not accessible (permission denied)',
    hint: 'choose a place you can write to, or fix its permissions',
  },
  EPERM: {
    problem: 'is not accessible (operation not permitted)',
    hint: 'choose a place you can write to, or fix its permissions',
  },
  EROFS: { problem: 'is on a read-only filesystem', hint: 'choose a writable place' },
  ENOSPC: {
    problem: 'cannot be written: no space left on the device',
    hint: 'free some space, or choose another disk',
  },
};

/**
 * A Node filesystem error about a path (EEXIST, EISDIR, ENOENT, ENOTDIR, EACCES, EPERM, EROFS,
 * ENOSPC) as an input error naming the path, or undefined for anything else. The CLI applies it to
 * every error a command lets through, so that no command has to catch them one by one. `file` names
 * the path where Node's error has none (a read of a folder), `what` says what it is ("metrics file").
 */
export function fileSystemError(
  error: unknown,
  context: { file?: string; what?: string } = {},
): RfsqError | undefined {
  const { code, path } = (error ?? {}) as NodeJS.ErrnoException;
  const meaning = code === undefined ? undefined : FILE_SYSTEM_ERRORS[code];
  const file = path ?? context.file;
  if (!meaning || file === undefined) return undefined;
  const what = context.what ? `${context.what} ` : '';
  return new RfsqError(`${what}${file} ${meaning.problem} (${code})`, {
    hint: meaning.hint,
    exitCode: ExitCode.usage,
    cause: error,
  });
}
