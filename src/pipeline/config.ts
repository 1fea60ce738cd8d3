import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { inputError } from '../core/errors.js';
import { METRICS, type MetricName } from '../core/metrics.js';
import { STEP_IDS, type StepId } from '../core/pipeline-plan.js';
import { EXTRACTOR_KEYS } from './extractors.js';

export const CONFIG_FILE = 'rfsq.config.json';
export const CONFIG_VERSION = 1;
export const TEMPLATES = ['local', 'modal', 'slurm'] as const;
export type TemplateName = (typeof TEMPLATES)[number];

const metricName = z.enum(Object.keys(METRICS) as [MetricName, ...MetricName[]]);

const argvSchema = z.array(z.string()).min(1);

const stepFields = {
  title: z.string().min(1),
  /** What the step runs, for the reader: the repo file and the commit the template was checked against. */
  script: z.string().optional(),
  /** The argument array; `rfsq` as the first word runs this very tool. null: not available here. */
  command: argvSchema.nullable(),
  /** Commands run after `command` exits 0, in the same step (e.g. fetch results from a Modal volume). */
  then: z.array(argvSchema).optional(),
  /** Why the step has no command on this template, shown by `rfsq run`. */
  unavailable: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().optional(),
  /** A JSON file the step writes, relative to cwd: a metrics document or a LIBERO results file. */
  metricsFile: z.string().optional(),
  /** Maps extractor keys (train_best_mse, main_best_acc, …) to metric names; no default. */
  metricMap: z
    .record(z.string(), metricName)
    .superRefine((map, context) => {
      for (const key of Object.keys(map)) {
        if (EXTRACTOR_KEYS.includes(key)) continue;
        context.addIssue({
          code: 'custom',
          path: [key],
          message: `not an extractor key (known: ${EXTRACTOR_KEYS.join(', ')})`,
        });
      }
    })
    .optional(),
  expectedMetrics: z.array(metricName).default([]),
  /** Metrics this step's script cannot supply, with the reason the checklist shows. */
  notMeasured: z.partialRecord(metricName, z.string()).optional(),
  /** `task_description`s of the results file's `task_results[]` that count as fine-grained. */
  fineGrainedTasks: z.array(z.string().min(1)).optional(),
  /** Files whose content decides whether a finished step must rerun. */
  inputs: z.array(z.string()).default([]),
  estimateHours: z.tuple([z.number().nonnegative(), z.number().nonnegative()]).optional(),
};

const variantSchema = z.object(stepFields).strict();

const stepSchema = z
  .object({
    ...stepFields,
    /** Other ways to run this step, chosen with `rfsq run --variant <name>` (e.g. the plan's text). */
    variants: z.record(z.string().regex(/^[a-z0-9-]+$/), variantSchema).optional(),
  })
  .strict();

export type StepConfig = z.infer<typeof stepSchema>;
export type StepVariant = z.infer<typeof variantSchema>;

const stepsShape = Object.fromEntries(STEP_IDS.map((id) => [id, stepSchema.optional()])) as Record<
  StepId,
  z.ZodOptional<typeof stepSchema>
>;

const thresholdOverride = z.union([z.number(), z.object({ min: z.number(), max: z.number() }).strict()]);

export const pipelineConfigSchema = z
  .object({
    version: z.literal(CONFIG_VERSION),
    template: z.enum(TEMPLATES),
    /** local runs each command as a child process (modal's CLI included); slurm submits it with sbatch. */
    runner: z.enum(['local', 'slurm']),
    /** Values substituted for ${name} in commands, env, cwd, metricsFile and inputs. */
    vars: z.record(z.string(), z.string()).default({}),
    steps: z.object(stepsShape).strict(),
    /** The template's own checklist thresholds, by item id (the user's settings still win). */
    thresholds: z.record(z.string(), thresholdOverride).default({}),
    slurm: z
      .object({
        sbatchArgs: z.array(z.string()).default([]),
        pollSeconds: z.number().positive().default(30),
      })
      .strict()
      .optional(),
  })
  .strict();

export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;

/** Validates a parsed config; every error names the field and what was expected. */
export function parsePipelineConfig(document: unknown, file: string): PipelineConfig {
  const result = pipelineConfigSchema.safeParse(document);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more)` : '';
  const version = (document as { version?: unknown } | null)?.version;
  if (issue.path[0] === 'version' && version !== undefined) {
    throw inputError(
      `${file}: version ${JSON.stringify(version)} is not supported (expected ${CONFIG_VERSION})`,
      'regenerate it with `rfsq init --force`',
    );
  }
  throw inputError(
    `${file}: ${field}: ${issue.message}${more}`,
    'fix the field, or regenerate the file with `rfsq init --force`',
  );
}

export function readPipelineConfig(projectDir: string): PipelineConfig {
  const file = path.join(projectDir, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw inputError(`no ${CONFIG_FILE} in ${projectDir}`, 'create one with `rfsq init --template local`');
    }
    throw error;
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw inputError(
      `${file} is not valid JSON (${(error as Error).message})`,
      'fix it, or rerun `rfsq init --force`',
    );
  }
  return parsePipelineConfig(document, file);
}

/** Replaces ${name} with the config's vars; an unknown name is an error, never silently empty. */
export function substitute(text: string, vars: Record<string, string>, where: string): string {
  return text.replace(/\$\{([A-Za-z0-9_.-]+)\}/g, (_match, name: string) => {
    const value = vars[name];
    if (value === undefined) {
      throw inputError(
        `${where} uses \${${name}}, which is not in vars`,
        `add "${name}" to "vars" in ${CONFIG_FILE}`,
      );
    }
    return value;
  });
}
