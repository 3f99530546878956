/**
 * The figures of a run's detail, as elements: the headline figures, the run's facts, how each figure was obtained
 * (method and source per component, the intensity's source), the outlook (forecast, budget, schedule) and the
 * hardware. Pure builders; detail.ts places them.
 */
import type { RunDetail } from '../core/view/snapshot';
import { regionBasis } from '../core/view/region';
import { componentHow, meaningfulEquivalents } from '../core/view/labels';
import { formatCo2, formatDuration, formatEnergy, formatIntensity, formatPower, sig } from '../core/format';
import type { ComponentPower, Run } from '../core/types';
import type { Snapshot } from '../shared/protocol';
import { formatWhen } from './charts';
import { h } from './dom';
import { t } from './l10n';

const nf = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

function methodLabel(m: string): string {
  return m === 'measured' ? t('measured') : m === 'modelled' ? t('modelled') : m === 'default' ? t('default') : m;
}

function intensityMethodLabel(m: Run['intensity']['method']): string {
  if (m === 'annual-average') return t('annual average');
  if (m === 'time-resolved') return t('time-resolved');
  if (m === 'imported') return t('imported (CodeCarbon)');
  return t('default');
}

/** The headline figures: CO₂eq, energy, intensity and the everyday equivalents (with their sources). */
export function runKpis(d: RunDetail, eq: Snapshot['equivalents']): HTMLElement[] {
  const run = d.run;
  return [
    kpi(
      t('CO₂eq'),
      formatCo2(run.emissionsKg),
      t('{0} × {1}', formatEnergy(run.energyKWh.total), formatIntensity(run.intensity.gPerKWh)),
    ),
    kpi(
      t('Energy (with PUE {0})', sig(run.pue)),
      formatEnergy(run.energyKWh.total),
      t(
        'CPU {0} · GPU {1} · RAM {2}',
        formatEnergy(run.energyKWh.cpu),
        formatEnergy(run.energyKWh.gpu),
        formatEnergy(run.energyKWh.ram),
      ),
    ),
    kpi(
      t('Intensity'),
      formatIntensity(run.intensity.gPerKWh),
      `${run.intensity.region}${regionBasisLabel(run, ' ({0})')}`,
    ),
    ...equivalentKpi(d, eq),
  ];
}

/** The everyday equivalents in words ("12 m by car", "0.03 phone charges"); [] when too small to mean anything. */
export function equivalentParts(carKm: number, smartphoneCharges: number): string[] {
  const e = meaningfulEquivalents(carKm, smartphoneCharges);
  if (!e) return [];
  const parts: string[] = [];
  if (e.car)
    parts.push(
      e.car.unit === 'km' ? t('{0} km by car', nf.format(e.car.value)) : t('{0} m by car', nf.format(e.car.value)),
    );
  if (e.charges !== undefined)
    parts.push(
      e.charges === 1 ? t('1 phone charge') : t('{0} phone charges', new Intl.NumberFormat().format(e.charges)),
    );
  return parts;
}

function equivalentKpi(d: RunDetail, eq: Snapshot['equivalents']): HTMLElement[] {
  const parts = equivalentParts(d.carKm, d.smartphoneCharges);
  if (!parts.length) return [];
  return [kpi(t('Equivalent to'), parts[0], parts[1] ?? '', `${eq.carKm.source}\n${eq.smartphoneCharge.source}`)];
}

/** Duration, CPU time, peak RAM, folder, end and id. */
export function runFacts(run: Run): HTMLElement[] {
  return [
    ...fact(t('Duration'), formatDuration(run.durationS)),
    ...fact(t('CPU time'), formatDuration(run.cpuSeconds)),
    ...fact(t('Peak RAM'), run.peakRamGB !== undefined ? `${sig(run.peakRamGB)} GB` : '–'),
    ...fact(t('Folder'), run.cwd || '–'),
    ...fact(t('Ended'), run.endedAt ? formatWhen(Date.parse(run.endedAt)) : '–'),
    ...fact(t('Run id'), run.id),
  ];
}

/** "How each figure was obtained": a row per component (energy, mean power, method, how), then the intensity's facts. */
export function methodsSection(run: Run): HTMLElement[] {
  return [h('div', { class: 'table-scroll' }, methodsTable(run)), intensityFacts(run)];
}

function methodsTable(run: Run): HTMLElement {
  return h(
    'table',
    { class: 'methods' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { scope: 'col' }, t('Component')),
        h('th', { scope: 'col', class: 'num' }, t('Energy')),
        h('th', { scope: 'col', class: 'num' }, t('Mean power')),
        h('th', { scope: 'col' }, t('Method')),
        h('th', { scope: 'col' }, t('How')),
      ),
    ),
    h(
      'tbody',
      null,
      componentRow(t('CPU'), run.energyKWh.cpu, run.power.cpu),
      componentRow(t('GPU'), run.energyKWh.gpu, run.power.gpu),
      componentRow(t('RAM'), run.energyKWh.ram, run.power.ram),
      h(
        'tr',
        { class: 'total' },
        h('th', { scope: 'row' }, t('Total × PUE {0}', sig(run.pue))),
        h('td', { class: 'num' }, formatEnergy(run.energyKWh.total)),
        h('td'),
        h('td'),
        h('td', { class: 'how' }, t('PUE: {0}', run.pueSource ?? t('not recorded'))),
      ),
    ),
  );
}

function componentRow(label: string, energy: number, c: ComponentPower): HTMLElement {
  return h(
    'tr',
    null,
    h('th', { scope: 'row' }, label),
    h('td', { class: 'num' }, formatEnergy(energy)),
    h('td', { class: 'num' }, formatPower(c.meanW)),
    h('td', null, h('span', { class: `method method-${c.method}` }, methodLabel(c.method))),
    h('td', { class: 'how' }, componentHow(c, t('share'))),
  );
}

function intensityFacts(run: Run): HTMLElement {
  const i = run.intensity;
  return h(
    'dl',
    { class: 'facts' },
    ...fact(
      t('Intensity'),
      // "average" after "annual average" says nothing: only a marginal factor is named
      `${formatIntensity(i.gPerKWh)} · ${intensityMethodLabel(i.method)}${i.factorType === 'marginal' ? ` · ${t('marginal')}` : ''}`,
    ),
    ...fact(t('Region'), `${i.region}${i.regionName ? ` (${i.regionName})` : ''}${regionBasisLabel(run, ' · {0}')}`),
    ...fact(t('Chosen by'), i.regionReason ?? '–'),
    ...fact(t('Source'), `${i.source}${i.year ? ` (${i.year})` : ''}`),
    ...(i.fallback ? fact(t('Fallback'), i.fallback) : []),
    ...fact(t('Meter'), `Carbon Meter ${run.meterVersion ?? '–'}${run.host ? ` · ${run.host}` : ''}`),
    ...outlookFacts(run),
  );
}

/** The forecast, the budget (and the month's budget used) and the schedule of a run, when it has them. */
function outlookFacts(run: Run): HTMLElement[] {
  const out: HTMLElement[] = [];
  const f = run.forecasts?.length ? run.forecasts[run.forecasts.length - 1] : undefined;
  const early = run.forecasts?.find((x) => x.progress >= 0.2);
  if (f)
    out.push(
      ...fact(
        t('Forecast'),
        t(
          '≈ {0} CO₂eq for the whole run, predicted when it was {1} % done',
          formatCo2(f.predictedKg),
          Math.round(f.progress * 100),
        ) +
          (early && early !== f
            ? ` · ${t('≈ {0} predicted at {1} % done', formatCo2(early.predictedKg), Math.round(early.progress * 100))}`
            : ''),
      ),
    );
  const b = run.budget;
  if (b) {
    const month = b.monthlyKg
      ? ` · ${t('month: {0} of {1} used before this run', formatCo2(b.monthUsedKg ?? 0), formatCo2(b.monthlyKg))}`
      : '';
    out.push(
      ...fact(
        t('Budget'),
        `${formatCo2(b.limitG / 1000)} (${b.onBudget})${run.stoppedBy === 'budget' ? ` · ${t('stopped on it')}` : b.reachedAt ? ` · ${t('reached')}` : ''}${month}`,
      ),
    );
  }
  const w = run.schedule?.wait;
  if (w)
    out.push(
      ...fact(
        t('Waited'),
        t(
          '{0} s for a greener start ({1} instead of {2} g/kWh expected)',
          Math.round(w.waitedS),
          w.plannedMeanGPerKWh,
          w.nowMeanGPerKWh,
        ),
      ),
    );
  const p = run.schedule?.pause;
  if (p)
    out.push(
      ...fact(
        t('Paused'),
        t('{0} s above {1} g/kWh', Math.round(p.pausedS), p.thresholdGPerKWh) +
          (p.estimatedSavingKg !== undefined
            ? ` · ${t('≈ {0} saved (modelled)', formatCo2(p.estimatedSavingKg))}`
            : ''),
      ),
    );
  return out;
}

/** CPU, RAM, GPUs and system of the machine the run ran on. */
export function hardwareFacts(hw: Run['hardware']): HTMLElement[] {
  return [
    ...fact(t('CPU'), `${hw.cpuModel} · ${t('{0} logical CPUs', hw.logicalCpus)}`),
    ...fact(t('RAM'), `${sig(hw.ramGB)} GB`),
    ...fact(
      t('GPUs'),
      hw.gpus.length
        ? hw.gpus.map((g) => g.name + (g.memoryMB ? ` (${sig(g.memoryMB / 1024)} GB)` : '')).join(', ')
        : t('none'),
    ),
    ...fact(t('System'), [hw.os, hw.hostname].filter(Boolean).join(' · ') || '–'),
  ];
}

function kpi(label: string, value: string, sub: string, title?: string): HTMLElement {
  return h(
    'div',
    { class: 'kpi', title: title ?? null },
    h('div', { class: 'kpi-label' }, label),
    h('div', { class: 'kpi-value' }, value),
    h('div', { class: 'kpi-sub' }, sub),
  );
}

function fact(label: string, value: string): HTMLElement[] {
  return [h('dt', null, label), h('dd', null, value)];
}

/** "guessed" or "default" after a run's region in `pattern` ({0}); nothing for a region that was set. */
function regionBasisLabel(run: Run, pattern: string): string {
  const basis = regionBasis(run.intensity);
  if (basis === 'set') return '';
  return pattern.replace('{0}', basis === 'guessed' ? t('guessed') : t('default'));
}
