/** A run's detail: figures with their method and source, power and CO₂eq over time, tips, actions. */
import type { RunDetail } from '../core/view/snapshot';
import { formatCo2, formatDuration, formatEnergy, formatIntensity, formatPower, sig } from '../core/format';
import type { ComponentPower, Run } from '../core/types';
import type { Snapshot, WebviewMessage } from '../shared/protocol';
import { renderRegionAdvice, renderTimeAdvice } from './advice';
import { renderCells } from './cells';
import { formatWhen, IntensityChartView, PowerChartView, sourceLabel } from './charts';
import { h, keepFocus, replace, text } from './dom';
import { t } from './l10n';
import { statusLabel } from './table';
import { readTheme } from './theme';

const nf = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

function methodLabel(m: string): string {
  return m === 'measured' ? t('measured') : m === 'modelled' ? t('modelled') : m === 'default' ? t('default') : m;
}

export class DetailView {
  readonly el: HTMLElement;
  private runId: string | undefined;
  private readonly title = h('h2', { id: 'detail-title', tabindex: '-1' });
  private readonly subtitle = h('p', { class: 'detail-sub' });
  private readonly command = h('code', { class: 'command' });
  private readonly actions = h('div', { class: 'actions', role: 'group' });
  private readonly kpis = h('div', { class: 'kpis' });
  private readonly facts = h('dl', { class: 'facts' });
  private readonly powerBox = h('div', { class: 'chart-box tall' });
  private readonly powerCanvas = h('canvas', { id: 'power-chart', role: 'img' });
  private readonly powerLegend = h('div', { class: 'legend', 'aria-hidden': 'true' });
  private readonly powerNote = h('p', { class: 'note' });
  private readonly intensitySection = h('div', { class: 'intensity-course', hidden: true });
  private readonly intensityCanvas = h('canvas', { id: 'intensity-chart', role: 'img' });
  private readonly methods = h('div', { class: 'methods-wrap' });
  private readonly tips = h('div', { class: 'advice' });
  private readonly timeTip = h('p', { class: 'time-tip' });
  private readonly hardware = h('dl', { class: 'facts' });
  private readonly notes = h('ul', { class: 'notes' });
  private readonly notesSection = h('section', { class: 'sub' }, h('h3', null, t('Notes')), this.notes);
  private readonly missing = h('p', { class: 'missing', hidden: true });
  private readonly cells = h('div', { class: 'cells-wrap' });
  private readonly cellsSection = h(
    'section',
    { class: 'sub', id: 'detail-cells' },
    h('h3', null, t('Notebook cells')),
    this.cells,
  );
  private power: PowerChartView;
  private intensity: IntensityChartView;
  private readonly buttons: Record<'rerun' | 'copyCsv' | 'openReport' | 'deleteRun', HTMLButtonElement>;

  constructor(
    private readonly post: (m: WebviewMessage) => void,
    private readonly onClose: (id: string | undefined) => void,
  ) {
    const close = h(
      'button',
      {
        type: 'button',
        class: 'icon close',
        'aria-label': t('Close the run'),
        title: t('Close (Escape)'),
        'data-key': 'close',
      },
      '×',
    );
    close.addEventListener('click', () => this.onClose(this.runId));
    const button = (type: 'rerun' | 'copyCsv' | 'openReport' | 'deleteRun', label: string, cls = '') => {
      const b = h('button', { type: 'button', class: cls, 'data-key': `action-${type}` }, label);
      b.addEventListener('click', () => {
        if (this.runId) this.post({ type, id: this.runId });
      });
      this.actions.append(b);
      return b;
    };
    this.buttons = {
      rerun: button('rerun', t('Re-run in terminal'), 'primary'),
      copyCsv: button('copyCsv', t('Copy CodeCarbon CSV row')),
      openReport: button('openReport', t('Open report')),
      deleteRun: button('deleteRun', t('Delete…'), 'danger'),
    };
    this.power = new PowerChartView(this.powerCanvas);
    this.intensity = new IntensityChartView(this.intensityCanvas);
    this.powerBox.append(this.powerCanvas);
    const intensityBox = h('div', { class: 'chart-box short' }, this.intensityCanvas);
    this.intensitySection.append(h('h4', null, t('Intensity over the run')), intensityBox);
    this.el = h(
      'section',
      { class: 'detail card', id: 'detail', 'aria-labelledby': 'detail-title', hidden: true },
      h('header', { class: 'detail-head' }, h('div', { class: 'detail-titles' }, this.title, this.subtitle), close),
      this.missing,
      h('p', { class: 'command-line' }, this.command),
      this.actions,
      this.kpis,
      this.facts,
      h(
        'section',
        { class: 'sub' },
        h('h3', null, t('Power and CO₂eq over time')),
        this.powerLegend,
        this.powerBox,
        this.powerNote,
        this.intensitySection,
      ),
      this.cellsSection,
      h('section', { class: 'sub' }, h('h3', null, t('How each figure was obtained')), this.methods),
      h(
        'section',
        { class: 'sub' },
        h('h3', null, t('Greener regions')),
        this.tips,
        h('h4', null, t('Greener hours')),
        this.timeTip,
      ),
      h('section', { class: 'sub' }, h('h3', null, t('Hardware')), this.hardware),
      this.notesSection,
    );
    this.el.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.runId) {
        e.preventDefault();
        this.onClose(this.runId);
      }
    });
  }

  get openId(): string | undefined {
    return this.runId;
  }

  /** Focuses the run's title (after the user opened it). */
  focus(): void {
    this.el.scrollIntoView({ block: 'nearest' });
    this.title.focus({ preventScroll: true });
  }

  hide(): void {
    this.runId = undefined;
    this.el.hidden = true;
  }

  showMissing(id: string): void {
    this.runId = undefined;
    this.el.hidden = false;
    text(this.title, t('Run not found'));
    text(this.subtitle, '');
    this.missing.hidden = false;
    text(this.missing, t('The run {0} is not in the history any more.', id));
    for (const part of this.el.querySelectorAll<HTMLElement>('.command-line, .actions, .kpis, .facts, section.sub'))
      part.hidden = true;
  }

  render(d: RunDetail, s: Snapshot): void {
    const run = d.run;
    this.runId = run.id;
    this.el.hidden = false;
    this.missing.hidden = true;
    for (const part of this.el.querySelectorAll<HTMLElement>('.command-line, .actions, .kpis, .facts, section.sub'))
      part.hidden = false;
    this.el.dataset.runId = run.id;
    keepFocus(this.el, () => this.fill(d, s));
  }

  private fill(d: RunDetail, s: Snapshot): void {
    const run = d.run;
    text(this.title, run.name);
    text(
      this.subtitle,
      `${statusLabel(run.status)}${run.exitCode !== undefined && run.exitCode !== null ? ` (${t('exit {0}', run.exitCode)})` : ''} · ${sourceLabel(run.source)} · ${formatWhen(Date.parse(run.startedAt))}`,
    );
    text(this.command, run.command || t('(no command: imported)'));
    this.buttons.rerun.disabled = !d.canRerun;
    this.buttons.rerun.title = d.canRerun
      ? t(
          'Runs `{0}` in a new terminal in {1}; the terminal watcher meters it.',
          run.command,
          run.cwd || t('the workspace folder'),
        )
      : run.status === 'running'
        ? t('The run is still going.')
        : run.source === 'notebook'
          ? t('A notebook run: run its cells again in the notebook.')
          : t('This run has no command (imported).');
    this.buttons.deleteRun.disabled = !d.canDelete;
    this.buttons.deleteRun.title = d.canDelete
      ? t('Removes the run and its samples from the history (asks first).')
      : t('A run being metered cannot be deleted.');
    this.buttons.copyCsv.title = t('One row of a CodeCarbon 3.x emissions.csv, to the clipboard.');

    const eq = s.equivalents;
    replace(
      this.kpis,
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
        `${run.intensity.region}${run.intensity.guessed ? ` (${t('guessed')})` : ''}`,
      ),
      kpi(
        t('Equivalent to'),
        t('{0} km by car', nf.format(d.carKm)),
        t('{0} smartphone charges', nf.format(d.smartphoneCharges)),
        `${eq.carKm.source}\n${eq.smartphoneCharge.source}`,
      ),
    );

    replace(
      this.facts,
      ...fact(t('Duration'), formatDuration(run.durationS)),
      ...fact(t('CPU time'), formatDuration(run.cpuSeconds)),
      ...fact(t('Peak RAM'), run.peakRamGB !== undefined ? `${sig(run.peakRamGB)} GB` : '–'),
      ...fact(t('Folder'), run.cwd || '–'),
      ...fact(t('Ended'), run.endedAt ? formatWhen(Date.parse(run.endedAt)) : '–'),
      ...fact(t('Run id'), run.id),
    );

    // power chart
    if (d.power) {
      const p = d.power;
      this.powerBox.hidden = false;
      this.powerLegend.hidden = false;
      this.renderLegend();
      this.powerCanvas.setAttribute(
        'aria-label',
        t(
          'Power over {0}: CPU mean {1}, GPU mean {2}, RAM mean {3}; {4} CO₂eq in all.',
          formatDuration(run.durationS),
          formatPower(run.power.cpu.meanW),
          formatPower(run.power.gpu.meanW),
          formatPower(run.power.ram.meanW),
          formatCo2(run.emissionsKg),
        ),
      );
      this.power.update(p);
      text(
        this.powerNote,
        p.sampleCount > p.t.length
          ? t('{0} samples, drawn as {1} points (time-weighted means; energy preserved).', p.sampleCount, p.t.length)
          : t('{0} samples.', p.sampleCount),
      );
      if (p.gPerKWh) {
        this.intensitySection.hidden = false;
        this.intensityCanvas.setAttribute(
          'aria-label',
          t('Intensity over the run, {0}.', formatIntensity(run.intensity.gPerKWh)),
        );
        this.intensity.update(p.t, p.gPerKWh);
      } else this.intensitySection.hidden = true;
    } else {
      this.powerBox.hidden = true;
      this.powerLegend.hidden = true;
      this.intensitySection.hidden = true;
      text(
        this.powerNote,
        run.source === 'codecarbon-import'
          ? t('Imported runs have no power samples.')
          : t('No power samples for this run yet.'),
      );
    }

    this.cellsSection.hidden = !renderCells(this.cells, run.cells);

    // methods
    const i = run.intensity;
    const row = (label: string, energy: number, c: ComponentPower) =>
      h(
        'tr',
        null,
        h('th', { scope: 'row' }, label),
        h('td', { class: 'num' }, formatEnergy(energy)),
        h('td', { class: 'num' }, formatPower(c.meanW)),
        h('td', null, h('span', { class: `method method-${c.method}` }, methodLabel(c.method))),
        h(
          'td',
          { class: 'how' },
          c.unavailableReason
            ? `${c.detail} (${c.unavailableReason})`
            : c.shareRule && c.source
              ? `${c.source}; ${t('share')}: ${c.shareRule}`
              : c.detail,
        ),
      );
    replace(
      this.methods,
      h(
        'div',
        { class: 'table-scroll' },
        h(
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
            row(t('CPU'), run.energyKWh.cpu, run.power.cpu),
            row(t('GPU'), run.energyKWh.gpu, run.power.gpu),
            row(t('RAM'), run.energyKWh.ram, run.power.ram),
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
        ),
      ),
      h(
        'dl',
        { class: 'facts' },
        ...fact(
          t('Intensity'),
          `${formatIntensity(i.gPerKWh)} · ${intensityMethodLabel(i.method)}${i.factorType ? ` · ${i.factorType}` : ''}`,
        ),
        ...fact(
          t('Region'),
          `${i.region}${i.regionName ? ` (${i.regionName})` : ''}${i.guessed ? ` · ${t('guessed')}` : ''}`,
        ),
        ...fact(t('Chosen by'), i.regionReason ?? '–'),
        ...fact(t('Source'), `${i.source}${i.year ? ` (${i.year})` : ''}`),
        ...(i.fallback ? fact(t('Fallback'), i.fallback) : []),
        ...fact(t('Meter'), `Carbon Meter ${run.meterVersion ?? '–'}${run.host ? ` · ${run.host}` : ''}`),
        ...outlookFacts(run),
      ),
    );

    renderRegionAdvice(this.tips, d.advice, 'run', this.post);
    renderTimeAdvice(this.timeTip, d.time, this.post, { id: run.id, canRerun: d.canRerun });

    const hw = run.hardware;
    replace(
      this.hardware,
      ...fact(t('CPU'), `${hw.cpuModel} · ${t('{0} logical CPUs', hw.logicalCpus)}`),
      ...fact(t('RAM'), `${sig(hw.ramGB)} GB`),
      ...fact(
        t('GPUs'),
        hw.gpus.length
          ? hw.gpus.map((g) => g.name + (g.memoryMB ? ` (${sig(g.memoryMB / 1024)} GB)` : '')).join(', ')
          : t('none'),
      ),
      ...fact(t('System'), [hw.os, hw.hostname].filter(Boolean).join(' · ') || '–'),
    );
    const notes = run.notes ?? [];
    this.notesSection.hidden = notes.length === 0;
    replace(this.notes, ...notes.map((n) => h('li', null, n)));
  }

  private renderLegend(): void {
    const theme = readTheme();
    replace(
      this.powerLegend,
      swatch(t('CPU'), theme.cpu),
      swatch(t('GPU'), theme.gpu),
      swatch(t('RAM'), theme.ram),
      swatch(t('CO₂eq so far (right axis)'), theme.co2, true),
    );
  }

  /** Re-reads the theme's colours (charts and legend). */
  restyle(): void {
    this.renderLegend();
    this.power.restyle();
    this.intensity.restyle();
  }
}

function intensityMethodLabel(m: Run['intensity']['method']): string {
  return m === 'annual-average' ? t('annual average') : m === 'time-resolved' ? t('time-resolved') : t('default');
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
        t('≈ {0} CO₂eq at {1} % of the progress', formatCo2(f.predictedKg), Math.round(f.progress * 100)) +
          (early && early !== f
            ? ` · ${t('≈ {0} at {1} %', formatCo2(early.predictedKg), Math.round(early.progress * 100))}`
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

function swatch(label: string, color: string, dashed = false): HTMLElement {
  const s = h('span', { class: dashed ? 'swatch dashed' : 'swatch', 'aria-hidden': 'true' });
  s.style.setProperty('--swatch', color);
  return h('span', { class: 'legend-item' }, s, label);
}
