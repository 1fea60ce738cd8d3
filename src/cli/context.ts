import type { Command } from 'commander';

/** The global flags every command accepts. */
export interface GlobalOptions {
  json: boolean;
  input: boolean;
  debug: boolean;
  color: boolean;
}

export function globalOptions(command: Command): GlobalOptions {
  const options = command.optsWithGlobals<Partial<GlobalOptions>>();
  return {
    json: options.json === true,
    input: options.input !== false,
    debug: options.debug === true,
    color: options.color !== false && colorAllowed(),
  };
}

/** NO_COLOR (https://no-color.org) and a non-TTY both turn colour off. */
export function colorAllowed(): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR === '0') return false;
  return process.stdout.isTTY === true;
}

/** Prompts appear only when stdin and stdout are terminals, CI is unset and --no-input is absent. */
export function canPrompt(options: GlobalOptions): boolean {
  return (
    options.input &&
    !options.json &&
    process.stdin.isTTY === true &&
    process.stdout.isTTY === true &&
    !process.env.CI
  );
}

/** The terminal's width, to fit text to; none when stdout is not a terminal (a pipe keeps long lines). */
export function terminalWidth(): number | undefined {
  return process.stdout.isTTY ? process.stdout.columns : undefined;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Progress, warnings and notes go to stderr so that stdout stays data. */
export function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

export interface Paint {
  bold: (text: string) => string;
  dim: (text: string) => string;
  green: (text: string) => string;
  red: (text: string) => string;
  yellow: (text: string) => string;
  cyan: (text: string) => string;
}

const ESC = '\u001b[';

export function paint(enabled: boolean): Paint {
  const wrap = (open: number, close: number) => (text: string) =>
    enabled ? `${ESC}${open}m${text}${ESC}${close}m` : text;
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    green: wrap(32, 39),
    red: wrap(31, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
  };
}
