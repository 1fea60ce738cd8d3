import type { Command } from 'commander';
import { globalOptions, printJson } from '../cli/context.js';

interface DecodeFlags {
  checkpoint: string;
  input: string;
  out: string;
}

export function registerDecode(program: Command): void {
  program
    .command('decode')
    .description('codes (.npy int32 [N, chunk, hidden, layers]) → actions (.npy float32, raw units)')
    .requiredOption('--checkpoint <dir>', 'the tokenizer checkpoint that wrote the codes')
    .requiredOption('--input <file>', 'codes .npy written by `rfsq encode`')
    .requiredOption('--out <file>', 'actions .npy to write, [N, chunk, 7]')
    .addHelpText(
      'after',
      '\nExample:\n  rfsq decode --checkpoint runs/phase1/robust --input codes.npy --out actions.npy',
    )
    .action(async (flags: DecodeFlags, command: Command) => {
      const { decodeCodes } = await import('../services/codec.js');
      const report = await decodeCodes({
        checkpoint: flags.checkpoint,
        input: flags.input,
        output: flags.out,
      });
      if (globalOptions(command).json) return printJson(report);
      process.stdout.write(`codes → actions [${report.shape.join(', ')}] → ${report.output}\n`);
    });
}
