/**
 * CodeLens on training entrypoints of Python files and notebook cells: the footprint of the file's last run (or
 * "Run with Carbon Meter"), an estimate for the next run with the best greener-region saving, and the actions (run
 * the file metered in a terminal, debug it metered, show its runs) as commands: fileRuns.ts does them, commands.ts
 * registers them. This provider only provides and resolves lenses.
 *
 * Thin glue over src/core/codelens: detection is cached per document (or notebook) version and skips files over
 * 1 MB; a Python file's detection after an edit re-reads only the top-level statements the edit touched; runs are matched to files through their command lines (RunFileIndex), rebuilt after the history changes,
 * which refreshes the lenses at most once per REFRESH_DEBOUNCE_MS (never per sample).
 */
import * as vscode from 'vscode';
import {
  detectNotebookEntrypointsSync,
  DocumentDetectors,
  fileLensText,
  initDetector,
  isDetectorReady,
  RunFileIndex,
  VersionedCache,
  type CodeLensSettings,
  type NextRunContext,
  type NotebookCellEntrypoint,
  type TrainingEntrypoint,
} from '../core/codelens';
import type { Run } from '../core/types';
import type { MeterService } from './meterService';
import type { ScheduledRuns } from './scheduledRuns';
import { errorMessage } from '../core/errors';

/** Files (and notebooks) larger than this are not read for lenses. */
export const MAX_CODELENS_FILE_CHARS = 1024 * 1024;
export const REFRESH_DEBOUNCE_MS = 500;

export const CODELENS_SELECTOR: vscode.DocumentSelector = [
  { language: 'python' },
  { notebookType: 'jupyter-notebook', language: 'python' },
];

export class TrainingCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private index?: RunFileIndex;
  private next?: NextRunContext;
  private readonly detections = new VersionedCache<TrainingEntrypoint[]>();
  /** Each open Python file's top-level statements, so that an edit re-reads only those it touched. */
  private readonly documents = new DocumentDetectors();
  private readonly notebookDetections = new VersionedCache<NotebookCellEntrypoint[]>();
  private refreshTimer?: NodeJS.Timeout;
  /** Why the Python parser could not load (then no lens is shown, and loading is not tried again). */
  private parserProblem?: string;

  constructor(
    private readonly service: MeterService,
    /** "Run at 03:00 (−38 %)" (scheduledRuns.ts) */
    private readonly runAt?: Pick<ScheduledRuns, 'lens' | 'onDidChangeLenses'>,
  ) {
    this.disposables.push(
      this.changed,
      ...(runAt ? [runAt.onDidChangeLenses(() => this.changed.fire())] : []),
      vscode.languages.registerCodeLensProvider(CODELENS_SELECTOR, this),
      service.onHistoryChanged(() => this.scheduleRefresh()),
      service.config.onDidChange(() => {
        this.next = undefined;
        this.changed.fire();
      }),
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.detections.delete(d.uri.toString());
        this.documents.delete(d.uri.toString());
      }),
      vscode.workspace.onDidCloseNotebookDocument((nb) => this.notebookDetections.delete(nb.uri.toString())),
    );
  }

  /** `carbonMeter.codeLens.*`, checked and current (configuration.ts). */
  private get settings(): CodeLensSettings {
    return this.service.config.codeLens;
  }

  /** The history changed: rebuild the run index and refresh the lenses, once per burst of changes. */
  private scheduleRefresh(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.index = undefined;
      this.changed.fire();
    }, REFRESH_DEBOUNCE_MS);
  }

  // ----------------------------------------------------------------------------------------------------------------
  // lenses

  async provideCodeLenses(document: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
    if (!this.settings.enabled || token.isCancellationRequested) return [];
    if (!(await this.parserLoaded()) || token.isCancellationRequested) return [];
    let entries: TrainingEntrypoint[];
    let file: vscode.Uri;
    let notebook = false;
    if (document.uri.scheme === 'vscode-notebook-cell') {
      const nb = vscode.workspace.notebookDocuments.find((n) => n.getCells().some((c) => c.document === document));
      if (!nb) return [];
      const cell = nb.getCells().find((c) => c.document === document)!;
      entries = this.detectNotebook(nb).filter((e) => e.cell === cell.index);
      file = nb.uri;
      notebook = true;
    } else {
      entries = this.detect(document);
      file = document.uri;
    }
    if (!entries.length) return [];
    const runs = file.scheme === 'file' ? this.runsFor(file.fsPath) : [];
    const text = fileLensText(runs, {
      show: this.settings.show,
      next: this.nextRun(),
      userRegions: this.service.settings.adviceRegions,
      t: vscode.l10n.t,
    });
    const lenses: vscode.CodeLens[] = [];
    entries.forEach((entry, k) => {
      const range = new vscode.Range(entry.line, 0, entry.line, 0);
      const what = vscode.l10n.t('Training entry point: {0}.', entry.label);
      const tooltip = [what, ...text.tooltip].join('\n');
      if (text.run) {
        lenses.push(
          new vscode.CodeLens(range, {
            title: text.primary,
            command: 'carbonMeter.showFileRuns',
            arguments: [file],
            tooltip: `${tooltip}\n${vscode.l10n.t('Click to see the runs of this file.')}`,
          }),
        );
        if (k === 0)
          lenses.push(
            new vscode.CodeLens(range, {
              title: `$(play) ${vscode.l10n.t('Run')}`,
              command: 'carbonMeter.runFileMetered',
              arguments: [file],
              tooltip: vscode.l10n.t('Run this file in a terminal, metered by Carbon Meter'),
            }),
          );
      } else {
        lenses.push(
          new vscode.CodeLens(range, {
            title: text.primary,
            command: 'carbonMeter.runFileMetered',
            arguments: [file],
            tooltip: `${tooltip}\n${vscode.l10n.t('Run this file in a terminal, metered by Carbon Meter.')}`,
          }),
        );
      }
      if (k !== 0) return;
      if (!notebook) {
        lenses.push(
          new vscode.CodeLens(range, {
            title: `$(debug-alt) ${vscode.l10n.t('Debug')}`,
            command: 'carbonMeter.debugFileMetered',
            arguments: [file],
            tooltip: vscode.l10n.t('Debug this file, metered by Carbon Meter'),
          }),
        );
      }
      if (text.estimate) lenses.push(new vscode.CodeLens(range, { title: text.estimate, command: '', tooltip }));
      const runAt = this.runAt?.lens(range, file, runs);
      if (runAt) lenses.push(runAt);
    });
    return lenses;
  }

  /** Loads the Python grammar the first time a lens is asked for (off the activation path); false if it cannot. */
  private async parserLoaded(): Promise<boolean> {
    if (isDetectorReady()) return true;
    if (this.parserProblem) return false;
    try {
      await initDetector();
      return true;
    } catch (err) {
      this.parserProblem = errorMessage(err);
      this.service.log.warn(`CodeLens: the Python parser could not be loaded, no lenses: ${this.parserProblem}`);
      return false;
    }
  }

  /** Detection for a text document, once per version; nothing for files over MAX_CODELENS_FILE_CHARS. */
  private detect(document: vscode.TextDocument): TrainingEntrypoint[] {
    return this.detections.get(document.uri.toString(), document.version, () => {
      const last = document.lineAt(document.lineCount - 1).range.end;
      return document.offsetAt(last) > MAX_CODELENS_FILE_CHARS
        ? []
        : this.documents.detect(document.uri.toString(), document.getText());
    });
  }

  /** Detection for a notebook (all its cells at once: a cell may call what another defines), once per version. */
  private detectNotebook(nb: vscode.NotebookDocument): NotebookCellEntrypoint[] {
    // a cell edit changes the cell's version; adding or removing cells changes the notebook's
    const version = nb.getCells().reduce((v, c) => v + c.document.version, nb.version * 1_000_003);
    return this.notebookDetections.get(nb.uri.toString(), version, () => {
      const cells = nb.getCells().map((c) => ({
        source: c.document.getText(),
        code: c.kind === vscode.NotebookCellKind.Code && c.document.languageId === 'python',
      }));
      const size = cells.reduce((sum, c) => sum + c.source.length, 0);
      return size > MAX_CODELENS_FILE_CHARS ? [] : detectNotebookEntrypointsSync(cells);
    });
  }

  /** The runs of a file, newest first (the index is rebuilt after the history changes). */
  runsFor(file: string): Run[] {
    if (!this.index) {
      try {
        const { runs } = this.service.history();
        this.index = new RunFileIndex(runs, { home: process.env.HOME || process.env.USERPROFILE });
      } catch (err) {
        this.service.log.warn(`CodeLens: could not read the history: ${errorMessage(err)}`);
        this.index = new RunFileIndex([]);
      }
    }
    return this.index.runsFor(file);
  }

  /** The intensity and PUE the next run would use (the region setting, or the time-zone guess). */
  private nextRun(): NextRunContext | undefined {
    if (!this.next) {
      try {
        const c = this.service.regionChoice();
        this.next = { intensityGPerKWh: c.region.intensityGPerKWh, pue: c.pue, region: c.region.code };
      } catch {
        return undefined; // the region setting is wrong: regionChoice already told the user
      }
    }
    return this.next;
  }

  dispose(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    for (const d of this.disposables) d.dispose();
    this.documents.clear();
  }
}
