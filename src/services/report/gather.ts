import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { inputError } from '../../core/errors.js';
import { STEP_IDS, STRATEGY_PLANS, type StepId } from '../../core/pipeline-plan.js';
import type { StrategyId } from '../../core/plan-facts.js';
import type { DraftReport, MainReport } from '../../ml/policy/evaluate.js';
import type { CurvePoint } from '../../ml/tokenizer/train.js';
import { CONFIG_FILE, readPipelineConfig, substitute, type PipelineConfig } from '../../pipeline/config.js';
import { loadState, type GateRecord, type RunState, type StepRecord } from '../../pipeline/state.js';
import { buildChecklist, type ChecklistReport } from '../checklist.js';
import type { CompareReport } from '../phase1.js';
import type { Phase3Report } from '../phase3.js';
import { chooseVariant } from '../run-plan.js';

/**
 * What `rfsq report` shows, read from the project's own files: every part is either its data with the
 * file it came from, or the sentence that says why it is missing (the page is never blank).
 */
export type Part<T> = { data: T; file: string } | { missing: string };

export interface TokenizerCurve {
  variant: 'naive' | 'robust';
  curve: CurvePoint[];
  /** The epoch whose checkpoint was kept, and what picked it. */
  keptEpoch: number;
  epochs: number;
  selectedBy: 'validation' | 'last epoch';
}

export interface PolicyAccuracy {
  /** Main model on the Robust codes, and on the naive codes (for comparison), each with its file. */
  robust: Part<MainReport>;
  naive: Part<MainReport>;
  draft: Part<DraftReport>;
}

export interface Phase3Step {
  step: StepId;
  title: string;
  report: Phase3Report;
}

export interface TimelineStep {
  step: string;
  status: StepRecord['status'];
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number | null;
  reason?: string;
}

export interface Timeline {
  runId: string;
  strategy: string;
  status: RunState['status'];
  startedAt: string;
  finishedAt?: string;
  steps: TimelineStep[];
  gates: GateRecord[];
}

export interface ReportData {
  projectDir: string;
  /** The run the page shows (the project's latest), or why there is none. */
  timeline: Part<Timeline>;
  checklist: Part<ChecklistReport>;
  phase1: { naive: Part<TokenizerCurve>; robust: Part<TokenizerCurve>; compare: Part<CompareReport> };
  phase2: PolicyAccuracy;
  /** One part per Phase 3 step of the run's strategy, in plan order. */
  phase3: Part<Phase3Step>[];
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8')) as unknown;
}

/** The value after `flag` in a command, if the command passes it. */
function flagValue(argv: readonly string[], flag: string): string | undefined {
  const at = argv.indexOf(flag);
  return at >= 0 ? argv[at + 1] : undefined;
}

/** Reads the project's config, state and step outputs. A folder without rfsq.config.json is no project. */
export function gatherReport(projectDir: string): ReportData {
  if (!existsSync(path.join(projectDir, CONFIG_FILE))) {
    throw inputError(
      `${projectDir} has no ${CONFIG_FILE}, so it is not an rfsq project`,
      'pass the project folder with --dir, or create one with `rfsq init`',
    );
  }
  const config = readPipelineConfig(projectDir);
  const state = loadState(projectDir);
  const noRun = { missing: `no run yet in ${projectDir}: \`rfsq run --strategy A\` makes one` };
  if (!state) {
    return {
      projectDir,
      timeline: noRun,
      checklist: noRun,
      phase1: { naive: noRun, robust: noRun, compare: noRun },
      phase2: { robust: noRun, naive: noRun, draft: noRun },
      phase3: [noRun],
    };
  }
  const files = new StepFiles(projectDir, config, state);
  const strategy = (['A', 'B', 'C'] as const).find((id) => id === state.strategy);
  return {
    projectDir,
    timeline: { data: timelineOf(state, strategy), file: path.join(projectDir, '.rfsq', 'state.json') },
    checklist: {
      data: buildChecklist({ metricsFiles: [], projectDir }),
      file: path.join(projectDir, '.rfsq', 'state.json'),
    },
    phase1: {
      naive: files.tokenizerCurve('naive'),
      robust: files.tokenizerCurve('robust'),
      compare: files.read<CompareReport>('phase1-compare', '--results-out', 'the comparison', (file) => file),
    },
    phase2: {
      robust: files.policy('phase2-main', '--out', 'main'),
      naive: files.policy('phase2-main', '--naive-out', 'main'),
      draft: files.policy('phase2-draft', '--out', 'draft'),
    },
    phase3: phase3Steps(strategy).map((step) => {
      const part = files.read<Phase3Report>(step, '--results-out', 'the evaluation', (file) => file);
      if ('missing' in part) return part;
      return { file: part.file, data: { step, title: stepTitle(config, step), report: part.data } };
    }),
  };
}

function stepTitle(config: PipelineConfig, step: StepId): string {
  return config.steps[step]?.title ?? step;
}

function phase3Steps(strategy: StrategyId | undefined): StepId[] {
  const plan = strategy ? STRATEGY_PLANS[strategy].map((ref) => ref.step) : STEP_IDS;
  return plan.filter((step) => step.startsWith('phase3-'));
}

function timelineOf(state: RunState, strategy: StrategyId | undefined): Timeline {
  const planned = strategy ? STRATEGY_PLANS[strategy].map((ref) => ref.step as string) : [];
  const order = [...planned, ...Object.keys(state.steps).filter((step) => !planned.includes(step))];
  return {
    runId: state.runId,
    strategy: state.strategy,
    status: state.status,
    startedAt: state.startedAt,
    ...(state.finishedAt ? { finishedAt: state.finishedAt } : {}),
    steps: order.flatMap((step) => {
      const record = state.steps[step];
      if (!record) return [];
      return [
        {
          step,
          status: record.status,
          ...(record.startedAt ? { startedAt: record.startedAt } : {}),
          ...(record.finishedAt ? { finishedAt: record.finishedAt } : {}),
          ...(record.exitCode !== undefined ? { exitCode: record.exitCode } : {}),
          ...(record.reason ? { reason: record.reason } : {}),
        },
      ];
    }),
    gates: state.gates,
  };
}

/** Where each step of the project writes what the page shows: the paths its own command names. */
class StepFiles {
  constructor(
    private readonly projectDir: string,
    private readonly config: PipelineConfig,
    private readonly state: RunState,
  ) {}

  /** The step's command as it runs by default, vars substituted; or why the page cannot use it. */
  private command(step: StepId): string[] | { missing: string } {
    const configured = this.config.steps[step];
    const command = configured ? chooseVariant(configured, []).command : null;
    if (!configured || command === null) return { missing: `this project's template has no ${step} step` };
    const record = this.state.steps[step];
    if (!record) {
      return { missing: `${step} is not a step of this run (strategy ${this.state.strategy})` };
    }
    if (record.status !== 'succeeded' && record.status !== 'skipped') {
      const state =
        record.status === 'running'
          ? 'is still running'
          : record.status === 'pending'
            ? 'has not run yet'
            : `ended ${record.status}`;
      return {
        missing: `${step} ${state} in this run, so its files are not shown (they may be an earlier run's)`,
      };
    }
    return command.map((word, index) =>
      substitute(word, this.config.vars, `steps.${step}.command[${index}]`),
    );
  }

  /** The file a step's flag names (relative to its folder), read as JSON. */
  read<T>(step: StepId, flag: string, what: string, locate: (file: string) => string): Part<T> {
    const command = this.command(step);
    if (!Array.isArray(command)) return command;
    const value = flagValue(command, flag);
    if (value === undefined) {
      return {
        missing: `${step}'s command in ${CONFIG_FILE} passes no ${flag}, so ${what} is in no file (\`rfsq init --force\` writes the template's current commands)`,
      };
    }
    const file = path.resolve(this.projectDir, this.config.steps[step]?.cwd ?? '.', locate(value));
    const shown = path.relative(this.projectDir, file);
    if (!existsSync(file)) return { missing: `${step} wrote no ${shown}` };
    try {
      return { data: readJson(file) as T, file };
    } catch (error) {
      return { missing: `${shown} is not valid JSON (${(error as Error).message})` };
    }
  }

  /** A tokenizer's training curve, from its checkpoint's config.json (`metrics.curve`). */
  tokenizerCurve(variant: 'naive' | 'robust'): Part<TokenizerCurve> {
    const part = this.read<{ metrics?: Record<string, unknown>; training?: Record<string, unknown> }>(
      'phase1-train',
      '--out',
      `the ${variant} tokenizer`,
      (out) => path.join(out, variant, 'config.json'),
    );
    if ('missing' in part) return part;
    const metrics = part.data.metrics ?? {};
    const curve = metrics.curve as CurvePoint[] | undefined;
    if (!Array.isArray(curve) || curve.length === 0) {
      return { missing: `${part.file} records no training curve (rfsq train records it since issue 13)` };
    }
    const selectedBy = curve.some((point) => typeof point.validationMse === 'number')
      ? 'validation'
      : 'last epoch';
    return {
      file: part.file,
      data: {
        variant,
        curve,
        keptEpoch: Number(metrics.epoch ?? curve.at(-1)!.epoch),
        epochs: curve.length,
        selectedBy,
      },
    };
  }

  /** A policy's held-out report, which Phase 2 saves in the policy's config.json (`metrics`). */
  policy<T extends MainReport | DraftReport>(step: StepId, flag: string, kind: 'main' | 'draft'): Part<T> {
    const part = this.read<{ metrics?: T }>(step, flag, `the ${kind} policy`, (out) =>
      path.join(out, kind, 'config.json'),
    );
    if ('missing' in part) return part;
    if (!part.data.metrics) return { missing: `${part.file} records no held-out evaluation` };
    return { data: part.data.metrics, file: part.file };
  }
}
