import path from 'node:path';
import type { Command } from 'commander';
import { inputError } from '../core/errors.js';
import { globalOptions, paint, printJson } from '../cli/context.js';

interface CompareFlags {
  naive?: string;
  robust?: string;
  data?: string;
  metricsOut?: string;
  resultsOut?: string;
  train?: boolean;
  out: string;
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description(
      "Phase 1: measure naive vs Robust on held-out episodes (the plan's test_layernorm_improvement)",
    )
    .option('--naive <dir>', 'naive checkpoint (default <out>/naive)')
    .option('--robust <dir>', 'Robust checkpoint (default <out>/robust)')
    .option(
      '--data <path|demo>',
      'held-out data (default: the dataset and held-out episodes the Robust checkpoint recorded)',
    )
    .option('--metrics-out <file>', 'write phase1.* metrics for `rfsq verify` and `rfsq recommend --from`')
    .option('--results-out <file>', 'also write the whole comparison (what --json prints), for `rfsq report`')
    .option(
      '--train',
      'train both variants first with the defaults of `rfsq train` (use --data for the dataset)',
    )
    .option('--out <dir>', 'where the checkpoints are (or go, with --train)', 'runs/phase1')
    .addHelpText(
      'after',
      '\nExamples:\n  rfsq compare --naive runs/phase1/naive --robust runs/phase1/robust --metrics-out runs/phase1/metrics.json\n  rfsq compare --train --data demo --metrics-out metrics.json --json',
    )
    .action(async (flags: CompareFlags, command: Command) => {
      const options = globalOptions(command);
      const phase1 = await import('../services/phase1.js');
      if (flags.train) {
        if (flags.naive || flags.robust) {
          throw inputError(
            '--train writes new checkpoints, so it takes no --naive or --robust',
            'drop one of them',
          );
        }
        const { DEFAULT_TRAINING } = phase1;
        const data = flags.data ?? 'demo';
        await phase1.trainVariants({
          ...DEFAULT_TRAINING,
          variants: ['naive', 'robust'],
          data,
          numEpisodes: data === 'demo' ? DEFAULT_TRAINING.numEpisodes : undefined,
          out: flags.out,
          backend: 'auto',
        });
      }
      const report = await phase1.compareCheckpoints({
        naive: flags.naive ?? path.join(flags.out, 'naive'),
        robust: flags.robust ?? path.join(flags.out, 'robust'),
        data: flags.train ? undefined : flags.data,
        metricsOut: flags.metricsOut,
        resultsOut: flags.resultsOut,
      });
      if (options.json) printJson(report);
      else {
        const { renderCompare } = await import('../cli/render-compare.js');
        process.stdout.write(`${renderCompare(report, paint(options.color))}\n`);
      }
    });
}
