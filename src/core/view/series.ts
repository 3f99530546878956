/**
 * Chart series, bounded in size whatever the history holds:
 * - the runs chart: CO₂eq per run over time, one series per source, at most `max` points in all (default 1,200);
 *   when there are more runs, each series keeps, per equal slice of time, its least and its most emitting run, so
 *   the envelope and the outliers stay visible and every point is still a real run;
 * - a run's power over time: CPU, GPU and RAM (before PUE), the cumulative CO₂eq and the intensity, decimated with
 *   core/history/decimate.ts to at most 2,000 points per series (energy and energy × intensity are preserved).
 */
import { DEFAULT_MAX_SAMPLES, decimateSamples } from '../history/decimate';
import type { Run, RunSource, Sample } from '../types';
import { J_PER_KWH } from '../types';
import { RUN_SOURCES } from './table';

export const MAX_RUN_POINTS = 1200;
export const MAX_POWER_POINTS = DEFAULT_MAX_SAMPLES;
/** Names on the runs chart (tooltips) are cut to this many characters. */
export const CHART_NAME_CHARS = 24;

/** Significant digits kept in chart numbers (the chart is a picture; the table and the detail have exact figures). */
function sig4(x: number): number {
  if (!Number.isFinite(x) || x === 0) return 0;
  return Number(x.toPrecision(4));
}

export interface RunsChartSeries {
  source: RunSource;
  /** start of each run, seconds since epoch */
  t: number[];
  /** emissions of each run, kg CO₂eq (4 significant digits) */
  kg: number[];
  id: string[];
  /** name cut to CHART_NAME_CHARS */
  name: string[];
  /** runs of this source with emissions above 0 (the points shown may be fewer) */
  count: number;
}

export interface RunsChart {
  series: RunsChartSeries[];
  /** points in all series */
  shown: number;
  /** runs with emissions above 0 */
  total: number;
  /** runs with no emissions (not drawn: the scale is logarithmic) */
  zero: number;
}

interface P {
  run: Run;
  t: number;
  kg: number;
}

function keepEnvelope(points: P[], max: number): P[] {
  if (points.length <= max) return points;
  if (max <= 0) return [];
  if (max === 1) return [points.reduce((a, b) => (b.kg > a.kg ? b : a))];
  points.sort((a, b) => a.t - b.t);
  const buckets = Math.floor(max / 2);
  const t0 = points[0].t;
  const span = points[points.length - 1].t - t0;
  const lo: (P | undefined)[] = new Array(buckets);
  const hi: (P | undefined)[] = new Array(buckets);
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    const k =
      span > 0
        ? Math.min(buckets - 1, Math.floor(((p.t - t0) / span) * buckets))
        : Math.floor((i * buckets) / points.length);
    if (!lo[k] || p.kg < lo[k]!.kg) lo[k] = p;
    if (!hi[k] || p.kg > hi[k]!.kg) hi[k] = p;
  }
  const out: P[] = [];
  for (let k = 0; k < buckets; k++) {
    const a = lo[k];
    const b = hi[k];
    if (a && b && a !== b) out.push(a.t <= b.t ? a : b, a.t <= b.t ? b : a);
    else if (a) out.push(a);
  }
  return out;
}

/** CO₂eq per run over time, by source. */
export function runsChart(runs: readonly Run[], max: number = MAX_RUN_POINTS): RunsChart {
  const bySource = new Map<RunSource, P[]>();
  let zero = 0;
  for (const run of runs) {
    const kg = run.emissionsKg;
    const t = Date.parse(run.startedAt);
    if (!(Number.isFinite(kg) && kg > 0) || !Number.isFinite(t)) {
      zero++;
      continue;
    }
    let list = bySource.get(run.source);
    if (!list) bySource.set(run.source, (list = []));
    list.push({ run, t, kg });
  }
  const total = runs.length - zero;
  const limit = Math.max(0, Math.floor(max));
  // each source gets a share of the points in proportion to its runs (at least 2 while any are left)
  const sources = RUN_SOURCES.filter((s) => bySource.has(s));
  const series: RunsChartSeries[] = [];
  let shown = 0;
  let budget = limit;
  let remaining = total;
  for (const source of sources) {
    const points = bySource.get(source)!;
    const share = remaining > 0 ? Math.max(Math.min(2, budget), Math.floor((budget * points.length) / remaining)) : 0;
    remaining -= points.length;
    const kept = keepEnvelope(points, Math.min(share, budget)).sort((a, b) => a.t - b.t);
    budget -= kept.length;
    shown += kept.length;
    series.push({
      source,
      t: kept.map((p) => Math.round(p.t / 1000)),
      kg: kept.map((p) => sig4(p.kg)),
      id: kept.map((p) => p.run.id),
      name: kept.map((p) =>
        p.run.name.length > CHART_NAME_CHARS ? p.run.name.slice(0, CHART_NAME_CHARS - 1) + '…' : p.run.name,
      ),
      count: points.length,
    });
  }
  return { series, shown, total, zero };
}

export interface PowerSeries {
  /** ms since epoch of t = 0 (the run's start) */
  t0: number;
  /** seconds since t0 (0.1 s resolution) */
  t: number[];
  /** before PUE, W */
  cpuW: number[];
  gpuW: number[];
  ramW: number[];
  /** cumulative emissions at each point, kg CO₂eq (PUE and the intensity of each sample included) */
  co2Kg: number[];
  /** intensity of each point, gCO₂eq/kWh; only when it varies over the run (a time-resolved source) */
  gPerKWh?: number[];
  /** samples in the run's sample file */
  sampleCount: number;
}

/**
 * A run's power series from its samples, at most `max` points per series. The first sample's interval starts at the
 * run's start; a sample without an intensity uses the run's.
 */
export function powerSeries(
  run: Run,
  samples: readonly Sample[],
  max: number = MAX_POWER_POINTS,
): PowerSeries | undefined {
  const clean = samples.filter(
    (s) => Number.isFinite(s.t) && Number.isFinite(s.cpuW) && Number.isFinite(s.gpuW) && Number.isFinite(s.ramW),
  );
  if (!clean.length) return undefined;
  const pts = decimateSamples(clean, Math.max(2, Math.min(max, MAX_POWER_POINTS)));
  const started = Date.parse(run.startedAt);
  const t0 = Number.isFinite(started) ? Math.min(started, pts[0].t) : pts[0].t;
  const pue = run.pue > 0 ? run.pue : 1;
  const t: number[] = [];
  const cpuW: number[] = [];
  const gpuW: number[] = [];
  const ramW: number[] = [];
  const co2Kg: number[] = [];
  const g: number[] = [];
  let prev = t0;
  let cumG = 0;
  let gMin = Infinity;
  let gMax = -Infinity;
  for (const s of pts) {
    const dtS = Math.max(0, (s.t - prev) / 1000);
    prev = s.t;
    const intensity = s.gPerKWh !== undefined && Number.isFinite(s.gPerKWh) ? s.gPerKWh : run.intensity.gPerKWh;
    cumG += (((s.cpuW + s.gpuW + s.ramW) * dtS * pue) / J_PER_KWH) * intensity;
    t.push(Math.round((s.t - t0) / 100) / 10);
    cpuW.push(sig4(s.cpuW));
    gpuW.push(sig4(s.gpuW));
    ramW.push(sig4(s.ramW));
    co2Kg.push(sig4(cumG / 1000));
    g.push(sig4(intensity));
    if (intensity < gMin) gMin = intensity;
    if (intensity > gMax) gMax = intensity;
  }
  const varies = run.intensity.method === 'time-resolved' || gMax - gMin > 1e-3 * Math.max(1, Math.abs(gMax));
  const out: PowerSeries = { t0, t, cpuW, gpuW, ramW, co2Kg, sampleCount: samples.length };
  if (varies) out.gPerKWh = g;
  return out;
}
