import type { Command } from 'commander';
import { inputError } from '../core/errors.js';
import { globalOptions, printJson } from '../cli/context.js';
import { formatSettingValue, knownSettingKeys, Settings } from '../services/settings.js';

export function registerConfig(program: Command): void {
  const config = program
    .command('config')
    .description('user defaults: time budget, runner, checklist threshold overrides')
    .addHelpText(
      'after',
      `\nKeys: ${knownSettingKeys().join(', ')}\n\nExamples:\n  rfsq config set time-budget 3d\n  rfsq config set threshold.p3.inference_ms 20-60\n  rfsq config list --json`,
    );

  config
    .command('get <key>')
    .description('print one setting')
    .action((key: string, _flags: unknown, command: Command) => {
      const value = new Settings().get(key);
      if (globalOptions(command).json) printJson({ key, value: value ?? null });
      else if (value !== undefined) process.stdout.write(`${formatSettingValue(value)}\n`);
      else throw inputError(`setting "${key}" is not set`, `set it with \`rfsq config set ${key} <value>\``);
    });

  config
    .command('set <key> <value>')
    .description('validate and store one setting')
    .action((key: string, text: string, _flags: unknown, command: Command) => {
      const value = new Settings().set(key, text);
      if (globalOptions(command).json) printJson({ key, value });
      else process.stdout.write(`${key} = ${formatSettingValue(value)}\n`);
    });

  config
    .command('unset <key>')
    .description('remove one setting')
    .action((key: string) => {
      new Settings().unset(key);
    });

  config
    .command('list')
    .description('print every setting that is set')
    .action((_flags: unknown, command: Command) => {
      const values = new Settings().list();
      if (globalOptions(command).json) {
        printJson(values);
        return;
      }
      const entries = Object.entries(values);
      if (entries.length === 0)
        process.stderr.write('no settings yet; see `rfsq config --help` for the keys\n');
      for (const [key, value] of entries) process.stdout.write(`${key} = ${formatSettingValue(value)}\n`);
    });

  config
    .command('path')
    .description('print where the settings file lives')
    .action((_flags: unknown, command: Command) => {
      const file = new Settings().path;
      if (globalOptions(command).json) printJson({ path: file });
      else process.stdout.write(`${file}\n`);
    });
}
