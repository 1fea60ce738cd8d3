import { formatHourRange } from '../core/duration.js';
import type { Recommendation } from '../core/strategy.js';
import type { Paint } from './context.js';
import { rfsqInvocation } from './shell.js';

function describeSource(recommendation: Recommendation): string {
  const source = recommendation.inputs.improvementSource;
  const pct = recommendation.inputs.improvementPct;
  const shown = pct === null ? '' : `${Math.round(pct * 100) / 100}%`;
  switch (source.kind) {
    case 'flag':
      return `${shown} (--improvement ${source.text})`;
    case 'mse':
      return `${shown} (naive MSE ${source.naiveMse}, robust MSE ${source.robustMse})`;
    case 'file':
      return `${shown} (from ${source.file})`;
    case 'unmeasured':
      return 'not measured yet';
  }
}

const NO_BREAK = '\u00a0';

/** Joins the words of `text` with spaces that wrapWords never breaks at ("Phase 1", "2–3 h"). */
function unbreakable(text: string): string {
  return text.replaceAll(' ', NO_BREAK);
}

/**
 * Breaks `text` at spaces so that no line is longer than `width` (a word longer than a line keeps its
 * own line): the first line starts with `first`, the others with `rest`. No width: one line.
 */
export function wrapWords(text: string, width: number | undefined, first: string, rest: string): string[] {
  return breakLines(text, width, first, rest).map((line) => line.replaceAll(NO_BREAK, ' '));
}

function breakLines(text: string, width: number | undefined, first: string, rest: string): string[] {
  if (width === undefined) return [`${first}${text}`];
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(' ')) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines;
}

const LABEL_WIDTH = 14;

/**
 * The recommendation as plain text for a terminal or a log. `width` is the terminal's; lines are
 * broken between words to fit it, with the labels' indent, so a terminal never breaks a word.
 */
export function renderRecommendation(recommendation: Recommendation, paint: Paint, width?: number): string {
  const lines: string[] = [];
  const labelled = (label: string, text: string, style = (line: string) => line) =>
    wrapWords(text, width, `${label}:`.padEnd(LABEL_WIDTH), ' '.repeat(LABEL_WIDTH)).forEach((line) =>
      lines.push(style(line)),
    );
  const { strategy, strategyName } = recommendation;
  const worse = recommendation.rule.improvementBand === 'worse';
  lines.push(
    strategy
      ? paint.bold(`Strategy ${strategy}: ${strategyName}`)
      : paint.bold(
          paint.yellow(
            worse
              ? 'Keep the naive tokenizer: Robust is worse, do not switch'
              : 'No strategy fits this budget',
          ),
        ),
  );
  lines.push('');
  labelled('Time budget', recommendation.inputs.timeBudget.text);
  labelled('Improvement', describeSource(recommendation));
  labelled('Rule', recommendation.rule.text);
  labelled('Why', recommendation.rule.reason);
  for (const warning of recommendation.warnings) {
    if (warning !== recommendation.rule.reason) labelled('Warning', warning, paint.yellow);
  }
  if (recommendation.steps.length > 0) {
    lines.push('');
    lines.push(
      paint.bold(
        `Steps (estimates from the integration plan, ${formatHourRange(recommendation.totalHours.min, recommendation.totalHours.max)} of compute in all)`,
      ),
    );
    recommendation.steps.forEach((step, index) => {
      const estimate = `~${step.estimate}`;
      const title = step.title.replace(/\(Phase \d\)/g, unbreakable);
      const wrapped = wrapWords(
        `${title}${unbreakable(`  ${estimate}`)}`,
        width,
        `  ${index + 1}. `,
        '     ',
      );
      const last = wrapped.pop()!;
      lines.push(...wrapped, `${last.slice(0, -estimate.length)}${paint.dim(estimate)}`);
      if (step.gate)
        wrapWords(`gate: ${step.gate}`, width, '     ', '     ').forEach((line) =>
          lines.push(paint.dim(line)),
        );
    });
  }
  if (recommendation.expectedGains.rows.length > 0) {
    lines.push('');
    lines.push(paint.bold(`Gains (${recommendation.expectedGains.label})`));
    const width = Math.max(...recommendation.expectedGains.rows.map((row) => row.component.length));
    for (const row of recommendation.expectedGains.rows) {
      lines.push(`  ${row.component.padEnd(width)}  ${row.naive} → ${row.robust}  (${row.change})`);
    }
  }
  lines.push('');
  // The rule names the tool `rfsq`; the user types it as it runs here (`npx rfsq` in a clone).
  const next = recommendation.nextCommand.replace(/(^|&& )rfsq /g, `$1${rfsqInvocation()} `);
  lines.push(`Next: ${paint.cyan(next)}`);
  return lines.join('\n');
}
