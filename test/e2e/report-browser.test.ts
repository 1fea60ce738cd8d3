import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { launchBrowser, visitPage } from '../helpers/browser.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(() => browser?.close());

const PNG_PIXEL =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';

function page(body: string): string {
  const file = path.join(tempDir('rfsq-page-'), 'page.html');
  writeFileSync(
    file,
    `<!doctype html><html><head><meta charset="utf-8"><title>t</title></head><body>${body}</body></html>`,
  );
  return file;
}

describe('the browser harness (inline fixture pages)', () => {
  it('passes a page that stays on its file, and counts the charts drawn in each section', async () => {
    const file = page(`
      <section data-section="drawn"><svg width="40" height="20"><rect width="40" height="20"/></svg>
        <svg width="10" height="10"><svg width="5" height="5"></svg></svg><img src="${PNG_PIXEL}"></section>
      <section data-section="hidden"><svg width="40" height="20" style="display:none"></svg>
        <p>No data: nothing measured yet.</p></section>`);
    const screenshot = path.join(tempDir(), 'page.png');
    const visit = await visitPage(browser, file, { screenshot, width: 400 });
    console.log(visit);
    expect(visit.consoleErrors).toEqual([]);
    expect(visit.pageErrors).toEqual([]);
    expect(visit.leaving).toEqual([]);
    expect(visit.requests[0]).toMatch(/^file:\/\/.*page\.html$/);
    expect(visit.sections).toEqual([
      { name: 'drawn', svgs: 2, text: '' },
      { name: 'hidden', svgs: 0, text: 'No data: nothing measured yet.' },
    ]);
    // A PNG, 400 pixels wide.
    const png = readFileSync(screenshot);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(400);
  });

  it('catches an image, a stylesheet and a fetch that leave the page', async () => {
    const file =
      page(`<img src="https://example.com/x.png"><link rel="stylesheet" href="http://example.com/s.css">
      <script>fetch('https://example.org/data.json').catch(() => {})</script>`);
    const visit = await visitPage(browser, file);
    console.log(visit);
    expect(visit.leaving.sort()).toEqual([
      'http://example.com/s.css',
      'https://example.com/x.png',
      'https://example.org/data.json',
    ]);
  });

  it('catches a console error and an uncaught exception', async () => {
    const file = page(`<script>console.error('the chart failed'); throw new Error('no spec');</script>`);
    const visit = await visitPage(browser, file);
    expect(visit.consoleErrors).toEqual(['the chart failed']);
    expect(visit.pageErrors).toEqual(['no spec']);
    expect(visit.leaving).toEqual([]);
  });
});
