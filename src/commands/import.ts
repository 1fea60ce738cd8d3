import type { Command } from 'commander';
import { rfsqInvocation, shellQuote } from '../cli/shell.js';
import { globalOptions, note, printJson } from '../cli/context.js';
import { parseChoice } from '../cli/parse.js';

interface ImportFlags {
  from: string;
  out: string;
  useLayernorm?: string;
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description(
      "a .pt the research code's trainers wrote (or `rfsq export`) → an rfsq checkpoint folder for `rfsq compare`",
    )
    .requiredOption('--from <file.pt>', "torch checkpoint with 'model_state_dict' (or 'model') and 'config'")
    .requiredOption('--out <dir>', 'checkpoint folder to write')
    .option('--use-layernorm <True|False>', "override the file's config.use_layernorm (False = naive)")
    .addHelpText(
      'after',
      '\nExamples:\n  rfsq import --from /models/rfsq_robust_best.pt --out runs/imported/robust\n  rfsq compare --naive runs/phase1/naive --robust runs/imported/robust --data demos.hdf5',
    )
    .action(async (flags: ImportFlags, command: Command) => {
      const { importCheckpoint } = await import('../services/checkpoint-import.js');
      const report = await importCheckpoint({
        from: flags.from,
        out: flags.out,
        useLayernorm:
          flags.useLayernorm === undefined
            ? undefined
            : parseChoice(flags.useLayernorm, '--use-layernorm', ['True', 'False'] as const) === 'True',
      });
      if (globalOptions(command).json) return printJson(report);
      for (const warning of report.warnings) note(`note: ${warning}`);
      const a = report.architecture;
      process.stdout.write(
        `${report.from} (${report.writtenBy}, '${report.stateDictKey}') → ${report.out}\n` +
          `  ${report.variant} tokenizer, quantizer ${report.quantizer}, ${a.actionDim} → ${a.latentDim} × ${a.numLayers} layers × ${a.numLevels} levels\n` +
          `  normalization: ${report.normalization}\n` +
          `Next: ${rfsqInvocation()} compare --robust ${report.variant === 'robust' ? shellQuote(report.out) : '<robust dir>'} --naive ${report.variant === 'naive' ? shellQuote(report.out) : '<naive dir>'} --data <held-out data>\n`,
      );
    });
}
