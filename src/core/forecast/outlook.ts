/**
 * One run's outlook, for the extension (terminals) and any other host: the progress read from its output, the
 * forecast of its footprint, and its budget; the run record's `forecasts` and `budget` are kept up to date.
 */
import type { Run } from '../types';
import { BudgetWatch, type BudgetConfig, type BudgetEvent, monthUsedKg, runLimitG } from './budget';
import { RunForecaster, type Forecast } from './forecaster';
import { ProgressParser } from './progress';

export class RunOutlook {
  private readonly parser = new ProgressParser();
  private readonly forecaster = new RunForecaster();
  readonly budget?: BudgetWatch;

  constructor(
    budget: BudgetConfig | undefined,
    /** the history, for the month's budget */
    history: readonly Pick<Run, 'startedAt' | 'emissionsKg' | 'id'>[] = [],
    nowMs = Date.now(),
    runId?: string,
  ) {
    if (!budget) return;
    const used = budget.monthlyKg
      ? monthUsedKg(
          history.filter((r) => r.id !== runId),
          nowMs,
        )
      : 0;
    const limit = runLimitG(budget, used);
    if (limit !== undefined) this.budget = new BudgetWatch(budget, limit, budget.monthlyKg ? used : undefined);
  }

  /** Output of the run (any chunking; ANSI escapes and \r redraws are handled). */
  output(t: number, text: string): void {
    const u = this.parser.push(text);
    if (u) this.forecaster.observeProgress(t, u.fraction, u.label);
  }

  get forecast(): Forecast | undefined {
    return this.forecaster.current;
  }

  /** A reading of the run: updates the forecast and the record; returns the budget events (each comes once). */
  reading(t: number, run: Run): BudgetEvent[] {
    this.forecaster.observeEnergy({
      t,
      energyKWh: run.energyKWh.total,
      emissionsKg: run.emissionsKg,
      startT: Date.parse(run.startedAt),
    });
    const series = this.forecaster.series;
    if (series.length) run.forecasts = series;
    const events = this.budget ? this.budget.check(t, run.emissionsKg, this.forecaster.current?.predictedKg) : [];
    if (this.budget) run.budget = { ...this.budget.record };
    return events;
  }
}
