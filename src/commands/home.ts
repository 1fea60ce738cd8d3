import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { canPrompt, globalOptions, paint, terminalWidth } from '../cli/context.js';
import { inputError } from '../core/errors.js';
import { renderRecommendation } from '../cli/render-recommendation.js';
import { recommend } from '../core/strategy.js';
import { Settings } from '../services/settings.js';

/**
 * `rfsq` with no command in a terminal: the guided path through the plan —
 * init (when there is no config), recommend, run, verify. Elsewhere it prints the help.
 */
export function registerHome(program: Command): void {
  program.allowExcessArguments(true).action(async (_flags: unknown, command: Command) => {
    const options = globalOptions(command);
    const [unknown] = command.args;
    if (unknown !== undefined) {
      const names = program.commands.map((sub) => sub.name());
      throw inputError(`unknown command "${unknown}"`, `the commands: ${names.join(', ')} (rfsq --help)`);
    }
    if (!canPrompt(options)) {
      program.outputHelp();
      return;
    }
    const wizard = await import('../wizard/RunWizard.js');
    const [{ CONFIG_FILE }, { initProject }] = await Promise.all([
      import('../pipeline/config.js'),
      import('../services/project.js'),
    ]);
    if (!existsSync(CONFIG_FILE)) {
      const { askInitInputs } = await import('../wizard/InitWizard.js');
      const answers = await askInitInputs(undefined, false);
      if (!answers) return;
      const result = await initProject({
        dir: '.',
        template: answers.template,
        vars: answers.vars,
        force: false,
      });
      process.stdout.write(`Wrote ${result.file} (template ${answers.template})\n\n`);
    }
    const { askRecommendInputs } = await import('../wizard/RecommendWizard.js');
    const budgetText = new Settings().timeBudget();
    const { parseDurationHours } = await import('../core/duration.js');
    const answers = await askRecommendInputs(
      budgetText ? { text: budgetText, hours: parseDurationHours(budgetText) } : undefined,
      undefined,
    );
    const recommendation = recommend({
      budgetHours: answers.budgetHours,
      budgetText: answers.budgetText,
      improvementPct: answers.improvement.improvementPct,
      improvementSource: answers.improvement.source,
    });
    process.stdout.write(
      `${renderRecommendation(recommendation, paint(options.color), terminalWidth())}\n\n`,
    );
    if (!recommendation.strategy) return;
    if (!(await wizard.askYesNo(`Run strategy ${recommendation.strategy} now?`))) return;
    await program.parseAsync(['run', '--strategy', recommendation.strategy, '--yes'], { from: 'user' });
    await program.parseAsync(['verify'], { from: 'user' });
  });
}
