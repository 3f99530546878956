/** The panel: header and actions, totals with equivalents, greener regions, the runs chart, the table, a run's detail. */
import { RUN_SOURCES, type TableQuery } from '../core/view/table';
import type { PeriodTotals } from '../core/view/totals';
import { formatCo2, formatEnergy } from '../core/format';
import type { Snapshot, UiState, WebviewMessage } from '../shared/protocol';
import { monthBudgetLine, renderRegionAdvice } from './advice';
import { RunsChartView, sourceLabel } from './charts';
import { DetailView } from './detail';
import { equivalentParts } from './runFigures';
import { h, replace, text } from './dom';
import { t } from './l10n';
import { RunsTable } from './table';
import { onThemeChange, readTheme } from './theme';

const nf = new Intl.NumberFormat();

function periodLabel(p: PeriodTotals['period']): string {
  return p === 'today' ? t('Today') : p === 'week' ? t('This week') : p === 'month' ? t('This month') : t('All time');
}

export class App {
  private snapshot?: Snapshot;
  private query: TableQuery;
  private openRunId: string | undefined;
  /** focus the detail when the next snapshot shows this run (the user, or the host, opened it) */
  private focusDetailFor: string | undefined;
  /** the first snapshot after the page (re)loads sets the filters: the host's are the latest */
  private adoptQuery = true;
  private readonly status = h('p', { class: 'status' });
  private readonly totals = h('div', { class: 'totals', role: 'list' });
  private readonly totalsAdvice = h('div', { class: 'advice' });
  private readonly chartLegend = h('div', { class: 'legend', 'aria-hidden': 'true' });
  private readonly chartCanvas = h('canvas', { id: 'runs-chart' });
  private readonly chartBox = h('div', { class: 'chart-box' }, this.chartCanvas);
  private readonly chartNote = h('p', { class: 'note' });
  private readonly chartSection: HTMLElement;
  private readonly runsChart: RunsChartView;
  private readonly table: RunsTable;
  private readonly detail: DetailView;

  constructor(
    private readonly root: HTMLElement,
    private readonly post: (m: WebviewMessage) => void,
    private readonly save: (s: UiState) => void,
    query: TableQuery,
    openRunId: string | undefined,
  ) {
    this.query = query;
    this.openRunId = openRunId;
    this.runsChart = new RunsChartView(this.chartCanvas, (id) => this.open(id));
    this.table = new RunsTable(query, { query: (q) => this.setQuery(q), open: (id) => this.open(id) });
    this.detail = new DetailView(post, (id) => this.close(id));

    const button = (label: string, msg: WebviewMessage, key: string, title: string) => {
      const b = h('button', { type: 'button', 'data-key': key, title }, label);
      b.addEventListener('click', () => this.post(msg));
      return b;
    };
    this.chartSection = h(
      'section',
      { class: 'card chart-card', 'aria-labelledby': 'chart-title' },
      h('div', { class: 'section-head' }, h('h2', { id: 'chart-title' }, t('CO₂eq per run')), this.chartLegend),
      this.chartBox,
      this.runsChart.keys.live,
      this.runsChart.keys.hint,
      this.chartNote,
    );
    replace(
      root,
      h(
        'header',
        { class: 'top' },
        h('div', { class: 'titles' }, h('h1', null, t('Carbon Meter · History')), this.status),
        h(
          'div',
          { class: 'actions', role: 'group', 'aria-label': t('Import and export') },
          button(
            t('Import CodeCarbon CSV…'),
            { type: 'import' },
            'import',
            t('Add the runs of a CodeCarbon emissions.csv (runs already in the history are skipped).'),
          ),
          button(
            t('Export CSV…'),
            { type: 'export', format: 'csv' },
            'export-csv',
            t('The runs that match the filters, as a CodeCarbon emissions.csv.'),
          ),
          button(
            t('Export JSON…'),
            { type: 'export', format: 'json' },
            'export-json',
            t('The runs that match the filters, as JSON records.'),
          ),
        ),
      ),
      h('section', { class: 'totals-section', 'aria-label': t('Totals') }, this.totals),
      h(
        'section',
        { class: 'card advice-card', 'aria-labelledby': 'advice-title' },
        h('h2', { id: 'advice-title' }, t('Greener regions for all your runs')),
        this.totalsAdvice,
      ),
      this.chartSection,
      h('div', { class: 'layout' }, this.table.el, this.detail.el),
    );
    root.removeAttribute('aria-busy');
    onThemeChange(() => {
      this.runsChart.restyle();
      this.detail.restyle();
      if (this.snapshot) this.renderLegend(this.snapshot);
    });
  }

  private persist(): void {
    this.save(this.openRunId ? { query: this.query, openRunId: this.openRunId } : { query: this.query });
  }

  private setQuery(q: Partial<TableQuery>): void {
    this.query = { ...this.table.current(), ...q };
    this.table.setQuery(this.query);
    this.persist();
    this.post({ type: 'query', query: this.query });
  }

  private open(id: string): void {
    this.openRunId = id;
    this.focusDetailFor = id;
    this.persist();
    this.post({ type: 'openRun', id });
  }

  private close(id: string | undefined): void {
    this.openRunId = undefined;
    this.focusDetailFor = undefined;
    this.detail.hide();
    this.persist();
    this.post({ type: 'closeRun' });
    if (id) this.table.focusRun(id);
  }

  render(s: Snapshot): void {
    const previousDetail = this.detail.openId;
    this.snapshot = s;
    this.root.dataset.runs = String(s.runCount);
    this.renderStatus(s);
    this.renderTotals(s);
    renderRegionAdvice(this.totalsAdvice, s.totalsAdvice, 'runs', this.post);
    this.renderChart(s);
    if (this.adoptQuery) {
      this.adoptQuery = false;
      this.query = { ...s.table.query };
      this.table.setQuery(this.query, true);
    }
    // the host knows which run is open (showHistory(runId) opens one)
    this.openRunId = s.detail?.run.id;
    this.table.render(s.table, this.openRunId);
    if (s.detail) {
      this.detail.render(s.detail, s);
      if (s.detail.run.id !== previousDetail || this.focusDetailFor === s.detail.run.id) {
        this.focusDetailFor = undefined;
        this.detail.focus();
      }
    } else if (s.missingRunId) {
      this.detail.showMissing(s.missingRunId);
    } else {
      this.detail.hide();
    }
    this.persist();
  }

  private renderStatus(s: Snapshot): void {
    const parts = [s.runCount === 1 ? t('1 run') : t('{0} runs', nf.format(s.runCount))];
    if (s.running) parts.push(t('{0} running', s.running));
    parts.push(t('history in {0}', s.historyDir));
    if (s.corrupt) parts.push(t('{0} unreadable line(s) skipped (see the log)', s.corrupt));
    text(this.status, parts.join(' · '));
  }

  private renderTotals(s: Snapshot): void {
    const eq = s.equivalents;
    const tip = `${t('Equivalents (US averages, an order of magnitude):')}\n• ${eq.carKm.source}\n• ${eq.smartphoneCharge.source}`;
    replace(
      this.totals,
      ...s.totals.map((p) =>
        h(
          'div',
          { class: `total card period-${p.period}`, role: 'listitem', 'data-period': p.period },
          h('h2', null, periodLabel(p.period)),
          h('p', { class: 'total-co2' }, formatCo2(p.emissionsKg), h('span', { class: 'unit' }, ' CO₂eq')),
          h(
            'p',
            { class: 'total-sub' },
            `${formatEnergy(p.energyKWh)} · ${p.runs === 1 ? t('1 run') : t('{0} runs', nf.format(p.runs))}${p.running ? ` · ${t('{0} running', p.running)}` : ''}`,
          ),
          eqLine(p.carKm, p.smartphoneCharges, tip),
          p.period === 'month' && s.monthBudget ? monthBudgetLine(s.monthBudget) : null,
        ),
      ),
    );
  }

  private renderLegend(s: Snapshot): void {
    const theme = readTheme();
    replace(
      this.chartLegend,
      ...s.chart.series.map((ser) => {
        const sw = h('span', { class: 'swatch dot', 'aria-hidden': 'true' });
        sw.style.setProperty('--swatch', theme.source[ser.source]);
        return h('span', { class: 'legend-item' }, sw, `${sourceLabel(ser.source)} (${nf.format(ser.count)})`);
      }),
    );
  }

  private renderChart(s: Snapshot): void {
    const c = s.chart;
    this.chartSection.hidden = c.total === 0;
    if (c.total === 0) return;
    this.renderLegend(s);
    const bySource = RUN_SOURCES.filter((src) => c.series.some((x) => x.source === src))
      .map((src) => `${sourceLabel(src)} ${nf.format(c.series.find((x) => x.source === src)!.count)}`)
      .join(', ');
    this.chartCanvas.setAttribute(
      'aria-label',
      t(
        'CO₂eq of {0} runs over time on a logarithmic scale, by source: {1}. The table below lists them.',
        nf.format(c.total),
        bySource,
      ),
    );
    this.runsChart.update(c);
    const notes: string[] = [];
    if (c.shown < c.total)
      notes.push(
        t(
          '{0} of {1} runs drawn: the least and the most emitting of each time slice.',
          nf.format(c.shown),
          nf.format(c.total),
        ),
      );
    if (c.zero)
      notes.push(
        c.zero === 1
          ? t('1 run without emissions not drawn (logarithmic scale).')
          : t('{0} runs without emissions not drawn (logarithmic scale).', nf.format(c.zero)),
      );
    notes.push(t('Click a point, or focus the chart and use the arrow keys and Enter, to open a run.'));
    text(this.chartNote, notes.join(' '));
  }
}

/** "≈ 12 m by car · 0.03 phone charges" under a period's total; nothing when the figures are too small to mean much. */
function eqLine(carKm: number, smartphoneCharges: number, tip: string): HTMLElement | null {
  const parts = equivalentParts(carKm, smartphoneCharges);
  return parts.length ? h('p', { class: 'total-eq', title: tip }, `≈ ${parts.join(' · ')}`) : null;
}
