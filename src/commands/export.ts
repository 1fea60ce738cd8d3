import type { Command } from 'commander';
import { globalOptions, printJson } from '../cli/context.js';
import { parseChoice } from '../cli/parse.js';

interface ExportFlags {
  checkpoint: string;
  format: string;
  out: string;
  force?: boolean;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description(
      "a tokenizer checkpoint → the research code's .pt (torch.load + load_state_dict), a safetensors folder or an .npz",
    )
    .requiredOption('--checkpoint <dir>', 'tokenizer checkpoint written by `rfsq train`')
    .option(
      '--format <pt|safetensors|npz>',
      'pt: torch zip checkpoint; safetensors: a copy of the folder',
      'pt',
    )
    .requiredOption('--out <file>', 'file to write (a folder for safetensors)')
    .option('--force', 'replace an existing file that is not an earlier rfsq export')
    .addHelpText(
      'after',
      '\nExamples:\n  rfsq export --checkpoint runs/phase1/robust --format pt --out /models/rfsq_robust_best.pt\n  rfsq export --checkpoint runs/phase1/naive --format npz --out naive.npz',
    )
    .action(async (flags: ExportFlags, command: Command) => {
      const { EXPORT_FORMATS, exportCheckpoint } = await import('../services/checkpoint-export.js');
      const report = await exportCheckpoint({
        checkpoint: flags.checkpoint,
        format: parseChoice(flags.format, '--format', EXPORT_FORMATS),
        out: flags.out,
        force: flags.force === true,
      });
      if (globalOptions(command).json) return printJson(report);
      process.stdout.write(
        `${report.variant} tokenizer → ${report.out} (${report.format}, ${report.bytes} bytes, ${report.stateDictKeys.length} tensors)\n`,
      );
      process.stdout.write(`Load it with:\n${report.load.map((l) => `  ${l}`).join('\n')}\n`);
    });
}
