/** Greener-region tips and the greener-time line, as DOM. */
import { annualAverageNote, regionTipBasis, regionTipText, timeAdviceText } from '../core/advice/text';
import type { RegionAdvice, TimeAdvice, TipGroup } from '../core/advice/tips';
import { formatCo2, formatEnergy, formatIntensity } from '../core/format';
import type { WebviewMessage } from '../shared/protocol';
import { h, replace } from './dom';
import { t } from './l10n';

function groupTitle(g: TipGroup): string {
  switch (g.key) {
    case 'countries':
      return t('Greenest countries');
    case 'cloud':
      return t('Greenest cloud regions');
    case 'yours':
      return g.compared > g.tips.length ? t('Your regions (greenest {0} of {1})', g.tips.length, g.compared) : t('Your regions');
    case 'near':
      return t('Greenest grids near yours (within 1,000 km)');
    case 'providers':
      return t('Greenest regions of your cloud providers');
  }
}

function settingButton(key: 'carbonMeter.advice.regions' | 'carbonMeter.intensity.provider', label: string, post: (m: WebviewMessage) => void): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'link', 'data-key': `setting-${key}` }, label);
  b.addEventListener('click', () => post({ type: 'openSettings', key }));
  return b;
}

/** Fills `container` with the tips of `advice` (for one run, or for all runs). */
export function renderRegionAdvice(container: HTMLElement, advice: RegionAdvice, subject: 'run' | 'runs', post: (m: WebviewMessage) => void): void {
  if (!advice.groups.length) {
    replace(container, h('p', { class: 'muted' }, subject === 'run' ? t('No energy was recorded for this run, so there is nothing to compare.') : t('No energy recorded yet.')));
    return;
  }
  const max = Math.max(advice.actualKg, ...advice.groups.flatMap((g) => g.tips.map((x) => x.emissionsKg)));
  const groups = advice.groups.map((g) =>
    h(
      'div',
      { class: 'tip-group' },
      h('h4', null, groupTitle(g)),
      h(
        'ul',
        { class: 'tips' },
        ...g.tips.map((tip) => {
          const bar = h('span', { class: 'tip-bar', 'aria-hidden': 'true' });
          bar.style.width = `${max > 0 ? Math.max(1, (tip.emissionsKg / max) * 100) : 0}%`;
          const better = tip.change !== undefined && tip.change < 0;
          return h(
            'li',
            { class: better ? 'tip better' : 'tip', title: regionTipBasis(tip, t) },
            h('span', { class: 'tip-text' }, regionTipText(tip, advice.actualKg, subject, t)),
            h('span', { class: 'tip-track', 'aria-hidden': 'true' }, bar),
          );
        }),
      ),
    ),
  );
  const actualBar = h('span', { class: 'tip-bar actual', 'aria-hidden': 'true' });
  actualBar.style.width = max > 0 ? `${(advice.actualKg / max) * 100}%` : '0%';
  const yours = advice.groups.some((g) => g.key === 'yours');
  replace(
    container,
    h(
      'p',
      { class: 'tip-actual' },
      subject === 'run'
        ? t('This run: {0} of energy before PUE, {1} CO₂eq{2}.', formatEnergy(advice.energyKWh), formatCo2(advice.actualKg), advice.region ? t(' in {0}', advice.region) : '')
        : t('All runs: {0} of energy before PUE, {1} CO₂eq.', formatEnergy(advice.energyKWh), formatCo2(advice.actualKg)),
      h('span', { class: 'tip-track', 'aria-hidden': 'true' }, actualBar),
    ),
    advice.best
      ? h(
          'p',
          { class: 'tip-best', 'data-key': 'best-usable' },
          t('Your region {0}: {1} · the best region you can use: {2}, {3}', advice.region ?? '', formatIntensity(advice.best.regionGPerKWh), advice.best.tip.code, formatIntensity(advice.best.tip.intensityGPerKWh)),
        )
      : null,
    h('div', { class: 'tip-groups' }, ...groups),
    h('p', { class: 'note' }, annualAverageNote(t), ' ', t('Cloud regions include their provider\u2019s PUE; countries keep the PUE of the run.')),
    advice.problems.length
      ? h(
          'div',
          { class: 'problems', role: 'note' },
          h('p', null, t('Some entries of carbonMeter.advice.regions name no known region:')),
          h('ul', null, ...advice.problems.map((p) => h('li', null, p))),
          settingButton('carbonMeter.advice.regions', t('Edit the setting'), post),
        )
      : null,
    !yours && !advice.problems.length
      ? h('p', { class: 'note' }, t('List the regions you can use in carbonMeter.advice.regions to compare them here.'), ' ', settingButton('carbonMeter.advice.regions', t('Open the setting'), post))
      : null,
  );
}

const clockFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayClockFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' });

/** "14:00" today, "Tue 07:30" another day. */
function when(ms: number): string {
  return new Date(ms).toDateString() === new Date().toDateString() ? clockFmt.format(ms) : dayClockFmt.format(ms);
}

export function renderTimeAdvice(container: HTMLElement, advice: TimeAdvice, post: (m: WebviewMessage) => void): void {
  const line = h('span', null, timeAdviceText(advice, t, when));
  container.dataset.kind = advice.kind;
  if (advice.kind === 'forecast' || advice.kind === 'pending') replace(container, line);
  else replace(container, line, ' ', settingButton('carbonMeter.intensity.provider', t('Open the setting'), post));
}
