import type { TopLevelSpec } from 'vega-lite';

/**
 * Renders Vega-Lite specs to standalone SVG documents in Node: compiled with vega-lite, drawn by vega's
 * headless View (`toSVG`, no canvas, no network: every spec carries its data inline). Both libraries load
 * here, on first use, so no other command pays for them.
 */
export async function renderSvgs(specs: readonly TopLevelSpec[]): Promise<string[]> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const svgs: string[] = [];
  for (const spec of specs) {
    const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
    try {
      svgs.push(await view.toSVG());
    } finally {
      view.finalize();
    }
  }
  return svgs;
}
