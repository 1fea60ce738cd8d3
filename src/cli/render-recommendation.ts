import { formatHourRange } from '../core/duration.js';
import type { Recommendation } from '../core/strategy.js';
import type { Paint } from './context.js';

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

/** The recommendation as plain text for a terminal or a log. */
export function renderRecommendation(recommendation: Recommendation, paint: Paint): string {
  const lines: string[] = [];
  const { strategy, strategyName } = recommendation;
  lines.push(
    strategy
      ? paint.bold(`Strategy ${strategy}: ${strategyName}`)
      : paint.bold(paint.yellow('No strategy fits this budget')),
  );
  lines.push('');
  lines.push(`Time budget:  ${recommendation.inputs.timeBudget.text}`);
  lines.push(`Improvement:  ${describeSource(recommendation)}`);
  lines.push(`Rule:         ${recommendation.rule.text}`);
  lines.push(`Why:          ${recommendation.rule.reason}`);
  for (const warning of recommendation.warnings) lines.push(paint.yellow(`Warning:      ${warning}`));
  if (recommendation.steps.length > 0) {
    lines.push('');
    lines.push(
      paint.bold(
        `Steps (estimates from the integration plan, ${formatHourRange(recommendation.totalHours.min, recommendation.totalHours.max)} of compute in all)`,
      ),
    );
    recommendation.steps.forEach((step, index) => {
      lines.push(`  ${index + 1}. ${step.title}  ${paint.dim(`~${step.estimate}`)}`);
      if (step.gate) lines.push(`     ${paint.dim(`gate: ${step.gate}`)}`);
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
  lines.push(`Next: ${paint.cyan(recommendation.nextCommand)}`);
  return lines.join('\n');
}
