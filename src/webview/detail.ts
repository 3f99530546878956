/** A run's detail: figures with their method and source, power and CO₂eq over time, tips, actions. */
import type { RunDetail } from '../core/view/snapshot';
import { formatCo2, formatDuration, formatIntensity, formatPower } from '../core/format';
import type { Run } from '../core/types';
import type { Snapshot, WebviewMessage } from '../shared/protocol';
import { renderRegionAdvice, renderTimeAdvice } from './advice';
import { renderCells } from './cells';
import { formatWhen, sourceLabel } from './charts';
import { IntensityChartView, PowerChartView } from './detailCharts';
import { h, keepFocus, replace, text } from './dom';
import { t } from './l10n';
import { hardwareFacts, methodsSection, runFacts, runKpis } from './runFigures';
import { statusLabel } from './table';
import { runOutcome } from '../core/view/labels';
import { readTheme } from './theme';

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
  private readonly powerCanvas = h('canvas', { id: 'power-chart' });
  private readonly powerLegend = h('div', { class: 'legend', 'aria-hidden': 'true' });
  private readonly powerNote = h('p', { class: 'note' });
  private readonly intensitySection = h('div', { class: 'intensity-course', hidden: true });
  private readonly intensityCanvas = h('canvas', { id: 'intensity-chart' });
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
    this.intensitySection.append(
      h('h4', null, t('Intensity over the run')),
      intensityBox,
      this.intensity.keys.live,
      this.intensity.keys.hint,
    );
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
        this.power.keys.live,
        this.power.keys.hint,
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
    this.fillHeader(d);
    replace(this.kpis, ...runKpis(d, s.equivalents));
    replace(this.facts, ...runFacts(run));
    this.fillPower(run, d.power);
    this.cellsSection.hidden = !renderCells(this.cells, run.cells);
    replace(this.methods, ...methodsSection(run));
    renderRegionAdvice(this.tips, d.advice, 'run', this.post);
    renderTimeAdvice(this.timeTip, d.time, this.post, { id: run.id, canRerun: d.canRerun });
    replace(this.hardware, ...hardwareFacts(run.hardware));
    const notes = run.notes ?? [];
    this.notesSection.hidden = notes.length === 0;
    replace(this.notes, ...notes.map((n) => h('li', null, n)));
  }

  /** Title, status line, command and which actions apply (with why not). */
  private fillHeader(d: RunDetail): void {
    const run = d.run;
    text(this.title, run.name);
    text(
      this.subtitle,
      `${statusLabel(runOutcome(run.status, run.exitCode))}${run.exitCode !== undefined && run.exitCode !== null ? ` (${t('exit {0}', run.exitCode)})` : ''} · ${sourceLabel(run.source)} · ${formatWhen(Date.parse(run.startedAt))}`,
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
  }

  /** The power chart and, when the samples carry it, the intensity over the run; a note when there are none. */
  private fillPower(run: Run, p: RunDetail['power']): void {
    if (!p) {
      this.powerBox.hidden = true;
      this.powerLegend.hidden = true;
      this.intensitySection.hidden = true;
      text(
        this.powerNote,
        run.source === 'codecarbon-import'
          ? t('Imported runs have no power samples.')
          : t('No power samples for this run yet.'),
      );
      return;
    }
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
  }

  private renderLegend(): void {
    const theme = readTheme();
    replace(
      this.powerLegend,
      swatch(t('CPU'), theme.cpu),
      swatch(t('GPU'), theme.gpu),
      swatch(t('RAM'), theme.ram),
      swatch(t('CO₂eq so far'), theme.co2, true, h('span', { class: 'axis-note' }, ' ', t('(right axis)'))),
    );
  }

  /** Re-reads the theme's colours (charts and legend). */
  restyle(): void {
    this.renderLegend();
    this.power.restyle();
    this.intensity.restyle();
  }
}

function swatch(label: string, color: string, dashed = false, note?: HTMLElement): HTMLElement {
  const s = h('span', { class: dashed ? 'swatch dashed' : 'swatch', 'aria-hidden': 'true' });
  s.style.setProperty('--swatch', color);
  return h('span', { class: 'legend-item' }, s, h('span', null, label, note ?? ''));
}
