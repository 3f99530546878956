/**
 * What `carbon-meter run` adds around a metered command: the forecast read from its output, the budget (warn or
 * stop), and the record's fields for both. main.ts wires it in; the logic lives in core/forecast.
 */
import { unrefTimer, type SetTimer } from '../core/util/timer';
import { errorMessage } from '../core/errors';
import { escapeControl, formatCo2 } from '../core/format';
import { BudgetWatch, monthUsedKg, runLimitG, type BudgetEvent, type OnBudget } from '../core/forecast/budget';
import type { HistoryStore } from '../core/history/store';
import { RunForecaster, type Forecast } from '../core/forecast/forecaster';
import { formatForecastLine } from '../core/forecast/index';
import { ProgressParser } from '../core/forecast/progress';
import { signalTree } from '../core/schedule/tree';
import type { Reading } from '../core/meter/meter';
import type { Run } from '../core/types';

export const BUDGET_HELP = `  --budget-g G       carbon budget of this run, g CO₂eq (above 0): a warning on stderr as soon as the forecast goes
                     over it
  --on-budget MODE   warn (default): warn only, when the run's emissions reach the budget (a sample is taken when
                     the present power says that falls between two, as for a stop); stop: when they reach it, send
                     SIGINT to its processes (so the script can save a checkpoint), then SIGTERM after
                     --stop-grace seconds; the run is recorded as "stopped". Needs --budget-g or
                     --budget-month-kg
  --budget-month-kg KG
                     monthly carbon budget, kg CO₂eq, for all runs of the calendar month (UTC) in the history: this
                     run's budget is what the month has left (the smaller one when --budget-g is given too); warned
                     and stopped as --on-budget says. With --on-budget stop and nothing left, the command is not
                     started: one line, exit code 1
  --stop-grace S     seconds between SIGINT and SIGTERM when stopping on the budget (default 30; with --on-budget stop)
  The forecast (energy so far + energy per unit of progress since progress began × progress left) is read from the
  progress the command prints: "Epoch 3/20", tqdm and Keras bars, "step k/N", percentages.
`;

export interface WatchOptions {
  budgetG?: number;
  /** the monthly budget, kg, and what the month's earlier runs used (core/forecast/budget.ts monthUsedKg) */
  budgetMonthKg?: number;
  monthUsedKg?: number;
  onBudget: OnBudget;
  stopGraceS: number;
  /** where its lines go (stderr) */
  out: { write(text: string): unknown };
  /** why no progress can be read from the output, printed once when a budget is set */
  progressUnavailable?: string;
  /** seconds between two readings: a budget that falls between two gets a reading of its own (default 1) */
  intervalS?: number;
  /** takes a reading now (the hub's sampleNow): the first one of a run with a long interval, a budget's */
  sampleNow?: () => void;
  /** the timer for that stop (tests give their own) */
  setTimer?: SetTimer;
}

/** The monthly budget and what this month's runs in the history used before `nowMs`; {} without --budget-month-kg. */
export function monthBudget(
  opts: { budgetMonthKg?: number },
  store: Pick<HistoryStore, 'load'>,
  nowMs: number,
): Pick<WatchOptions, 'budgetMonthKg' | 'monthUsedKg'> {
  if (opts.budgetMonthKg === undefined) return {};
  let runs: Run[] = [];
  try {
    runs = store.load().runs;
  } catch (err) {
    process.stderr.write(
      `carbon-meter: the history could not be read for the monthly budget (counted as 0 used): ${escapeControl(errorMessage(err))}\n`,
    );
  }
  return { budgetMonthKg: opts.budgetMonthKg, monthUsedKg: monthUsedKg(runs, nowMs) };
}

/**
 * Why a run must not start: with --on-budget stop, a monthly budget that this month's runs have used up already
 * (the run would be stopped as soon as it started). Undefined when it may start.
 */
export function spentBudgetRefusal(
  opts: { onBudget: OnBudget },
  month: Pick<WatchOptions, 'budgetMonthKg' | 'monthUsedKg'>,
): string | undefined {
  if (opts.onBudget !== 'stop' || month.budgetMonthKg === undefined) return undefined;
  const used = month.monthUsedKg ?? 0;
  if (used < month.budgetMonthKg) return undefined;
  return (
    `this month's runs have emitted ${formatCo2(used)} CO₂eq, the whole monthly budget of ` +
    `${formatCo2(month.budgetMonthKg)}: nothing was started (--on-budget stop; --on-budget warn runs it anyway)`
  );
}

export function parseOnBudget(v: string | undefined): OnBudget {
  if (v === undefined || v === 'warn' || v === 'stop') return v ?? 'warn';
  throw new Error(`--on-budget must be warn or stop, not "${v}"`);
}

/** The shortest wait for a reading planned from the power (RunWatch.planStop): bounds its readings to 5 a second. */
const MIN_PLANNED_S = 0.2;

export class RunWatch {
  /** one reading of the progress for both streams (each keeps its own unfinished line) */
  private readonly parser = new ProgressParser();
  private readonly forecaster = new RunForecaster();
  private readonly budget?: BudgetWatch;
  private rootPid?: number;
  private except = new Set<number>();
  private stoppedBy?: 'budget';
  private budgetTimer?: { cancel(): void };
  private firstSample?: { cancel(): void };
  private graceTimer?: NodeJS.Timeout;
  private exited = false;
  private progressAt?: number;
  /** the command printed that its progress is complete (N/N, 100 %): the figures so far are the forecast */
  private progressDone = false;

  constructor(
    private readonly opts: WatchOptions,
    private readonly now: () => number = Date.now,
  ) {
    const config = { perRunG: opts.budgetG, monthlyKg: opts.budgetMonthKg, onBudget: opts.onBudget };
    const used = opts.budgetMonthKg !== undefined ? (opts.monthUsedKg ?? 0) : undefined;
    const limit = runLimitG(config, used);
    if (limit !== undefined) this.budget = new BudgetWatch(config, limit, used);
    if (used !== undefined && opts.budgetMonthKg !== undefined) {
      const left = Math.max(0, opts.budgetMonthKg - used);
      // the run's own budget is the smaller of what the month has left and --budget-g
      const own =
        opts.budgetG !== undefined && opts.budgetG / 1000 < left
          ? `; this run's budget is ${formatCo2(opts.budgetG / 1000)} (--budget-g)`
          : '';
      this.say(
        `this month's runs have emitted ${formatCo2(used)} CO₂eq of the monthly budget of ${formatCo2(opts.budgetMonthKg)}: ${left > 0 ? `${formatCo2(left)} left` : 'nothing left'}${own}`,
      );
    }
    if (this.budget && opts.progressUnavailable)
      this.say(
        `no forecast for this run (${opts.progressUnavailable}); the budget is checked against the emissions so far`,
      );
  }

  /** The processes to stop on the budget: the tree under `rootPid`, but not `wrapperPid` (util-linux script). */
  attach(rootPid: number, wrapperPid?: number): void {
    this.rootPid = rootPid;
    if (wrapperPid !== undefined) this.except.add(wrapperPid);
    // with a long --interval the first reading comes after a second: a budget is checked, and a reading planned,
    // from the power of a reading, so a budget that the first interval would cross is not overshot by a whole
    // interval; a readout on a terminal is drawn from readings, and shows after a second, not after ten; and memory
    // is read at readings only (it is no cumulative counter), so a command shorter than the interval has its
    // resident memory read while it runs, not only its first moment's
    if (this.opts.sampleNow && (this.opts.intervalS ?? 1) > 1)
      this.firstSample = (this.opts.setTimer ?? unrefTimer)(() => this.opts.sampleNow?.(), 1000);
  }

  /** Output of the command (decoded text, any chunking). */
  output(stream: 'stdout' | 'stderr', text: string): void {
    const u = this.parser.push(text, stream);
    if (u) this.forecaster.observeProgress(this.now(), u.fraction, u.label);
    if (u && u.fraction >= 1) this.progressDone = true;
  }

  get forecast(): Forecast | undefined {
    return this.forecaster.current;
  }

  /** " · ≈ 85 g CO₂eq at the end · epoch 3/20", or '' */
  readoutSuffix(): string {
    // once the progress is complete (or the command has exited) the figures shown are the run's: a forecast made
    // before, which the next reading would replace, would only contradict them
    if (this.exited || this.progressDone) return '';
    const f = this.forecaster.current;
    return f ? ` · ${formatForecastLine(f)}` : '';
  }

  /** A meter reading of this run: forecast, budget, and the record's fields (so checkpoints carry them). */
  reading(r: Reading): void {
    const f = this.forecaster.observeEnergy({
      t: r.t,
      energyKWh: r.run.energyKWh.total,
      emissionsKg: r.run.emissionsKg,
      startT: Date.parse(r.run.startedAt),
    });
    if (f) this.progressAt = f.t;
    this.fill(r.run);
    if (!this.budget) return;
    this.budgetTimer?.cancel();
    for (const e of this.budget.check(r.t, r.run.emissionsKg, this.forecaster.current?.predictedKg)) {
      if (e.kind === 'forecast-over') {
        this.say(
          `the forecast (${formatCo2(e.forecastG / 1000)} CO₂eq at the end) is over the budget of ${formatCo2(e.limitG / 1000)}${this.opts.onBudget === 'stop' ? '; the run will be stopped when it reaches the budget' : ''}`,
        );
      } else this.reached(e);
    }
    this.planStop(r);
  }

  /**
   * When the budget would be crossed before the next reading at the present power, a reading is taken at that
   * moment, and it decides: the run overshoots by what its power changes meanwhile, not by up to one interval's
   * emissions, and is never stopped (or warned) on a projection alone. A power that fell since (a start-up burst
   * sampled at 1 s, then a light loop) only plans the next reading later. At most one such reading every
   * MIN_PLANNED_S.
   */
  private planStop(r: Reading): void {
    const sampleNow = this.opts.sampleNow;
    if (!sampleNow) return;
    const gPerS = (r.powerW.total * r.run.intensity.gPerKWh) / 3.6e6;
    const inS = this.budget?.secondsToLimit(r.run.emissionsKg, gPerS, this.opts.intervalS ?? 1);
    if (inS === undefined) return;
    this.budgetTimer = (this.opts.setTimer ?? unrefTimer)(
      () => {
        if (!this.exited) sampleNow();
      },
      Math.max(inS, MIN_PLANNED_S) * 1000,
    );
  }

  private reached(e: Extract<BudgetEvent, { kind: 'reached' }>): void {
    const stopping = e.stop ? `: stopping it (SIGINT, then SIGTERM in ${this.opts.stopGraceS} s)` : '';
    this.say(
      `the run has emitted ${formatCo2(e.emissionsG / 1000)} CO₂eq, its budget is ${formatCo2(e.limitG / 1000)}${stopping}`,
    );
    if (e.stop) this.stop();
  }

  /** True once the run was stopped on its budget (its record's status is then 'stopped'). */
  get stoppedOnBudget(): boolean {
    return this.stoppedBy === 'budget';
  }

  private stop(): void {
    if (this.rootPid === undefined || this.exited) return;
    this.stoppedBy = 'budget';
    signalTree(this.rootPid, 'SIGINT', this.except);
    // a tree paused by --pause-above must run to handle it
    signalTree(this.rootPid, 'SIGCONT', this.except);
    this.graceTimer = setTimeout(() => {
      if (!this.exited && this.rootPid !== undefined) {
        this.say('the run is still going after SIGINT: sending SIGTERM');
        signalTree(this.rootPid, 'SIGTERM', this.except);
      }
    }, this.opts.stopGraceS * 1000);
    this.graceTimer.unref?.();
  }

  /** The command exited: no more signals. */
  exit(): void {
    this.exited = true;
    this.budgetTimer?.cancel();
    this.firstSample?.cancel();
    if (this.graceTimer) clearTimeout(this.graceTimer);
  }

  /** The last unterminated lines, then the record's fields. */
  finish(run: Run): void {
    const u = this.parser.end();
    if (u) this.forecaster.observeProgress(this.progressAt ?? this.now(), u.fraction, u.label);
    // progress printed after the last tick takes the run's latest figures (the final tick comes after the record)
    this.forecaster.observeEnergy({
      t: Math.max(this.now(), this.progressAt ?? 0),
      energyKWh: run.energyKWh.total,
      emissionsKg: run.emissionsKg,
      startT: Date.parse(run.startedAt),
    });
    this.fill(run);
    // a budget passed in warn mode (or before a stop could act): the record says by how much
    const limitG = this.budget?.limitG;
    if (limitG !== undefined && !this.stoppedBy && run.emissionsKg * 1000 > limitG)
      (run.notes ??= []).push(
        limitG > 0
          ? `over its budget of ${formatCo2(limitG / 1000)} CO₂eq: ${formatCo2(run.emissionsKg)} (${Math.round((run.emissionsKg * 1e5) / limitG)} % of it)`
          : `over its budget: the month's was used up before it started, and it emitted ${formatCo2(run.emissionsKg)} CO₂eq`,
      );
    if (this.stoppedBy) {
      run.stoppedBy = this.stoppedBy;
      (run.notes ??= []).push(
        `stopped by Carbon Meter on its budget of ${formatCo2((this.budget?.limitG ?? 0) / 1000)} CO₂eq`,
      );
    }
  }

  private fill(run: Run): void {
    const series = this.forecaster.series;
    if (series.length) run.forecasts = series;
    if (this.budget) run.budget = { ...this.budget.record };
  }

  private say(msg: string): void {
    this.opts.out.write(`carbon-meter: ${msg}\n`);
  }
}
