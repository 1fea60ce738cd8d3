import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ExitCode, fileSystemError, RfsqError } from '../core/errors.js';
import { registerCompare } from '../commands/compare.js';
import { registerConfig } from '../commands/config.js';
import { registerDecode } from '../commands/decode.js';
import { registerEncode } from '../commands/encode.js';
import { registerExport } from '../commands/export.js';
import { registerHome } from '../commands/home.js';
import { registerImport } from '../commands/import.js';
import { registerInit } from '../commands/init.js';
import { registerPhase2 } from '../commands/phase2.js';
import { registerPhase3 } from '../commands/phase3.js';
import { registerRecommend } from '../commands/recommend.js';
import { registerRun } from '../commands/run.js';
import { registerSim } from '../commands/sim.js';
import { registerStatus } from '../commands/status.js';
import { registerTrain } from '../commands/train.js';
import { registerVerify } from '../commands/verify.js';

export function buildProgram(): Command {
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
  registerHome(program);
  registerInit(program);
  registerRecommend(program);
  registerRun(program);
  registerStatus(program);
  registerVerify(program);
  registerTrain(program);
  registerCompare(program);
  registerEncode(program);
  registerPhase2(program);
  registerPhase3(program);
  registerSim(program);
  registerDecode(program);
  registerExport(program);
  registerImport(program);
  registerConfig(program);
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
    await buildProgram().parseAsync(argv);
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
