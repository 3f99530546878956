/**
 * Totals of the history for the panel's header: today, this week, this month and all time, with everyday
 * equivalents. Periods are calendar periods in the local time of the process (the week starts on Monday, ISO 8601);
 * a run counts in the period in which it started. Running runs count with their figures so far.
 */
import { EQUIVALENT_FACTORS, kmByCar, smartphoneCharges } from '../equivalents';
import { nonNegative } from '../advice/energy';
import type { Run } from '../types';

export type Period = 'today' | 'week' | 'month' | 'all';
export const PERIODS: readonly Period[] = ['today', 'week', 'month', 'all'];

export interface PeriodTotals {
  period: Period;
  /** Start of the period, ms since epoch (undefined for all time). */
  fromMs?: number;
  runs: number;
  /** of which still running */
  running: number;
  emissionsKg: number;
  /** energy including PUE, as the runs report it */
  energyKWh: number;
  /** km by an average passenger car for the same CO₂eq (EPA) */
  carKm: number;
  /** smartphone charges for the same CO₂eq (EPA) */
  smartphoneCharges: number;
}

export interface EquivalentSource {
  unit: string;
  source: string;
  url: string;
  year: number;
}

/** The factors behind the equivalents, for tooltips. */
export function equivalentSources(): { carKm: EquivalentSource; smartphoneCharge: EquivalentSource } {
  const pick = (f: (typeof EQUIVALENT_FACTORS)[keyof typeof EQUIVALENT_FACTORS]): EquivalentSource => ({
    unit: f.unit,
    source: f.source,
    url: f.url,
    year: f.year,
  });
  return { carKm: pick(EQUIVALENT_FACTORS.carKm), smartphoneCharge: pick(EQUIVALENT_FACTORS.smartphoneCharge) };
}

/** Local midnight of the day, of the Monday of the week, and of the 1st of the month that hold `now`. */
export function periodStarts(now: number): Record<Exclude<Period, 'all'>, number> {
  const d = new Date(now);
  const today = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const sinceMonday = (d.getDay() + 6) % 7; // Monday 0 … Sunday 6
  const week = new Date(d.getFullYear(), d.getMonth(), d.getDate() - sinceMonday).getTime();
  const month = new Date(d.getFullYear(), d.getMonth(), 1).getTime();
  return { today, week, month };
}

/** Totals per period, in the order of PERIODS. One pass over the runs. */
export function periodTotals(runs: readonly Run[], now: number = Date.now()): PeriodTotals[] {
  const starts = periodStarts(now);
  const acc: Record<Period, { runs: number; running: number; kg: number; kWh: number }> = {
    today: { runs: 0, running: 0, kg: 0, kWh: 0 },
    week: { runs: 0, running: 0, kg: 0, kWh: 0 },
    month: { runs: 0, running: 0, kg: 0, kWh: 0 },
    all: { runs: 0, running: 0, kg: 0, kWh: 0 },
  };
  const add = (p: Period, run: Run, kg: number, kWh: number) => {
    const a = acc[p];
    a.runs++;
    if (run.status === 'running') a.running++;
    a.kg += kg;
    a.kWh += kWh;
  };
  for (const run of runs) {
    const t = Date.parse(run.startedAt);
    const kg = nonNegative(run.emissionsKg);
    const kWh = nonNegative(run.energyKWh.total);
    add('all', run, kg, kWh);
    if (!(t >= starts.month)) continue;
    add('month', run, kg, kWh);
    if (t >= starts.week) add('week', run, kg, kWh);
    if (t >= starts.today) add('today', run, kg, kWh);
  }
  return PERIODS.map((period) => {
    const a = acc[period];
    return {
      period,
      fromMs: period === 'all' ? undefined : starts[period],
      runs: a.runs,
      running: a.running,
      emissionsKg: a.kg,
      energyKWh: a.kWh,
      carKm: kmByCar(a.kg),
      smartphoneCharges: smartphoneCharges(a.kg),
    };
  });
}

/**
 * Today's runs, kept from history events instead of reading the whole history again. "Today" is the one definition
 * of `periodTotals` (the panel's header and the status bar): runs that started since local midnight, running runs
 * included with their figures so far. Runs of earlier days drop out as the day changes.
 */
export class TodayRuns {
  private readonly runs = new Map<string, Run>();

  /** Starts again from a full read of the history. */
  reset(runs: readonly Run[], now: number = Date.now()): void {
    this.runs.clear();
    for (const r of runs) this.upsert(r, now);
  }

  /** A run appended (or updated): kept when it started today. */
  upsert(run: Run, now: number = Date.now()): void {
    if (Date.parse(run.startedAt) >= periodStarts(now).today) this.runs.set(run.id, run);
    else this.runs.delete(run.id);
  }

  delete(id: string): void {
    this.runs.delete(id);
  }

  totals(now: number = Date.now()): PeriodTotals {
    return periodTotals([...this.runs.values()], now)[0];
  }
}
