import path from 'node:path';
import { writeFileAtomic } from '../files.js';
import { gatherReport, type ReportData } from './gather.js';
import { reportPage } from './page.js';
import { renderSvgs } from './render.js';
import { chartFileName, reportFigures, rolloutCharts, type Figure, type SectionId } from './specs.js';

export type ReportFormat = 'html' | 'svg';

export interface ReportRequest {
  /** The project folder (rfsq.config.json, .rfsq/). */
  dir: string;
  /** html: the page's file; svg: the folder that gets one `<chart id>.svg` per chart. */
  out: string;
  format: ReportFormat;
  now?: Date;
}

export interface ReportResult {
  format: ReportFormat;
  out: string;
  /** Every file written (the page, or the SVG files, the miniature's rollouts among them). */
  files: string[];
  charts: { id: string; section: SectionId; title: string; from: string[] }[];
  /** The figures the data did not allow, each with its sentence. */
  missing: { section: SectionId; title: string; reason: string }[];
  runId: string | null;
}

/** Where `rfsq report` writes by default: the page in the project, or the charts' folder beside it. */
export function defaultReportOut(dir: string, format: ReportFormat): string {
  return path.join(dir, format === 'html' ? 'report.html' : 'report-charts');
}

/** Gathers the project's latest run, renders its charts and writes the page (or the SVG files). */
export async function writeReport(request: ReportRequest): Promise<ReportResult> {
  const data: ReportData = gatherReport(path.resolve(request.dir));
  const figures: Figure[] = reportFigures(data);
  // The miniature's rollout pictures come last: the page lays them out in pairs, not as figures.
  const charts = [
    ...figures.flatMap((figure) => ('chart' in figure ? [figure.chart] : [])),
    ...rolloutCharts(data),
  ];
  const svgs = await renderSvgs(charts.map((chart) => chart.spec));
  const out = path.resolve(request.out);
  const files: string[] = [];
  if (request.format === 'html') {
    const byId = new Map(charts.map((chart, index) => [chart.id, svgs[index]!]));
    await writeFileAtomic(out, reportPage(data, figures, byId, request.now ?? new Date()));
    files.push(out);
  } else {
    for (const [index, chart] of charts.entries()) {
      const file = path.join(out, chartFileName(chart));
      await writeFileAtomic(file, svgs[index]!);
      files.push(file);
    }
  }
  return {
    format: request.format,
    out,
    files,
    charts: charts.map((chart) => ({
      id: chart.id,
      section: chart.section,
      title: chart.title,
      from: chart.files,
    })),
    missing: figures.flatMap((figure) =>
      'missing' in figure ? [{ section: figure.section, title: figure.title, reason: figure.missing }] : [],
    ),
    runId: 'data' in data.timeline ? data.timeline.data.runId : null,
  };
}
