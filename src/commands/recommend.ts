import type { Command } from 'commander';
import { parseDurationHours } from '../core/duration.js';
import { inputError } from '../core/errors.js';
import { recommend } from '../core/strategy.js';
import { canPrompt, globalOptions, paint, printJson, terminalWidth } from '../cli/context.js';
import { renderRecommendation } from '../cli/render-recommendation.js';
import {
  hasImprovementInput,
  resolveImprovement,
  type ImprovementFlags,
  type ResolvedImprovement,
} from '../services/recommendation-inputs.js';
import { Settings } from '../services/settings.js';

interface RecommendFlags extends ImprovementFlags {
  timeBudget?: string;
}

const MISSING_IMPROVEMENT_HINT =
  'pass --improvement <percent>, --naive-mse <mse> --robust-mse <mse>, --from <metrics.json>, or --not-measured';

export function registerRecommend(program: Command): void {
  program
    .command('recommend')
    .description('recommend strategy A, B or C from your time budget and the measured improvement')
    .option('--time-budget <duration>', 'time you can spend: 90m, 6h, 1d, 3.5d, 2w (default: settings)')
    .option('--improvement <percent>', 'measured held-out improvement of Robust over naive, in %')
    .option('--naive-mse <mse>', 'held-out MSE of the naive tokenizer (with --robust-mse)')
    .option('--robust-mse <mse>', 'held-out MSE of the Robust tokenizer (with --naive-mse)')
    .option(
      '--from <metrics.json>',
      'read phase1.* metrics from a file written by `rfsq compare`, or from a project folder with a run',
    )
    .option('--not-measured', 'the improvement is not measured yet')
    .addHelpText(
      'after',
      '\nExamples:\n  rfsq recommend --time-budget 4d --improvement 44\n  rfsq recommend --time-budget 1d --naive-mse 0.018 --robust-mse 0.010 --json',
    )
    .action(async (flags: RecommendFlags, command: Command) => {
      const options = globalOptions(command);
      const budgetText = flags.timeBudget ?? new Settings().timeBudget();
      let budget =
        budgetText === undefined ? undefined : { text: budgetText, hours: parseDurationHours(budgetText) };
      let improvement: ResolvedImprovement | undefined = hasImprovementInput(flags)
        ? await resolveImprovement(flags)
        : undefined;

      if (!budget || !improvement) {
        if (!canPrompt(options)) {
          if (!budget) {
            throw inputError('the time budget is missing', 'pass --time-budget, e.g. --time-budget 3d');
          }
          throw inputError('the measured improvement is missing', MISSING_IMPROVEMENT_HINT);
        }
        // ink loads only when a prompt is needed: it costs ~0.4 s of start-up.
        const { askRecommendInputs } = await import('../wizard/RecommendWizard.js');
        const answers = await askRecommendInputs(budget, improvement);
        budget = { text: answers.budgetText, hours: answers.budgetHours };
        improvement = answers.improvement;
      }

      const recommendation = recommend({
        budgetHours: budget.hours,
        budgetText: budget.text,
        improvementPct: improvement.improvementPct,
        improvementSource: improvement.source,
      });
      if (options.json) printJson(recommendation);
      else
        process.stdout.write(
          `${renderRecommendation(recommendation, paint(options.color), terminalWidth())}\n`,
        );
    });
}
