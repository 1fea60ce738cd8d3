import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { inputError } from '../core/errors.js';
import {
  CONFIG_FILE,
  parsePipelineConfig,
  TEMPLATES,
  type PipelineConfig,
  type TemplateName,
} from '../pipeline/config.js';
import { jsonText, writeJsonAtomic } from './files.js';

/** src/services and dist/src/services both sit three folders below the package root. */
const TEMPLATE_DIR = new URL('../../../templates/pipeline/', import.meta.url);

export function readTemplate(name: TemplateName): PipelineConfig {
  const file = new URL(`${name}.json`, TEMPLATE_DIR);
  return parsePipelineConfig(JSON.parse(readFileSync(file, 'utf8')), `template ${name}`);
}

export function parseTemplateName(text: string): TemplateName {
  const match = TEMPLATES.find((name) => name === text.trim().toLowerCase());
  if (!match) {
    throw inputError(
      `--template "${text}" is not one of ${TEMPLATES.join(', ')}`,
      'e.g. rfsq init --template local',
    );
  }
  return match;
}

export interface InitRequest {
  dir: string;
  template: TemplateName;
  /** Overrides of the template's vars, e.g. { data: 'libero.hdf5' }. */
  vars: Record<string, string>;
  force: boolean;
}

export interface InitResult {
  file: string;
  config: PipelineConfig;
  overwritten: boolean;
  /** The file held exactly what this init would write, and was left as it was (a rerun of the Quick start). */
  unchanged: boolean;
}

/**
 * Writes rfsq.config.json from a template; an existing file is replaced only with force. One that
 * already holds exactly what would be written is left alone, so running init twice is not an error.
 */
export async function initProject(request: InitRequest): Promise<InitResult> {
  const file = path.resolve(request.dir, CONFIG_FILE);
  const exists = existsSync(file);
  const template = readTemplate(request.template);
  for (const key of Object.keys(request.vars)) {
    if (!(key in template.vars)) {
      throw inputError(
        `the ${request.template} template has no setting "${key}"`,
        `its settings: ${Object.keys(template.vars).join(', ')}`,
      );
    }
  }
  const config: PipelineConfig = { ...template, vars: { ...template.vars, ...request.vars } };
  if (exists && !request.force) {
    if (readFileSync(file, 'utf8') === jsonText(config))
      return { file, config, overwritten: false, unchanged: true };
    throw inputError(
      `${file} already exists, and differs from what this init would write`,
      'keep it (`run` reads it as it is), or pass --force to replace it',
    );
  }
  await writeJsonAtomic(file, config);
  return { file, config, overwritten: exists, unchanged: false };
}
