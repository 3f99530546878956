/**
 * Greener-time advice from a forecast of carbon intensity (Dodge et al. 2022, FAccT '22: "Flexible Start" and
 * "Pause and Resume"; the Green Software Foundation's Carbon Aware SDK: the best window is the lowest rolling
 * average of forecast intensity over the job's duration).
 *
 * - `bestStartTime`: for a run of a given duration and power profile, the start in the next 24/48 h (within what
 *   the forecast covers) that minimises Σ P(τ) × I(start + τ) dτ, and the saving against starting now. The
 *   intensity is piecewise constant and so is the profile, so the emissions are piecewise linear in the start time:
 *   the minimum is at a start where a profile step meets a forecast step. Every such start is evaluated exactly;
 *   for a constant power this is exactly the lowest rolling mean of the forecast over the run's duration.
 * - `pauseAboveThreshold`: for long runs, run only in the cleanest periods of a window (at most `maxStretch` × the
 *   duration, 2× as in Dodge et al.), i.e. pause whenever the intensity is above a threshold; the saving.
 * - `intensityLevel`: is now a high-intensity period (for a notification when a training run starts)?
 *
 * Plain functions of numbers: no clock, no network. Power in W (PUE included), intensity in gCO₂eq/kWh.
 */
import { formatPercent } from '../format';
import type { ForecastResult, IntensityPoint } from '../intensity/live/types';
import type { RegionInfo } from '../intensity/regions';

/** A step of a run's power: `powerW` (PUE included) for `durationS` seconds. */
export interface PowerSegment {
  durationS: number;
  powerW: number;
}

export interface StartTimeAdvice {
  startMs: number;
  endMs: number;
  /** true when no later start is better than starting now */
  startsNow: boolean;
  /** emissions if started at `startMs`, kg */
  emissionsKg: number;
  /** emissions if started now, kg */
  nowEmissionsKg: number;
  savingKg: number;
  /** saving ÷ emissions now, 0–1 */
  savingFraction: number;
  /** energy-weighted mean intensity when started at `startMs` / now, gCO₂eq/kWh */
  meanGPerKWh: number;
  nowMeanGPerKWh: number;
  energyKWh: number;
  /** the window searched: starts from now to now + horizonH, the run ending before the forecast does */
  horizonH: number;
  coveredUntilMs: number;
}

export interface PauseAdvice {
  /** the run is paused while the intensity is above this, gCO₂eq/kWh */
  thresholdGPerKWh: number;
  /** when it runs: merged periods */
  schedule: { fromMs: number; toMs: number }[];
  finishMs: number;
  /** time spent paused, s */
  pausedS: number;
  emissionsKg: number;
  nowEmissionsKg: number;
  savingKg: number;
  savingFraction: number;
  maxStretch: number;
}

const MS_PER_KWH_W = 3.6e9; // 1 kWh = 3.6e9 W·ms

/** A piecewise-constant intensity over time, with its integral and its gaps. */
export class IntensityCurve {
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  readonly g: number[] = [];
  /** ∫ I dt from starts[0] to starts[i] (gaps count 0), (g/kWh)·ms */
  private readonly prefix: number[] = [];
  /** periods the forecast does not cover, between its first and last value */
  private readonly gaps: [number, number][] = [];

  constructor(points: readonly IntensityPoint[]) {
    const sorted = points
      .filter((p) => p.toMs > p.fromMs && Number.isFinite(p.gPerKWh))
      .sort((a, b) => a.fromMs - b.fromMs);
    for (let i = 0; i < sorted.length; i++) {
      const p = sorted[i];
      const start = Math.max(p.fromMs, this.ends.length ? this.ends[this.ends.length - 1] : -Infinity);
      const end = i + 1 < sorted.length ? Math.min(p.toMs, sorted[i + 1].fromMs) : p.toMs;
      if (end <= start) continue;
      if (this.ends.length && start > this.ends[this.ends.length - 1])
        this.gaps.push([this.ends[this.ends.length - 1], start]);
      this.prefix.push(
        this.starts.length
          ? this.prefix[this.prefix.length - 1] +
              this.g[this.g.length - 1] * (this.ends[this.ends.length - 1] - this.starts[this.starts.length - 1])
          : 0,
      );
      this.starts.push(start);
      this.ends.push(end);
      this.g.push(p.gPerKWh);
    }
  }

  get coveredFromMs(): number {
    return this.starts.length ? this.starts[0] : NaN;
  }

  get coveredUntilMs(): number {
    return this.ends.length ? this.ends[this.ends.length - 1] : NaN;
  }

  /** index of the last segment starting at or before x, or −1 */
  private seg(x: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid] <= x) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  private cumulative(x: number): number {
    const i = this.seg(x);
    if (i < 0) return 0;
    return this.prefix[i] + this.g[i] * (Math.min(x, this.ends[i]) - this.starts[i]);
  }

  /** Whether [a, b] is covered without a gap. */
  covers(a: number, b: number): boolean {
    if (!this.starts.length || a < this.starts[0] || b > this.coveredUntilMs) return false;
    for (const [from, to] of this.gaps) if (from < b && to > a) return false;
    return true;
  }

  /** ∫ₐᵇ I dt in (g/kWh)·ms, or undefined when [a, b] is not fully covered. */
  integral(a: number, b: number): number | undefined {
    if (b < a || !this.covers(a, b)) return undefined;
    return this.cumulative(b) - this.cumulative(a);
  }

  /** Emissions in grams of a power profile started at `startMs`, or undefined when the forecast does not cover it. */
  emissionsG(startMs: number, profile: readonly PowerSegment[]): number | undefined {
    let t = startMs;
    let g = 0;
    for (const s of profile) {
      const end = t + s.durationS * 1000;
      const i = this.integral(t, end);
      if (i === undefined) return undefined;
      g += (s.powerW * i) / MS_PER_KWH_W;
      t = end;
    }
    return g;
  }
}

export function profileEnergyKWh(profile: readonly PowerSegment[]): number {
  return profile.reduce((e, s) => e + (s.powerW * s.durationS) / 3.6e6, 0);
}

export function profileDurationS(profile: readonly PowerSegment[]): number {
  return profile.reduce((d, s) => d + s.durationS, 0);
}

/** A run's profile at its mean power (energy includes PUE). */
export function profileFromRun(run: { durationS: number; energyKWh: { total: number } }): PowerSegment[] {
  if (!(run.durationS > 0)) return [];
  return [{ durationS: run.durationS, powerW: (run.energyKWh.total * 3.6e6) / run.durationS }];
}

/** A run's profile from its samples (power before PUE at each sample time), in at most `maxSegments` steps. */
export function profileFromSamples(
  samples: readonly { t: number; cpuW: number; gpuW: number; ramW: number }[],
  startedAtMs: number,
  pue = 1,
  maxSegments = 48,
): PowerSegment[] {
  const raw: PowerSegment[] = [];
  let prev = startedAtMs;
  for (const s of samples) {
    const d = (s.t - prev) / 1000;
    if (d > 0) raw.push({ durationS: d, powerW: (s.cpuW + s.gpuW + s.ramW) * pue });
    prev = Math.max(prev, s.t);
  }
  return coarsen(raw, maxSegments);
}

/** Merges a profile into at most `n` steps of equal duration, keeping its energy. */
export function coarsen(profile: readonly PowerSegment[], n: number): PowerSegment[] {
  if (profile.length <= n) return profile.slice();
  const total = profileDurationS(profile);
  const step = total / n;
  const out: PowerSegment[] = [];
  let i = 0;
  let used = 0; // seconds of profile[i] already taken
  for (let k = 0; k < n; k++) {
    let need = k === n - 1 ? Infinity : step;
    let energy = 0;
    let took = 0;
    while (need > 1e-12 && i < profile.length) {
      const left = profile[i].durationS - used;
      const take = Math.min(left, need);
      energy += take * profile[i].powerW;
      took += take;
      need -= take;
      used += take;
      if (used >= profile[i].durationS - 1e-12) {
        i++;
        used = 0;
      }
    }
    if (took > 0) out.push({ durationS: took, powerW: energy / took });
  }
  return out;
}

export interface StartTimeOptions {
  nowMs: number;
  /** latest start, hours from now (24 by default; 48 where the forecast reaches) */
  horizonH?: number;
}

/** The best start time in the next `horizonH` hours; undefined when the forecast does not cover a run from now. */
export function bestStartTime(
  points: readonly IntensityPoint[],
  profile: readonly PowerSegment[],
  opts: StartTimeOptions,
): StartTimeAdvice | undefined {
  const prof = coarsen(
    profile.filter((s) => s.durationS > 0),
    48,
  );
  if (!prof.length) return undefined;
  const curve = new IntensityCurve(points);
  const now = opts.nowMs;
  const horizonH = opts.horizonH ?? 24;
  const durMs = profileDurationS(prof) * 1000;
  const energyKWh = profileEnergyKWh(prof);
  const nowG = curve.emissionsG(now, prof);
  if (nowG === undefined || energyKWh <= 0) return undefined;
  const latest = Math.min(now + horizonH * 3_600_000, curve.coveredUntilMs - durMs);

  const offsets: number[] = [0];
  for (const s of prof) offsets.push(offsets[offsets.length - 1] + s.durationS * 1000);
  const boundaries = new Set<number>();
  for (let i = 0; i < curve.starts.length; i++) {
    boundaries.add(curve.starts[i]);
    boundaries.add(curve.ends[i]);
  }
  let bestStart = now;
  let bestG = nowG;
  const candidates = new Set<number>();
  for (const b of boundaries) for (const o of offsets) candidates.add(b - o);
  for (const s of [...candidates].sort((a, b) => a - b)) {
    if (s <= now || s > latest) continue;
    const g = curve.emissionsG(s, prof);
    // strictly better by more than rounding: ties keep the earlier start
    if (g !== undefined && g < bestG - Math.abs(bestG) * 1e-12) {
      bestG = g;
      bestStart = s;
    }
  }
  const saving = nowG - bestG;
  return {
    startMs: bestStart,
    endMs: bestStart + durMs,
    startsNow: bestStart === now,
    emissionsKg: bestG / 1000,
    nowEmissionsKg: nowG / 1000,
    savingKg: saving / 1000,
    savingFraction: nowG > 0 ? saving / nowG : 0,
    meanGPerKWh: bestG / energyKWh,
    nowMeanGPerKWh: nowG / energyKWh,
    energyKWh,
    horizonH,
    coveredUntilMs: curve.coveredUntilMs,
  };
}

export interface PauseOptions {
  nowMs: number;
  /** the run may take up to this many times its duration (default 2, as in Dodge et al.) */
  maxStretch?: number;
  /** only runs at least this long are worth pausing (default 1 h) */
  minDurationS?: number;
}

/**
 * Pause-and-resume for a long run at its mean power: within [now, now + maxStretch × duration] (and the forecast),
 * run in the cleanest periods until the run's time is done; that is pausing whenever the intensity is above the
 * threshold (the dirtiest period still used). Undefined for short runs or when the forecast is too short.
 */
export function pauseAboveThreshold(
  points: readonly IntensityPoint[],
  profile: readonly PowerSegment[],
  opts: PauseOptions,
): PauseAdvice | undefined {
  const durS = profileDurationS(profile);
  const minS = opts.minDurationS ?? 3600;
  const stretch = Math.max(1, opts.maxStretch ?? 2);
  if (!(durS > 0) || durS < minS) return undefined;
  const energyKWh = profileEnergyKWh(profile);
  const meanW = (energyKWh * 3.6e6) / durS;
  const curve = new IntensityCurve(points);
  const now = opts.nowMs;
  const durMs = durS * 1000;
  const nowInt = curve.integral(now, now + durMs);
  if (nowInt === undefined) return undefined;
  const windowEnd = Math.min(now + stretch * durMs, curve.coveredUntilMs);
  const slots: { fromMs: number; toMs: number; g: number }[] = [];
  for (let i = 0; i < curve.starts.length; i++) {
    const from = Math.max(curve.starts[i], now);
    const to = Math.min(curve.ends[i], windowEnd);
    if (to > from) slots.push({ fromMs: from, toMs: to, g: curve.g[i] });
  }
  slots.sort((a, b) => a.g - b.g || a.fromMs - b.fromMs);
  let need = durMs;
  let integral = 0;
  let threshold = 0;
  const chosen: { fromMs: number; toMs: number }[] = [];
  for (const s of slots) {
    if (need <= 0) break;
    const take = Math.min(need, s.toMs - s.fromMs);
    chosen.push({ fromMs: s.fromMs, toMs: s.fromMs + take });
    integral += take * s.g;
    threshold = s.g;
    need -= take;
  }
  if (need > 1e-6) return undefined; // the window holds less forecast than the run needs
  chosen.sort((a, b) => a.fromMs - b.fromMs);
  const schedule: { fromMs: number; toMs: number }[] = [];
  for (const c of chosen) {
    const last = schedule[schedule.length - 1];
    if (last && last.toMs === c.fromMs) last.toMs = c.toMs;
    else schedule.push({ ...c });
  }
  const finishMs = schedule[schedule.length - 1].toMs;
  const g = (meanW * integral) / MS_PER_KWH_W;
  const nowG = (meanW * nowInt) / MS_PER_KWH_W;
  return {
    thresholdGPerKWh: threshold,
    schedule,
    finishMs,
    pausedS: (finishMs - now - durMs) / 1000,
    emissionsKg: g / 1000,
    nowEmissionsKg: nowG / 1000,
    savingKg: (nowG - g) / 1000,
    savingFraction: nowG > 0 ? (nowG - g) / nowG : 0,
    maxStretch: stretch,
  };
}

export type IntensityLevel = 'low' | 'moderate' | 'high';

export interface LevelInput {
  /** intensity in force now, gCO₂eq/kWh */
  currentGPerKWh: number;
  /** the forecast from now (the next 24 h are used) */
  forecast?: readonly IntensityPoint[];
  nowMs: number;
  /** the provider's band for now (GB: "very low" … "very high") */
  index?: string;
  /** WattTime signal index, percentile 0–100 */
  signalIndex?: number;
}

/**
 * Whether now is a high-intensity period: the provider's own band where it gives one (GB index, WattTime
 * percentile ≥ 70); else where the current value stands in the next 24 h of forecast (high: at least 70 % of the
 * time is cleaner, and it is 10 % above the mean). Undefined when there is nothing to compare with.
 */
export function intensityLevel(input: LevelInput): { level: IntensityLevel; reason: string } | undefined {
  if (input.index) {
    const i = input.index.toLowerCase();
    if (i === 'high' || i === 'very high') return { level: 'high', reason: `the grid operator's index is "${i}"` };
    if (i === 'low' || i === 'very low') return { level: 'low', reason: `the grid operator's index is "${i}"` };
    return { level: 'moderate', reason: `the grid operator's index is "${i}"` };
  }
  if (input.signalIndex !== undefined) {
    const v = input.signalIndex;
    const reason = `WattTime's signal index is ${v}/100`;
    return { level: v >= 70 ? 'high' : v <= 30 ? 'low' : 'moderate', reason };
  }
  if (!input.forecast?.length) return undefined;
  const curve = new IntensityCurve(input.forecast);
  const from = Math.max(input.nowMs, curve.coveredFromMs);
  const to = Math.min(input.nowMs + 24 * 3_600_000, curve.coveredUntilMs);
  if (!(to > from)) return undefined;
  let cleaner = 0;
  let total = 0;
  let integral = 0;
  for (let i = 0; i < curve.starts.length; i++) {
    const a = Math.max(curve.starts[i], from);
    const b = Math.min(curve.ends[i], to);
    if (b <= a) continue;
    total += b - a;
    integral += (b - a) * curve.g[i];
    if (curve.g[i] < input.currentGPerKWh) cleaner += b - a;
  }
  if (!total) return undefined;
  const mean = integral / total;
  const share = cleaner / total;
  const reason = `${Math.round(share * 100)} % of the next ${Math.round(total / 3_600_000)} h is forecast cleaner (mean ${Math.round(mean)} g/kWh)`;
  if (share >= 0.7 && input.currentGPerKWh >= mean * 1.1) return { level: 'high', reason };
  if (share <= 0.3 && input.currentGPerKWh <= mean * 0.9) return { level: 'low', reason };
  return { level: 'moderate', reason };
}

/** "03:00" in the given time zone; with the weekday ("Tue 03:00") when it is not the same day as `nowMs`. */
export function formatClock(ms: number, nowMs: number, timeZone?: string): string {
  const time = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false, timeZone }).format(
    ms,
  );
  const day = (x: number) =>
    new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone }).format(x);
  if (day(ms) === day(nowMs)) return time;
  const weekday = new Intl.DateTimeFormat('en-GB', { weekday: 'short', timeZone }).format(ms);
  return `${weekday} ${time}`;
}

/** "start at 03:00: −38 %", or "now is the cleanest time in the next 24 h". */
export function formatStartTimeTip(advice: StartTimeAdvice, nowMs: number, timeZone?: string): string {
  if (advice.startsNow || advice.savingFraction <= 0)
    return `now is the cleanest time to start in the next ${advice.horizonH} h`;
  return `start at ${formatClock(advice.startMs, nowMs, timeZone)}: ${formatPercent(-advice.savingFraction)}`;
}

/** "pause while above 250 g/kWh: −21 %, finishing Tue 07:30". */
export function formatPauseTip(advice: PauseAdvice, nowMs: number, timeZone?: string): string {
  return `pause while above ${Math.round(advice.thresholdGPerKWh)} g/kWh: ${formatPercent(-advice.savingFraction)}, finishing ${formatClock(advice.finishMs, nowMs, timeZone)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// For a run: ask the provider for its forecast, then the tips.

export interface ForecastSource {
  forecast(region: RegionInfo, t: number, horizonH?: number): Promise<ForecastResult>;
  readonly forecastHorizonH?: number;
}

export type GreenerTimeForRun =
  | {
      kind: 'tips';
      start: StartTimeAdvice;
      /** only for long runs */
      pause?: PauseAdvice;
      factorType: 'average' | 'marginal';
      source: string;
    }
  | { kind: 'unavailable'; reason: string };

/**
 * Greener-time tips for a run like `run` (its duration and power profile) starting now in `region`: the best start
 * in the provider's forecast horizon (24 h, 48 h for GB) and, for long runs, pausing above a threshold.
 */
export async function greenerTimeForRun(
  provider: ForecastSource,
  region: RegionInfo,
  profile: readonly PowerSegment[],
  nowMs: number,
  opts: { horizonH?: number; maxStretch?: number; minPauseDurationS?: number } = {},
): Promise<GreenerTimeForRun> {
  const horizonH = opts.horizonH ?? provider.forecastHorizonH ?? 24;
  const f = await provider.forecast(
    region,
    nowMs,
    horizonH + (profileDurationS(profile) / 3600) * (opts.maxStretch ?? 2),
  );
  if (!f.ok) return { kind: 'unavailable', reason: f.reason };
  const start = bestStartTime(f.points, profile, { nowMs, horizonH });
  if (!start)
    return {
      kind: 'unavailable',
      reason: `the forecast (until ${new Date(f.coveredUntilMs).toISOString()}) does not cover a run this long from now`,
    };
  const pause = pauseAboveThreshold(f.points, profile, {
    nowMs,
    maxStretch: opts.maxStretch,
    minDurationS: opts.minPauseDurationS,
  });
  return { kind: 'tips', start, pause, factorType: f.factorType, source: f.source };
}
