import { inputError, RfsqError } from '../core/errors.js';
import type { PipelineConfig } from '../pipeline/config.js';
import { parseInteger, parseNumber } from './parse.js';

/**
 * The flags of rfsq's own commands that a template passes a ${var} to, each with the parser that
 * command applies to it (phase2 train --epochs, phase3 eval --trials/--policy-epochs/--action-eps,
 * train --num-episodes), so that `rfsq init --var` refuses what the step would refuse minutes later.
 */
const FLAG_RULES: Record<string, (text: string, flag: string) => unknown> = {
  '--epochs': (text, flag) => parseInteger(text, flag),
  '--policy-epochs': (text, flag) => parseInteger(text, flag),
  '--trials': (text, flag) => parseInteger(text, flag),
  '--num-episodes': (text, flag) => parseInteger(text, flag),
  '--action-eps': (text, flag) => parseNumber(text, flag, { min: 0 }),
};

const isFlag = (word: string) => word.startsWith('--');

/**
 * Checks the vars a user sets on a template: none may be empty, and one that an rfsq step passes to a
 * flag must be what that flag accepts. The error names the var, the step's command and the template's value.
 */
export function checkTemplateVars(template: PipelineConfig, vars: Record<string, string>): void {
  for (const [name, value] of Object.entries(vars)) {
    const example = `e.g. --var ${name}=${template.vars[name] ?? '…'}`;
    if (value.trim() === '') throw inputError(`--var ${name}= is empty`, `give it a value, ${example}`);
    for (const step of Object.values(template.steps)) {
      const argv = step?.command;
      if (!argv || argv[0] !== 'rfsq') continue;
      argv.forEach((word, index) => {
        const flag = argv[index - 1];
        const rule = flag === undefined ? undefined : FLAG_RULES[flag];
        if (word !== `\${${name}}` || !rule) return;
        try {
          rule(value, flag!);
        } catch (error) {
          if (!(error instanceof RfsqError)) throw error;
          const command = argv.slice(0, argv.findIndex(isFlag)).join(' ');
          throw inputError(
            `--var ${name}=${value} is passed to \`${command} ${flag}\`, and ${error.message}`,
            example,
          );
        }
      });
    }
  }
}
