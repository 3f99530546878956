/**
 * The advice in words. Pure and free of Node: the webview bundles it, and passes its own translation function.
 */
import { formatCo2, formatIntensity, formatPercent } from '../format';
import type { RegionTip, TimeAdvice } from './tips';

/** A translation function shaped like `vscode.l10n.t` / `@vscode/l10n`'s `t`: the message is its own key, `{0}` are arguments. */
export type Translate = (message: string, ...args: (string | number)[]) => string;

/** Fills `{0}`, `{1}` … in an untranslated message. */
export const untranslated: Translate = (message, ...args) => message.replace(/\{(\d+)\}/g, (m, i: string) => (args[Number(i)] !== undefined ? String(args[Number(i)]) : m));

/** "in gcp:europe-north1 this run would have emitted 0.7 g instead of 9.8 g (−93 %)" */
export function regionTipText(tip: RegionTip, actualKg: number, subject: 'run' | 'runs', t: Translate = untranslated): string {
  const change = tip.change === undefined ? '' : ` (${formatPercent(tip.change)})`;
  return subject === 'run'
    ? t('in {0} this run would have emitted {1} instead of {2}{3}', tip.code, formatCo2(tip.emissionsKg), formatCo2(actualKg), change)
    : t('in {0} these runs would have emitted {1} instead of {2}{3}', tip.code, formatCo2(tip.emissionsKg), formatCo2(actualKg), change);
}

/** How a tip's figure was obtained, for its tooltip. */
export function regionTipBasis(tip: RegionTip, t: Translate = untranslated): string {
  return t(
    '{0}: {1} (annual average{2}, {3}) × PUE {4} ({5})',
    tip.name,
    formatIntensity(tip.intensityGPerKWh),
    tip.year ? ` ${tip.year}` : '',
    tip.source,
    String(tip.pue),
    tip.pueSource,
  );
}

/** The plain statement that goes with every set of region tips. */
export function annualAverageNote(t: Translate = untranslated): string {
  return t('Annual averages of each grid, not the intensity at the hour of the run.');
}

/** The greener-time line. */
export function timeAdviceText(advice: TimeAdvice, t: Translate = untranslated): string {
  if (advice.kind === 'no-forecast') {
    return t(
      'The intensity during this run ranged from {0} to {1}. Greener-hour tips will appear once {2} offers a forecast.',
      formatIntensity(advice.minGPerKWh),
      formatIntensity(advice.maxGPerKWh),
      advice.settingKey,
    );
  }
  return t('Set {0} to a live source to get greener-hour tips.', advice.settingKey);
}
