import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`, installed by .ci/run); nothing is ever downloaded. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * What one `<section id>` of a page looked like once loaded, in the conventions of `rfsq report`'s page
 * (src/services/report/page.ts): a chart is a `<figure id>` holding an SVG, a part with no data is a
 * `.missing` sentence.
 */
export interface SectionView {
  id: string;
  /** Outermost <svg> elements drawn with a non-empty box (a chart hidden or sized 0×0 does not count). */
  svgs: number;
  /** The ids of the figures whose SVG is drawn so. */
  charts: string[];
  /**
   * Of those, the ones where no data mark is visible: none of the items of Vega's mark groups
   * (`g.role-mark`, not the axes or legends) has an area, or a length for lines and rules. A bar chart on a
   * log scale whose bars all start at zero draws axes and a legend around nothing, for example.
   */
  empty: string[];
  /** The sentences that say what is not shown and why. */
  missing: string[];
  /** Table body rows (the checklist, the run's steps and gates). */
  rows: number;
  /** Text drawings in <pre> (the simulator's top views). */
  drawings: number;
  text: string;
}

export interface PageVisit {
  consoleErrors: string[];
  pageErrors: string[];
  sections: SectionView[];
  /** Every URL the page asked for, the document itself included. */
  requests: string[];
  /** The requests that leave the page: any scheme but file: and data:. */
  leaving: string[];
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

/**
 * The little of the DOM that the page-side code below uses. The project compiles without TypeScript's DOM
 * library, so that browser globals never type-check in Node code; this names what runs in the page.
 */
interface PageElement {
  id: string;
  textContent: string | null;
  parentElement: PageElement | null;
  children: Iterable<PageElement>;
  closest(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
  getBoundingClientRect(): { width: number; height: number };
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
    visit.sections = await page.$$eval('section[id]', (found) => {
      const sections = found as unknown as PageElement[];
      const drawn = (svg: PageElement) => {
        const box = svg.getBoundingClientRect();
        return !svg.parentElement?.closest('svg') && box.width > 0 && box.height > 0;
      };
      const visibleMarks = (svg: PageElement) =>
        [...svg.querySelectorAll('g.role-mark')].some((group) => {
          const stroked = group.closest('g.mark-line, g.mark-rule') !== null;
          return [...group.children].some((item) => {
            const box = item.getBoundingClientRect();
            return stroked ? box.width > 0 || box.height > 0 : box.width > 0 && box.height > 0;
          });
        });
      const words = (element: PageElement) => (element.textContent ?? '').replace(/\s+/g, ' ').trim();
      return sections.map((section) => {
        const charts = [...section.querySelectorAll('figure[id]')].filter((figure) =>
          [...figure.querySelectorAll('svg')].some(drawn),
        );
        return {
          id: section.id,
          svgs: [...section.querySelectorAll('svg')].filter(drawn).length,
          charts: charts.map((figure) => figure.id),
          empty: charts
            .filter((figure) => ![...figure.querySelectorAll('svg')].some(visibleMarks))
            .map((figure) => figure.id),
          missing: [...section.querySelectorAll('.missing')].map(words),
          rows: [...section.querySelectorAll('tbody tr')].length,
          drawings: [...section.querySelectorAll('pre')].length,
          text: words(section),
        };
      });
    });
    // Playwright waits for the page's fonts before it takes the picture.
    if (options.screenshot) await page.screenshot({ path: options.screenshot, fullPage: true });
    return visit;
  } finally {
    await context.close();
  }
}
