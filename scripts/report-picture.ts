/**
 * `npm run report:picture -- <project dir> [picture.png]`: the README's picture of `rfsq report`, made with the
 * project's own command. The built rfsq writes the project's page (into a scratch folder: the project is only
 * read), and headless chromium loads it offline and takes a full-page screenshot, with the same helper as the
 * browser tests (test/helpers/browser.ts). It stops, writing nothing, if the page logs an error or asks for
 * anything outside its own file.
 *
 * Default picture: docs/report.png.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { launchBrowser, visitPage } from '../test/helpers/browser.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'dist', 'bin', 'rfsq.js');
/** Wide enough for the page's widest row of charts, narrow enough to read when the README scales it. */
const WIDTH = 1200;

const [project, picture = path.join(ROOT, 'docs', 'report.png'), ...extra] = process.argv.slice(2);
if (!project || extra.length > 0) {
  process.stderr.write('usage: npm run report:picture -- <project dir> [picture.png]\n');
  process.exit(2);
}

const scratch = await mkdtemp(path.join(os.tmpdir(), 'rfsq-report-picture-'));
try {
  const page = path.join(scratch, 'report.html');
  await execa('node', [CLI, 'report', '--dir', project, '--out', page], {
    stdio: 'inherit',
    env: { CI: 'true' },
  });
  const browser = await launchBrowser();
  try {
    const pictureTmp = path.join(scratch, 'report.png');
    const visit = await visitPage(browser, page, { screenshot: pictureTmp, width: WIDTH });
    const problems = [
      ...visit.consoleErrors.map((text) => `console error: ${text}`),
      ...visit.pageErrors.map((text) => `page error: ${text}`),
      ...visit.leaving.map((url) => `request leaving the page: ${url}`),
    ];
    if (problems.length > 0) throw new Error(`the page is not clean:\n${problems.join('\n')}`);
    for (const section of visit.sections)
      process.stdout.write(
        `${section.name.padEnd(12)} ${section.svgs} chart${section.svgs === 1 ? '' : 's'}\n`,
      );
    await copyFile(pictureTmp, picture);
    process.stdout.write(`${path.relative(process.cwd(), picture) || picture}\n`);
  } finally {
    await browser.close();
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}
