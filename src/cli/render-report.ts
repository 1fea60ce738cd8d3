import type { ReportResult } from '../services/report/index.js';

/** What `rfsq report` wrote, and each figure it could not show with the reason. */
export function renderReportSummary(result: ReportResult): string {
  const what =
    result.format === 'html'
      ? `Report written to ${result.out}`
      : `${result.files.length} SVG files written to ${result.out}`;
  const lines = [
    `${what}: ${result.charts.length} charts${result.missing.length > 0 ? `, ${result.missing.length} not shown` : ''}`,
  ];
  for (const item of result.missing) lines.push(`  not shown: ${item.title}: ${item.reason}`);
  return lines.join('\n');
}
