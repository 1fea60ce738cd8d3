import type { Command } from 'commander';
import { globalOptions, note, printJson } from '../cli/context.js';
import { parseInteger } from '../cli/parse.js';

interface EncodeFlags {
  checkpoint: string;
  input: string;
  out: string;
  numEpisodes?: string;
}

export function registerEncode(program: Command): void {
  program
    .command('encode')
    .description('actions (.npy or HDF5, raw units) → codes (.npy int32 [N, chunk, hidden, layers])')
    .requiredOption('--checkpoint <dir>', 'tokenizer checkpoint written by `rfsq train`')
    .requiredOption('--input <file>', 'actions: .npy [episodes, steps, 7] or [steps, 7], or LIBERO .hdf5')
    .requiredOption('--out <file>', 'codes .npy to write')
    .option('--num-episodes <n>', 'encode only the first n episodes')
    .addHelpText(
      'after',
      '\nExample:\n  rfsq encode --checkpoint runs/phase1/robust --input demos.hdf5 --out codes.npy',
    )
    .action(async (flags: EncodeFlags, command: Command) => {
      const { encodeActions } = await import('../services/codec.js');
      const report = await encodeActions({
        checkpoint: flags.checkpoint,
        input: flags.input,
        output: flags.out,
        numEpisodes: flags.numEpisodes ? parseInteger(flags.numEpisodes, '--num-episodes') : undefined,
      });
      if (globalOptions(command).json) return printJson(report);
      if (report.droppedSteps > 0) {
        note(`note: ${report.droppedSteps} trailing steps shorter than a chunk were left out`);
      }
      process.stdout.write(
        `${report.episodes} episodes → ${report.chunks} chunks, codes [${report.shape.join(', ')}] → ${report.output}\n`,
      );
    });
}
