/**
 * Carbon budgets for a run: warn once as soon as the forecast goes over the budget, and (with `stop`) stop the run
 * when its emissions reach it. The monthly budget limits a run to what is left of the month.
 *
 * Pure: the caller feeds emissions and forecasts; the events say what to do.
 */
import type { Run } from '../types';

export type OnBudget = 'warn' | 'stop';

export interface BudgetConfig {
  /** g CO₂eq per run */
  perRunG?: number;
  /** kg CO₂eq per calendar month (UTC), all runs together */
  monthlyKg?: number;
  onBudget: OnBudget;
}

/** What the run record keeps about its budget. */
export interface RunBudget {
  /** the limit this run had, g (the smaller of the per-run budget and what was left of the month) */
  limitG: number;
  perRunG?: number;
  monthlyKg?: number;
  /** used by earlier runs this month when the run started, kg */
  monthUsedKg?: number;
  onBudget: OnBudget;
  /** when the forecast first went over the limit (ISO), and what it said, g */
  forecastOverAt?: string;
  forecastG?: number;
  /** when the emissions reached the limit (ISO) */
  reachedAt?: string;
}

export type BudgetEvent =
  | { kind: 'forecast-over'; forecastG: number; limitG: number }
  | { kind: 'reached'; emissionsG: number; limitG: number; stop: boolean };

/** The limit for a run, g; undefined when no budget applies. */
export function runLimitG(cfg: BudgetConfig, monthUsedKg = 0): number | undefined {
  const limits: number[] = [];
  if (cfg.perRunG !== undefined && cfg.perRunG > 0) limits.push(cfg.perRunG);
  if (cfg.monthlyKg !== undefined && cfg.monthlyKg > 0) limits.push(Math.max(0, cfg.monthlyKg - monthUsedKg) * 1000);
  return limits.length ? Math.min(...limits) : undefined;
}

/** Emissions of the runs started in the same calendar month (UTC) as `nowMs`, kg. Running runs count what they have so far. */
export function monthUsedKg(runs: readonly Pick<Run, 'startedAt' | 'emissionsKg'>[], nowMs: number): number {
  const now = new Date(nowMs);
  const from = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const to = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  let kg = 0;
  for (const r of runs) {
    const t = Date.parse(r.startedAt);
    if (t >= from && t < to && Number.isFinite(r.emissionsKg) && r.emissionsKg > 0) kg += r.emissionsKg;
  }
  return kg;
}

export class BudgetWatch {
  readonly record: RunBudget;
  private warned = false;
  private reached = false;

  constructor(
    readonly config: BudgetConfig,
    readonly limitG: number,
    monthUsed?: number,
  ) {
    this.record = {
      limitG,
      onBudget: config.onBudget,
      ...(config.perRunG !== undefined ? { perRunG: config.perRunG } : {}),
      ...(config.monthlyKg !== undefined ? { monthlyKg: config.monthlyKg, monthUsedKg: monthUsed ?? 0 } : {}),
    };
  }

  /**
   * The seconds until the emissions reach the limit at `emissionsGPerS` from `emissionsKg`, when that is sooner than
   * `withinS` (the next check), else undefined: between two checks the run would overshoot by up to one interval.
   */
  secondsToLimit(emissionsKg: number, emissionsGPerS: number, withinS: number): number | undefined {
    if (this.reached || !(emissionsGPerS > 0)) return undefined;
    const s = (this.limitG - emissionsKg * 1000) / emissionsGPerS;
    return s >= 0 && s < withinS ? s : undefined;
  }

  /** Checks the run's emissions so far and its latest forecast (kg); each event comes once. */
  check(t: number, emissionsKg: number, predictedKg?: number): BudgetEvent[] {
    const out: BudgetEvent[] = [];
    const g = emissionsKg * 1000;
    if (!this.warned && predictedKg !== undefined && predictedKg * 1000 > this.limitG && !this.reached) {
      this.warned = true;
      this.record.forecastOverAt = new Date(t).toISOString();
      this.record.forecastG = round(predictedKg * 1000);
      out.push({ kind: 'forecast-over', forecastG: predictedKg * 1000, limitG: this.limitG });
    }
    if (!this.reached && g >= this.limitG) {
      this.reached = true;
      this.record.reachedAt = new Date(t).toISOString();
      out.push({ kind: 'reached', emissionsG: g, limitG: this.limitG, stop: this.config.onBudget === 'stop' });
    }
    return out;
  }
}

/** Six significant digits: a forecast of 0.862 mg is kept as 0.000862 g, not rounded to 0.001 g. */
function round(x: number): number {
  return Number(x.toPrecision(6));
}
