/**
 * The status-bar readout: live grams and watts while runs are metered (their sum when there are several), the
 * last figure for a while after a run ends, today's total when idle. Updated at most once a second.
 *
 * Everything comes from events: readings carry their run and watts (LiveRuns); today's total (TodayRuns, the panel's
 * definition: runs started since local midnight, running runs included) takes the records this window appends as
 * they come, and reads the history again only when another window or CLI changed it.
 */
import * as vscode from 'vscode';
import { formatCo2, formatDuration, formatEnergy, formatIntensity, formatPower } from '../core/format';
import { TodayRuns } from '../core/view/totals';
import { regionBasis } from '../core/view/region';
import { keepWordsWhole, runOutcome } from '../core/view/labels';
import { LiveRuns } from '../core/meter/live';
import type { Run } from '../core/types';
import { commandLink, type CommandId } from './commandIds';
import type { HistoryChange, MeterService } from './meterService';
import { errorMessage } from '../core/errors';

const FINAL_FIGURE_MS = 15_000;
const MIN_UPDATE_MS = 1000;

export class StatusBar implements vscode.Disposable {
  private item: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  private lastUpdate = 0;
  private pending?: NodeJS.Timeout;
  private lastFinished?: { run: Run; at: number };
  private readonly today = new TodayRuns();
  private readonly live: LiveRuns;
  private idleTimer?: NodeJS.Timeout;
  /** full reads of the history (at start, and after another process changed it); for tests */
  historyReads = 0;

  constructor(private readonly service: MeterService) {
    this.item = this.createItem();
    this.live = new LiveRuns(service.active());
    this.disposables.push(
      service.onReading((r) => {
        this.live.reading(r);
        this.requestUpdate();
      }),
      service.onRunStarted((run) => {
        this.live.started(run);
        this.requestUpdate(true);
      }),
      service.onRunFinished((run) => {
        this.live.finished(run);
        this.lastFinished = { run, at: Date.now() };
        this.requestUpdate(true);
        clearTimeout(this.idleTimer);
        this.idleTimer = setTimeout(() => this.requestUpdate(true), FINAL_FIGURE_MS + 50);
      }),
      service.onHistoryChanged((c) => this.historyChanged(c)),
      service.config.onDidChange((c) => {
        if (c.affects('statusBar')) {
          this.item.dispose();
          this.item = this.createItem();
          this.requestUpdate(true);
        }
      }),
    );
    this.readToday();
  }

  private createItem(): vscode.StatusBarItem {
    const s = this.service.settings;
    const item = vscode.window.createStatusBarItem(
      'carbonMeter.status',
      s.statusBarAlignment === 'left' ? vscode.StatusBarAlignment.Left : vscode.StatusBarAlignment.Right,
      s.statusBarPriority,
    );
    item.name = 'Carbon Meter';
    item.command = 'carbonMeter.showHistory' satisfies CommandId;
    item.show();
    return item;
  }

  private historyChanged(c: HistoryChange): void {
    if (c.origin === 'elsewhere') return this.readToday();
    for (const r of c.runs) this.today.upsert(r);
    for (const id of c.deletedIds) this.today.delete(id);
    this.requestUpdate();
  }

  /** Reads today's runs from the whole history (at start, and after another window or CLI changed it). */
  private readToday(): void {
    this.historyReads++;
    try {
      this.today.reset(this.service.history().runs);
    } catch (err) {
      this.service.log.warn(`status bar: could not read the history: ${errorMessage(err)}`);
    }
    this.requestUpdate();
  }

  private requestUpdate(now = false): void {
    const wait = now ? 0 : Math.max(0, this.lastUpdate + MIN_UPDATE_MS - Date.now());
    if (this.pending) {
      if (!now) return;
      clearTimeout(this.pending);
    }
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.lastUpdate = Date.now();
      this.render();
    }, wait);
  }

  /** The item's text and tooltip as shown now. */
  get text(): string {
    return this.item.text;
  }

  get tooltipText(): string {
    const t = this.item.tooltip;
    return typeof t === 'string' ? t : (t?.value ?? '');
  }

  private render(): void {
    const item = this.item;
    if (this.live.size) {
      const { emissionsKg: kg, powerW: w } = this.live.totals();
      item.text = `$(pulse) ${formatCo2(kg)} CO₂eq · ${formatPower(w)}`;
      item.tooltip = this.tooltip(this.live.list(), true);
      item.backgroundColor = undefined;
      item.accessibilityInformation = {
        label: `Carbon Meter: ${this.live.size === 1 ? vscode.l10n.t('1 run metered') : vscode.l10n.t('{0} runs metered', this.live.size)}, ${formatCo2(kg)} CO₂ equivalent so far, ${formatPower(w)}`,
      };
      return;
    }
    if (this.lastFinished && Date.now() - this.lastFinished.at < FINAL_FIGURE_MS) {
      const r = this.lastFinished.run;
      item.text = `$(check) ${formatCo2(r.emissionsKg)} CO₂eq`;
      item.tooltip = this.tooltip([r], false);
      item.accessibilityInformation = {
        label: `Carbon Meter: ${r.name} ${outcomeLabel(r)}, ${formatCo2(r.emissionsKg)} CO₂ equivalent`,
      };
      return;
    }
    const today = this.today.totals();
    item.text = `$(pulse) ${formatCo2(today.emissionsKg)} today`;
    const md = new vscode.MarkdownString(
      `**Carbon Meter** · ${vscode.l10n.t('nothing metered now')}\n\n${todayLine(today.emissionsKg, today.runs)}\n\n${links()}`,
      true,
    );
    md.isTrusted = { enabledCommands: LINK_COMMANDS };
    item.tooltip = md;
    item.accessibilityInformation = { label: `Carbon Meter: ${formatCo2(today.emissionsKg)} CO₂ equivalent today` };
  }

  private tooltip(runs: Run[], live: boolean): vscode.MarkdownString {
    const md = new vscode.MarkdownString('', true);
    md.isTrusted = { enabledCommands: LINK_COMMANDS };
    md.supportHtml = false;
    md.appendMarkdown(
      `**Carbon Meter** · ${live ? (runs.length === 1 ? vscode.l10n.t('metering 1 run') : vscode.l10n.t('metering {0} runs', runs.length)) : outcomeLabel(runs[0])}\n\n`,
    );
    for (const r of runs) {
      md.appendMarkdown('---\n\n');
      md.appendMarkdown(`$(terminal) `);
      md.appendText(r.name);
      md.appendMarkdown(` · ${r.source} · ${formatDuration(r.durationS)}\n\n`);
      // inline code, not a code block: a long command line would widen the hover and give it a scroll bar
      const command = (r.command.length > 200 ? `${r.command.slice(0, 200)}…` : r.command).replace(/[`\r\n]+/g, ' ');
      md.appendMarkdown(`\`${command}\`\n\n`);
      const p = r.power;
      md.appendMarkdown(`| | energy | power | method |\n|---|---:|---:|---|\n`);
      md.appendMarkdown(
        `| CPU | ${formatEnergy(r.energyKWh.cpu)} | ${formatPower(live ? p.cpu.lastW : p.cpu.meanW)} | ${p.cpu.method} |\n`,
      );
      md.appendMarkdown(
        `| GPU | ${formatEnergy(r.energyKWh.gpu)} | ${formatPower(live ? p.gpu.lastW : p.gpu.meanW)} | ${p.gpu.method} |\n`,
      );
      md.appendMarkdown(
        `| RAM | ${formatEnergy(r.energyKWh.ram)} | ${formatPower(live ? p.ram.lastW : p.ram.meanW)} | ${p.ram.method} |\n`,
      );
      md.appendMarkdown(`| **total** × PUE ${r.pue} | **${formatEnergy(r.energyKWh.total)}** | | |\n\n`);
      md.appendMarkdown(`**${formatCo2(r.emissionsKg)} CO₂eq** at ${formatIntensity(r.intensity.gPerKWh)} · `);
      md.appendText(
        `${r.intensity.region}${r.intensity.regionName ? ` (${r.intensity.regionName})` : ''} · ${r.intensity.source} · ${r.intensity.method}${regionNote(r)}`,
      );
      md.appendMarkdown('\n\n');
      const forecast = forecastLine(r);
      if (forecast) md.appendMarkdown(`$(graph-line) `).appendText(forecast).appendMarkdown('\n\n');
      if (p.gpu.shareRule && !p.gpu.unavailableReason) {
        md.appendMarkdown('$(info) ');
        md.appendText(
          keepWordsWhole(vscode.l10n.t('GPU: {0}; share: {1}', p.gpu.source ?? p.gpu.method, p.gpu.shareRule)),
        );
        md.appendMarkdown('\n\n');
      }
      if (p.gpu.unavailableReason) {
        md.appendMarkdown('$(info) ');
        md.appendText(keepWordsWhole(vscode.l10n.t('GPU: {0}', p.gpu.unavailableReason)));
        md.appendMarkdown('\n\n');
      }
    }
    md.appendMarkdown(links(live));
    return md;
  }

  dispose(): void {
    clearTimeout(this.pending);
    clearTimeout(this.idleTimer);
    this.item.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

/** "≈ 85 g CO₂eq at the end · 15 % (budget 100 g)" from the run's latest forecast (core/forecast). */
function forecastLine(r: Run): string | undefined {
  const f = r.forecasts?.[r.forecasts.length - 1];
  if (!f || r.status !== 'running')
    return r.budget ? vscode.l10n.t('budget {0}', formatCo2(r.budget.limitG / 1000)) : undefined;
  const line = vscode.l10n.t(
    '≈ {0} CO₂eq at the end · {1} % done',
    formatCo2(f.predictedKg),
    String(Math.round(f.progress * 100)),
  );
  return r.budget ? `${line} · ${vscode.l10n.t('budget {0}', formatCo2(r.budget.limitG / 1000))}` : line;
}

const LINK_COMMANDS: readonly CommandId[] = [
  'carbonMeter.showHistory',
  'carbonMeter.stopMetering',
  'carbonMeter.openSettings',
];

function links(live = false): string {
  return [
    `[$(history) ${vscode.l10n.t('Show History')}](${commandLink('carbonMeter.showHistory')})`,
    ...(live ? [`[$(debug-stop) ${vscode.l10n.t('Stop Metering')}](${commandLink('carbonMeter.stopMetering')})`] : []),
    `[$(gear) ${vscode.l10n.t('Settings')}](${commandLink('carbonMeter.openSettings')})`,
  ].join(' · ');
}

/** " · region guessed" / " · default region (world average)" after the region of a run; nothing when it was set. */
function regionNote(r: Run): string {
  const basis = regionBasis(r.intensity);
  if (basis === 'guessed') return ` · ${vscode.l10n.t('region guessed')}`;
  if (basis === 'default') return ` · ${vscode.l10n.t('default region (world average)')}`;
  return '';
}

/** How a run ended, in words: Ctrl-C (130) reads "interrupted", SIGTERM (143) "stopped" (core/view/labels.ts). */
export function outcomeLabel(r: Pick<Run, 'status' | 'exitCode'>): string {
  const o = runOutcome(r.status, r.exitCode);
  return o === 'running'
    ? vscode.l10n.t('running')
    : o === 'completed'
      ? vscode.l10n.t('completed')
      : o === 'failed'
        ? vscode.l10n.t('failed')
        : o === 'stopped'
          ? vscode.l10n.t('stopped')
          : vscode.l10n.t('interrupted');
}

/** "Today: 2.1 g CO₂eq in 3 runs." / "in 1 run." / "nothing metered yet." */
function todayLine(kg: number, runs: number): string {
  if (runs === 0) return vscode.l10n.t('Today: nothing metered yet.');
  return runs === 1
    ? vscode.l10n.t('Today: {0} CO₂eq in 1 run.', formatCo2(kg))
    : vscode.l10n.t('Today: {0} CO₂eq in {1} runs.', formatCo2(kg), runs);
}
