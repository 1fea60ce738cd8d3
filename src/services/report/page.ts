import { formatValue } from '../../core/checklist.js';
import type { ChecklistReport } from '../checklist.js';
import type { ArmReport } from '../phase3.js';
import type { Part, ReportData, Timeline } from './gather.js';
import {
  lastPhase3Step,
  rolloutChartId,
  shownPath,
  type Chart,
  type Figure,
  type SectionId,
} from './specs.js';

/**
 * The report as one self-contained HTML page: inline CSS and inline SVG, no script, no external URL, so
 * that it opens offline from a file and can be mailed or archived as it is.
 */

const SECTIONS: { id: SectionId; title: string }[] = [
  { id: 'checklist', title: 'Checklist' },
  { id: 'phase1', title: 'Phase 1: tokenizers' },
  { id: 'phase2', title: 'Phase 2: main and draft models' },
  { id: 'phase3', title: 'Phase 3: closed-loop evaluation' },
  { id: 'run', title: 'The run' },
  { id: 'miniature', title: 'The miniature: rollouts from above' },
];

const STYLE = `
body { font-family: sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #222; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; margin-top: 2.5rem; }
nav a { margin-right: 1rem; }
figure { margin: 1.5rem 0; }
figcaption { font-size: 0.9rem; color: #444; max-width: 60rem; }
.source { font-family: monospace; font-size: 0.8rem; color: #555; word-break: break-all; }
.missing { background: #fff6e0; border-left: 4px solid #e6a700; padding: 0.5rem 0.8rem; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
.pass { color: #1b7e3b; font-weight: bold; }
.fail { color: #c62828; font-weight: bold; }
.pending { color: #a66b00; }
.na { color: #888; }
ul.provenance { font-size: 0.85rem; }
.rollouts { display: flex; flex-wrap: wrap; gap: 1.5rem; }
.pair { display: flex; gap: 0.5rem; }
.rollouts figure { margin: 0; width: 17rem; }
.rollouts figure svg { max-width: 100%; height: auto; }
.rollouts figcaption { font-size: 0.8rem; }
.success { color: #1b7e3b; }
.failure { color: #c62828; }
`;

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface RenderedChart {
  chart: Chart;
  svg: string;
}

/** The whole page from the gathered data, the figures in page order and each chart's SVG. */
export function reportPage(
  data: ReportData,
  figures: readonly Figure[],
  svgs: ReadonlyMap<string, string>,
  generatedAt: Date,
): string {
  const shown = (file: string) => escapeHtml(shownPath(data.projectDir, file));
  const figureHtml = (figure: Figure) => {
    if ('missing' in figure) return missingHtml(figure.title, figure.missing);
    const { chart } = figure;
    return `<figure class="chart" id="${chart.id}">
${svgs.get(chart.id) ?? ''}
<figcaption><p>${escapeHtml(chart.caption)}</p><p class="source">From ${chart.files.map(shown).join(', ')}</p></figcaption>
</figure>`;
  };
  const body = SECTIONS.map(({ id, title }) => {
    const parts: string[] = [];
    if (id === 'checklist') parts.push(checklistHtml(data.checklist, shown));
    parts.push(...figures.filter((figure) => sectionOf(figure) === id).map(figureHtml));
    if (id === 'run') parts.push(runTablesHtml(data.timeline));
    if (id === 'miniature') parts.push(rolloutsHtml(data, svgs, shown));
    return `<section id="${id}">\n<h2>${escapeHtml(title)}</h2>\n${parts.join('\n')}\n</section>`;
  }).join('\n');
  const run = 'data' in data.timeline ? data.timeline.data : undefined;
  const heading = run
    ? `run ${escapeHtml(run.runId)}, strategy ${escapeHtml(run.strategy)}, ${escapeHtml(run.status)}`
    : 'no run yet';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rfsq report: ${escapeHtml(data.projectDir)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>rfsq report</h1>
<p>Project <code>${escapeHtml(data.projectDir)}</code>: ${heading}. Written ${escapeHtml(generatedAt.toISOString())} by <code>rfsq report</code>. Every figure comes from the project's own files and names them; a part whose data are missing says why.</p>
<nav>${SECTIONS.map(({ id, title }) => `<a href="#${id}">${escapeHtml(title)}</a>`).join('')}</nav>
</header>
${body}
</body>
</html>
`;
}

function sectionOf(figure: Figure): SectionId {
  return 'chart' in figure ? figure.chart.section : figure.section;
}

function missingHtml(title: string, sentence: string): string {
  return `<p class="missing"><strong>${escapeHtml(title)}:</strong> not shown, because ${escapeHtml(sentence)}.</p>`;
}

const STATUS_CLASS = { pass: 'pass', fail: 'fail', pending: 'pending', 'n/a': 'na' } as const;

function checklistHtml(part: Part<ChecklistReport>, shown: (file: string) => string): string {
  if ('missing' in part) return missingHtml('The checklist', part.missing);
  const result = part.data;
  const rows = result.items.map((item) => {
    const value = item.value === null ? '—' : formatValue(item.value, item.unit);
    return `<tr><td>${item.phase}</td><td>${escapeHtml(item.label)}</td><td>${escapeHtml(value)}</td><td>${escapeHtml(item.threshold)}</td><td class="${STATUS_CLASS[item.status]}">${escapeHtml(item.status)}</td></tr>`;
  });
  const { pass, fail, pending } = result.summary;
  const notes = result.items
    .filter((item) => item.note && item.status !== 'n/a')
    .map((item) => `<li><code>${escapeHtml(item.id)}</code>: ${escapeHtml(item.note!)}</li>`);
  const sources = result.items.flatMap((item) =>
    (item.provenance ?? []).map(
      (line) => `<li><code>${escapeHtml(item.id)}</code>: ${escapeHtml(line)}</li>`,
    ),
  );
  return `<table class="checklist">
<thead><tr><th>phase</th><th>item</th><th>value</th><th>threshold</th><th>status</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
<p>${pass} pass, ${fail} fail, ${pending} pending, ${result.summary['n/a']} n/a${result.strategy ? ` (strategy ${escapeHtml(result.strategy)})` : ''}: the checklist of <code>rfsq verify</code>, from the run state ${shown(part.file)} and the template's thresholds.</p>
${notes.length > 0 ? `<h3>Notes</h3>\n<ul class="provenance">${notes.join('\n')}</ul>` : ''}
${sources.length > 0 ? `<h3>Sources: what each value is and where it came from</h3>\n<ul class="provenance">${sources.join('\n')}</ul>` : ''}`;
}

function seconds(from: string | undefined, to: string | undefined): string {
  if (!from || !to) return '—';
  const total = (Date.parse(to) - Date.parse(from)) / 1000;
  return total >= 60 ? `${Math.floor(total / 60)} min ${(total % 60).toFixed(0)} s` : `${total.toFixed(1)} s`;
}

function runTablesHtml(part: Part<Timeline>): string {
  if ('missing' in part) return '';
  const timeline = part.data;
  const steps = timeline.steps.map(
    (step) =>
      `<tr><td>${escapeHtml(step.step)}</td><td>${escapeHtml(step.status)}</td><td>${escapeHtml(step.startedAt ?? '—')}</td><td>${seconds(step.startedAt, step.finishedAt)}</td><td>${step.exitCode ?? '—'}</td><td>${escapeHtml(step.reason ?? '')}</td></tr>`,
  );
  const gates = timeline.gates.map(
    (gate) =>
      `<tr><td>${escapeHtml(gate.gate)}</td><td>${escapeHtml(gate.step)}</td><td>${escapeHtml(gate.decision)}</td><td>${escapeHtml(gate.message)}</td><td>${escapeHtml(gate.at)}</td></tr>`,
  );
  return `<table class="steps">
<thead><tr><th>step</th><th>status</th><th>started (UTC)</th><th>duration</th><th>exit code</th><th>reason</th></tr></thead>
<tbody>
${steps.join('\n')}
</tbody>
</table>
<p>Run ${escapeHtml(timeline.runId)} started ${escapeHtml(timeline.startedAt)}${timeline.finishedAt ? `, ended ${escapeHtml(timeline.finishedAt)} (${seconds(timeline.startedAt, timeline.finishedAt)})` : ''}.</p>
${
  gates.length > 0
    ? `<table class="gates">
<thead><tr><th>gate</th><th>after</th><th>decision</th><th>message</th><th>at (UTC)</th></tr></thead>
<tbody>
${gates.join('\n')}
</tbody>
</table>`
    : `<p>Strategy ${escapeHtml(timeline.strategy)} has no gates.</p>`
}`;
}

/** The last Phase 3 evaluation of the run, both arms side by side on the same seeds, each rollout a chart. */
function rolloutsHtml(
  data: ReportData,
  svgs: ReadonlyMap<string, string>,
  shown: (file: string) => string,
): string {
  const title = 'Rollouts';
  const last = lastPhase3Step(data);
  if (!last) {
    const reasons = data.phase3.flatMap((part) => ('missing' in part ? [part.missing] : []));
    return missingHtml(title, reasons.join('; ') || 'the run has no Phase 3 step');
  }
  const arms: ArmReport[] = [last.data.report.candidate, last.data.report.versus];
  const drawn = arms.flatMap((arm) => (arm.rollouts ?? []).filter((rollout) => rollout.track));
  if (drawn.length === 0) {
    return missingHtml(
      title,
      `${shown(last.file)} holds no rollout paths (rfsq phase3 eval records them since the report drew rollouts as charts)`,
    );
  }
  // Seed by seed, the arms side by side: the same layout under each decoding (the arms' trials share seeds).
  const figures = (arms[0]!.rollouts ?? []).map((_, index) => {
    const pair = arms.flatMap((arm, armIndex) => {
      const rollout = arm.rollouts?.[index];
      const svg = rollout && svgs.get(rolloutChartId(last.data.step, armIndex, rollout));
      return rollout && svg
        ? [
            `<figure class="rollout" id="${rolloutChartId(last.data.step, armIndex, rollout)}">${svg}<figcaption>${escapeHtml(rollout.task)}, seed ${rollout.seed} (trial ${rollout.trial + 1}): <span class="${rollout.success ? 'success' : 'failure'}">${rollout.success ? 'success' : 'failure'}</span> after ${rollout.steps} steps · ${escapeHtml(arm.label)}</figcaption></figure>`,
          ]
        : [];
    });
    return `<div class="pair">${pair.join('')}</div>`;
  });
  const stride = drawn[0]!.track!.stride;
  return `<p>${escapeHtml(last.data.step)}: the first trials of every task, both arms on the same seeds, seen from above (x to the right, y up, metres): the end-effector path every ${stride} control steps, where the object started and ended, and the target; the drawing <code>rfsq sim show --out x.svg</code> writes.</p>
<div class="rollouts">
${figures.join('\n')}
</div>
<p class="source">From ${shown(last.file)}</p>`;
}
