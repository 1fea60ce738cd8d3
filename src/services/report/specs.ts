import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { wilsonInterval } from '../../core/proportion.js';
import { TOP_VIEW_HALF_EXTENT, type TopViewTrack } from '../../sim/render.js';
import type { ArmReport } from '../phase3.js';
import type { Phase3Step, ReportData, TokenizerCurve } from './gather.js';

/**
 * The report's charts as Vega-Lite specs, built from the gathered data only: each chart names the files
 * its figures come from and says what they are (held-out or training, which epoch, how many trials).
 */

export type SectionId = 'checklist' | 'phase1' | 'phase2' | 'phase3' | 'run' | 'miniature';

export interface Chart {
  /** A file-name-safe id, unique in a report (`--format svg` writes `<id>.svg`). */
  id: string;
  section: SectionId;
  title: string;
  /** What the figures are, and the files they were read from. */
  caption: string;
  files: string[];
  spec: TopLevelSpec;
}

/** A chart, or the sentence that says why its data are missing. */
export type Figure = { chart: Chart } | { section: SectionId; title: string; missing: string };

const WIDTH = 420;
const HEIGHT = 220;
const VARIANT_COLORS: Record<string, string> = {
  naive: '#d95f02',
  Robust: '#1b9e77',
  'Robust draft': '#7570b3',
};

/** The tokenizer colours for the variants a chart shows (so its legend lists only those). */
function variantScale(rows: readonly { variant: string }[]) {
  const domain = Object.keys(VARIANT_COLORS).filter((name) => rows.some((row) => row.variant === name));
  return { domain, range: domain.map((name) => VARIANT_COLORS[name]!) };
}

const STATUS_COLORS: Record<string, string> = {
  succeeded: '#1b9e77',
  skipped: '#a6cee3',
  running: '#1f78b4',
  failed: '#e31a1c',
  interrupted: '#ff7f00',
  unverified: '#cab2d6',
  pending: '#bdbdbd',
};

function base(title: string): Pick<TopLevelSpec, 'title' | 'config'> & { width: number; height: number } {
  return {
    title,
    width: WIDTH,
    height: HEIGHT,
    config: { font: 'sans-serif', view: { stroke: null } },
  };
}

const layerName = (layer: number) => `L${layer}`;
const variantName = (variant: string) => (variant === 'robust' ? 'Robust' : variant);

/** Every chart the data allow, in page order, and a sentence for each one they do not. */
export function reportFigures(data: ReportData): Figure[] {
  return [...phase1Figures(data), phase2Figure(data), ...phase3Figures(data), timelineFigure(data)];
}

function missing(section: SectionId, title: string, ...reasons: string[]): Figure {
  return { section, title, missing: [...new Set(reasons.filter((reason) => reason !== ''))].join('; ') };
}

function phase1Figures(data: ReportData): Figure[] {
  const { naive, robust, compare } = data.phase1;
  const curves = [naive, robust].flatMap((part) => ('data' in part ? [part] : []));
  const figures: Figure[] = [];
  const mseTitle = 'Phase 1: MSE per epoch, naive and Robust';
  if (curves.length === 0) {
    figures.push(
      missing('phase1', mseTitle, ...[naive, robust].map((part) => ('missing' in part ? part.missing : ''))),
    );
  } else {
    const rows = curves.flatMap(({ data: tokenizer }) => curveRows(tokenizer));
    const kept = curves
      .map(
        ({ data: t }) =>
          `${variantName(t.variant)} epoch ${t.keptEpoch} of ${t.epochs} (${t.selectedBy === 'validation' ? 'best by validation MSE' : 'the last: no validation episodes'})`,
      )
      .join(', ');
    const absent = [naive, robust].flatMap((part) => ('missing' in part ? [` ${part.missing}.`] : []));
    figures.push({
      chart: {
        id: 'phase1-mse-curves',
        section: 'phase1',
        title: mseTitle,
        caption: `Training MSE: training mode, mean over each epoch's batches; validation and held-out MSE: evaluation mode, normalized action units. The held-out episodes are recorded for this plot only and decide nothing. Checkpoints kept: ${kept}.${absent.join('')}`,
        files: curves.map((part) => part.file),
        spec: {
          ...base(mseTitle),
          data: { values: rows },
          mark: { type: 'line' },
          encoding: {
            x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
            y: { field: 'mse', type: 'quantitative', scale: { type: 'log' }, title: 'MSE (log scale)' },
            color: { field: 'variant', type: 'nominal', scale: variantScale(rows), title: 'tokenizer' },
            strokeDash: {
              field: 'set',
              type: 'nominal',
              title: 'measured on',
              legend: {
                symbolType: 'stroke',
                symbolStrokeColor: '#555',
                symbolStrokeWidth: 2,
                symbolSize: 300,
              },
            },
          },
        },
      },
    });
  }

  const layersTitle = 'Phase 1: residual std entering each layer';
  const usageTitle = 'Phase 1: code usage per layer';
  const referencesTitle = 'Phase 1: reference tokenizers on the same held-out data';
  if ('missing' in compare) {
    for (const title of [layersTitle, usageTitle, referencesTitle])
      figures.push(missing('phase1', title, compare.missing));
    return figures;
  }
  const report = compare.data;
  const heldOut = `${report.data.source}, ${report.data.episodes} episodes, ${report.data.chunks} chunks${report.data.heldOutOnly ? ', held out: never seen in training' : ' (the whole dataset: its split is not recorded)'}`;
  const layerRows = (['naive', 'robust'] as const).flatMap((variant) =>
    report[variant].layers.map((layer) => ({
      variant: variantName(variant),
      layer: layerName(layer.layer),
      residualStd: layer.residualStd,
      entropyBits: layer.entropyBits,
      levelsUsedPct: layer.usedFraction * 100,
    })),
  );
  const variants = {
    field: 'variant',
    type: 'nominal' as const,
    scale: variantScale(layerRows),
    title: 'tokenizer',
  };
  const grouped = (field: string, title: string) => ({
    mark: { type: 'bar' as const },
    encoding: {
      x: { field: 'layer', type: 'ordinal' as const, title: 'layer' },
      xOffset: { field: 'variant', type: 'nominal' as const },
      y: { field, type: 'quantitative' as const, title },
      color: variants,
    },
  });
  figures.push({
    chart: {
      id: 'phase1-residual-std',
      section: 'phase1',
      title: layersTitle,
      caption: `Std of the residual entering each quantizer layer (over rows and latent dimensions), evaluation mode, on the held-out data (${heldOut}).`,
      files: [compare.file],
      spec: {
        ...base(layersTitle),
        data: { values: layerRows },
        // Points on a log scale: the std falls by orders of magnitude across layers (bars need a zero).
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'layer', type: 'ordinal', title: 'layer' },
          y: {
            field: 'residualStd',
            type: 'quantitative',
            scale: { type: 'log' },
            title: 'residual std (log scale)',
          },
          color: variants,
        },
      },
    },
  });
  figures.push({
    chart: {
      id: 'phase1-code-usage',
      section: 'phase1',
      title: usageTitle,
      caption: `Entropy of each layer's level histogram (pooled over latent dimensions, bits) and the share of levels used at least once, on the held-out data (${heldOut}).`,
      files: [compare.file],
      spec: {
        title: usageTitle,
        config: { font: 'sans-serif', view: { stroke: null } },
        data: { values: layerRows },
        hconcat: [
          { width: WIDTH / 2, height: HEIGHT, ...grouped('entropyBits', 'code entropy (bits)') },
          { width: WIDTH / 2, height: HEIGHT, ...grouped('levelsUsedPct', 'levels used (%)') },
        ],
      },
    },
  });
  const references = [
    {
      tokenizer: 'RFSQ naive (trained)',
      mse: report.naive.heldOutMse,
      tokensPerStep: report.naive.tokensPerStep,
    },
    {
      tokenizer: 'RFSQ Robust (trained)',
      mse: report.robust.heldOutMse,
      tokensPerStep: report.robust.tokensPerStep,
    },
    ...report.robust.references.map((reference) => ({
      tokenizer: reference.name,
      mse: reference.mse,
      tokensPerStep: reference.tokensPerStep,
    })),
  ].map((row) => ({ ...row, label: `${row.tokenizer} · ${row.tokensPerStep} tokens/step` }));
  figures.push({
    chart: {
      id: 'phase1-reference-tokenizers',
      section: 'phase1',
      title: referencesTitle,
      caption: `Held-out MSE (normalized action units) of the two trained tokenizers and the reference tokenizers on the same data (${heldOut}): ${report.robust.references.map((reference) => `${reference.name}, ${reference.description}`).join('; ')}. Improvement of Robust over naive: ${report.improvementPct.toFixed(2)}%.`,
      files: [compare.file],
      spec: {
        ...base(referencesTitle),
        data: { values: references },
        mark: { type: 'point', filled: true, size: 80 },
        encoding: {
          y: { field: 'label', type: 'nominal', sort: null, title: null, axis: { labelLimit: 360 } },
          x: {
            field: 'mse',
            type: 'quantitative',
            scale: { type: 'log' },
            title: 'held-out MSE (log scale)',
          },
          color: { value: '#7570b3' },
        },
      },
    },
  });
  return figures;
}

function curveRows(tokenizer: TokenizerCurve) {
  const variant = variantName(tokenizer.variant);
  return tokenizer.curve.flatMap((point) => [
    { variant, set: 'training', epoch: point.epoch, mse: point.trainMse },
    ...(typeof point.validationMse === 'number'
      ? [{ variant, set: 'validation', epoch: point.epoch, mse: point.validationMse }]
      : []),
    { variant, set: 'held-out', epoch: point.epoch, mse: point.heldOutMse },
  ]);
}

function phase2Figure(data: ReportData): Figure {
  const title = 'Phase 2: held-out token accuracy per layer, naive and Robust';
  const { robust, naive, draft } = data.phase2;
  const mains = [
    ['Robust', robust],
    ['naive', naive],
  ] as const;
  const present = mains.flatMap(([variant, part]) => ('data' in part ? [{ variant, part }] : []));
  if (present.length === 0)
    return missing('phase2', title, ...mains.map(([, part]) => ('missing' in part ? part.missing : '')));
  const modes = {
    free: 'free-running',
    teacher: 'with true earlier layers',
    given: 'L3–L7 given true L0–L2',
  };
  const rows: { variant: string; mode: string; layer: string; acc: number }[] = present.flatMap(
    ({ variant, part: { data: report } }) => [
      ...report.perLayerFreeRunning.map((acc, layer) => ({
        variant,
        mode: modes.free,
        layer: layerName(layer),
        acc,
      })),
      ...report.perLayerTeacherForced.map((acc, layer) => ({
        variant,
        mode: modes.teacher,
        layer: layerName(layer),
        acc,
      })),
      ...report.perLayerGivenCoarse.map((acc, index) => ({
        variant,
        mode: modes.given,
        layer: layerName(report.fineFromLayer + index),
        acc,
      })),
    ],
  );
  if ('data' in draft) {
    draft.data.perLayer.forEach((acc, layer) =>
      rows.push({ variant: 'Robust draft', mode: modes.free, layer: layerName(layer), acc }),
    );
  }
  const summary = present
    .map(
      ({ variant, part: { data: report } }) =>
        `${variant} main model ${pct(report.mainTokenAcc)} free-running over all layers (${report.count} held-out chunks)`,
    )
    .join('; ');
  const absent = [...mains.map(([, part]) => part), draft].flatMap((part) =>
    'missing' in part ? [` ${part.missing}.`] : [],
  );
  return {
    chart: {
      id: 'phase2-token-accuracy',
      section: 'phase2',
      title,
      caption: `Token accuracy on the held-out episodes of Phase 1: free-running (each layer conditioned on the model's own earlier layers; the checklist's figure), with the true earlier layers (teacher-forced), and L3–L7 decoded free-running after the true L0–L2. The draft predicts L0–L2 from the observation in one pass. Chance is ${pct(present[0]!.part.data.chance)}. ${summary}${'data' in draft ? `; draft ${pct(draft.data.draftCoarseAcc)} over L0–L2` : ''}.${absent.join('')}`,
      files: [...present.map(({ part }) => part.file), ...('data' in draft ? [draft.file] : [])],
      spec: {
        title,
        config: { font: 'sans-serif', view: { stroke: null } },
        data: { values: rows },
        facet: { column: { field: 'mode', type: 'nominal', sort: Object.values(modes), title: null } },
        spec: {
          width: 200,
          height: HEIGHT,
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'layer', type: 'ordinal', title: 'layer' },
            y: {
              field: 'acc',
              type: 'quantitative',
              scale: { domain: [0, 1] },
              axis: { format: '%' },
              title: 'token accuracy',
            },
            color: { field: 'variant', type: 'nominal', scale: variantScale(rows), title: 'model' },
          },
        },
      },
    },
  };
}

function pct(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

function phase3Figures(data: ReportData): Figure[] {
  const steps = data.phase3.flatMap((part) => ('data' in part ? [{ ...part.data, file: part.file }] : []));
  const absent = data.phase3.flatMap((part) => ('missing' in part ? [part.missing] : []));
  const figures: Figure[] = steps.map((step) => successFigure(step));
  if (steps.length === 0) {
    figures.push(missing('phase3', 'Phase 3: success and fine-grained success per task', ...absent));
    figures.push(missing('phase3', 'Phase 3: paired differences', ...absent));
    figures.push(missing('phase3', 'Phase 3: main passes per chunk against success', ...absent));
    return figures;
  }
  const note = absent.length > 0 ? ` Not shown: ${absent.join('; ')}.` : '';
  figures.push(pairedFigure(steps, note), passesFigure(steps, note));
  return figures;
}

/** Per task, then over all tasks and over the fine-grained ones, each arm's rate with its Wilson interval. */
function successFigure(step: Phase3Step & { file: string }): Figure {
  const { report } = step;
  const arms = [report.candidate, report.versus];
  const tasks = Object.keys(report.candidate.perTask);
  const perTask = report.trials / tasks.length;
  const rows = arms.flatMap((arm) => [
    ...tasks.map((task, index) => {
      const wins = [...arm.outcomes.slice(index * perTask, (index + 1) * perTask)].filter(
        (o) => o === '1',
      ).length;
      const [low, high] = wilsonInterval(wins, perTask);
      return { arm: arm.label, group: task, rate: wins / perTask, low, high };
    }),
    {
      arm: arm.label,
      group: 'all tasks',
      rate: arm.successRate,
      low: arm.successInterval95[0],
      high: arm.successInterval95[1],
    },
    {
      arm: arm.label,
      group: 'fine-grained',
      rate: arm.fineGrainedSuccessRate,
      low: arm.fineGrainedInterval95[0],
      high: arm.fineGrainedInterval95[1],
    },
  ]);
  const title = `Phase 3 (${step.step}): success per task, 95% intervals`;
  const order = [...tasks, 'all tasks', 'fine-grained'];
  return {
    chart: {
      id: `${step.step}-success`,
      section: 'phase3',
      title,
      caption: `${step.title}. Closed-loop trials in the simulator, ${perTask} per task (${report.trials} per arm), both arms on the same seeds; Wilson 95% intervals. Fine-grained: the tasks marked fine-grained (place_precise, insert, rotate_place).`,
      files: [step.file],
      spec: {
        ...base(title),
        data: { values: rows },
        encoding: {
          x: { field: 'group', type: 'nominal', sort: order, title: null, axis: { labelAngle: -30 } },
          xOffset: { field: 'arm', type: 'nominal' },
          color: {
            field: 'arm',
            type: 'nominal',
            title: 'arm',
            legend: { orient: 'bottom', columns: 1, labelLimit: 400 },
          },
        },
        layer: [
          {
            mark: { type: 'bar' },
            encoding: {
              y: {
                field: 'rate',
                type: 'quantitative',
                scale: { domain: [0, 1] },
                axis: { format: '%' },
                title: 'success',
              },
            },
          },
          {
            mark: { type: 'rule', color: 'black' },
            encoding: { y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } },
          },
          // The rate itself, visible when it is 0.
          {
            mark: { type: 'tick', color: 'black', thickness: 2 },
            encoding: { y: { field: 'rate', type: 'quantitative' } },
          },
        ],
      },
    },
  };
}

function pairedFigure(steps: (Phase3Step & { file: string })[], note: string): Figure {
  const rows = steps.flatMap(({ step, report }) =>
    (['success', 'fineGrained'] as const).map((measure) => {
      const paired = report.comparison[measure];
      return {
        comparison: `${step}: ${measure === 'success' ? 'success' : 'fine-grained'}`,
        delta: paired.difference * 100,
        low: paired.interval95[0] * 100,
        high: paired.interval95[1] * 100,
        label: `${report.candidate.label} − ${report.versus.label}, ${paired.trials} pairs`,
      };
    }),
  );
  const margin = steps[0]!.report.margin * 100;
  const title = 'Phase 3: paired differences, 95% intervals';
  return {
    chart: {
      id: 'phase3-paired-differences',
      section: 'phase3',
      title,
      caption: `Each evaluation's first arm minus its second, trial by trial on the same seeds (points of success), with the paired 95% interval (Newcombe's hybrid score); the dashed line is the non-inferiority margin (${margin} points).${steps.map(({ step, report }) => ` ${step}: ${report.comparison.summary}.`).join('')}${note}`,
      files: steps.map((step) => step.file),
      spec: {
        ...base(title),
        height: Math.max(80, rows.length * 28),
        layer: [
          {
            data: { values: rows },
            mark: { type: 'rule' },
            encoding: {
              y: { field: 'comparison', type: 'nominal', sort: null, title: null, axis: { labelLimit: 240 } },
              x: { field: 'low', type: 'quantitative', title: 'Δ success (points)' },
              x2: { field: 'high' },
            },
          },
          {
            data: { values: rows },
            mark: { type: 'point', filled: true, size: 60 },
            encoding: {
              y: { field: 'comparison', type: 'nominal', sort: null },
              x: { field: 'delta', type: 'quantitative' },
              tooltip: { field: 'label' },
            },
          },
          {
            data: { values: [{ x: 0 }] },
            mark: { type: 'rule', color: '#555' },
            encoding: { x: { field: 'x', type: 'quantitative' } },
          },
          {
            data: { values: [{ x: margin }] },
            mark: { type: 'rule', strokeDash: [4, 4], color: '#e31a1c' },
            encoding: { x: { field: 'x', type: 'quantitative' } },
          },
        ],
      },
    },
  };
}

function passesFigure(steps: (Phase3Step & { file: string })[], note: string): Figure {
  const rows = steps.flatMap(({ step, report }) =>
    [report.candidate, report.versus].map((arm) => ({
      arm: `${step}: ${arm.label}`,
      passes: arm.mainPassesPerChunk,
      rate: arm.successRate,
      low: arm.successInterval95[0],
      high: arm.successInterval95[1],
    })),
  );
  const title = 'Phase 3: main passes per chunk against success, per decoding';
  return {
    chart: {
      id: 'phase3-passes-vs-success',
      section: 'phase3',
      title,
      caption: `Every arm of every evaluation: sequential main-model passes per action chunk (measured over all its chunks) against its success rate with the Wilson 95% interval.${note}`,
      files: steps.map((step) => step.file),
      spec: {
        ...base(title),
        data: { values: rows },
        encoding: {
          x: {
            field: 'passes',
            type: 'quantitative',
            title: 'main passes per chunk',
            scale: { domain: [0, 9] },
          },
          color: {
            field: 'arm',
            type: 'nominal',
            title: 'decoding',
            legend: { orient: 'bottom', columns: 1, labelLimit: 400 },
          },
        },
        layer: [
          {
            mark: { type: 'rule' },
            encoding: {
              y: {
                field: 'low',
                type: 'quantitative',
                scale: { domain: [0, 1] },
                axis: { format: '%' },
                title: 'success',
              },
              y2: { field: 'high' },
            },
          },
          {
            mark: { type: 'point', filled: true, size: 80 },
            encoding: { y: { field: 'rate', type: 'quantitative' } },
          },
        ],
      },
    },
  };
}

function timelineFigure(data: ReportData): Figure {
  const title = 'The run: steps over time';
  if ('missing' in data.timeline) return missing('run', title, data.timeline.missing);
  const timeline = data.timeline.data;
  const rows = timeline.steps.flatMap((step) =>
    step.startedAt
      ? [
          {
            step: step.step,
            status: step.status,
            start: step.startedAt,
            end: step.finishedAt ?? step.startedAt,
          },
        ]
      : [],
  );
  if (rows.length === 0) return missing('run', title, `no step of run ${timeline.runId} has started`);
  const gates = timeline.gates.map((gate) => ({ at: gate.at, label: `${gate.gate}: ${gate.decision}` }));
  const statuses = new Set(rows.map((row) => row.status));
  return {
    chart: {
      id: 'run-timeline',
      section: 'run',
      title,
      caption: `Run ${timeline.runId}, strategy ${timeline.strategy}, ${timeline.status}: each step from its start to its end as the run state recorded them${gates.length > 0 ? ', and each gate (dashed) when it was decided' : ''}.`,
      files: [data.timeline.file],
      spec: {
        ...base(title),
        height: Math.max(60, rows.length * 26),
        layer: [
          {
            data: { values: rows },
            mark: { type: 'bar' },
            encoding: {
              y: { field: 'step', type: 'nominal', sort: null, title: null },
              x: { ...utcTime('start'), title: 'time (UTC)', axis: { format: '%H:%M:%S' } },
              x2: { field: 'end' },
              color: {
                field: 'status',
                type: 'nominal',
                scale: {
                  domain: [...statuses],
                  range: [...statuses].map((status) => STATUS_COLORS[status] ?? '#bdbdbd'),
                },
                title: 'status',
              },
            },
          },
          ...(gates.length > 0
            ? [
                {
                  data: { values: gates },
                  mark: { type: 'rule' as const, strokeDash: [4, 3], color: '#333' },
                  encoding: { x: utcTime('at') },
                },
                {
                  data: { values: gates },
                  mark: {
                    type: 'text' as const,
                    align: 'left' as const,
                    baseline: 'top' as const,
                    dx: 3,
                    dy: 2,
                    fontSize: 9,
                  },
                  encoding: { x: utcTime('at'), y: { value: 0 }, text: { field: 'label' } },
                },
              ]
            : []),
        ],
      },
    },
  };
}

/** A time axis in UTC, as the run state records its times. */
function utcTime(field: string) {
  return { field, type: 'temporal' as const, scale: { type: 'utc' as const } };
}

const TOP_VIEW_MARKS = {
  'gripper path': { color: '#4a6fa5', shape: 'stroke' },
  'object start': { color: '#7f7f7f', shape: 'circle' },
  'object end': { color: '#d95f02', shape: 'square' },
  target: { color: '#1b9e77', shape: 'cross' },
} as const;
const OUTCOME_COLORS = { success: '#1b7e3b', failure: '#c62828' } as const;

export interface TopViewOutcome {
  seed: number;
  success: boolean;
  steps: number;
}

/**
 * One rollout from above (x to the right, y up, the table's centre at 0): the end-effector path as a line,
 * the object's start and end and the target as points, and the outcome in the title, in its colour.
 * `rfsq sim show --out x.svg` and the report's miniature draw this same chart.
 */
export function topViewSpec(track: TopViewTrack, outcome: TopViewOutcome, subtitle: string): TopLevelSpec {
  const verdict = outcome.success ? 'success' : 'failure';
  const axis = (name: string) => ({
    type: 'quantitative' as const,
    scale: { domain: [-TOP_VIEW_HALF_EXTENT, TOP_VIEW_HALF_EXTENT], nice: false },
    title: `${name} (m)`,
  });
  const names = Object.keys(TOP_VIEW_MARKS) as (keyof typeof TOP_VIEW_MARKS)[];
  const legend = {
    field: 'mark',
    type: 'nominal' as const,
    title: null,
    legend: { orient: 'bottom' as const, columns: 2 },
  };
  return {
    title: {
      text: `${track.task} seed ${outcome.seed}: ${verdict} after ${outcome.steps} steps`,
      subtitle,
      color: OUTCOME_COLORS[verdict],
      fontSize: 12,
    },
    width: 220,
    height: 220,
    config: { font: 'sans-serif' },
    encoding: {
      x: { field: 'x', ...axis('x') },
      y: { field: 'y', ...axis('y') },
      color: { ...legend, scale: { domain: names, range: names.map((name) => TOP_VIEW_MARKS[name].color) } },
    },
    layer: [
      {
        data: {
          values: track.path.map(([x, y], index) => ({ mark: 'gripper path', x, y, index })),
        },
        mark: { type: 'line', strokeWidth: 1.5, point: false },
        encoding: { order: { field: 'index', type: 'quantitative' } },
      },
      // The object's end and the target, filled; its start as a ring drawn over them, seen when it never moved.
      ...[
        {
          values: [
            { mark: 'object end', x: track.objectEnd[0], y: track.objectEnd[1] },
            { mark: 'target', x: track.target[0], y: track.target[1] },
          ],
          filled: true,
          size: 110,
        },
        {
          values: [{ mark: 'object start', x: track.objectStart[0], y: track.objectStart[1] }],
          filled: false,
          size: 220,
        },
      ].map(({ values, filled, size }) => ({
        data: { values },
        mark: { type: 'point' as const, filled, size, strokeWidth: 2, opacity: 0.9 },
        encoding: {
          shape: {
            ...legend,
            scale: { domain: names, range: names.map((name) => TOP_VIEW_MARKS[name].shape) },
          },
        },
      })),
    ],
  };
}

/** The Phase 3 evaluation the miniature shows: the run's last one that wrote its results. */
export function lastPhase3Step(data: ReportData): { data: Phase3Step; file: string } | undefined {
  return [...data.phase3]
    .reverse()
    .find((part): part is { data: Phase3Step; file: string } => 'data' in part);
}

/** The id of a rollout's picture: the evaluation step, the arm (0 candidate, 1 versus), the trial's seed. */
export function rolloutChartId(step: string, arm: number, rollout: { task: string; seed: number }): string {
  return `rollout-${step}-arm${arm}-${rollout.task}-seed${rollout.seed}`;
}

/** The miniature's pictures: every rollout of both arms of the last evaluation that records its path. */
export function rolloutCharts(data: ReportData): Chart[] {
  const last = lastPhase3Step(data);
  if (!last) return [];
  const arms: ArmReport[] = [last.data.report.candidate, last.data.report.versus];
  return arms.flatMap((arm, index) =>
    (arm.rollouts ?? []).flatMap((rollout) => {
      if (!rollout.track) return [];
      const title = `${rollout.task}, seed ${rollout.seed}, ${arm.label}: ${rollout.success ? 'success' : 'failure'}`;
      return [
        {
          id: rolloutChartId(last.data.step, index, rollout),
          section: 'miniature' as const,
          title,
          caption: `${last.data.step}, trial ${rollout.trial + 1} of ${rollout.task} from above: the end-effector path every ${rollout.track.stride} control steps, the object's start and end, the target.`,
          files: [last.file],
          spec: topViewSpec(rollout.track, rollout, arm.label),
        },
      ];
    }),
  );
}

/** The file name a chart gets with `--format svg`. */
export function chartFileName(chart: Chart): string {
  return `${chart.id}.svg`;
}

/** A project-relative path for captions (the full path when the file is elsewhere). */
export function shownPath(projectDir: string, file: string): string {
  const relative = path.relative(projectDir, file);
  return relative.startsWith('..') ? file : relative;
}
