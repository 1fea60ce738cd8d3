import type { Command } from 'commander';
import { globalOptions, note, printJson } from '../cli/context.js';
import { parseChoice, parseInteger, parseNumber } from '../cli/parse.js';
import { Progress } from '../cli/progress.js';
import { PHASE2_DEFAULTS } from '../core/training-defaults.js';

interface Phase2Flags {
  model: string;
  tokenizer: string;
  naiveTokenizer?: string;
  naiveOut?: string;
  data: string;
  out: string;
  epochs?: string;
  batchSize?: string;
  lr?: string;
  labelSmoothing?: string;
  seed?: string;
  backend: string;
  threads: string;
  metricsOut?: string;
}

const pct = (value: number) => `${(value * 100).toFixed(1)}%`;

export function registerPhase2(program: Command): void {
  const phase2 = program
    .command('phase2')
    .description('Phase 2 of the miniature: main and draft policies on codes');
  phase2
    .command('train')
    .description('train the main model (all code layers) and/or the draft model (L0–L2) on simulator demos')
    .option('--model <main|draft|both>', 'which policy to train', 'both')
    .requiredOption('--tokenizer <dir>', 'the tokenizer whose codes are the targets (Robust, usually)')
    .option(
      '--naive-tokenizer <dir>',
      'also train a main model on these codes, for phase2.main_token_acc_naive',
    )
    .option('--naive-out <dir>', 'where that naive main model goes (default <out>/../naive)')
    .option('--data <path|sim>', 'demonstrations with observations (HDF5 from `rfsq sim collect`)', 'sim')
    .option('--out <dir>', 'output folder: <out>/main and <out>/draft', 'runs/phase2/robust')
    .option('--epochs <n>', `training epochs (default ${PHASE2_DEFAULTS.epochs})`)
    .option('--batch-size <n>', `observations per batch (default ${PHASE2_DEFAULTS.batchSize})`)
    .option('--lr <rate>', `peak learning rate (default ${PHASE2_DEFAULTS.lr})`)
    .option(
      '--label-smoothing <s>',
      `target mass given to the neighbouring levels of each code, in [0, 1) (default ${PHASE2_DEFAULTS.labelSmoothing})`,
    )
    .option('--seed <n>', 'seed (default 0)')
    .option('--backend <name>', 'auto, tensorflow, wasm or cpu', 'auto')
    .option(
      '--threads <n|auto>',
      'threads for the main model: 2 computes half of each batch on a second core (the same model either way); auto: 2 when the main model trains alone and there is a second core',
      'auto',
    )
    .option('--metrics-out <file>', 'write phase2.* metrics for `rfsq verify`')
    .addHelpText(
      'after',
      '\nExample:\n  rfsq phase2 train --tokenizer runs/phase1/robust --naive-tokenizer runs/phase1/naive --metrics-out m.json',
    )
    .action(async (flags: Phase2Flags, command: Command) => {
      const options = globalOptions(command);
      const { trainPhase2 } = await import('../services/phase2.js');
      const choice = parseChoice(flags.model, '--model', ['main', 'draft', 'both'] as const);
      const progress = new Progress();
      const report = await trainPhase2({
        models: choice === 'both' ? ['main', 'draft'] : [choice],
        tokenizer: flags.tokenizer,
        naiveTokenizer: flags.naiveTokenizer,
        naiveOut: flags.naiveOut,
        data: flags.data,
        out: flags.out,
        epochs: flags.epochs ? parseInteger(flags.epochs, '--epochs') : PHASE2_DEFAULTS.epochs,
        batchSize: flags.batchSize
          ? parseInteger(flags.batchSize, '--batch-size')
          : PHASE2_DEFAULTS.batchSize,
        lr: flags.lr ? parseNumber(flags.lr, '--lr', { min: 0, exclusiveMin: true }) : PHASE2_DEFAULTS.lr,
        labelSmoothing: flags.labelSmoothing
          ? parseNumber(flags.labelSmoothing, '--label-smoothing', { min: 0, max: 0.99 })
          : PHASE2_DEFAULTS.labelSmoothing,
        seed: flags.seed ? parseInteger(flags.seed, '--seed', 0) : PHASE2_DEFAULTS.seed,
        backend: parseChoice(flags.backend, '--backend', ['auto', 'tensorflow', 'wasm', 'cpu'] as const),
        ...(flags.threads === 'auto' ? {} : { threads: parseInteger(flags.threads, '--threads') }),
        metricsOut: flags.metricsOut,
        onInfo: (message) => note(message),
        onEpoch: (label, epoch, epochs, loss) => {
          progress.update(
            epoch / epochs,
            `${label.padEnd(10)} epoch ${epoch}/${epochs}`,
            `loss ${loss.toFixed(4)}`,
          );
          if (epoch === epochs) progress.done();
        },
        onStage: (label, message) => progress.update(1, label.padEnd(10), message),
      });
      progress.done();
      if (options.json) return printJson(report);
      note(`backend: ${report.backend}`);
      const { data } = report;
      process.stdout.write(
        `Data: ${data.trainRows} observation/chunk pairs from ${data.trainEpisodes} episodes; held out: ${data.heldOutRows} from ${data.heldOutEpisodes} episodes\n`,
      );
      const layers = (values: number[], from = 0) =>
        values.map((value, index) => `L${index + from} ${pct(value)}`).join('  ');
      for (const [label, main] of [
        ['main', report.main],
        ['naive main', report.naiveMain],
      ] as const) {
        if (!main) continue;
        process.stdout.write(
          `${label}: token accuracy ${pct(main.mainTokenAcc)} free-running (chance ${pct(main.chance)}), ${pct(main.mainTokenAccTeacherForced)} with true earlier layers\n  free-running  ${layers(main.perLayerFreeRunning)}\n  L${main.fineFromLayer}–L7 given true L0–L${main.fineFromLayer - 1}: ${pct(main.fineTokenAccGivenCoarse)}\n` +
            (main.actionMse === undefined
              ? ''
              : `  decoded chunks against the demonstrations' actions: MSE ${main.actionMse.toExponential(2)} (normalized units)\n`) +
            (main.depthTable === undefined
              ? ''
              : `  depth table (held out, stored for \`phase3 eval --depth auto\`): p99 max |Δa| to full depth by depth ${main.depthTable.map((row) => `${row.depth}: ${row.p99.toPrecision(2)}`).join(', ')}\n`),
        );
      }
      if (report.draft) {
        process.stdout.write(
          `draft: coarse accuracy ${pct(report.draft.draftCoarseAcc)}  ${layers(report.draft.perLayer)}\n`,
        );
      }
      if (flags.metricsOut) process.stdout.write(`Metrics written to ${flags.metricsOut}\n`);
    });
}
