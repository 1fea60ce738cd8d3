import Table from 'cli-table3';
import type { CompareReport } from '../services/phase1.js';
import type { Paint } from './context.js';

const DIMENSIONS = ['x', 'y', 'z', 'roll', 'pitch', 'yaw', 'gripper'];

function sci(value: number): string {
  return value.toExponential(3);
}

function table(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [] } });
}

/** The comparison as text: the headline, then per layer, per dimension and the reference tokenizers. */
export function renderCompare(report: CompareReport, paint: Paint): string {
  const { naive, robust } = report;
  const lines: string[] = [];
  lines.push(
    `Held-out data: ${report.data.source}, ${report.data.episodes} episodes, ${report.data.chunks} chunks ${
      report.data.heldOutOnly
        ? '(episodes never seen in training)'
        : '(the whole dataset: its split is not recorded)'
    }`,
  );
  const headline = table(['', 'naive', 'robust']);
  headline.push(
    ['held-out MSE', sci(naive.heldOutMse), sci(robust.heldOutMse)],
    ['round-trip MSE (codes only)', sci(naive.roundtripMse), sci(robust.roundtripMse)],
    ['max |decode(codes) − forward|', sci(naive.maxRoundtripDiff), sci(robust.maxRoundtripDiff)],
    ['tokens per step', String(naive.tokensPerStep), String(robust.tokensPerStep)],
  );
  lines.push(headline.toString());
  const improvement = `${report.improvementPct.toFixed(2)}%`;
  lines.push(paint.bold(`Improvement of Robust over naive (held-out): ${improvement}`));

  lines.push('', 'Per layer: residual std · code entropy (bits) · levels used');
  const layers = table(['layer', 'naive', 'robust']);
  naive.layers.forEach((layer, index) => {
    const other = robust.layers[index]!;
    const cell = (stats: typeof layer) =>
      `${sci(stats.residualStd)} · ${stats.entropyBits.toFixed(2)} · ${Math.round(stats.usedFraction * 100)}%`;
    layers.push([`L${layer.layer}`, cell(layer), cell(other)]);
  });
  lines.push(layers.toString());

  lines.push('', 'Per-dimension held-out MSE');
  const dims = table(['dimension', 'naive', 'robust']);
  naive.perDimensionMse.forEach((value, index) => {
    dims.push([DIMENSIONS[index] ?? `d${index}`, sci(value), sci(robust.perDimensionMse[index]!)]);
  });
  lines.push(dims.toString());

  lines.push('', 'Reference tokenizers on the same held-out data');
  const references = table(['tokenizer', 'held-out MSE', 'tokens per step']);
  references.push(['RFSQ naive (trained)', sci(naive.heldOutMse), String(naive.tokensPerStep)]);
  references.push(['RFSQ robust (trained)', sci(robust.heldOutMse), String(robust.tokensPerStep)]);
  for (const reference of robust.references) {
    references.push([reference.description, sci(reference.mse), String(reference.tokensPerStep)]);
  }
  lines.push(references.toString());
  for (const warning of report.warnings) lines.push(paint.yellow(`Warning: ${warning}`));
  if (report.metricsOut) lines.push('', `Metrics written to ${report.metricsOut}`);
  return lines.join('\n');
}
