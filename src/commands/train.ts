import type { Command } from 'commander';
import { inputError } from '../core/errors.js';
import { globalOptions, note, printJson } from '../cli/context.js';
import { parseChoice, parseInteger, parseNumber } from '../cli/parse.js';
import { rfsqCommandLine } from '../cli/shell.js';
import { formatSeconds, Progress } from '../cli/progress.js';
import { interruptSignal } from '../cli/interrupt.js';
import { DEFAULT_TRAINING as D } from '../core/training-defaults.js';

interface TrainFlags {
  variant?: string;
  useLayernorm?: string;
  data: string;
  numEpisodes?: string;
  epochs?: string;
  batchSize?: string;
  lr?: string;
  weightDecay?: string;
  entropyWeight?: string;
  chunk?: string;
  seed?: string;
  heldOutFraction?: string;
  out: string;
  backend: string;
}

type Variant = 'naive' | 'robust';

/** `--variant` and the plan's spelling `--use-layernorm True|False` name the same choice. */
export function variantsFrom(flags: Pick<TrainFlags, 'variant' | 'useLayernorm'>): Variant[] {
  const fromVariant =
    flags.variant && parseChoice(flags.variant, '--variant', ['naive', 'robust', 'both'] as const);
  const fromAlias =
    flags.useLayernorm &&
    (parseChoice(flags.useLayernorm, '--use-layernorm', ['True', 'False'] as const) === 'True'
      ? 'robust'
      : 'naive');
  if (fromVariant && fromAlias && fromVariant !== fromAlias) {
    throw inputError(
      `--variant ${fromVariant} contradicts --use-layernorm ${flags.useLayernorm}`,
      'keep one of them: --use-layernorm True is --variant robust, False is --variant naive',
    );
  }
  const chosen = fromVariant || fromAlias || 'both';
  return chosen === 'both' ? ['naive', 'robust'] : [chosen];
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description(
      'Phase 1: train the naive and/or Robust RFSQ tokenizer, keeping the best held-out checkpoint',
    )
    .option('--variant <naive|robust|both>', 'which tokenizer to train (default both)')
    .option('--use-layernorm <True|False>', "the plan's spelling: True = robust, False = naive")
    .option('--data <path|demo>', 'LIBERO/robomimic .hdf5, .npy [episodes, steps, 7], or demo', 'demo')
    .option('--num-episodes <n>', `use the first n episodes (demo default ${D.numEpisodes})`)
    .option('--epochs <n>', `training epochs (default ${D.epochs})`)
    .option('--batch-size <n>', `chunks per batch (default ${D.batchSize})`)
    .option('--lr <rate>', `peak learning rate of the cosine schedule (default ${D.lr})`)
    .option('--weight-decay <w>', `decoupled weight decay (default ${D.weightDecay})`)
    .option(
      '--entropy-weight <w>',
      `code-usage entropy regularizer; the plan used 0.05 (default ${D.entropyWeight})`,
    )
    .option('--chunk <n>', `actions per chunk (default ${D.chunk})`)
    .option('--seed <n>', `seed for the split, the init and the shuffling (default ${D.seed})`)
    .option(
      '--held-out-fraction <f>',
      `fraction of episodes held out for evaluation (default ${D.heldOutFraction})`,
    )
    .option('--out <dir>', 'output directory: <out>/naive and <out>/robust', 'runs/phase1')
    .option('--backend <name>', 'auto, tensorflow, wasm or cpu', 'auto')
    .addHelpText(
      'after',
      '\nExamples:\n  rfsq train --variant both --data demo\n  rfsq train --use-layernorm True --data libero_spatial.hdf5 --num-episodes 50 --epochs 100',
    )
    .action(async (flags: TrainFlags, command: Command) => {
      const options = globalOptions(command);
      const { trainVariants } = await import('../services/phase1.js');
      const DEFAULT_TRAINING = D;
      const variants = variantsFrom(flags);
      const epochs = flags.epochs ? parseInteger(flags.epochs, '--epochs') : DEFAULT_TRAINING.epochs;
      const progress = new Progress();
      const interrupt = interruptSignal('finishing the current epoch; the best checkpoint so far is kept');
      try {
        const report = await trainVariants({
          variants,
          data: flags.data,
          numEpisodes: flags.numEpisodes
            ? parseInteger(flags.numEpisodes, '--num-episodes')
            : flags.data === 'demo'
              ? DEFAULT_TRAINING.numEpisodes
              : undefined,
          epochs,
          batchSize: flags.batchSize
            ? parseInteger(flags.batchSize, '--batch-size')
            : DEFAULT_TRAINING.batchSize,
          lr: flags.lr ? parseNumber(flags.lr, '--lr', { min: 0, exclusiveMin: true }) : DEFAULT_TRAINING.lr,
          weightDecay: flags.weightDecay
            ? parseNumber(flags.weightDecay, '--weight-decay', { min: 0 })
            : DEFAULT_TRAINING.weightDecay,
          entropyWeight: flags.entropyWeight
            ? parseNumber(flags.entropyWeight, '--entropy-weight', { min: 0 })
            : DEFAULT_TRAINING.entropyWeight,
          chunk: flags.chunk ? parseInteger(flags.chunk, '--chunk') : DEFAULT_TRAINING.chunk,
          seed: flags.seed ? parseInteger(flags.seed, '--seed', 0) : DEFAULT_TRAINING.seed,
          heldOutFraction: flags.heldOutFraction
            ? parseNumber(flags.heldOutFraction, '--held-out-fraction', { min: 0, exclusiveMin: true })
            : DEFAULT_TRAINING.heldOutFraction,
          out: flags.out,
          backend: parseChoice(flags.backend, '--backend', ['auto', 'tensorflow', 'wasm', 'cpu'] as const),
          signal: interrupt.signal,
          onEpoch: (variant, info) => {
            progress.update(
              info.epoch / info.epochs,
              `${variant.padEnd(6)} epoch ${String(info.epoch).padStart(String(info.epochs).length)}/${info.epochs}`,
              `train MSE ${info.trainMse.toExponential(3)}  held-out MSE ${info.heldOutMse.toExponential(3)}  best ${info.bestHeldOutMse.toExponential(3)} (epoch ${info.bestEpoch})  ETA ${formatSeconds(info.etaSeconds)}`,
            );
            if (info.epoch === info.epochs) progress.done();
          },
        });
        if (options.json) {
          printJson(report);
          return;
        }
        note(`backend: ${report.backend}`);
        process.stdout.write(
          `Data: ${report.data.description}\n      ${report.data.trainEpisodes} training episodes (${report.trainChunks} chunks), ${report.data.heldOutEpisodes} held-out episodes (${report.heldOutChunks} chunks)\n`,
        );
        for (const trained of report.variants) {
          process.stdout.write(
            `${trained.variant.padEnd(6)}  best held-out MSE ${trained.bestHeldOutMse.toExponential(4)} at epoch ${trained.bestEpoch}/${trained.epochs}  (${trained.seconds.toFixed(1)} s, ${trained.msPerStep.toFixed(2)} ms/step)  → ${trained.checkpoint}\n`,
          );
        }
        if (variants.length === 2) {
          process.stdout.write(
            `Next: ${rfsqCommandLine(['compare', '--naive', report.variants[0]!.checkpoint, '--robust', report.variants[1]!.checkpoint, '--metrics-out', `${flags.out}/metrics.json`])}\n`,
          );
        }
      } finally {
        progress.done();
        interrupt.dispose();
      }
    });
}
