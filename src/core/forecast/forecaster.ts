/**
 * Predicts a run's final energy and emissions from its progress (what Carbontracker does from the first epoch, but
 * from the progress the run prints, so any training loop works).
 *
 *   predicted = energy at the latest progress + (energy per unit of progress since progress began) × progress left
 *
 * The rate is measured from the first progress seen, so a set-up phase (imports, loading data, compiling) that comes
 * before the first epoch is counted once, in the energy so far, and never extrapolated. The energy at a progress
 * point is interpolated between the two meter readings around it (progress lines arrive between ticks; the run's
 * start is a reading of zero), so the forecast does not depend on when in a tick a line was printed. Emissions use
 * the run's emissions per kWh since progress began (time-resolved intensities included).
 *
 * Pure: no clock, no I/O. Times are whatever the caller uses (ms since epoch in the meter, a test's own clock).
 */

/** One forecast, as kept in the run record (`forecasts`). */
export interface ForecastPoint {
  /** ms since epoch */
  t: number;
  /** 0–1 */
  progress: number;
  predictedKWh: number;
  predictedKg: number;
}

/** A meter reading: cumulative energy (PUE included) and emissions at time t. */
export interface EnergyObservation {
  t: number;
  energyKWh: number;
  emissionsKg: number;
  /**
   * When the run started, with no energy yet: progress printed before the first reading is interpolated from there.
   * Without it, such progress takes the whole of the first reading's energy, as if all of it had been spent before
   * the progress line (a set-up phase shorter than a tick would then seem to cost a tick's energy).
   */
  startT?: number;
}

export interface Forecast extends ForecastPoint {
  /** "epoch 3/20" */
  label: string;
  /** energy and emissions at the progress point the forecast starts from */
  energyKWh: number;
  emissionsKg: number;
}

export interface ForecasterOptions {
  /** the least progress between the first progress and the latest before a forecast is made (default 0.01) */
  minSpan?: number;
  /** the most points kept in `series` (default 120) */
  maxPoints?: number;
}

interface ProgressAt {
  t: number;
  progress: number;
  label: string;
  energyKWh: number;
  emissionsKg: number;
}

export class RunForecaster {
  private last?: EnergyObservation;
  private waiting: { t: number; progress: number; label: string }[] = [];
  private anchor?: ProgressAt;
  private latest?: ProgressAt;
  private _current?: Forecast;
  private readonly points: ForecastPoint[] = [];
  private readonly minSpan: number;
  private readonly maxPoints: number;

  constructor(opts: ForecasterOptions = {}) {
    this.minSpan = opts.minSpan ?? 0.01;
    this.maxPoints = Math.max(4, opts.maxPoints ?? 120);
  }

  /** The latest forecast, or undefined before there is enough progress. */
  get current(): Forecast | undefined {
    return this._current;
  }

  /** Forecasts made so far, bounded (a point per 0.5 % of progress at most, thinned evenly past `maxPoints`). */
  get series(): ForecastPoint[] {
    return this.points.slice();
  }

  /** The run reached `progress` (0–1) at time t. Its energy is known at the next reading. */
  observeProgress(t: number, progress: number, label = ''): void {
    if (!(progress >= 0 && progress <= 1) || !Number.isFinite(t)) return;
    const prev = this.waiting.length ? this.waiting[this.waiting.length - 1].progress : (this.latest?.progress ?? -1);
    if (progress <= prev) return;
    if (this.last && t <= this.last.t) {
      // printed before the latest reading we already have: take that reading's figures (the tick has passed)
      this.resolve({ t, progress, label, energyKWh: this.last.energyKWh, emissionsKg: this.last.emissionsKg });
      return;
    }
    this.waiting.push({ t, progress, label });
  }

  /** A meter reading. Returns the new forecast when it changed. */
  observeEnergy(o: EnergyObservation): Forecast | undefined {
    if (!Number.isFinite(o.t) || !Number.isFinite(o.energyKWh) || (this.last && o.t < this.last.t)) return undefined;
    const before = this._current;
    const prev =
      this.last ??
      (o.startT !== undefined && o.startT <= o.t ? { t: o.startT, energyKWh: 0, emissionsKg: 0 } : undefined);
    while (this.waiting.length && this.waiting[0].t <= o.t) {
      const w = this.waiting.shift()!;
      const f = prev && o.t > prev.t ? Math.max(0, Math.min(1, (w.t - prev.t) / (o.t - prev.t))) : 1;
      const base = prev ?? { energyKWh: 0, emissionsKg: 0 };
      this.resolve({
        ...w,
        energyKWh: base.energyKWh + f * (o.energyKWh - base.energyKWh),
        emissionsKg: base.emissionsKg + f * (o.emissionsKg - base.emissionsKg),
      });
    }
    this.last = o;
    // a run never ends below what it has already spent: a run past its last progress line (a long last epoch,
    // saving or evaluating after the loop) is forecast at least at its energy and emissions so far
    const c = this._current;
    if (c && (o.energyKWh > c.predictedKWh || o.emissionsKg > c.predictedKg)) {
      this._current = {
        ...c,
        predictedKWh: Math.max(c.predictedKWh, o.energyKWh),
        predictedKg: Math.max(c.predictedKg, o.emissionsKg),
      };
    }
    return this._current !== before ? this._current : undefined;
  }

  private resolve(p: ProgressAt): void {
    if (!this.anchor) {
      this.anchor = p;
      this.latest = p;
      if (p.progress >= 1) this.make(p, 0, 0);
      return;
    }
    this.latest = p;
    const span = p.progress - this.anchor.progress;
    if (p.progress >= 1) return this.make(p, 0, 0);
    if (span < this.minSpan) return;
    const kwhPerUnit = Math.max(0, (p.energyKWh - this.anchor.energyKWh) / span);
    const kgPerUnit = Math.max(0, (p.emissionsKg - this.anchor.emissionsKg) / span);
    this.make(p, kwhPerUnit, kgPerUnit);
  }

  private make(p: ProgressAt, kwhPerUnit: number, kgPerUnit: number): void {
    const left = 1 - p.progress;
    const f: Forecast = {
      t: p.t,
      progress: p.progress,
      predictedKWh: p.energyKWh + kwhPerUnit * left,
      predictedKg: p.emissionsKg + kgPerUnit * left,
      label: p.label,
      energyKWh: p.energyKWh,
      emissionsKg: p.emissionsKg,
    };
    this._current = f;
    this.keep({
      t: f.t,
      progress: round(f.progress, 4),
      predictedKWh: round(f.predictedKWh, 9),
      predictedKg: round(f.predictedKg, 9),
    });
  }

  private keep(pt: ForecastPoint): void {
    const lastKept = this.points[this.points.length - 1];
    if (lastKept && pt.progress - lastKept.progress < 0.005 && pt.progress < 1) return;
    this.points.push(pt);
    if (this.points.length > this.maxPoints) {
      // drop every second point but the first and the last: the series stays even over the run
      const thinned = this.points.filter((_, i) => i === 0 || i === this.points.length - 1 || i % 2 === 0);
      this.points.splice(0, this.points.length, ...thinned);
    }
  }
}

function round(x: number, digits: number): number {
  const m = 10 ** digits;
  return Math.round(x * m) / m;
}

/** Energy ÷ progress, what a forecast that ignores a set-up phase would say (for comparisons). */
export function naiveForecastKWh(energyKWh: number, progress: number): number | undefined {
  return progress > 0 ? energyKWh / progress : undefined;
}
