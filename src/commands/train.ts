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
  validationFraction?: string;
  maxEpochs?: string;
  patience?: string;
  minRelativeGain?: string;
  coolDownFraction?: string;
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
    .option(
      '--num-episodes <n>',
      `use the first n episodes (default: every episode of a file; the demo generates ${D.numEpisodes})`,
    )
    .option('--epochs <n>', 'a fixed budget of n epochs (default: train until the validation MSE plateaus)')
    .option(
      '--max-epochs <n>',
      `cap on the epochs when training to a plateau (default ${D.plateau.maxEpochs})`,
    )
    .option(
      '--patience <n>',
      `epochs without a --min-relative-gain improvement before the final decay (default ${D.plateau.patience})`,
    )
    .option(
      '--min-relative-gain <f>',
      `relative drop of the validation MSE that counts as progress (default ${D.plateau.minRelativeGain})`,
    )
    .option(
      '--cool-down-fraction <f>',
      'length of the final decay, as a multiple of the epochs before it (default: training chunks / 2000, between 1 and 4)',
    )
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
    .option(
      '--validation-fraction <f>',
      `fraction of the other episodes used for validation: best epoch and stopping; 0 (with --epochs) keeps the last epoch (default ${D.validationFraction})`,
    )
    .option('--out <dir>', 'output directory: <out>/naive and <out>/robust', 'runs/phase1')
    .option('--backend <name>', 'auto, tensorflow, wasm or cpu', 'auto')
    .addHelpText(
      'after',
      '\nExamples:\n  rfsq train --variant both --data demo\n  rfsq train --use-layernorm True --data libero_spatial.hdf5 --num-episodes 50 --epochs 100\n  rfsq train --data libero_spatial.hdf5 --max-epochs 200 --patience 6',
    )
    .action(async (flags: TrainFlags, command: Command) => {
      const options = globalOptions(command);
      const { trainVariants } = await import('../services/phase1.js');
      const DEFAULT_TRAINING = D;
      const variants = variantsFrom(flags);
      const epochs = flags.epochs ? parseInteger(flags.epochs, '--epochs') : undefined;
      const fraction = (value: string, flag: string): number => {
        const parsed = parseNumber(value, flag, { min: 0 });
        if (parsed >= 1) throw inputError(`${flag} must be below 1, got ${value}`, 'pass e.g. 0.1');
        return parsed;
      };
      const plateau = {
        maxEpochs: flags.maxEpochs
          ? parseInteger(flags.maxEpochs, '--max-epochs')
          : DEFAULT_TRAINING.plateau.maxEpochs,
        patience: flags.patience ? parseInteger(flags.patience, '--patience') : D.plateau.patience,
        minRelativeGain: flags.minRelativeGain
          ? parseNumber(flags.minRelativeGain, '--min-relative-gain', { min: 0 })
          : D.plateau.minRelativeGain,
        ...(flags.coolDownFraction
          ? {
              coolDownFraction: parseNumber(flags.coolDownFraction, '--cool-down-fraction', {
                min: 0,
                exclusiveMin: true,
              }),
            }
          : {}),
      };
      const stoppingFlags = [flags.maxEpochs, flags.patience, flags.minRelativeGain, flags.coolDownFraction];
      if (epochs !== undefined && stoppingFlags.some((flag) => flag !== undefined)) {
        throw inputError(
          '--epochs is a fixed budget, so it takes no --max-epochs, --patience, --min-relative-gain or --cool-down-fraction',
          'drop --epochs to train to a plateau, or drop the stopping flags',
        );
      }
      const validationFraction = flags.validationFraction
        ? fraction(flags.validationFraction, '--validation-fraction')
        : DEFAULT_TRAINING.validationFraction;
      if (validationFraction === 0 && epochs === undefined) {
        throw inputError(
          '--validation-fraction 0 keeps no validation episodes, so there is no plateau to train to',
          'add a fixed budget with --epochs n (the last epoch is kept), or keep some validation episodes',
        );
      }
      const progress = new Progress();
      // Variants trained side by side report in turn: each keeps its own line rate.
      const variantProgresses = new Map<Variant, Progress>();
      const variantProgress = (variant: Variant): Progress => {
        const existing = variantProgresses.get(variant);
        if (existing) return existing;
        const created = new Progress();
        variantProgresses.set(variant, created);
        return created;
      };
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
          plateau,
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
          validationFraction,
          out: flags.out,
          backend: parseChoice(flags.backend, '--backend', ['auto', 'tensorflow', 'wasm', 'cpu'] as const),
          signal: interrupt.signal,
          onCollect: (kept, total, task) => {
            progress.update(kept / total, 'collecting demos', `${kept}/${total} kept (${task})`);
            if (kept === total) progress.done();
          },
          onEpoch: (variant, info) => {
            const of = epochs !== undefined || info.coolingDown ? `/${info.epochs}` : ` (≤ ${info.epochs})`;
            const progress = variantProgress(variant);
            progress.update(
              info.epoch / info.epochs,
              `${variant.padEnd(6)} epoch ${info.epoch}${of}${info.coolingDown ? ' decay' : ''}`,
              `train MSE ${info.trainMse.toExponential(3)}  validation MSE ${info.validationMse.toExponential(3)}  held-out MSE ${info.heldOutMse.toExponential(3)}  best ${info.bestValidationMse.toExponential(3)} (epoch ${info.bestEpoch})  lr ${info.lr.toExponential(1)}  ETA ${epochs === undefined && !info.coolingDown ? '≤ ' : ''}${formatSeconds(info.etaSeconds)}`,
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
          `Data: ${report.data.description}\n      ${report.data.trainEpisodes} training episodes (${report.trainChunks} chunks), ${report.data.validationEpisodes} validation (${report.validationChunks}), ${report.data.heldOutEpisodes} held-out (${report.heldOutChunks})\n`,
        );
        for (const trained of report.variants) {
          process.stdout.write(
            `${trained.variant.padEnd(6)}  held-out MSE ${trained.bestHeldOutMse.toExponential(4)} at epoch ${trained.bestEpoch}/${trained.epochs} (best validation ${trained.bestValidationMse.toExponential(3)}; stopped by ${trained.stoppedBy})  (${trained.seconds.toFixed(1)} s, ${trained.msPerStep.toFixed(2)} ms/step)  → ${trained.checkpoint}\n`,
          );
        }
        if (variants.length === 2) {
          process.stdout.write(
            `Next: ${rfsqCommandLine(['compare', '--naive', report.variants[0]!.checkpoint, '--robust', report.variants[1]!.checkpoint, '--metrics-out', `${flags.out}/metrics.json`])}\n`,
          );
        }
      } finally {
        progress.done();
        for (const each of variantProgresses.values()) each.done();
        interrupt.dispose();
      }
    });
}
