/**
 * "Run at 03:00 (−38 %)" from the History panel's greener-time tip and from the CodeLens: runs the command again in
 * a terminal at the greenest start of the live provider's forecast (core/schedule/runAt.ts plans and waits, on an
 * injected clock). Scheduled runs live in this window's memory only: they start while this VS Code window is open,
 * and a reload or closing the window cancels them (the messages say so). A status bar item ("Scheduled 03:00")
 * lists them, with "Run now" and "Cancel" (also the commands "Run Scheduled Run Now" and "Cancel Scheduled Run").
 * With no forecast, the user is told why and offered "Run now".
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ContextKey, SCHEDULED_KEY } from './contextKeys';
import { formatClock, profileFromSamples } from '../core/advice/greenerTime';
import { RunFileIndex } from '../core/codelens';
import { errorMessage } from '../core/errors';
import { isLiveProvider } from '../core/intensity/live/config';
import { resolveRegion, type RegionInfo } from '../core/intensity/regions';
import {
  assumedFromRun,
  planRunAt,
  RunAtScheduler,
  runAtText,
  type DueReason,
  type ScheduledRun,
} from '../core/schedule/runAt';
import { assumedRun, realClock, type Clock, type StartPlan } from '../core/schedule/startTime';
import type { Run } from '../core/types';
import { commandLink } from './commandIds';
import { executeCommand, registerCommand } from './commands';
import type { MeterService } from './meterService';
import { rerunInTerminal, windowUi, type PanelUi } from './panel/actions';

/** What is run again: a run of the history (the panel) or a file (the CodeLens). */
export type RunAtTarget = { kind: 'run'; runId: string } | { kind: 'file'; uri: vscode.Uri };

/** The answer of `carbonMeter.runAtGreenerTime` (tests read it; the user reads the messages). */
export interface RunAtResult {
  scheduled?: ScheduledRun<RunAtTarget>;
  /** why it was not scheduled (no forecast, now is the greenest, nothing to run) */
  reason?: string;
}

/** A CodeLens plan is asked again after this long. */
export const LENS_PLAN_TTL_MS = 10 * 60_000;

const t = vscode.l10n.t;

export class ScheduledRuns implements vscode.Disposable {
  readonly scheduler: RunAtScheduler<RunAtTarget>;
  private readonly item: vscode.StatusBarItem;
  /** `carbonMeter.hasScheduledRuns`: shows Cancel Scheduled Run / Run Scheduled Run Now in the palette */
  private readonly scheduledKey = new ContextKey(SCHEDULED_KEY);
  private readonly lensChanged = new vscode.EventEmitter<void>();
  /** fires when a CodeLens plan arrives */
  readonly onDidChangeLenses = this.lensChanged.event;
  private readonly lensPlans = new Map<string, { atMs: number; plan?: StartPlan }>();

  constructor(
    private readonly service: MeterService,
    private readonly clock: Clock = realClock,
    private readonly ui: PanelUi = windowUi,
  ) {
    this.scheduler = new RunAtScheduler<RunAtTarget>(clock, (run, reason) => this.start(run, reason));
    this.item = vscode.window.createStatusBarItem('carbonMeter.scheduled', vscode.StatusBarAlignment.Left, -100);
    this.item.name = t('Carbon Meter: Scheduled Runs');
    this.item.command = 'carbonMeter.cancelScheduledRun';
    this.scheduler.onChange(() => this.render());
    this.scheduledKey.set(false);
  }

  // ----------------------------------------------------------------------------------------------------------------
  // planning and scheduling

  /** `carbonMeter.runAtGreenerTime`: plans from the forecast now, schedules, and tells the user. */
  async runAtGreenerTime(target: RunAtTarget | undefined): Promise<RunAtResult> {
    if (!target) {
      this.ui.warn(t('Carbon Meter: open a training file or a run in the History panel to run it at a greener hour.'));
      return { reason: 'nothing to run' };
    }
    let what: ReturnType<ScheduledRuns['describe']>;
    try {
      what = this.describe(target);
    } catch (err) {
      what = t('Carbon Meter: cannot plan a run: {0}', errorMessage(err));
    }
    if (typeof what === 'string') {
      this.ui.warn(what);
      return { reason: what };
    }
    let plan: StartPlan;
    try {
      plan = await this.plan(target, what.region);
    } catch (err) {
      plan = { kind: 'now', reason: errorMessage(err), assumed: { profile: [], durationS: 0, from: '' } };
    }
    if (plan.kind === 'now') {
      void this.offerRunNow(target, what.name, plan.reason);
      return { reason: plan.reason };
    }
    const scheduled = this.scheduler.schedule({
      atMs: plan.advice.startMs,
      name: what.name,
      command: what.command,
      cwd: what.cwd,
      savingFraction: plan.advice.savingFraction,
      source: plan.source,
      payload: target,
    });
    this.service.log.info(
      `run at: "${what.command}" scheduled for ${new Date(scheduled.atMs).toISOString()} (${plan.source}; expected saving ${Math.round(plan.advice.savingFraction * 100)} %; assumed ${plan.assumed.from})`,
    );
    void this.confirmScheduled(scheduled);
    return { scheduled };
  }

  /** The plan for a target, on this scheduler's clock. */
  async plan(target: RunAtTarget, region: RegionInfo): Promise<StartPlan> {
    const provider =
      this.service.intensity && isLiveProvider(this.service.intensity) ? this.service.intensity : undefined;
    const now = this.clock.now();
    if (target.kind === 'run') {
      const run = this.run(target.runId);
      if (!run) throw new Error(`run ${target.runId} is not in the history`);
      let samples: ReturnType<MeterService['store']['samples']> = [];
      try {
        samples = this.service.store.samples(run.id);
      } catch {
        // the mean power of the run is used instead
      }
      const assumed =
        assumedFromRun(
          run,
          samples.length ? profileFromSamples(samples, Date.parse(run.startedAt), run.pue) : undefined,
        ) ?? assumedRun([], run.command);
      return planRunAt(provider, region, now, { assumed, command: run.command });
    }
    const runs = this.runsOfFile(target.uri.fsPath);
    const last = runs[0];
    return planRunAt(provider, region, now, { history: runs, command: last?.command ?? '' });
  }

  private run(id: string): Run | undefined {
    return this.service.active().find((m) => m.run.id === id)?.run ?? this.service.store.get(id);
  }

  private runsOfFile(file: string): Run[] {
    try {
      return new RunFileIndex(this.service.store.load().runs, {
        home: process.env.HOME || process.env.USERPROFILE,
      }).runsFor(file);
    } catch (err) {
      this.service.log.warn(`run at: could not read the history: ${errorMessage(err)}`);
      return [];
    }
  }

  /** Name, command, folder and region of a target, or why it cannot be run again. */
  private describe(target: RunAtTarget): { name: string; command: string; cwd: string; region: RegionInfo } | string {
    if (target.kind === 'run') {
      const run = this.run(target.runId);
      if (!run) return t('Carbon Meter: run {0} is not in the history.', target.runId);
      if (!run.command.trim()) return t('Carbon Meter: "{0}" has no command to run again (it was imported).', run.name);
      return { name: run.name, command: run.command, cwd: run.cwd, region: resolveRegion(run.intensity.region) };
    }
    if (target.uri.scheme !== 'file')
      return t('Carbon Meter: save "{0}" to a file first, then run it.', path.basename(target.uri.path));
    const region = this.service.regionChoice().region;
    const name = path.basename(target.uri.fsPath);
    return { name, command: name, cwd: path.dirname(target.uri.fsPath), region };
  }

  private async confirmScheduled(s: ScheduledRun<RunAtTarget>): Promise<void> {
    const runNow = t('Run now');
    const cancel = t('Cancel');
    const choice = await vscode.window.showInformationMessage(
      t(
        'Carbon Meter: {0} will run at {1} in a terminal, while this VS Code window is open (a reload or closing the window cancels it). Forecast by {2}.',
        s.name,
        runAtText(s.atMs, s.savingFraction, this.clock.now()),
        s.source,
      ),
      runNow,
      cancel,
    );
    if (choice === runNow) this.runNow(s.id);
    else if (choice === cancel) this.cancel(s.id);
  }

  private async offerRunNow(target: RunAtTarget, name: string, reason: string): Promise<void> {
    const runNow = t('Run now');
    const choice = await vscode.window.showInformationMessage(
      t('Carbon Meter: no greener start for {0}: {1}.', name, reason),
      runNow,
    );
    if (choice === runNow) await this.execute(target);
  }

  // ----------------------------------------------------------------------------------------------------------------
  // starting, cancelling

  runNow(id: string): ScheduledRun<RunAtTarget> | undefined {
    return this.scheduler.runNow(id);
  }

  cancel(id: string): ScheduledRun<RunAtTarget> | undefined {
    const s = this.scheduler.cancel(id);
    if (s) this.service.log.info(`run at: cancelled "${s.command}" (was due ${new Date(s.atMs).toISOString()})`);
    return s;
  }

  /** Asks which scheduled run (every time, so Escape keeps them), then what to do with it. */
  async pick(action: 'cancel' | 'now', id?: string): Promise<ScheduledRun<RunAtTarget> | undefined> {
    if (typeof id === 'string') return action === 'cancel' ? this.cancel(id) : this.runNow(id);
    const list = this.scheduler.list();
    if (!list.length) {
      void vscode.window.showInformationMessage(t('Carbon Meter: no run is scheduled in this window.'));
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(
      list.map((s) => ({
        label: `$(clock) ${runAtText(s.atMs, s.savingFraction, this.clock.now())}`,
        description: s.name,
        detail: s.command,
        id: s.id,
      })),
      { title: action === 'cancel' ? t('Cancel which scheduled run?') : t('Run which scheduled run now?') },
    );
    if (!pick) return undefined;
    return action === 'cancel' ? this.cancel(pick.id) : this.runNow(pick.id);
  }

  private async start(s: ScheduledRun<RunAtTarget>, reason: DueReason): Promise<void> {
    this.service.log.info(`run at: starting "${s.command}" (${reason === 'time' ? 'its time came' : 'run now'})`);
    try {
      await this.execute(s.payload);
    } catch (err) {
      this.ui.error(t('Carbon Meter: the scheduled run of {0} could not start: {1}', s.name, errorMessage(err)));
    }
  }

  /** Runs the target in a terminal now: the run's command in its folder, or the file as the CodeLens runs it. */
  private async execute(target: RunAtTarget): Promise<void> {
    if (target.kind === 'file') {
      await executeCommand('carbonMeter.runFileMetered', target.uri);
      return;
    }
    const run = this.run(target.runId);
    if (!run) throw new Error(`run ${target.runId} is not in the history`);
    await rerunInTerminal(run, this.service, this.ui);
  }

  private render(): void {
    const list = this.scheduler.list();
    this.scheduledKey.set(list.length > 0);
    if (!list.length) {
      this.item.hide();
      return;
    }
    const now = this.clock.now();
    const next = list[0];
    const at = formatClock(next.atMs, now);
    this.item.text =
      list.length === 1
        ? `$(clock) ${t('Scheduled {0}', at)}`
        : `$(clock) ${t('{0} scheduled, next {1}', list.length, at)}`;
    const md = new vscode.MarkdownString(undefined, true);
    md.isTrusted = { enabledCommands: ['carbonMeter.runScheduledNow', 'carbonMeter.cancelScheduledRun'] };
    md.appendMarkdown(`**${t('Carbon Meter: scheduled runs')}**\n\n`);
    for (const s of list) {
      md.appendMarkdown(`- ${runAtText(s.atMs, s.savingFraction, now)} · `);
      md.appendText(`${s.name}: ${s.command}`);
      md.appendMarkdown(
        ` · [${t('Run now')}](${commandLink('carbonMeter.runScheduledNow', s.id)}) · [${t('Cancel')}](${commandLink('carbonMeter.cancelScheduledRun', s.id)})\n`,
      );
    }
    md.appendMarkdown(
      `\n${t('They start in a terminal while this VS Code window is open; a reload or closing the window cancels them.')}`,
    );
    this.item.tooltip = md;
    this.item.show();
  }

  /** What the status bar item shows (tests). */
  get statusText(): string | undefined {
    return this.scheduler.list().length ? this.item.text : undefined;
  }

  // ----------------------------------------------------------------------------------------------------------------
  // the CodeLens action

  /**
   * "$(clock) Run at 03:00 (−38 %)" for a training file whose earlier runs the forecast can plan for, once a plan is
   * at hand (asked in the background, at most once per LENS_PLAN_TTL_MS per file; `onDidChangeLenses` fires when it
   * arrives); undefined without a live provider, a plan, or a greener start.
   */
  lens(range: vscode.Range, file: vscode.Uri, runs: readonly Run[]): vscode.CodeLens | undefined {
    if (file.scheme !== 'file' || !runs.length || !this.service.intensity || !isLiveProvider(this.service.intensity))
      return undefined;
    const key = `${this.service.intensity.id}\u0000${file.fsPath}`;
    const hit = this.lensPlans.get(key);
    if (!hit || this.clock.now() - hit.atMs > LENS_PLAN_TTL_MS) {
      this.lensPlans.set(key, { atMs: this.clock.now() });
      let region: RegionInfo;
      try {
        region = this.service.regionChoice().region;
      } catch {
        return undefined;
      }
      void planRunAt(this.service.intensity, region, this.clock.now(), { history: runs, command: runs[0].command })
        .catch((err: unknown): StartPlan => ({ kind: 'now', reason: errorMessage(err), assumed: assumedRun([], '') }))
        .then((plan) => {
          if (this.lensPlans.size > 100) this.lensPlans.clear();
          this.lensPlans.set(key, { atMs: this.clock.now(), plan });
          this.lensChanged.fire();
        });
    }
    const plan = hit?.plan;
    if (plan?.kind !== 'wait' || plan.advice.startMs <= this.clock.now()) return undefined;
    return new vscode.CodeLens(range, {
      title: `$(clock) ${t('Run at {0}', runAtText(plan.advice.startMs, plan.advice.savingFraction, this.clock.now()))}`,
      command: 'carbonMeter.runAtGreenerTime',
      arguments: [file],
      tooltip: t(
        'Run this file in a terminal at the greenest start of the forecast by {0} (a run like its earlier ones: {1}), while this VS Code window is open.',
        plan.source,
        plan.assumed.from,
      ),
    });
  }

  dispose(): void {
    this.scheduler.dispose();
    this.item.dispose();
    this.lensChanged.dispose();
  }
}

/** The target of a command's argument: a file (CodeLens, explorer), `{ runId }` (the panel), or the active editor. */
export function runAtTarget(arg: unknown): RunAtTarget | undefined {
  if (arg instanceof vscode.Uri) return { kind: 'file', uri: arg };
  if (typeof arg === 'object' && arg !== null && typeof (arg as { runId?: unknown }).runId === 'string')
    return { kind: 'run', runId: (arg as { runId: string }).runId };
  const nb = vscode.window.activeNotebookEditor?.notebook.uri;
  const uri = nb ?? vscode.window.activeTextEditor?.document.uri;
  return uri ? { kind: 'file', uri } : undefined;
}

/** The commands of scheduled runs. */
export function registerScheduledRuns(scheduled: ScheduledRuns): vscode.Disposable[] {
  return [
    scheduled,
    registerCommand('carbonMeter.runAtGreenerTime', (arg?: unknown) => scheduled.runAtGreenerTime(runAtTarget(arg))),
    registerCommand('carbonMeter.cancelScheduledRun', (id?: unknown) =>
      scheduled.pick('cancel', typeof id === 'string' ? id : undefined),
    ),
    registerCommand('carbonMeter.runScheduledNow', (id?: unknown) =>
      scheduled.pick('now', typeof id === 'string' ? id : undefined),
    ),
  ];
}
