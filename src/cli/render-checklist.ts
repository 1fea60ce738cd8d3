import path from 'node:path';
import Table from 'cli-table3';
import { formatValue, type ChecklistResult, type ItemStatus } from '../core/checklist.js';
import type { Paint } from './context.js';

const SYMBOLS: Record<ItemStatus, string> = {
  pass: '✔ pass',
  fail: '✘ fail',
  pending: '… pending',
  'n/a': '– n/a',
};

export function statusText(status: ItemStatus, paint: Paint): string {
  const text = SYMBOLS[status];
  switch (status) {
    case 'pass':
      return paint.green(text);
    case 'fail':
      return paint.red(text);
    case 'pending':
      return paint.yellow(text);
    default:
      return paint.dim(text);
  }
}

/** The checklist as a table, narrow enough for an 80-column terminal. */
export function renderChecklistTable(result: ChecklistResult, paint: Paint): string {
  const table = new Table({
    head: ['Item', 'Value', 'Threshold', 'Status'],
    style: { head: [], border: [] },
    wordWrap: true,
    colWidths: [31, 13, 20, 11],
  });
  let phase = 0;
  for (const item of result.items) {
    if (item.phase !== phase) {
      phase = item.phase;
      table.push([{ colSpan: 4, content: paint.bold(`Phase ${phase}`) }]);
    }
    // Paths are long: the table shows the last component, the notes and --json the whole path.
    const value =
      item.value === null
        ? '—'
        : item.unit === 'path'
          ? path.basename(String(item.value))
          : formatValue(item.value, item.unit);
    table.push([item.label, value, item.threshold, statusText(item.status, paint)]);
  }
  const { pass, fail, pending } = result.summary;
  const summary = `${pass} pass, ${fail} fail, ${pending} pending, ${result.summary['n/a']} n/a`;
  const notes = result.items
    .filter((item) => item.note && item.status !== 'n/a')
    .map((item) => `  ${item.id}: ${item.note}${typeof item.value === 'string' ? ` (${item.value})` : ''}`);
  // Every figure with what it is and where it came from (held-out or training, best epoch, the line).
  const sources = result.items.flatMap((item) =>
    (item.provenance ?? []).map((line) => `  ${item.id}: ${line}`),
  );
  return [
    table.toString(),
    summary,
    ...(notes.length > 0 ? ['Notes:', ...notes] : []),
    ...(sources.length > 0 ? ['Sources:', ...sources] : []),
  ].join('\n');
}
