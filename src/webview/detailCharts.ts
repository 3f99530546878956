/**
 * The charts of an open run: its power by component (stacked) with its cumulative CO₂eq, and its intensity when it
 * varied (chart.js, registered in ./charts.ts; the same theme, axes and keyboard path as the runs chart).
 */
import { Chart, type ChartDataset, type ChartOptions, type TooltipItem } from 'chart.js';
import type { PowerSeries } from '../core/view/series';
import { startPoints, STEP_MODE, stepPoints } from '../core/view/steps';
import { describeIntensityPoint, describePowerPoint } from '../core/view/chartNav';
import { ChartKeys } from './chartKeys';
import { formatCo2, formatDuration, formatIntensity, formatPower } from '../core/format';
import { t } from './l10n';
import { readTheme, withAlpha, type ChartTheme } from './theme';
import { axis, baseOptions, durationAxis, markTitled, titled, type XY } from './charts';
/** A run's power by component (stacked areas, before PUE) and its cumulative CO₂eq (right axis). */
export class PowerChartView {
  private chart?: Chart<'line', XY[]>;
  private data?: PowerSeries;
  readonly keys: ChartKeys;

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.keys = new ChartKeys(
      canvas,
      {
        chart: () => this.chart as Chart | undefined,
        count: () => this.data?.t.length ?? 0,
        // the four series at the sample (stepPoints may put a point at the run's start before the first sample)
        elements: (i) =>
          [0, 1, 2, 3].map((datasetIndex) => ({ datasetIndex, index: i + startPoints(this.data?.t ?? []) })),
        describe: (i) => (this.data ? describePowerPoint(this.data, i, t) : ''),
      },
      t('Arrow keys move between the samples; Home and End go to the first and the last.'),
    );
  }

  update(data: PowerSeries): void {
    const otherRun = this.data?.t0 !== data.t0;
    this.data = data;
    const theme = readTheme();
    const width = theme.highContrast ? 2 : 1.25;
    const area = (label: string, values: number[], color: string, fill: string): ChartDataset<'line', XY[]> => ({
      label,
      // each sample's time is the end of its interval: draw (t[i-1], t[i]] with sample i, from the run's start
      data: stepPoints(data.t, values),
      borderColor: color,
      backgroundColor: withAlpha(color, theme.highContrast ? 0.6 : 0.45),
      borderWidth: width,
      fill,
      stepped: STEP_MODE,
      pointRadius: 0,
      yAxisID: 'y',
      stack: 'power',
    });
    const datasets: ChartDataset<'line', XY[]>[] = [
      area(t('CPU'), data.cpuW, theme.cpu, 'origin'),
      area(t('GPU'), data.gpuW, theme.gpu, '-1'),
      area(t('RAM'), data.ramW, theme.ram, '-1'),
      {
        label: t('CO₂eq so far'),
        data: stepPoints(data.t, data.co2Kg, 0),
        borderColor: theme.co2,
        backgroundColor: theme.co2,
        borderWidth: theme.highContrast ? 2.5 : 2,
        borderDash: [6, 3],
        fill: false,
        pointRadius: 0,
        yAxisID: 'y2',
        stack: 'co2',
      },
    ];
    if (!this.chart) {
      this.chart = new Chart(this.canvas, { type: 'line', data: { datasets }, options: this.options(theme) });
      markTitled(this.canvas);
    } else {
      this.chart.data.datasets = datasets;
      this.chart.options = this.options(theme);
      this.chart.update('none');
    }
    this.canvas.dataset.points = String(data.t.length);
    this.keys.refresh(otherRun);
  }

  restyle(): void {
    if (this.data) this.update(this.data);
  }

  private options(theme: ChartTheme): ChartOptions<'line'> {
    const a = axis(theme);
    const base = baseOptions(theme);
    const span = this.data?.t[this.data.t.length - 1] ?? 0;
    return {
      ...base,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: durationAxis(a, span),
        y: {
          type: 'linear',
          stacked: true,
          beginAtZero: true,
          ...a,
          title: { ...a.title, display: titled(this.canvas), text: t('power (W, before PUE)') },
          ticks: { ...a.ticks, callback: (v) => formatPower(Number(v)) },
        },
        y2: {
          type: 'linear',
          position: 'right',
          display: titled(this.canvas),
          beginAtZero: true,
          ...a,
          grid: { drawOnChartArea: false },
          title: { ...a.title, display: titled(this.canvas), text: t('CO₂eq so far') },
          ticks: { ...a.ticks, callback: (v) => formatCo2(Number(v)) },
        },
      },
      plugins: {
        ...base.plugins,
        tooltip: {
          ...base.plugins?.tooltip,
          callbacks: {
            title: (items: TooltipItem<'line'>[]) => (items[0] ? formatDuration(items[0].parsed.x ?? 0) : ''),
            label: (it: TooltipItem<'line'>) => {
              const y = it.parsed.y ?? 0;
              return `${it.dataset.label ?? ''}: ${it.dataset.yAxisID === 'y2' ? formatCo2(y) : formatPower(y)}`;
            },
          },
        },
      },
    };
  }

  destroy(): void {
    this.chart?.destroy();
    this.chart = undefined;
  }
}

/** The intensity a run used over time (time-resolved sources). */
export class IntensityChartView {
  private chart?: Chart<'line', XY[]>;
  private data?: { t: number[]; g: number[] };
  readonly keys: ChartKeys;

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.keys = new ChartKeys(
      canvas,
      {
        chart: () => this.chart as Chart | undefined,
        count: () => this.data?.t.length ?? 0,
        elements: (i) => [{ datasetIndex: 0, index: i + startPoints(this.data?.t ?? []) }],
        describe: (i) => (this.data ? describeIntensityPoint(this.data.t, this.data.g, i, t) : ''),
      },
      t('Arrow keys move between the samples; Home and End go to the first and the last.'),
    );
  }

  update(tS: number[], g: number[]): void {
    this.data = { t: tS, g };
    const theme = readTheme();
    const datasets: ChartDataset<'line', XY[]>[] = [
      {
        label: t('intensity'),
        data: stepPoints(tS, g),
        borderColor: theme.intensity,
        backgroundColor: withAlpha(theme.intensity, 0.2),
        borderWidth: theme.highContrast ? 2 : 1.5,
        fill: 'origin',
        stepped: STEP_MODE,
        pointRadius: 0,
      },
    ];
    const a = axis(theme);
    const base = baseOptions(theme);
    const span = tS[tS.length - 1] ?? 0;
    const options: ChartOptions<'line'> = {
      ...base,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: durationAxis(a, span),
        y: {
          type: 'linear',
          beginAtZero: true,
          ...a,
          title: { ...a.title, display: titled(this.canvas), text: t('gCO₂eq/kWh') },
        },
      },
      plugins: {
        ...base.plugins,
        tooltip: {
          ...base.plugins?.tooltip,
          callbacks: {
            title: (items: TooltipItem<'line'>[]) => (items[0] ? formatDuration(items[0].parsed.x ?? 0) : ''),
            label: (it: TooltipItem<'line'>) => formatIntensity(it.parsed.y ?? 0),
          },
        },
      },
    };
    if (!this.chart) this.chart = new Chart(this.canvas, { type: 'line', data: { datasets }, options });
    else {
      this.chart.data.datasets = datasets;
      this.chart.options = options;
      this.chart.update('none');
    }
    this.canvas.dataset.points = String(tS.length);
    this.keys.refresh();
  }

  restyle(): void {
    if (this.data) this.update(this.data.t, this.data.g);
  }

  destroy(): void {
    this.chart?.destroy();
    this.chart = undefined;
  }
}
