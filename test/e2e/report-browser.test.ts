import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rfsq, tempDir } from '../helpers/cli.js';
import { launchBrowser, visitPage } from '../helpers/browser.js';
import { REPORT_SECTIONS, pageProblems, reportInBrowser } from '../helpers/report-page.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(() => browser?.close());

const PNG_PIXEL =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';

/** A small page of our own, written to a file: what the harness must pass or catch. */
function fixture(body: string): string {
  const file = path.join(tempDir('rfsq-page-'), 'page.html');
  writeFileSync(
    file,
    `<!doctype html><html><head><meta charset="utf-8"><title>fixture</title></head><body>${body}</body></html>`,
  );
  return file;
}

describe('the browser harness, on fixture pages', () => {
  it('passes a page that stays on its file, and counts only the charts that are drawn', async () => {
    const file = fixture(`
      <section id="drawn"><figure id="two"><svg width="40" height="20"><g class="mark-rect role-mark"><rect width="40" height="20"/></g></svg></figure>
        <figure id="nested"><svg width="10" height="10"><svg width="5" height="5"><g class="mark-symbol role-mark"><circle cx="2" cy="2" r="2"/></g></svg></svg></figure>
        <img src="${PNG_PIXEL}"></section>
      <section id="hidden"><figure id="gone"><svg width="40" height="20" style="display:none"></svg></figure>
        <p class="missing">Curves: not shown, because nothing was measured.</p></section>`);
    const screenshot = path.join(tempDir(), 'page.png');
    const visit = await visitPage(browser, file, { screenshot, width: 400 });
    expect(visit.consoleErrors).toEqual([]);
    expect(visit.pageErrors).toEqual([]);
    expect(visit.leaving).toEqual([]);
    expect(visit.requests).toEqual([`file://${file}`]);
    expect(visit.sections.map(({ text: _text, ...section }) => section)).toEqual([
      { id: 'drawn', svgs: 2, charts: ['two', 'nested'], empty: [], missing: [], rows: 0, drawings: 0 },
      {
        id: 'hidden',
        svgs: 0,
        charts: [],
        empty: [],
        missing: ['Curves: not shown, because nothing was measured.'],
        rows: 0,
        drawings: 0,
      },
    ]);
    const png = readFileSync(screenshot);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(400); // the IHDR width
  });

  it('catches an image, a stylesheet and a fetch that would leave the page', async () => {
    const file =
      fixture(`<img src="https://example.com/x.png"><link rel="stylesheet" href="http://example.com/s.css">
      <script>fetch('https://example.org/data.json').catch(() => {})</script>`);
    const visit = await visitPage(browser, file);
    expect(visit.leaving.sort()).toEqual([
      'http://example.com/s.css',
      'https://example.com/x.png',
      'https://example.org/data.json',
    ]);
  });

  it('catches a console error and an uncaught exception', async () => {
    const visit = await visitPage(
      browser,
      fixture(`<script>console.error('the chart failed'); throw new Error('no spec');</script>`),
    );
    expect(visit.consoleErrors).toEqual(['the chart failed']);
    expect(visit.pageErrors).toEqual(['no spec']);
  });

  it("names a report's chart not drawn or drawn empty, a figure left out unexplained, a blank section", async () => {
    // Vega's SVG: each mark is a g.role-mark whose children are its items. Zero-height bars draw nothing; a
    // flat line is still a line.
    const chart = (id: string, mark: string, item: string) =>
      `<figure id="${id}"><svg width="60" height="30"><g class="${mark} role-mark">${item}</g></svg></figure>`;
    const bodies: Record<string, string> = {
      phase1: '<figure id="curves"></figure>',
      phase2: chart('flat-bars', 'mark-rect', '<path d="M0,20h20v0h-20Z"/>'),
      phase3: chart('flat-line', 'mark-line', '<path d="M0,20h40" stroke="black"/>'),
      run: '<p class="missing">Timeline: not shown, because no run yet.</p>',
    };
    const file = fixture(
      [...REPORT_SECTIONS]
        .reverse()
        .map((id) => `<section id="${id}">${bodies[id] ?? ''}</section>`)
        .join(''),
    );
    const visit = await visitPage(browser, file);
    const report = {
      out: file,
      charts: ['curves', 'flat-bars', 'flat-line'].map((id, index) => ({
        id,
        section: REPORT_SECTIONS[index + 1]!,
        title: id,
      })),
      missing: [
        { section: 'run', title: 'Timeline', reason: 'no run yet' },
        { section: 'miniature', title: 'Rollouts', reason: 'no run yet' },
      ],
    };
    expect(pageProblems({ report, visit })).toEqual([
      `sections ${[...REPORT_SECTIONS].reverse().join(', ')}`,
      'miniature: no sentence says why "Rollouts" is not shown',
      'miniature: blank',
      'phase2: chart flat-bars is drawn with no visible mark',
      'phase1: chart curves is not drawn',
      'phase1: blank',
      'checklist: blank',
    ]);
  });
});

describe('rfsq report in chromium (built binary)', () => {
  it('before any run: every section is there and says why it is empty, and nothing leaves the page', async () => {
    const dir = tempDir();
    expect((await rfsq(['init', '--template', 'local', '--dir', dir])).exitCode).toBe(0);
    const seen = await reportInBrowser(browser, dir);
    expect(pageProblems(seen)).toEqual([]);
    for (const section of seen.visit.sections) {
      expect(section.svgs, section.id).toBe(0);
      expect(section.missing.length, section.id).toBeGreaterThan(0);
    }
  });
});
