import { expect } from 'vitest';

/** Checks that every element of an SVG document is closed, in order (vega writes no comments or CDATA). */
export function expectWellFormedXml(svg: string): void {
  const open: string[] = [];
  for (const [tag, closing, name, selfClosing] of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    if (selfClosing) continue;
    if (closing) expect(open.pop(), tag).toBe(name);
    else open.push(name!);
  }
  expect(open).toEqual([]);
}

/** The markup of vega's groups for a mark type (`line`, `symbol`, ...) of the chart's layers, in layer order. */
export function markGroup(svg: string, mark: string): string {
  const groups = svg.split(`<g class="mark-${mark} role-mark`).slice(1);
  expect(groups.length, `a ${mark} mark`).toBeGreaterThan(0);
  return groups.map((group) => group.slice(0, group.indexOf('</g>'))).join('');
}

/** The points of a symbol group as their aria labels give them: `x (m): …; y (m): …; mark: …`. */
export function pointLabels(group: string): { x: number; y: number; mark: string }[] {
  const number = (text: string) => Number(text.replace('−', '-'));
  return [...group.matchAll(/aria-label="x \(m\): ([^;]+); y \(m\): ([^;]+); mark: ([^"]+)"/g)].map(
    ([, x, y, mark]) => ({ x: number(x!), y: number(y!), mark: mark! }),
  );
}
