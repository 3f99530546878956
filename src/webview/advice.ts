/** Greener-region tips and the greener-time line, as DOM. */
import { annualAverageNote, regionTipBasis, regionTipText, timeAdviceText } from '../core/advice/text';
import type { RegionAdvice, TimeAdvice, TipGroup } from '../core/advice/tips';
import { formatCo2, formatEnergy, formatIntensity, formatPercent } from '../core/format';
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
      return g.compared > g.tips.length
        ? t('Your regions (greenest {0} of {1})', g.tips.length, g.compared)
        : t('Your regions');
    case 'near':
      return t('Greenest grids near yours (within 1,000 km)');
    case 'providers':
      return t('Greenest regions of your cloud providers');
  }
}

function settingButton(
  key: 'carbonMeter.advice.regions' | 'carbonMeter.intensity.provider',
  label: string,
  post: (m: WebviewMessage) => void,
): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'link', 'data-key': `setting-${key}` }, label);
  b.addEventListener('click', () => post({ type: 'openSettings', key }));
  return b;
}

/** Fills `container` with the tips of `advice` (for one run, or for all runs). */
export function renderRegionAdvice(
  container: HTMLElement,
  advice: RegionAdvice,
  subject: 'run' | 'runs',
  post: (m: WebviewMessage) => void,
): void {
  if (!advice.groups.length) {
    replace(
      container,
      h(
        'p',
        { class: 'muted' },
        subject === 'run'
          ? t('No energy was recorded for this run, so there is nothing to compare.')
          : t('No energy recorded yet.'),
      ),
    );
    return;
  }
  const max = Math.max(advice.actualKg, ...advice.groups.flatMap((g) => g.tips.map((x) => x.emissionsKg)));
  replace(
    container,
    actualLine(advice, subject, max),
    bestLine(advice),
    h('div', { class: 'tip-groups' }, ...advice.groups.map((g) => tipGroup(g, advice.actualKg, max, subject))),
    h(
      'p',
      { class: 'note' },
      annualAverageNote(t),
      ' ',
      t('Cloud regions include their provider\u2019s PUE; countries keep the PUE of the run.'),
    ),
    ...settingNotes(advice, post),
  );
}

/** A bar as wide as `kg` is of `max` (in %, at least `minPct` when there is something to draw). */
function bar(kg: number, max: number, cls: string, minPct: number): HTMLElement {
  const el = h('span', { class: cls, 'aria-hidden': 'true' });
  el.style.width = `${max > 0 ? Math.max(minPct, (kg / max) * 100) : 0}%`;
  return h('span', { class: 'tip-track', 'aria-hidden': 'true' }, el);
}

/** What the run (or all runs) emitted where it ran, with its bar. */
function actualLine(advice: RegionAdvice, subject: 'run' | 'runs', max: number): HTMLElement {
  return h(
    'p',
    { class: 'tip-actual' },
    subject === 'run'
      ? t(
          'This run: {0} of energy before PUE, {1} CO₂eq{2}.',
          formatEnergy(advice.energyKWh),
          formatCo2(advice.actualKg),
          advice.region ? t(' in {0}', advice.region) : '',
        )
      : t('All runs: {0} of energy before PUE, {1} CO₂eq.', formatEnergy(advice.energyKWh), formatCo2(advice.actualKg)),
    bar(advice.actualKg, max, 'tip-bar actual', 0),
  );
}

/** Your region against the best region you can use, when there is one. */
function bestLine(advice: RegionAdvice): HTMLElement | null {
  if (!advice.best) return null;
  return h(
    'p',
    { class: 'tip-best', 'data-key': 'best-usable' },
    t(
      'Your region {0}: {1} · the best region you can use: {2}, {3}',
      advice.region ?? '',
      formatIntensity(advice.best.regionGPerKWh),
      advice.best.tip.code,
      formatIntensity(advice.best.tip.intensityGPerKWh),
    ),
  );
}

function tipGroup(g: TipGroup, actualKg: number, max: number, subject: 'run' | 'runs'): HTMLElement {
  return h(
    'div',
    { class: 'tip-group' },
    h('h4', null, groupTitle(g)),
    h(
      'ul',
      { class: 'tips' },
      ...g.tips.map((tip) => {
        const better = tip.change !== undefined && tip.change < 0;
        return h(
          'li',
          { class: better ? 'tip better' : 'tip', title: regionTipBasis(tip, t) },
          h('span', { class: 'tip-text' }, regionTipText(tip, actualKg, subject, t)),
          bar(tip.emissionsKg, max, 'tip-bar', 1),
        );
      }),
    ),
  );
}

/** The entries of carbonMeter.advice.regions that name no region, or how to list yours when there are none. */
function settingNotes(advice: RegionAdvice, post: (m: WebviewMessage) => void): HTMLElement[] {
  if (advice.problems.length)
    return [
      h(
        'div',
        { class: 'problems', role: 'note' },
        h('p', null, t('Some entries of carbonMeter.advice.regions name no known region:')),
        h('ul', null, ...advice.problems.map((p) => h('li', null, p))),
        settingButton('carbonMeter.advice.regions', t('Edit the setting'), post),
      ),
    ];
  if (advice.groups.some((g) => g.key === 'yours')) return [];
  return [
    h(
      'p',
      { class: 'note' },
      t('List the regions you can use in carbonMeter.advice.regions to compare them here.'),
      ' ',
      settingButton('carbonMeter.advice.regions', t('Open the setting'), post),
    ),
  ];
}

const clockFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayClockFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' });

/** "14:00" today, "Tue 07:30" another day. */
function when(ms: number): string {
  return new Date(ms).toDateString() === new Date().toDateString() ? clockFmt.format(ms) : dayClockFmt.format(ms);
}

/**
 * The greener-time line of a run, with its actions when the run can be run again: "Run at 03:00 (−38 %)" (the host
 * plans it again from the forecast and schedules its recorded command in its folder) or, with no greener start or
 * no forecast, "Run now".
 */
export function renderTimeAdvice(
  container: HTMLElement,
  advice: TimeAdvice,
  post: (m: WebviewMessage) => void,
  run?: { id: string; canRerun: boolean },
): void {
  const line = h('span', null, timeAdviceText(advice, t, when));
  container.dataset.kind = advice.kind;
  const actions = run?.canRerun && advice.kind !== 'pending' ? runAtActions(advice, run.id, post) : [];
  if (advice.kind === 'forecast' || advice.kind === 'pending') replace(container, line, ...actions);
  else
    replace(
      container,
      line,
      ' ',
      settingButton('carbonMeter.intensity.provider', t('Open the setting'), post),
      ...actions,
    );
}

function runAtActions(advice: TimeAdvice, id: string, post: (m: WebviewMessage) => void): HTMLElement[] {
  if (advice.kind === 'forecast' && !advice.startsNow && advice.savingFraction > 0) {
    const b = h(
      'button',
      {
        type: 'button',
        'data-key': 'run-at',
        title: t(
          'Runs the command of this run again, in its folder, in a terminal at {0}, while VS Code is open (a reload cancels it). The status bar shows what is scheduled.',
          when(advice.startMs),
        ),
      },
      t('Run at {0} ({1})', when(advice.startMs), formatPercent(-advice.savingFraction)),
    );
    b.addEventListener('click', () => post({ type: 'runAt', id }));
    return [
      h(
        'p',
        { class: 'tip-actions' },
        b,
        ' ',
        h('span', { class: 'muted' }, t('in a terminal, while VS Code is open')),
      ),
    ];
  }
  const why =
    advice.kind === 'forecast' ? t('Now is the greenest start.') : t('No forecast of a greener hour is available.');
  const b = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      'data-key': 'run-now',
      title: t('Runs the command of this run again now, in a terminal, metered.'),
    },
    t('Run now'),
  );
  b.addEventListener('click', () => post({ type: 'rerun', id }));
  return [h('p', { class: 'tip-actions' }, h('span', { class: 'muted' }, why), ' ', b)];
}

/** "Budget: 3.2 kg of 10 kg used this month (32 %)", with a bar; over the budget, said so. */
export function monthBudgetLine(b: { limitKg: number; usedKg: number }): HTMLElement {
  const fraction = b.limitKg > 0 ? b.usedKg / b.limitKg : 0;
  const bar = h('span', { class: 'tip-bar', 'aria-hidden': 'true' });
  bar.style.width = `${Math.min(100, Math.max(0, fraction * 100))}%`;
  const over = fraction >= 1;
  return h(
    'p',
    {
      class: over ? 'total-budget over' : 'total-budget',
      'data-key': 'month-budget',
      title: t(
        'carbonMeter.budget.monthlyKg: the emissions of the runs started this calendar month (UTC), against the monthly budget. Each run is warned (or stopped) when its forecast (or its emissions) would go over what is left.',
      ),
    },
    over
      ? t(
          'Monthly budget: {0} of {1} used, over by {2}',
          formatCo2(b.usedKg),
          formatCo2(b.limitKg),
          formatCo2(b.usedKg - b.limitKg),
        )
      : t(
          'Monthly budget: {0} of {1} used ({2})',
          formatCo2(b.usedKg),
          formatCo2(b.limitKg),
          `${Math.round(fraction * 100)} %`,
        ),
    h('span', { class: 'tip-track', 'aria-hidden': 'true' }, bar),
  );
}
