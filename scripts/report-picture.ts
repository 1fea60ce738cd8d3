/**
 * `npm run report:picture -- <project dir> [picture.png]`: the README's picture of `rfsq report`, made with the
 * project's own command. The built rfsq writes the project's page (into a scratch folder: the project is only
 * read), and headless chromium loads it offline and takes a full-page screenshot, with the same helpers as the
 * browser tests (test/helpers/browser.ts, report-page.ts). It writes no picture of a page with a problem: an
 * error, a request leaving the page, a chart not drawn, a blank section.
 *
 * Default picture: docs/report.png.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { launchBrowser, visitPage } from '../test/helpers/browser.js';
import { pageProblems, type ReportSummary } from '../test/helpers/report-page.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'bin', 'rfsq.js');
/** Wide enough for the page's widest chart beside its legend, narrow enough to read when GitHub scales it. */
const WIDTH = 1200;

const [project, picture = path.join(ROOT, 'docs', 'report.png'), ...extra] = process.argv.slice(2);
if (!project || extra.length > 0) {
  process.stderr.write('usage: npm run report:picture -- <project dir> [picture.png]\n');
  process.exit(2);
}

const scratch = await mkdtemp(path.join(os.tmpdir(), 'rfsq-report-picture-'));
try {
  const page = path.join(scratch, 'report.html');
  const { stdout } = await execa('node', [CLI, 'report', '--dir', project, '--out', page, '--json'], {
    env: { CI: 'true' },
    stderr: 'inherit',
  });
  const report = JSON.parse(stdout) as ReportSummary;
  const browser = await launchBrowser();
  try {
    const shot = path.join(scratch, 'report.png');
    const visit = await visitPage(browser, page, { screenshot: shot, width: WIDTH });
    const problems = pageProblems({ report, visit });
    if (problems.length > 0) throw new Error(`no picture: the page has problems:\n${problems.join('\n')}`);
    for (const section of visit.sections)
      process.stdout.write(
        `${section.id.padEnd(10)} ${section.charts.length} charts drawn, ${section.missing.length} parts not shown\n`,
      );
    await copyFile(shot, picture);
    process.stdout.write(`${path.resolve(picture)}\n`);
  } finally {
    await browser.close();
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}
