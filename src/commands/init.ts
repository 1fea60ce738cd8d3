import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { inputError } from '../core/errors.js';
import { canPrompt, globalOptions, note, printJson } from '../cli/context.js';
import { CONFIG_FILE, type TemplateName } from '../pipeline/config.js';
import { initProject, parseTemplateName } from '../services/project.js';
import { Settings } from '../services/settings.js';

interface InitFlags {
  template?: string;
  dir: string;
  data?: string;
  var: string[];
  force?: boolean;
}

function collectVar(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseVars(pairs: readonly string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0)
      throw inputError(`--var "${pair}" is not name=value`, 'e.g. --var checkpoint=/models/rfsq.pt');
    vars[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return vars;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write rfsq.config.json from a template: local (embedded default), modal or slurm')
    .option('--template <local|modal|slurm>', 'where the steps run (default: the runner setting, else local)')
    .option('--dir <path>', 'project folder', '.')
    .option('--data <path|demo>', 'local template: action data for Phase 1')
    .option(
      '--var <name=value>',
      "set one of the template's vars, e.g. checkpoint=… (repeatable)",
      collectVar,
      [],
    )
    .option('--force', 'overwrite an existing rfsq.config.json')
    .addHelpText(
      'after',
      '\nExamples:\n  rfsq init --template local\n  rfsq init --template modal --var checkpoint=/models/rfsq_robust_best.pt\n  rfsq init --template slurm --dir ~/vla --force',
    )
    .action(async (flags: InitFlags, command: Command) => {
      const options = globalOptions(command);
      const configExists = existsSync(path.join(flags.dir, CONFIG_FILE));
      let template: TemplateName | undefined = flags.template ? parseTemplateName(flags.template) : undefined;
      const vars = parseVars(flags.var);
      if (flags.data) vars.data = flags.data;
      let force = flags.force === true;

      const needsAnswers = template === undefined || (configExists && !force);
      if (needsAnswers && canPrompt(options)) {
        const { askInitInputs } = await import('../wizard/InitWizard.js');
        const answers = await askInitInputs(template, configExists);
        if (!answers) {
          note(`kept the existing ${CONFIG_FILE}`);
          return;
        }
        template = answers.template;
        Object.assign(vars, answers.vars);
        force = answers.force;
      }
      if (template === undefined) {
        const runner = new Settings().list().runner;
        template = typeof runner === 'string' ? parseTemplateName(runner) : 'local';
      }
      const result = await initProject({ dir: flags.dir, template, vars, force });
      if (options.json) {
        printJson(result);
        return;
      }
      process.stdout.write(
        `${result.overwritten ? 'Overwrote' : 'Wrote'} ${result.file} (template ${template})\n`,
      );
      const dir = flags.dir === '.' ? '' : ` --dir ${flags.dir}`;
      process.stdout.write(
        `Next: rfsq run --strategy B --dry-run${dir}   (or \`rfsq recommend\` to choose the strategy)\n`,
      );
    });
}
