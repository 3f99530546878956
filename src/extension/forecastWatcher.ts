/**
 * Forecasts and budgets of the runs metered in this window: reads a terminal run's output through shell
 * integration (`TerminalShellExecution.read()`), keeps each run's outlook (core/forecast/outlook.ts), and tells the
 * user once when a run is forecast to go over its budget ("Stop run" / "Keep going"); with
 * `carbonMeter.budget.onBudget: stop`, stops the run when its emissions reach the budget (SIGINT to its processes,
 * then SIGTERM after 30 s).
 */
import * as vscode from 'vscode';
import { formatCo2 } from '../core/format';
import { RunOutlook } from '../core/forecast/outlook';
import { signalTree } from '../core/schedule/tree';
import type { Run } from '../core/types';
import type { MeterService } from './meterService';
import { errorMessage } from '../core/errors';

const STOP_GRACE_MS = 30_000;

export class ForecastWatcher implements vscode.Disposable {
  private readonly outlooks = new Map<string, RunOutlook>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly service: MeterService) {
    this.disposables.push(
      service.onReading((r) => this.reading(r.t, r.run)),
      service.onRunFinished((run) => this.outlooks.delete(run.id)),
    );
  }

  private outlook(run: Run): RunOutlook {
    let o = this.outlooks.get(run.id);
    if (!o) {
      const s = this.service.settings;
      const budget =
        s.budgetPerRunG || s.budgetMonthlyKg
          ? { perRunG: s.budgetPerRunG, monthlyKg: s.budgetMonthlyKg, onBudget: s.onBudget }
          : undefined;
      let history: Run[] = [];
      if (budget?.monthlyKg) {
        try {
          history = this.service.history().runs;
        } catch (err) {
          this.service.log.warn(`budget: could not read the history for the month's budget: ${errorMessage(err)}`);
        }
      }
      o = new RunOutlook(budget, history, Date.now(), run.id);
      this.outlooks.set(run.id, o);
    }
    return o;
  }

  /** Reads a terminal run's output until the command ends. Started before the run id is known, so no byte is lost. */
  async readTerminal(runId: Promise<string | undefined>, stream: AsyncIterable<string>): Promise<void> {
    const early: string[] = [];
    let id: string | undefined;
    void runId.then((x) => (id = x));
    try {
      for await (const data of stream) {
        if (id === undefined) {
          if (early.length < 1000) early.push(data);
          continue;
        }
        const run = this.service.active().find((m) => m.run.id === id)?.run;
        if (!run) continue;
        const o = this.outlook(run);
        for (const e of early.splice(0)) o.output(Date.now(), e);
        o.output(Date.now(), data);
      }
    } catch (err) {
      this.service.log.debug(`forecast: the terminal's output could not be read: ${errorMessage(err)}`);
    }
  }

  private reading(t: number, run: Run): void {
    for (const e of this.outlook(run).reading(t, run)) {
      if (e.kind === 'forecast-over') void this.warn(run, e.forecastG, e.limitG);
      else if (e.stop) {
        this.stop(run);
        void vscode.window.showWarningMessage(
          vscode.l10n.t(
            'Carbon Meter: {0} reached its budget of {1} CO₂eq and is being stopped.',
            run.name,
            formatCo2(e.limitG / 1000),
          ),
        );
      }
    }
  }

  private async warn(run: Run, forecastG: number, limitG: number): Promise<void> {
    const stop = vscode.l10n.t('Stop run');
    const keep = vscode.l10n.t('Keep going');
    const choice = await vscode.window.showWarningMessage(
      vscode.l10n.t(
        'Carbon Meter: {0} is forecast to emit {1} CO₂eq, over its budget of {2}.',
        run.name,
        formatCo2(forecastG / 1000),
        formatCo2(limitG / 1000),
      ),
      stop,
      keep,
    );
    if (choice === stop && run.status === 'running') this.stop(run);
  }

  private stop(run: Run): void {
    if (run.pid === undefined || run.stoppedBy) return;
    run.stoppedBy = 'budget';
    (run.notes ??= []).push('stopped on its carbon budget');
    const pid = run.pid;
    signalTree(pid, 'SIGINT');
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (run.status === 'running') signalTree(pid, 'SIGTERM');
    }, STOP_GRACE_MS);
    this.timers.add(timer);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    for (const t of this.timers) clearTimeout(t);
  }
}
