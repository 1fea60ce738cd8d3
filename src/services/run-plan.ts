import path from 'node:path';
import { inputError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import { decideGate, STRATEGY_PLANS, type GateId, type StepId } from '../core/pipeline-plan.js';
import type { StrategyId } from '../core/plan-facts.js';
import {
  CONFIG_FILE,
  substitute,
  type PipelineConfig,
  type StepConfig,
  type StepVariant,
} from '../pipeline/config.js';
import type { GateHandler, GateResult, PlannedStep } from '../pipeline/pipeline.js';
import { rfsqArgv } from './self.js';

export interface UnavailableStep {
  id: StepId;
  title: string;
  reason: string;
}

export interface ResolvedPlan {
  strategy: StrategyId;
  /** The steps that can run here, in order, up to the first one without a command. */
  steps: PlannedStep[];
  /** Steps of the strategy that this config cannot run (no command on this template). */
  unavailable: UnavailableStep[];
}

/** `rfsq` as a command's first word runs this very tool, with the same Node, without a global install. */
function resolveArgv(command: string[]): string[] {
  if (command[0] === 'rfsq') return rfsqArgv(command.slice(1));
  return command;
}

/** Every variant name the config's steps offer, sorted. */
export function variantNames(config: PipelineConfig): string[] {
  const names = new Set<string>();
  for (const step of Object.values(config.steps))
    for (const name of Object.keys(step?.variants ?? {})) names.add(name);
  return [...names].sort();
}

/** A step as the chosen variants have it: the first named variant the step offers, else the step itself. */
export function chooseVariant(step: StepConfig, variants: readonly string[]): StepVariant {
  for (const name of variants) {
    const variant = step.variants?.[name];
    if (variant) return variant;
  }
  return step;
}

/**
 * Resolves a strategy's steps against a pipeline config: the chosen `variants` applied, vars
 * substituted, `rfsq` made runnable.
 */
export function resolvePlan(
  config: PipelineConfig,
  strategy: StrategyId,
  projectDir: string,
  variants: readonly string[] = [],
): ResolvedPlan {
  const offered = variantNames(config);
  for (const name of variants) {
    if (!offered.includes(name)) {
      throw inputError(
        `no step of ${CONFIG_FILE} has a variant "${name}"`,
        offered.length > 0 ? `variants here: ${offered.join(', ')}` : 'this config has no variants',
      );
    }
  }
  const steps: PlannedStep[] = [];
  const unavailable: UnavailableStep[] = [];
  for (const ref of STRATEGY_PLANS[strategy]) {
    const configured = config.steps[ref.step];
    if (!configured) {
      throw inputError(
        `${CONFIG_FILE} has no step "${ref.step}", which strategy ${strategy} needs`,
        `add steps.${ref.step}, or regenerate the file with \`rfsq init --force\``,
      );
    }
    const step = chooseVariant(configured, variants);
    if (step.command === null || unavailable.length > 0) {
      unavailable.push({
        id: ref.step,
        title: step.title,
        reason:
          step.command === null
            ? (step.unavailable ?? 'no command on this template')
            : 'after an unavailable step',
      });
      continue;
    }
    const where = (field: string) => `steps.${ref.step}.${field}`;
    const sub = (text: string, field: string) => substitute(text, config.vars, where(field));
    steps.push({
      id: ref.step,
      title: step.title,
      argv: resolveArgv(step.command.map((word, index) => sub(word, `command[${index}]`))),
      ...(step.then
        ? {
            then: step.then.map((argv, at) =>
              resolveArgv(argv.map((word, index) => sub(word, `then[${at}][${index}]`))),
            ),
          }
        : {}),
      cwd: path.resolve(projectDir, step.cwd ? sub(step.cwd, 'cwd') : '.'),
      ...(step.env
        ? {
            env: Object.fromEntries(
              Object.entries(step.env).map(([key, value]) => [key, sub(value, `env.${key}`)]),
            ),
          }
        : {}),
      ...(step.metricsFile ? { metricsFile: sub(step.metricsFile, 'metricsFile') } : {}),
      ...(step.metricMap ? { metricMap: step.metricMap } : {}),
      expectedMetrics: step.expectedMetrics,
      ...(step.fineGrainedTasks ? { fineGrainedTasks: step.fineGrainedTasks } : {}),
      inputs: step.inputs.map((input, index) => path.resolve(projectDir, sub(input, `inputs[${index}]`))),
      ...(step.estimateHours ? { estimateHours: step.estimateHours } : {}),
      ...(ref.gateAfter ? { gateAfter: ref.gateAfter } : {}),
    });
  }
  return { strategy, steps, unavailable };
}

/**
 * Gate handlers decided from measured values. A swap that already delivers (≥ 5 points) makes
 * retraining optional: `continueWhenGood` says yes, `ask` lets a person decide, otherwise stop.
 */
export function gateHandlers(options: {
  continueWhenGood: boolean;
  ask?: (message: string) => Promise<boolean>;
}): Record<GateId, GateHandler> {
  const handle =
    (gate: GateId): GateHandler =>
    async (metrics: Metrics): Promise<GateResult> => {
      const decision = decideGate(gate, metrics);
      if (decision.decision !== 'ask') return decision;
      if (options.continueWhenGood) {
        return {
          decision: 'continue',
          message: `${decision.message} Retraining anyway (--continue-when-good).`,
        };
      }
      if (
        options.ask &&
        (await options.ask(`${decision.message} Retrain the main and draft models anyway?`))
      ) {
        return { decision: 'continue', message: `${decision.message} Retraining, as asked.` };
      }
      return {
        decision: 'stop',
        message: `${decision.message} Stopped before retraining; rerun with --continue-when-good to retrain anyway.`,
      };
    };
  return { 'phase1-improvement': handle('phase1-improvement'), 'swap-gain': handle('swap-gain') };
}
