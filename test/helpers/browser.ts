import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`, installed by .ci/run); nothing is ever downloaded. */
export const CHROMIUM = '/usr/bin/chromium';

/** What a page looked like once loaded: one entry per `[data-section]` element, in page order. */
export interface SectionView {
  name: string;
  /** Outermost <svg> elements drawn with a non-empty box (a chart hidden or sized 0×0 does not count). */
  svgs: number;
  text: string;
}

export interface PageVisit {
  consoleErrors: string[];
  pageErrors: string[];
  /** Every URL the page asked for, the document itself included. */
  requests: string[];
  /** The requests that leave the page: any scheme but file: and data:. */
  leaving: string[];
  sections: SectionView[];
}

export interface VisitOptions {
  /** Writes a full-page PNG here. */
  screenshot?: string;
  /** Viewport width in CSS pixels; the screenshot is as tall as the page. */
  width?: number;
}

/**
 * Starts headless chromium; the caller closes it. Playwright passes `--no-sandbox` unless `chromiumSandbox`
 * is true, and we say so explicitly: chromium's sandbox refuses to run as root, and tests and CI run as root.
 * No other flag: Playwright's own defaults already turn off chromium's background networking, component
 * updates and first-run pages.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, chromiumSandbox: false });
}

const STAYS_ON_PAGE = /^(file|data):/;

/**
 * Loads an HTML file from its file:// URL with the network off (the context is offline, and any request
 * that is not file: or data: is also aborted), and records what went wrong while it loaded.
 */
export async function visitPage(
  browser: Browser,
  htmlFile: string,
  options: VisitOptions = {},
): Promise<PageVisit> {
  const context = await browser.newContext({
    offline: true,
    serviceWorkers: 'block',
    viewport: { width: options.width ?? 1280, height: 800 },
    deviceScaleFactor: 1,
  });
  try {
    const visit: PageVisit = { consoleErrors: [], pageErrors: [], requests: [], leaving: [], sections: [] };
    const record = (url: string) => {
      visit.requests.push(url);
      if (!STAYS_ON_PAGE.test(url)) visit.leaving.push(url);
    };
    context.on('request', (request) => record(request.url()));
    await context.route(
      (url) => !STAYS_ON_PAGE.test(url.href),
      (route) => route.abort('internetdisconnected'),
    );
    const page = await context.newPage();
    page.on('websocket', (socket) => record(socket.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') visit.consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => visit.pageErrors.push(error.message));

    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
    visit.sections = await page.$$eval('[data-section]', (elements) =>
      elements.map((element) => ({
        name: element.getAttribute('data-section') ?? '',
        svgs: [...element.querySelectorAll('svg')].filter((svg) => {
          if (svg.parentElement?.closest('svg')) return false;
          const box = svg.getBoundingClientRect();
          return box.width > 0 && box.height > 0;
        }).length,
        text: (element.textContent ?? '').replace(/\s+/g, ' ').trim(),
      })),
    );
    // Playwright waits for the page's fonts before it takes the picture.
    if (options.screenshot) await page.screenshot({ path: options.screenshot, fullPage: true });
    return visit;
  } finally {
    await context.close();
  }
}
