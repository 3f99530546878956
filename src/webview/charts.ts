/**
 * The panel's charts (chart.js 4, bundled; only the pieces used are registered): CO₂eq per run over time here, and
 * an open run's power and intensity in ./detailCharts.ts, on the shared options and axes below. Colours come from the
 * theme's CSS variables and follow theme changes. The data arrives bounded (≤ 2,000 points per series).
 */
import {
  Chart,
  Filler,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  ScatterController,
  Tooltip,
  type ChartDataset,
  type ChartOptions,
  type TooltipItem,
} from 'chart.js';
import type { RunsChart } from '../core/view/series';
import { niceStepS, timeAxis, type TickFormat, type TimeAxis } from '../core/view/timeAxis';
import { describeRunPoint, runsChartOrder, type RunsChartPoint } from '../core/view/chartNav';
import { ChartKeys } from './chartKeys';
import { formatCo2, formatDuration } from '../core/format';
import type { RunSource } from '../core/types';
import { t } from './l10n';
import { readTheme, withAlpha, type ChartTheme } from './theme';

Chart.register(
  ScatterController,
  LineController,
  PointElement,
  LineElement,
  LinearScale,
  LogarithmicScale,
  Filler,
  Tooltip,
);

export type XY = { x: number; y: number };

export function sourceLabel(s: RunSource): string {
  switch (s) {
    case 'terminal':
      return t('terminal');
    case 'debug':
      return t('debug');
    case 'task':
      return t('task');
    case 'cli':
      return t('CLI');
    case 'codecarbon-import':
      return t('import');
    case 'manual':
      return t('manual');
    case 'slurm':
      return t('SLURM');
    case 'notebook':
      return t('notebook');
  }
}

const dayFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const dayYearFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatWhen(ms: number): string {
  return Number.isFinite(ms) ? fullFmt.format(ms) : '–';
}

const shortFmt = new Intl.DateTimeFormat(undefined, {
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
});
const shortYearFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
const monthFmt = new Intl.DateTimeFormat(undefined, { month: 'short', year: 'numeric' });

/** A tick of the runs chart's time axis, from ms since the epoch, as core/view/timeAxis says to write it. */
function formatTick(format: TickFormat, ms: number): string {
  switch (format) {
    case 'time':
      return timeFmt.format(ms);
    case 'dayTime':
      return shortFmt.format(ms);
    case 'day':
      return dayFmt.format(ms);
    case 'dayYear':
      return dayYearFmt.format(ms);
    case 'month':
      return monthFmt.format(ms);
  }
}

/** A compact date for the table: "23 Nov, 19:56" this year, "23 Nov 2025" before. */
export function formatWhenShort(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  return new Date(ms).getFullYear() === new Date().getFullYear() ? shortFmt.format(ms) : shortYearFmt.format(ms);
}

/** "2 h", "30 min", "45 s" for round tick values. */
function tickDuration(s: number): string {
  if (s === 0) return '0';
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0 && s < 3600) return `${s / 60} min`;
  return formatDuration(s);
}

/**
 * Below this width (px) a chart drops its axis titles and its right-hand axis (the tooltip and the announced text still
 * give those figures): the left tick labels need the room (the legend names the series).
 */
const TITLED_MIN_PX = 300;

export function titled(canvas: HTMLCanvasElement): boolean {
  return (canvas.parentElement?.clientWidth ?? TITLED_MIN_PX) >= TITLED_MIN_PX;
}

/**
 * Marks the chart's section while its axis titles and right-hand axis are hidden, so that its legend stops naming
 * an axis that is not drawn (`.untitled-axes` in panel.css).
 */
export function markTitled(canvas: HTMLCanvasElement, wide = titled(canvas)): void {
  canvas.closest('section')?.classList.toggle('untitled-axes', !wide);
}

export function baseOptions(theme: ChartTheme): ChartOptions<'line'> {
  return {
    animation: false,
    // the panel narrowed or widened: axis titles follow (Chart.js updates the chart after this)
    onResize: (chart, size) => {
      const wide = size.width >= TITLED_MIN_PX;
      markTitled(chart.canvas, wide);
      for (const [id, scale] of Object.entries(chart.options.scales ?? {})) {
        if (scale && 'title' in scale && scale.title?.text) scale.title.display = wide;
        if (scale && id === 'y2') scale.display = wide;
      }
    },
    responsive: true,
    maintainAspectRatio: false,
    parsing: false,
    normalized: true,
    color: theme.foreground,
    font: { family: theme.fontFamily, size: theme.fontSize - 1 },
    plugins: {
      tooltip: {
        backgroundColor: withAlpha(theme.background, 0.95),
        titleColor: theme.foreground,
        bodyColor: theme.foreground,
        borderColor: theme.grid,
        borderWidth: 1,
        titleFont: { family: theme.fontFamily },
        bodyFont: { family: theme.fontFamily },
      },
    },
  };
}

export function axis(theme: ChartTheme) {
  return {
    grid: { color: withAlpha(theme.grid, theme.highContrast ? 0.8 : 0.4) },
    border: { color: theme.grid },
    ticks: { color: theme.muted, font: { family: theme.fontFamily, size: theme.fontSize - 2 } },
    title: { color: theme.muted, font: { family: theme.fontFamily, size: theme.fontSize - 2 } },
  };
}

/** An x axis of seconds since the start, with round steps, ending at the last point. */
export function durationAxis(a: ReturnType<typeof axis>, spanS: number) {
  return {
    type: 'linear' as const,
    ...a,
    min: 0,
    max: spanS > 0 ? spanS : undefined,
    ticks: {
      ...a.ticks,
      stepSize: niceStepS(spanS),
      maxRotation: 0,
      autoSkip: true,
      callback: (v: number | string) => tickDuration(Number(v)),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * CO₂eq per run over time, one series per source, on a logarithmic scale. Clicking a point opens the run; so does
 * Enter on the point focused from the keyboard.
 */
export class RunsChartView {
  private chart?: Chart<'scatter', XY[]>;
  private data?: RunsChart;
  private order: RunsChartPoint[] = [];
  readonly keys: ChartKeys;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly onOpen: (id: string) => void,
  ) {
    this.keys = new ChartKeys(
      canvas,
      {
        chart: () => this.chart as Chart | undefined,
        count: () => this.order.length,
        elements: (i) => (this.order[i] ? [{ datasetIndex: this.order[i].series, index: this.order[i].index }] : []),
        describe: (i) =>
          this.data && this.order[i]
            ? describeRunPoint(this.data, this.order[i], i, this.order.length, {
                t,
                source: sourceLabel,
                when: formatWhen,
              })
            : '',
        activate: (i) => {
          const p = this.order[i];
          const id = p && this.data?.series[p.series]?.id[p.index];
          if (id) this.onOpen(id);
        },
      },
      t(
        'Arrow keys move between the runs, oldest first; Home and End go to the first and the last; Enter opens the run.',
      ),
    );
  }

  update(data: RunsChart): void {
    this.data = data;
    this.order = runsChartOrder(data);
    const theme = readTheme();
    const datasets: ChartDataset<'scatter', XY[]>[] = data.series.map((s) => ({
      label: sourceLabel(s.source),
      data: s.t.map((x, i) => ({ x, y: s.kg[i] })),
      pointBackgroundColor: withAlpha(theme.source[s.source], theme.highContrast ? 1 : 0.7),
      pointBorderColor: theme.source[s.source],
      pointBorderWidth: theme.highContrast ? 1.5 : 1,
      pointRadius: data.shown > 600 ? 2.5 : 3.5,
      pointHoverRadius: 6,
    }));
    const time = timeAxis(data.series.flatMap((s) => s.t));
    if (!this.chart) {
      this.chart = new Chart(this.canvas, {
        type: 'scatter',
        data: { datasets },
        options: this.options(theme, time),
      });
    } else {
      this.chart.data.datasets = datasets;
      this.chart.options = this.options(theme, time);
      this.chart.update('none');
    }
    this.canvas.dataset.points = String(data.shown);
    if (time) {
      this.canvas.dataset.xMinS = String(time.minS);
      this.canvas.dataset.xMaxS = String(time.maxS);
    }
    this.keys.refresh();
  }

  /** Re-reads the theme's colours. */
  restyle(): void {
    if (this.data) this.update(this.data);
  }

  private options(theme: ChartTheme, time: TimeAxis | undefined): ChartOptions<'scatter'> {
    const a = axis(theme);
    const base = baseOptions(theme) as ChartOptions<'scatter'>;
    return {
      ...base,
      scales: {
        x: {
          type: 'linear',
          ...a,
          min: time?.minS,
          max: time?.maxS,
          // the ticks fall on round local times (core/view/timeAxis.ts), not on Chart.js's round numbers of seconds
          afterBuildTicks: (scale) => {
            if (time) scale.ticks = time.ticksS.map((value) => ({ value }));
          },
          ticks: {
            ...a.ticks,
            maxRotation: 0,
            autoSkip: true,
            callback: (v) => formatTick(time?.format ?? 'dayTime', Number(v) * 1000),
          },
        },
        y: {
          type: 'logarithmic',
          ...a,
          title: { ...a.title, display: titled(this.canvas), text: t('CO₂eq per run') },
          ticks: {
            ...a.ticks,
            callback: (v) => {
              const x = Number(v);
              const mant = x / 10 ** Math.floor(Math.log10(x) + 1e-9);
              return Math.abs(mant - 1) < 1e-6 ? formatCo2(x) : '';
            },
          },
        },
      },
      plugins: {
        ...base.plugins,
        tooltip: {
          ...base.plugins?.tooltip,
          callbacks: {
            title: (items: TooltipItem<'scatter'>[]) => {
              const it = items[0];
              const s = this.data?.series[it.datasetIndex];
              return s ? s.name[it.dataIndex] : '';
            },
            label: (it: TooltipItem<'scatter'>) => {
              const s = this.data?.series[it.datasetIndex];
              if (!s) return '';
              return `${formatCo2(s.kg[it.dataIndex])} · ${sourceLabel(s.source)} · ${formatWhen(s.t[it.dataIndex] * 1000)}`;
            },
          },
        },
      },
      onHover: (e, elements) => {
        const target = e.native?.target as HTMLElement | undefined;
        if (target) target.style.cursor = elements.length ? 'pointer' : 'default';
      },
      onClick: (_e, elements) => {
        const el = elements[0];
        const id = el && this.data?.series[el.datasetIndex]?.id[el.index];
        if (id) this.onOpen(id);
      },
    };
  }

  destroy(): void {
    this.chart?.destroy();
    this.chart = undefined;
  }
}
