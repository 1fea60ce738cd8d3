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
import { writeJsonAtomic } from './files.js';

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
}

/** Writes rfsq.config.json from a template; an existing file is replaced only with force. */
export async function initProject(request: InitRequest): Promise<InitResult> {
  const file = path.resolve(request.dir, CONFIG_FILE);
  const exists = existsSync(file);
  if (exists && !request.force) {
    throw inputError(`${file} already exists`, 'pass --force to overwrite it, or edit it by hand');
  }
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
  await writeJsonAtomic(file, config);
  return { file, config, overwritten: exists };
}
