/**
 * The History panel's host: one webview panel (createOrShow), revived after a reload by its serializer.
 *
 * - The webview says `ready` (with the UI state it kept); the host answers with a full snapshot, and again after
 *   every query and action.
 * - Live changes (readings of runs metered here, runs starting and finishing, other windows and CLIs writing the
 *   history) mark the panel dirty; a dirty panel gets a new snapshot at most once a second, and only while it is
 *   visible (a hidden webview is torn down by VS Code; it says `ready` again when it comes back).
 * - Every message from the webview is checked (src/shared/protocol.ts); a malformed one is logged and ignored.
 * - Filtering, sorting and paging happen here over the whole history (core/view/table.ts): only one page of
 *   compact rows crosses to the webview, whatever the size of the history.
 */
import * as vscode from 'vscode';
import { greenerTimeForRun, profileFromRun, profileFromSamples } from '../../core/advice/greenerTime';
import { PanelModel, mergeLive, type Snapshot } from '../../core/view/snapshot';
import { RunTable, normaliseQuery, type TableQuery } from '../../core/view/table';
import { INTENSITY_PROVIDER_SETTING, timeAdviceFromForecast, type TimeAdvice } from '../../core/advice/tips';
import { isLiveProvider } from '../../core/intensity/live/config';
import { LiveRuns } from '../../core/meter/live';
import { resolveRegion } from '../../core/intensity/regions';
import type { Run, Sample } from '../../core/types';
import {
  HISTORY_VIEW_TYPE,
  parseWebviewMessage,
  type HostMessage,
  type UiState,
  type WebviewMessage,
} from '../../shared/protocol';
import { executeCommand } from '../commands';
import type { HistoryChange, MeterService } from '../meterService';
import { copyCsvRow, deleteRun, exportRuns, importCsv, rerunInTerminal, windowUi, type PanelUi } from './actions';
import { panelHtml } from './html';
import { errorDetail, errorMessage } from '../../core/errors';

/** Live updates: at most one snapshot per this many ms. */
export const LIVE_UPDATE_MS = 1000;
/** A greener-time tip (a live provider's forecast) is asked again after this long. */
export const GREENER_TIME_TTL_MS = 10 * 60_000;

export interface PanelStats {
  /** snapshots posted */
  snapshots: number;
  /** when each snapshot was posted (ms since epoch; the last 100) */
  postedAt: number[];
  /** why each snapshot was posted (the last 100) */
  reasons: string[];
  readies: number;
  /** messages that failed the protocol's checks */
  rejected: number;
  last?: Snapshot;
}

export class HistoryPanel implements vscode.Disposable {
  static readonly viewType = HISTORY_VIEW_TYPE;
  /** The one panel of this window. */
  static current: HistoryPanel | undefined;

  static createOrShow(
    extensionUri: vscode.Uri,
    service: MeterService,
    runId?: string,
    ui: PanelUi = windowUi,
  ): HistoryPanel {
    const column = vscode.window.activeTextEditor?.viewColumn ?? vscode.ViewColumn.One;
    const existing = HistoryPanel.current;
    if (existing) {
      existing.panel.reveal(existing.panel.viewColumn ?? column);
      if (runId) existing.focusRun(runId);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(HISTORY_VIEW_TYPE, vscode.l10n.t('Carbon Meter: History'), column, {
      ...HistoryPanel.webviewOptions(extensionUri),
      enableFindWidget: true,
    });
    return new HistoryPanel(panel, extensionUri, service, ui, runId);
  }

  /** Takes over a panel VS Code restored after a reload (serializer). */
  static revive(
    panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    service: MeterService,
    state: unknown,
    ui: PanelUi = windowUi,
  ): HistoryPanel {
    HistoryPanel.current?.dispose();
    const h = new HistoryPanel(panel, extensionUri, service, ui, undefined);
    h.applyState(state);
    return h;
  }

  /** Scripts on; local files only from the built webview (dist) and media. */
  static webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
    return {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
    };
  }

  readonly stats: PanelStats = { snapshots: 0, postedAt: [], reasons: [], readies: 0, rejected: 0 };
  private readonly disposables: vscode.Disposable[] = [];
  private readonly model = new PanelModel();
  /** the runs metered now, from their events (seeded once when the panel opens) */
  private readonly live: LiveRuns;
  /** greener-time tips by run id and provider: asked in the background, shown in the next snapshot */
  private readonly greener = new Map<string, { atMs: number; advice: TimeAdvice }>();
  private readonly greenerAsked = new Set<string>();
  private query: TableQuery = normaliseQuery(undefined);
  private openRunId: string | undefined;
  private pendingFocus: string | undefined;
  /**
   * The webview's kept state is taken on its first `ready` only (a new window, a revived panel); after that the host
   * has every change the webview made, and a webview rebuilt after being hidden may hold an older state.
   */
  private acceptWebviewState = true;
  private ready = false;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private lastPostAt = 0;
  private seq = 0;
  private disposed = false;
  private buildFailures = 0;

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly service: MeterService,
    private readonly ui: PanelUi,
    focusRunId: string | undefined,
  ) {
    HistoryPanel.current = this;
    this.pendingFocus = focusRunId;
    this.live = new LiveRuns(service.active());
    panel.webview.options = HistoryPanel.webviewOptions(extensionUri);
    panel.webview.html = panelHtml({
      webview: panel.webview,
      extensionUri,
      l10n: vscode.l10n.bundle,
      language: vscode.env.language,
      title: vscode.l10n.t('Carbon Meter: History'),
    });
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: unknown) => void this.handleMessage(m)),
      panel.onDidChangeViewState((e) => {
        // nothing is pushed while hidden; VS Code usually tears a hidden webview down, and it says `ready` again
        // when it is shown (answered at once); a webview that was kept gets what it missed
        if (!e.webviewPanel.visible) this.cancelTimer();
        else if (this.dirty) this.markDirty('shown again');
      }),
      service.onReading((r) => {
        this.live.reading(r);
        this.markDirty('reading');
      }),
      service.onRunStarted((run) => {
        this.live.started(run);
        this.markDirty('run started');
      }),
      service.onRunFinished((run) => {
        this.live.finished(run);
        this.markDirty('run finished');
      }),
      service.onHistoryChanged((c) => this.markDirty(historyChangeReason(c))),
      service.config.onDidChange((c) => c.affects('advice', 'intensity') && this.markDirty('settings')),
    );
  }

  get isReady(): boolean {
    return this.ready;
  }

  /** The UI state the host works with (for tests and the serializer). */
  get uiState(): UiState {
    return { query: { ...this.query }, ...(this.openRunId ? { openRunId: this.openRunId } : {}) };
  }

  /** Opens a run's detail (now if the webview is ready, else as soon as it is). */
  focusRun(runId: string): void {
    if (!this.ready) {
      this.pendingFocus = runId;
      return;
    }
    this.openRunId = runId;
    this.post('focus'); // when the panel is not visible yet, it is sent as soon as the webview says ready
  }

  private applyState(state: unknown): void {
    if (typeof state !== 'object' || state === null) return;
    const s = state as Partial<UiState>;
    this.query = normaliseQuery(s.query);
    if (typeof s.openRunId === 'string') this.openRunId = s.openRunId;
  }

  // -------------------------------------------------------------------------------------------------------------
  // messages from the webview

  /** Handles one message from the webview (what `onDidReceiveMessage` calls). */
  async handleMessage(raw: unknown): Promise<void> {
    const msg = parseWebviewMessage(raw);
    if (typeof msg === 'string') {
      this.stats.rejected++;
      this.service.log.warn(`panel: ignored a malformed message from the webview: ${msg}`);
      return;
    }
    try {
      await this.dispatch(msg);
    } catch (err) {
      this.service.log.error(`panel: ${msg.type} failed: ${errorDetail(err)}`);
      this.ui.error(vscode.l10n.t('Carbon Meter: {0} failed: {1}', msg.type, errorMessage(err)));
    }
  }

  private async dispatch(msg: WebviewMessage): Promise<void> {
    switch (msg.type) {
      case 'ready': {
        this.ready = true;
        this.stats.readies++;
        if (msg.state && this.acceptWebviewState) this.applyState(msg.state);
        this.acceptWebviewState = false;
        if (this.pendingFocus) {
          this.openRunId = this.pendingFocus;
          this.pendingFocus = undefined;
        }
        this.post('ready');
        return;
      }
      case 'query':
        this.query = normaliseQuery(msg.query);
        this.post('query');
        return;
      case 'openRun':
        this.openRunId = msg.id;
        this.post('open run');
        return;
      case 'closeRun':
        this.openRunId = undefined;
        this.post('close run');
        return;
      case 'log':
        this.service.log[msg.level === 'error' ? 'error' : msg.level === 'warn' ? 'warn' : 'info'](
          `panel (webview): ${msg.message}`,
        );
        return;
      case 'openSettings':
        await vscode.commands.executeCommand('workbench.action.openSettings', msg.key);
        return;
      case 'import': {
        const result = await importCsv(this.service, this.ui);
        if (result?.added) this.post('import');
        return;
      }
      case 'export':
        await exportRuns(this.filteredRuns(), msg.format, this.service, this.ui);
        return;
    }
    // actions on one run
    const run = this.findRun(msg.id);
    if (!run) {
      this.ui.warn(vscode.l10n.t('Carbon Meter: run {0} is not in the history any more.', msg.id));
      this.post('missing run');
      return;
    }
    switch (msg.type) {
      case 'rerun':
        await rerunInTerminal(run, this.service, this.ui);
        return;
      case 'runAt':
        await executeCommand('carbonMeter.runAtGreenerTime', { runId: run.id });
        return;
      case 'copyCsv':
        await copyCsvRow(run, this.ui);
        return;
      case 'openReport':
        await executeCommand('carbonMeter.showRun', run.id);
        return;
      case 'deleteRun':
        if (await deleteRun(run, this.service, this.ui)) {
          if (this.openRunId === run.id) this.openRunId = undefined;
          this.post('delete');
        }
        return;
    }
  }

  private currentRuns(): Run[] {
    return mergeLive(this.service.history().runs, this.live.list());
  }

  private findRun(id: string): Run | undefined {
    return this.live.get(id) ?? this.service.findRun(id);
  }

  /** The runs the table's filters select, in its order (what Export writes). */
  private filteredRuns(): Run[] {
    return new RunTable(this.currentRuns()).matching(this.query);
  }

  // -------------------------------------------------------------------------------------------------------------
  // snapshots

  /**
   * The greener-time tip of a run when a live intensity provider is configured: what its forecast says about starting
   * a run like this one (its power profile) now or later, in the run's region. The forecast may need the network, so
   * it is asked in the background (once per run and provider every GREENER_TIME_TTL_MS) and shown in the snapshot
   * after it arrives. Undefined without a live provider: the core's line pointing at the setting is shown.
   */
  private greenerTime(run: Run, samples: readonly Sample[]): TimeAdvice | undefined {
    const provider = this.service.intensity;
    if (!provider || !isLiveProvider(provider)) return undefined;
    const key = `${provider.id}\u0000${run.id}`;
    const hit = this.greener.get(key);
    const fresh = hit && Date.now() - hit.atMs < GREENER_TIME_TTL_MS;
    if (!fresh && !this.greenerAsked.has(key)) {
      this.greenerAsked.add(key);
      const profile = samples.length
        ? profileFromSamples(samples, Date.parse(run.startedAt), run.pue)
        : profileFromRun(run);
      void (async (): Promise<TimeAdvice> => {
        try {
          return timeAdviceFromForecast(
            await greenerTimeForRun(provider, resolveRegion(run.intensity.region), profile, Date.now()),
          );
        } catch (err) {
          return { kind: 'unavailable', settingKey: INTENSITY_PROVIDER_SETTING, reason: errorMessage(err) };
        }
      })().then((advice) => {
        this.greenerAsked.delete(key);
        if (this.greener.size > 50) this.greener.clear();
        this.greener.set(key, { atMs: Date.now(), advice });
        if (this.openRunId === run.id) this.markDirty('greener time');
      });
    }
    return hit?.advice ?? { kind: 'pending', settingKey: INTENSITY_PROVIDER_SETTING };
  }

  /** Builds the snapshot the webview should show now. */
  buildSnapshot(): Snapshot {
    const { runs, corrupt } = this.service.history();
    return this.model.build({
      runs,
      live: this.live.list(),
      query: this.query,
      openRunId: this.openRunId,
      samples: (id) => this.service.runSamples(id),
      greenerTime: (run, samples) => this.greenerTime(run, samples),
      adviceRegions: this.service.settings.adviceRegions,
      historyDir: this.service.historyDir,
      corrupt: corrupt.length,
      monthlyBudgetKg: this.service.settings.budgetMonthlyKg,
    });
  }

  /** Posts a snapshot now (an answer to the webview, or a due live update). */
  private post(reason: string): void {
    if (this.disposed || !this.ready) return;
    if (!this.panel.visible) {
      this.dirty = true; // sent when it is shown again
      return;
    }
    this.cancelTimer();
    this.dirty = false;
    let snapshot: Snapshot;
    try {
      snapshot = this.buildSnapshot();
      this.buildFailures = 0;
    } catch (err) {
      this.service.log.error(`panel: could not build the history snapshot: ${errorDetail(err)}`);
      if (this.buildFailures++ === 0)
        this.ui.error(
          vscode.l10n.t('Carbon Meter: the history could not be read: {0}. See the log.', errorMessage(err)),
        );
      return;
    }
    if (snapshot.table.query.page !== this.query.page) this.query = snapshot.table.query;
    const msg: HostMessage = { type: 'snapshot', seq: ++this.seq, snapshot };
    this.lastPostAt = Date.now();
    this.stats.snapshots++;
    this.stats.last = snapshot;
    this.stats.postedAt.push(this.lastPostAt);
    this.stats.reasons.push(reason);
    if (this.stats.postedAt.length > 100) {
      this.stats.postedAt.shift();
      this.stats.reasons.shift();
    }
    void this.panel.webview
      .postMessage(msg)
      .then(undefined, (err: unknown) =>
        this.service.log.warn(`panel: could not post a snapshot: ${errorMessage(err)}`),
      );
  }

  /** Something changed: update the panel within a second if it is visible; otherwise when it is shown again. */
  private markDirty(reason: string): void {
    if (this.disposed) return;
    this.dirty = true;
    if (!this.ready || !this.panel.visible || this.timer) return;
    const wait = Math.max(0, this.lastPostAt + LIVE_UPDATE_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.dirty && this.ready && this.panel.visible) this.post(`live: ${reason}`);
    }, wait);
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Stops listening and posting; the tab stays. */
  detach(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cancelTimer();
    if (HistoryPanel.current === this) HistoryPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  dispose(): void {
    const wasDisposed = this.disposed;
    this.detach();
    if (!wasDisposed) this.panel.dispose();
  }
}

/** Why a history change makes the panel dirty (PanelStats.reasons). */
function historyChangeReason(c: HistoryChange): string {
  if (c.origin === 'here') return c.deletedIds.length && !c.runs.length ? 'run deleted' : 'runs appended';
  return c.appended ? 'history appended elsewhere' : 'checkpoint elsewhere';
}

/** Brings the panel back after a window reload. */
export class HistoryPanelSerializer implements vscode.WebviewPanelSerializer<unknown> {
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly service: MeterService,
  ) {}

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    HistoryPanel.revive(panel, this.extensionUri, this.service, state);
  }
}

/**
 * Registers the serializer. Disposing it (the extension is deactivated) stops the panel's listeners and timers but
 * leaves its tab alone: on a window reload VS Code keeps the tab and the serializer revives it.
 */
export function registerHistoryPanelSerializer(extensionUri: vscode.Uri, service: MeterService): vscode.Disposable {
  const registration = vscode.window.registerWebviewPanelSerializer(
    HISTORY_VIEW_TYPE,
    new HistoryPanelSerializer(extensionUri, service),
  );
  return new vscode.Disposable(() => {
    registration.dispose();
    HistoryPanel.current?.detach();
  });
}
