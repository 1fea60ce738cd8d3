import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { inputError } from '../core/errors.js';
import { canPrompt, globalOptions, note, printJson } from '../cli/context.js';
import type { TemplateName } from '../pipeline/config.js';
import { checkTemplateVars } from '../cli/template-vars.js';
import { projectDirArgs, rfsqCommandLine } from '../cli/shell.js';
import { Settings } from '../services/settings.js';

/** The drop-in module's status in a checkout; a checkout that is not a directory is an input error. */
function checkoutStatus(
  dropIn: typeof import('../services/dropin.js'),
  dir: string,
): 'missing' | 'same' | 'different' {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw inputError(`${dir} is not a directory`, 'pass your checkout of Oscar-Ge/RVQExperiment');
  }
  return dropIn.dropInStatus(dir);
}

interface InitFlags {
  template?: string;
  dir: string;
  data?: string;
  var: string[];
  force?: boolean;
  researchCode?: string;
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
    .option(
      '--research-code <dir>',
      "modal/slurm: your checkout of Oscar-Ge/RVQExperiment; puts rfsq's drop-in tokenizer at <dir>/phase1_improved/rfsq_robust.py",
    )
    .option(
      '--force',
      'overwrite an existing rfsq.config.json (and, with --research-code, a different phase1_improved/rfsq_robust.py, kept as .orig)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  rfsq init --template local\n  rfsq init --template modal --var checkpoint=/models/rfsq_robust_best.pt --research-code ~/RVQExperiment\n  rfsq init --template slurm --dir ~/vla --force',
    )
    .action(async (flags: InitFlags, command: Command) => {
      const options = globalOptions(command);
      // Loaded here, not at start-up (see src/cli/main.ts).
      const [{ CONFIG_FILE }, { initProject, parseTemplateName, readTemplate }, dropIn] = await Promise.all([
        import('../pipeline/config.js'),
        import('../services/project.js'),
        import('../services/dropin.js'),
      ]);
      const { installDropIn } = dropIn;
      const configExists = existsSync(path.join(flags.dir, CONFIG_FILE));
      let template: TemplateName | undefined = flags.template ? parseTemplateName(flags.template) : undefined;
      const vars = parseVars(flags.var);
      if (flags.data !== undefined) vars.data = flags.data;
      let force = flags.force === true;
      let researchCode = flags.researchCode;
      let replaceModule = force;

      // A terminal is asked what the flags leave open, including the offer of the drop-in module.
      const offerModule = researchCode === undefined && template !== 'local';
      const needsAnswers = template === undefined || (configExists && !force) || offerModule;
      if (needsAnswers && canPrompt(options)) {
        const { askInitInputs } = await import('../wizard/InitWizard.js');
        const answers = await askInitInputs(
          template,
          configExists && !force,
          offerModule ? (dir) => checkoutStatus(dropIn, dir) : undefined,
        );
        if (!answers) {
          note(`kept the existing ${CONFIG_FILE}`);
          return;
        }
        template = answers.template;
        Object.assign(vars, answers.vars);
        force = force || answers.force;
        researchCode = researchCode ?? answers.researchCode;
        replaceModule = replaceModule || answers.replaceModule === true;
      }
      if (template === undefined) {
        const runner = new Settings().list().runner;
        template = typeof runner === 'string' ? parseTemplateName(runner) : 'local';
      }
      if (researchCode !== undefined && template === 'local') {
        throw inputError(
          '--research-code is for the modal and slurm templates',
          'the local template runs rfsq itself; drop --research-code',
        );
      }
      // Refuse before writing anything: the module check must not fail after the config was written.
      if (
        researchCode !== undefined &&
        !replaceModule &&
        checkoutStatus(dropIn, researchCode) === 'different'
      ) {
        await installDropIn(researchCode, false);
      }
      checkTemplateVars(readTemplate(template), vars);
      const result = await initProject({ dir: flags.dir, template, vars, force });
      const module = researchCode === undefined ? null : await installDropIn(researchCode, replaceModule);
      if (options.json) {
        printJson({ ...result, dropIn: module });
        return;
      }
      process.stdout.write(
        result.unchanged
          ? `${result.file} already holds the ${template} template with these settings: kept as it is\n`
          : `${result.overwritten ? 'Overwrote' : 'Wrote'} ${result.file} (template ${template})\n`,
      );
      if (module) {
        const what =
          module.status === 'same'
            ? 'already there'
            : module.backup
              ? `replaced; the original is ${module.backup}`
              : 'written';
        process.stdout.write(`rfsq's drop-in tokenizer: ${module.file} (${what})\n`);
      }
      const dir = projectDirArgs(flags.dir);
      process.stdout.write(
        `Next: ${rfsqCommandLine(['run', '--strategy', 'B', '--dry-run', ...dir])}   (or \`${rfsqCommandLine(['recommend'])}\` to choose the strategy)\n`,
      );
    });
}
