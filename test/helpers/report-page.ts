import path from 'node:path';
import type { Browser } from 'playwright-core';
import { rfsq, tempDir } from './cli.js';
import { visitPage, type PageVisit, type VisitOptions } from './browser.js';

/** The page's sections, in order (src/services/report/page.ts). */
export const REPORT_SECTIONS = ['checklist', 'phase1', 'phase2', 'phase3', 'run', 'miniature'];

/** What `rfsq report --json` says it wrote. */
export interface ReportSummary {
  out: string;
  charts: { id: string; section: string; title: string }[];
  missing: { section: string; title: string; reason: string }[];
}

export interface ReportSeen {
  report: ReportSummary;
  visit: PageVisit;
}

/**
 * Runs the built `rfsq report` on a project, writing the page to a scratch folder (the project is only
 * read), and loads that page in chromium.
 */
export async function reportInBrowser(
  browser: Browser,
  projectDir: string,
  options: VisitOptions = {},
): Promise<ReportSeen> {
  const out = path.join(tempDir('rfsq-report-'), 'report.html');
  const result = await rfsq(['report', '--dir', projectDir, '--out', out, '--json']);
  if (result.exitCode !== 0) throw new Error(`rfsq report exited ${result.exitCode}: ${result.stderr}`);
  const report = JSON.parse(result.stdout) as ReportSummary;
  return { report, visit: await visitPage(browser, report.out, options) };
}

/**
 * Everything wrong with the page as the browser showed it, one line each: errors, requests leaving the
 * page, sections missing or blank, a chart the command wrote that the browser did not draw (or the other
 * way round) or drew with no visible data, a figure the command left out that the page does not explain.
 */
export function pageProblems({ report, visit }: ReportSeen): string[] {
  const problems = [
    ...visit.consoleErrors.map((text) => `console error: ${text}`),
    ...visit.pageErrors.map((text) => `page error: ${text}`),
    ...visit.leaving.map((url) => `request leaving the page: ${url}`),
  ];
  const ids = visit.sections.map((section) => section.id);
  if (ids.join() !== REPORT_SECTIONS.join()) problems.push(`sections ${ids.join(', ')}`);
  for (const section of visit.sections) {
    const written = report.charts.filter((chart) => chart.section === section.id).map((chart) => chart.id);
    for (const id of written)
      if (!section.charts.includes(id)) problems.push(`${section.id}: chart ${id} is not drawn`);
    for (const id of section.charts)
      if (!written.includes(id)) problems.push(`${section.id}: chart ${id} drawn but not reported`);
    for (const id of section.empty) problems.push(`${section.id}: chart ${id} is drawn with no visible mark`);
    for (const { title } of report.missing.filter((item) => item.section === section.id))
      if (!section.missing.some((sentence) => sentence.startsWith(`${title}: not shown, because`)))
        problems.push(`${section.id}: no sentence says why "${title}" is not shown`);
    if (section.charts.length + section.missing.length + section.rows + section.drawings === 0)
      problems.push(`${section.id}: blank`);
  }
  return problems;
}
