import { parseDurationHours } from '../core/duration.js';
import { withDerivedMetrics, type Metrics } from '../core/metrics.js';
import { recommend } from '../core/strategy.js';
import { Settings } from './settings.js';

/**
 * After Phase 1, the recommendation for the measured improvement: with the user's time budget when
 * the settings hold one, else for each budget tier the rule distinguishes.
 */
export function phase1Recommendation(raw: Metrics, settings = new Settings()): string | undefined {
  const improvement = withDerivedMetrics(raw)['phase1.improvement_pct'];
  if (typeof improvement !== 'number') return undefined;
  const shown = `${Math.round(improvement * 100) / 100}%`;
  if (improvement < 0)
    return `Measured improvement ${shown}: Robust is worse than naive, and \`rfsq recommend\` advises against switching (check the Robust implementation first).`;
  const budget = settings.timeBudget();
  const pick = (text: string) =>
    recommend({
      budgetHours: parseDurationHours(text),
      budgetText: text,
      improvementPct: improvement,
      improvementSource: { kind: 'flag', text: shown },
    }).strategy ?? 'none';
  if (budget)
    return `Measured improvement ${shown}: with your ${budget} budget, \`rfsq recommend\` says ${pick(budget)}.`;
  return `Measured improvement ${shown}: \`rfsq recommend\` says ${pick('3d')} with ≥ 3 days, ${pick('2d')} with 2 days, ${pick('4h')} with a few hours (set your budget: rfsq config set time-budget 3d).`;
}
