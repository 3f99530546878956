/**
 * The advice in words. Pure and free of Node: the webview bundles it, and passes its own translation function.
 */
import { formatCo2, formatIntensity, formatPercent, sig } from '../format';
import type { RegionTip, TimeAdvice } from './tips';

/** A translation function shaped like `vscode.l10n.t` / `@vscode/l10n`'s `t`: the message is its own key, `{0}` are arguments. */
export type Translate = (message: string, ...args: (string | number)[]) => string;

/** Fills `{0}`, `{1}` … in an untranslated message. */
export const untranslated: Translate = (message, ...args) =>
  message.replace(/\{(\d+)\}/g, (m, i: string) => (args[Number(i)] !== undefined ? String(args[Number(i)]) : m));

/**
 * Two masses of CO₂eq in the same unit (the one that reads best for the larger), so they compare at a glance:
 * "0.7 g" and "9.8 g" rather than "700 mg" and "9.8 g".
 */
export function formatCo2Pair(aKg: number, bKg: number): [string, string] {
  const big = Math.max(Math.abs(aKg), Math.abs(bKg)) * 1000; // g
  if (big === 0) return [nbsp(formatCo2(aKg)), nbsp(formatCo2(bKg))];
  const [div, unit] = big < 1 ? [1e-3, 'mg'] : big < 1000 ? [1, 'g'] : big < 1e6 ? [1e3, 'kg'] : [1e6, 't'];
  const f = (kg: number) => `${sig((kg * 1000) / div)}\u00a0${unit}`;
  return [f(aKg), f(bKg)];
}

/** Where a tip is: a cloud region by its code ("gcp:europe-north1"), a country by its name and code ("Norway (NO)"). */
export function tipPlace(tip: Pick<RegionTip, 'code' | 'name' | 'kind'>): string {
  return tip.kind === 'cloud' ? tip.code : `${tip.name} (${tip.code})`;
}

/** A figure and its unit kept on one line. */
function nbsp(s: string): string {
  return s.replace(/ /g, '\u00a0');
}

/** "in gcp:europe-north1 this run would have emitted 0.7 g instead of 9.8 g (−93 %)" (spaces inside figures are no-break) */
export function regionTipText(
  tip: RegionTip,
  actualKg: number,
  subject: 'run' | 'runs',
  t: Translate = untranslated,
): string {
  const change = tip.change === undefined ? '' : ` (${nbsp(formatPercent(tip.change))})`;
  const [there, here] = formatCo2Pair(tip.emissionsKg, actualKg);
  return subject === 'run'
    ? t('in {0} this run would have emitted {1} instead of {2}{3}', tipPlace(tip), there, here, change)
    : t('in {0} these runs would have emitted {1} instead of {2}{3}', tipPlace(tip), there, here, change);
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

/** The greener-time line. `when` writes a time ("14:00", "Tue 07:30"); the default is ISO 8601 in UTC. */
export function timeAdviceText(
  advice: TimeAdvice,
  t: Translate = untranslated,
  when: (ms: number) => string = (ms) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
): string {
  if (advice.kind === 'forecast') {
    const emissions = advice.factorType === 'marginal' ? t('marginal emissions') : t('average emissions');
    const start = advice.startsNow
      ? t(
          'Now is the cleanest time to start a run like this one in the next {0} h (forecast by {1}, {2}).',
          advice.horizonH,
          advice.source,
          emissions,
        )
      : t(
          'A run like this one started at {0} instead of now would emit {1} less ({2}; forecast by {3}, {4}).',
          when(advice.startMs),
          nbsp(formatPercent(-advice.savingFraction).replace(/^−/, '')),
          nbsp(formatCo2(advice.savingKg)),
          advice.source,
          emissions,
        );
    if (!advice.pause) return start;
    return `${start} ${t('Pausing it while the intensity is above {0} would save {1}, finishing at {2}.', nbsp(formatIntensity(advice.pause.thresholdGPerKWh)), nbsp(formatPercent(-advice.pause.savingFraction).replace(/^−/, '')), when(advice.pause.finishMs))}`;
  }
  if (advice.kind === 'pending') return t('Asking the live source ({0}) for a forecast…', advice.settingKey);
  if (advice.kind === 'unavailable') return t('No greener-hour tip: {0}', advice.reason);
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
