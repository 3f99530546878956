/**
 * The charts' keyboard path: which point a key moves to, the order the runs chart's points are visited in, and the
 * sentence announced (aria-live) for the focused point, the same figures the hover tooltip shows. Pure: the webview
 * (src/webview/chartKeys.ts) turns keys into these calls and the results into the chart's active point.
 */
import type { Translate } from '../advice/text';
import { formatCo2, formatDuration, formatIntensity, formatPower } from '../format';
import type { RunSource } from '../types';
import type { PowerSeries, RunsChart } from './series';

/** Points moved by PageUp / PageDown. */
export const PAGE_POINTS = 10;

/**
 * The index the focus moves to for `key`, from `index` (-1: no point focused yet) among `count` points; undefined
 * when the key does not move the focus (the caller then leaves the key to the browser). ArrowRight/ArrowDown: next;
 * ArrowLeft/ArrowUp: previous; Home/End: first/last; PageDown/PageUp: PAGE_POINTS on. Stops at the ends.
 */
export function nextPointIndex(key: string, index: number, count: number): number | undefined {
  if (count <= 0) return undefined;
  const last = count - 1;
  const none = !(index >= 0 && index <= last);
  const clamp = (i: number) => Math.max(0, Math.min(last, i));
  switch (key) {
    case 'ArrowRight':
    case 'ArrowDown':
      return none ? 0 : clamp(index + 1);
    case 'ArrowLeft':
    case 'ArrowUp':
      return none ? last : clamp(index - 1);
    case 'Home':
      return 0;
    case 'End':
      return last;
    case 'PageDown':
      return none ? 0 : clamp(index + PAGE_POINTS);
    case 'PageUp':
      return none ? last : clamp(index - PAGE_POINTS);
    default:
      return undefined;
  }
}

/** A point of the runs chart: its series (dataset) and its index there. */
export interface RunsChartPoint {
  series: number;
  index: number;
}

/** The runs chart's points in the order the keyboard visits them: by start time, then by series. */
export function runsChartOrder(chart: RunsChart): RunsChartPoint[] {
  const out: (RunsChartPoint & { t: number })[] = [];
  chart.series.forEach((s, series) => s.t.forEach((t, index) => out.push({ series, index, t })));
  out.sort((a, b) => a.t - b.t || a.series - b.series || a.index - b.index);
  return out.map(({ series, index }) => ({ series, index }));
}

/** How the webview writes what core/view does not know: the source's name and a date. */
export interface PointLabels {
  t: Translate;
  source: (s: RunSource) => string;
  /** a date and time, from ms since the epoch */
  when: (ms: number) => string;
}

/** "3 of 12: bert-base-finetune; 1.2 kg CO₂eq; terminal; started 23 Nov 2026, 14:07" for the runs chart's point. */
export function describeRunPoint(
  chart: RunsChart,
  p: RunsChartPoint,
  position: number,
  count: number,
  l: PointLabels,
): string {
  const s = chart.series[p.series];
  if (!s || !(p.index >= 0 && p.index < s.t.length)) return '';
  return l.t(
    '{0} of {1}: {2}; {3} CO₂eq; {4}; started {5}',
    position + 1,
    count,
    s.name[p.index],
    formatCo2(s.kg[p.index]),
    l.source(s.source),
    l.when(s.t[p.index] * 1000),
  );
}

/** "at 1 h 20 min: CPU 85 W, GPU 250 W, RAM 12 W; 120 g CO₂eq so far" for the power chart's i-th sample. */
export function describePowerPoint(p: PowerSeries, i: number, t: Translate): string {
  if (!(i >= 0 && i < p.t.length)) return '';
  return t(
    'at {0}: CPU {1}, GPU {2}, RAM {3}; {4} CO₂eq so far',
    formatDuration(p.t[i]),
    formatPower(p.cpuW[i]),
    formatPower(p.gpuW[i]),
    formatPower(p.ramW[i]),
    formatCo2(p.co2Kg[i]),
  );
}

/** "at 2 h: 312 gCO₂eq/kWh" for the intensity chart's i-th sample. */
export function describeIntensityPoint(tS: readonly number[], g: readonly number[], i: number, t: Translate): string {
  if (!(i >= 0 && i < tS.length)) return '';
  return t('at {0}: {1}', formatDuration(tS[i]), formatIntensity(g[i]));
}
