import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ExitCode, fileSystemError, RfsqError } from '../core/errors.js';

type Register = (program: Command) => void;

/**
 * Every command's module, in the order `rfsq --help` lists them. A command's module is imported only when
 * that command runs (or when all of them are needed: help, no command, an unknown one): importing all
 * seventeen costs a loaded machine more than the command itself (see bench/startup.ts).
 */
const COMMANDS: [string, () => Promise<Register>][] = [
  ['init', async () => (await import('../commands/init.js')).registerInit],
  ['recommend', async () => (await import('../commands/recommend.js')).registerRecommend],
  ['run', async () => (await import('../commands/run.js')).registerRun],
  ['status', async () => (await import('../commands/status.js')).registerStatus],
  ['verify', async () => (await import('../commands/verify.js')).registerVerify],
  ['report', async () => (await import('../commands/report.js')).registerReport],
  ['train', async () => (await import('../commands/train.js')).registerTrain],
  ['compare', async () => (await import('../commands/compare.js')).registerCompare],
  ['encode', async () => (await import('../commands/encode.js')).registerEncode],
  ['phase2', async () => (await import('../commands/phase2.js')).registerPhase2],
  ['phase3', async () => (await import('../commands/phase3.js')).registerPhase3],
  ['sim', async () => (await import('../commands/sim.js')).registerSim],
  ['decode', async () => (await import('../commands/decode.js')).registerDecode],
  ['export', async () => (await import('../commands/export.js')).registerExport],
  ['import', async () => (await import('../commands/import.js')).registerImport],
  ['config', async () => (await import('../commands/config.js')).registerConfig],
];

/** The command named on the line (the first word that is not a flag; no global flag takes a value). */
function commandName(argv: string[]): string | undefined {
  return argv.slice(2).find((word) => !word.startsWith('-'));
}

/** The program with the named command only, or with every command (and the guided home path). */
export async function buildProgram(argv: string[]): Promise<Command> {
  const name = commandName(argv);
  const program = new Command();
  program
    .name('rfsq')
    .description(
      'Plan, run and verify the Robust RFSQ integration (Phase 1 tokenizer → Phase 2 models → Phase 3 evaluation).',
    )
    .version(packageVersion(), '-V, --version')
    .option('--json', 'print one JSON document on stdout and nothing else')
    .option('--no-input', 'never prompt; a missing input is an error that names its flag')
    .option('--debug', 'show stack traces on errors')
    .option('--no-color', 'turn colour off (NO_COLOR is honoured too)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // Commander's own usage errors become our one-line error plus a hint.
      outputError: (text, write) => {
        write(`${text.trim()}\nhint: run \`rfsq --help\` or \`rfsq <command> --help\` for the flags\n`);
      },
    });
  // The version needs no command at all.
  if (name === undefined && (argv.includes('-V') || argv.includes('--version'))) return program;
  const only = COMMANDS.find(([command]) => command === name);
  if (only) {
    (await only[1]())(program);
    return program;
  }
  (await import('../commands/home.js')).registerHome(program);
  const registers = await Promise.all(COMMANDS.map(([, load]) => load()));
  for (const register of registers) register(program);
  return program;
}

function packageVersion(): string {
  // dist/src/cli/main.js and src/cli/main.ts both sit three folders below package.json.
  const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

export async function main(argv: string[]): Promise<void> {
  if (argv.includes('--no-color') || (process.env.NO_COLOR ?? '') !== '') process.env.FORCE_COLOR = '0';
  const debug = argv.includes('--debug');
  try {
    await (await buildProgram(argv)).parseAsync(argv);
  } catch (error) {
    process.exitCode = reportError(error, debug);
  }
}

function reportError(thrown: unknown, debug: boolean): number {
  // A filesystem error about a path the user gave is their input to fix, not a bug of rfsq.
  const error = fileSystemError(thrown) ?? thrown;
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
    if (error.code === 'commander.help') return ExitCode.ok;
    return ExitCode.usage;
  }
  if (error instanceof RfsqError) {
    process.stderr.write(`error: ${error.message}\n`);
    if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    if (debug && error.stack) process.stderr.write(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error: internal error: ${message.split('\n')[0]}\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  else process.stderr.write('hint: rerun with --debug for the stack trace, and report it\n');
  return ExitCode.internal;
}
