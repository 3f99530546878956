/**
 * CodeLens on training entrypoints of Python files and notebook cells: the footprint of the file's last run (or
 * "Run with Carbon Meter"), an estimate for the next run with the best greener-region saving, and actions: run the
 * file metered in a terminal, debug it metered, show its runs.
 *
 * Thin glue over src/core/codelens: detection is cached per document (or notebook) version and skips files over
 * 1 MB; a Python file's detection after an edit re-reads only the top-level statements the edit touched; runs are matched to files through their command lines (RunFileIndex), rebuilt after the history changes,
 * which refreshes the lenses at most once per REFRESH_DEBOUNCE_MS (never per sample).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isTrainingCommand } from '../core/classify';
import {
  detectNotebookEntrypointsSync,
  DocumentDetectors,
  fileLensText,
  initDetector,
  isDetectorReady,
  readCodeLensSettings,
  RunFileIndex,
  VersionedCache,
  type CodeLensSettings,
  type NextRunContext,
  type NotebookCellEntrypoint,
  type TrainingEntrypoint,
} from '../core/codelens';
import { formatAgo, formatCo2, formatDuration, formatEnergy } from '../core/format';
import { childProcesses } from '../core/sampling/processes';
import type { Run } from '../core/types';
import type { MeterService } from './meterService';
import { findCommandProcess } from './terminalWatcher';

/** Files (and notebooks) larger than this are not read for lenses. */
export const MAX_CODELENS_FILE_CHARS = 1024 * 1024;
export const REFRESH_DEBOUNCE_MS = 500;
export const TERMINAL_NAME = 'Carbon Meter';
const SHELL_INTEGRATION_WAIT_MS = 4000;

export const CODELENS_SELECTOR: vscode.DocumentSelector = [
  { language: 'python' },
  { notebookType: 'jupyter-notebook', language: 'python' },
];

export class TrainingCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private settings: CodeLensSettings;
  private index?: RunFileIndex;
  private next?: NextRunContext;
  private readonly detections = new VersionedCache<TrainingEntrypoint[]>();
  /** Each open Python file's top-level statements, so that an edit re-reads only those it touched. */
  private readonly documents = new DocumentDetectors();
  private readonly notebookDetections = new VersionedCache<NotebookCellEntrypoint[]>();
  private refreshTimer?: NodeJS.Timeout;
  /** Why the Python parser could not load (then no lens is shown, and loading is not tried again). */
  private parserProblem?: string;

  constructor(private readonly service: MeterService) {
    this.settings = this.readSettings();
    this.disposables.push(
      this.changed,
      vscode.languages.registerCodeLensProvider(CODELENS_SELECTOR, this),
      service.onHistoryChanged(() => this.scheduleRefresh()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('carbonMeter.codeLens')) this.settings = this.readSettings();
        if (e.affectsConfiguration('carbonMeter')) {
          this.next = undefined;
          this.changed.fire();
        }
      }),
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.detections.delete(d.uri.toString());
        this.documents.delete(d.uri.toString());
      }),
      vscode.workspace.onDidCloseNotebookDocument((nb) => this.notebookDetections.delete(nb.uri.toString())),
      vscode.commands.registerCommand('carbonMeter.runFileMetered', (uri?: vscode.Uri) => this.runFile(uri)),
      vscode.commands.registerCommand('carbonMeter.debugFileMetered', (uri?: vscode.Uri) => this.debugFile(uri)),
      vscode.commands.registerCommand('carbonMeter.showFileRuns', (uri?: vscode.Uri) => this.showFileRuns(uri)),
    );
  }

  private readSettings(): CodeLensSettings {
    const cfg = vscode.workspace.getConfiguration('carbonMeter');
    const { settings, problems } = readCodeLensSettings((k) => cfg.get(k));
    for (const p of problems) this.service.problem(p.message, p.key);
    return settings;
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
      userRegions: vscode.workspace.getConfiguration('carbonMeter').get<string[]>('advice.regions'),
      t: vscode.l10n.t,
    });
    const lenses: vscode.CodeLens[] = [];
    entries.forEach((entry, k) => {
      const range = new vscode.Range(entry.line, 0, entry.line, 0);
      const what = vscode.l10n.t('Training entry point: {0}.', entry.label);
      const tooltip = [what, ...text.tooltip].join('\n');
      if (text.run) {
        lenses.push(new vscode.CodeLens(range, { title: text.primary, command: 'carbonMeter.showFileRuns', arguments: [file], tooltip: `${tooltip}\n${vscode.l10n.t('Click to see the runs of this file.')}` }));
        if (k === 0) lenses.push(new vscode.CodeLens(range, { title: `$(play) ${vscode.l10n.t('Run')}`, command: 'carbonMeter.runFileMetered', arguments: [file], tooltip: vscode.l10n.t('Run this file in a terminal, metered by Carbon Meter') }));
      } else {
        lenses.push(new vscode.CodeLens(range, { title: text.primary, command: 'carbonMeter.runFileMetered', arguments: [file], tooltip: `${tooltip}\n${vscode.l10n.t('Run this file in a terminal, metered by Carbon Meter.')}` }));
      }
      if (k !== 0) return;
      if (!notebook) {
        lenses.push(new vscode.CodeLens(range, { title: `$(debug-alt) ${vscode.l10n.t('Debug')}`, command: 'carbonMeter.debugFileMetered', arguments: [file], tooltip: vscode.l10n.t('Debug this file, metered by Carbon Meter') }));
      }
      if (text.estimate) lenses.push(new vscode.CodeLens(range, { title: text.estimate, command: '', tooltip }));
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
      this.parserProblem = (err as Error).message;
      this.service.log.warn(`CodeLens: the Python parser could not be loaded, no lenses: ${this.parserProblem}`);
      return false;
    }
  }

  /** Detection for a text document, once per version; nothing for files over MAX_CODELENS_FILE_CHARS. */
  private detect(document: vscode.TextDocument): TrainingEntrypoint[] {
    return this.detections.get(document.uri.toString(), document.version, () => {
      const last = document.lineAt(document.lineCount - 1).range.end;
      return document.offsetAt(last) > MAX_CODELENS_FILE_CHARS ? [] : this.documents.detect(document.uri.toString(), document.getText());
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
        const { runs } = this.service.store.load();
        this.index = new RunFileIndex(runs, { home: process.env.HOME || process.env.USERPROFILE });
      } catch (err) {
        this.service.log.warn(`CodeLens: could not read the history: ${(err as Error).message}`);
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

  // ----------------------------------------------------------------------------------------------------------------
  // actions

  /** The file of an action: the one given, or the active editor's (a notebook's, for a cell). */
  private target(uri?: vscode.Uri): vscode.Uri | undefined {
    if (uri instanceof vscode.Uri) return uri;
    const nb = vscode.window.activeNotebookEditor?.notebook;
    if (nb) return nb.uri;
    return vscode.window.activeTextEditor?.document.uri;
  }

  private async saveIfDirty(uri: vscode.Uri): Promise<void> {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (doc?.isDirty) await doc.save();
    const nb = vscode.workspace.notebookDocuments.find((n) => n.uri.toString() === uri.toString());
    if (nb?.isDirty) await nb.save();
  }

  /** The interpreter: `python.defaultInterpreterPath` when the user set it, else python3 (python on Windows). */
  private python(uri: vscode.Uri): string {
    const set = vscode.workspace.getConfiguration('python', uri).inspect<string>('defaultInterpreterPath');
    let value = set?.workspaceFolderValue ?? set?.workspaceValue ?? set?.globalValue;
    if (value && value.trim()) {
      const folder = vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? path.dirname(uri.fsPath);
      value = value.trim().replace(/\$\{workspaceFolder\}/g, folder);
      return value;
    }
    return process.platform === 'win32' ? 'python' : 'python3';
  }

  /** Where a file runs: its workspace folder, or its own folder (`python.terminal.executeInFileDir`, or no workspace). */
  private cwdFor(uri: vscode.Uri): string {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    const inFileDir = vscode.workspace.getConfiguration('python.terminal', uri).get<boolean>('executeInFileDir');
    return folder && !inFileDir ? folder.uri.fsPath : path.dirname(uri.fsPath);
  }

  /** The command line that runs the file from `cwd`. */
  commandFor(uri: vscode.Uri, cwd: string): string {
    const rel = path.relative(cwd, uri.fsPath);
    const file = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : uri.fsPath;
    const python = shellQuote(this.python(uri));
    return uri.fsPath.toLowerCase().endsWith('.ipynb') ? `${python} -m jupyter execute ${shellQuote(file)}` : `${python} ${shellQuote(file)}`;
  }

  async runFile(uri?: vscode.Uri): Promise<void> {
    const t = vscode.l10n.t;
    const file = this.target(uri);
    if (!file) {
      void vscode.window.showWarningMessage(t('Carbon Meter: open a Python file or a notebook to run it metered.'));
      return;
    }
    if (file.scheme !== 'file') {
      void vscode.window.showWarningMessage(t('Carbon Meter: save "{0}" to a file first, then run it.', path.basename(file.path)));
      return;
    }
    await this.saveIfDirty(file);
    const cwd = this.cwdFor(file);
    const command = this.commandFor(file, cwd);
    const { terminal, created } = await this.terminalFor(cwd);
    terminal.show(true);
    const integration = await shellIntegrationOf(terminal, SHELL_INTEGRATION_WAIT_MS);
    if (!created) {
      // a terminal used before may be elsewhere now
      const here = integration?.cwd?.fsPath;
      if (integration && here && path.resolve(here) !== path.resolve(cwd)) await runAndWait(integration, `cd ${shellQuote(cwd)}`, 10_000);
      else if (!integration) terminal.sendText(`cd ${shellQuote(cwd)}`);
    }
    const s = this.service.settings;
    // with shell integration, the terminal watcher meters what looks like training; anything else is metered here
    const watched = !!integration && s.terminalMode !== 'off' && (s.terminalMode === 'all' || isTrainingCommand(command, s.terminalPatterns));
    const startedAt = Date.now();
    this.service.log.info(`CodeLens: running "${command}" in ${cwd} (terminal "${terminal.name}"${watched ? '' : ', metered directly'})`);
    let execution: vscode.TerminalShellExecution | undefined;
    if (integration) execution = integration.executeCommand(command);
    else terminal.sendText(command);
    if (!watched) await this.meterDirectly(terminal, command, cwd, startedAt, execution);
  }

  /** A "Carbon Meter" terminal that is not running anything, or a new one. */
  private async terminalFor(cwd: string): Promise<{ terminal: vscode.Terminal; created: boolean }> {
    for (const t of vscode.window.terminals) {
      if (t.name !== TERMINAL_NAME || t.exitStatus !== undefined) continue;
      const pid = await t.processId;
      if (pid && (await childProcesses(pid)).length === 0) return { terminal: t, created: false };
    }
    return { terminal: vscode.window.createTerminal({ name: TERMINAL_NAME, cwd, iconPath: new vscode.ThemeIcon('pulse') }), created: true };
  }

  private async meterDirectly(terminal: vscode.Terminal, command: string, cwd: string, startedAt: number, execution?: vscode.TerminalShellExecution): Promise<void> {
    const shellPid = await terminal.processId;
    if (!shellPid) {
      this.service.log.warn(`CodeLens: cannot meter "${command}": the terminal has no process id`);
      return;
    }
    const child = await findCommandProcess(shellPid, command);
    if (!child) {
      this.service.log.info(`CodeLens: "${command}" ended or could not be found under the shell (pid ${shellPid})`);
      return;
    }
    const meter = await this.service.start({ pid: child.pid, command, cwd, source: 'terminal', reaperPid: shellPid, startedAt });
    if (!meter || !execution) return;
    const end = vscode.window.onDidEndTerminalShellExecution((e) => {
      if (e.execution !== execution) return;
      end.dispose();
      void this.service.setExitCode(meter.run.id, e.exitCode ?? null);
    });
    this.disposables.push(end);
  }

  async debugFile(uri?: vscode.Uri): Promise<void> {
    const t = vscode.l10n.t;
    const file = this.target(uri);
    if (!file || file.scheme !== 'file') {
      void vscode.window.showWarningMessage(t('Carbon Meter: open a saved Python file to debug it metered.'));
      return;
    }
    if (file.fsPath.toLowerCase().endsWith('.ipynb')) {
      void vscode.window.showInformationMessage(t('Carbon Meter: debug notebook cells with the notebook\'s own "Debug Cell"; use "Run" to meter the whole notebook.'));
      return;
    }
    const type = vscode.extensions.getExtension('ms-python.debugpy') ? 'debugpy' : vscode.extensions.getExtension('ms-python.python') ? 'python' : undefined;
    if (!type) {
      const install = t('Show the Python Debugger');
      const choice = await vscode.window.showWarningMessage(t('Carbon Meter: debugging Python needs the Python Debugger extension (ms-python.debugpy).'), install);
      if (choice === install) await vscode.commands.executeCommand('workbench.extensions.search', 'ms-python.debugpy');
      return;
    }
    if (this.service.settings.debugMode === 'off') {
      void vscode.window.showWarningMessage(t('Carbon Meter: debug sessions are not metered (carbonMeter.debug.meter is "off").'));
    }
    await this.saveIfDirty(file);
    const set = vscode.workspace.getConfiguration('python', file).inspect<string>('defaultInterpreterPath');
    const configured = set?.workspaceFolderValue ?? set?.workspaceValue ?? set?.globalValue;
    const config: vscode.DebugConfiguration = {
      type,
      request: 'launch',
      name: t('Carbon Meter: {0}', path.basename(file.fsPath)),
      program: file.fsPath,
      cwd: this.cwdFor(file),
      console: 'integratedTerminal',
      justMyCode: true,
      ...(configured ? { python: this.python(file) } : {}),
    };
    this.service.log.info(`CodeLens: debugging ${file.fsPath} (${type})`);
    const ok = await vscode.debug.startDebugging(vscode.workspace.getWorkspaceFolder(file), config);
    if (!ok) void vscode.window.showWarningMessage(t('Carbon Meter: the debugger did not start; see the Debug Console.'));
  }

  async showFileRuns(uri?: vscode.Uri): Promise<void> {
    const t = vscode.l10n.t;
    const file = this.target(uri);
    if (!file) {
      void vscode.window.showWarningMessage(t('Carbon Meter: open a Python file or a notebook to see its runs.'));
      return;
    }
    const runs = file.scheme === 'file' ? this.runsFor(file.fsPath) : [];
    const name = path.basename(file.path);
    if (!runs.length) {
      const run = t('Run with Carbon Meter');
      const choice = await vscode.window.showInformationMessage(t('Carbon Meter: no run of {0} in the history yet.', name), run);
      if (choice === run) await this.runFile(file);
      return;
    }
    const all = { label: `$(history) ${t('Show the whole history')}`, id: undefined as string | undefined };
    const items = [
      ...runs.map((r) => ({
        label: `${r.status === 'running' ? '$(pulse)' : r.status === 'completed' ? '$(check)' : r.status === 'failed' ? '$(error)' : '$(warning)'} ${new Date(r.startedAt).toLocaleString()}`,
        description: `${formatCo2(r.emissionsKg)} CO₂eq · ${formatEnergy(r.energyKWh.total)} · ${formatDuration(r.durationS)} · ${formatAgo(Date.parse(r.startedAt))}`,
        detail: `${r.source} · ${r.intensity.region} · ${r.command}`,
        id: r.id as string | undefined,
      })),
      all,
    ];
    const pick = await vscode.window.showQuickPick(items, { title: t('Carbon Meter: runs of {0} ({1})', name, runs.length), matchOnDetail: true });
    if (!pick) return;
    await vscode.commands.executeCommand('carbonMeter.showHistory', pick.id);
  }

  dispose(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    for (const d of this.disposables) d.dispose();
    this.documents.clear();
  }
}

/** A word for a POSIX shell (or PowerShell/cmd on Windows): quoted only when it needs it. */
export function shellQuote(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  if (process.platform === 'win32') return `"${word.replace(/"/g, '""')}"`;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The terminal's shell integration, waiting up to `boundMs` for it to activate. */
function shellIntegrationOf(terminal: vscode.Terminal, boundMs: number): Promise<vscode.TerminalShellIntegration | undefined> {
  if (terminal.shellIntegration) return Promise.resolve(terminal.shellIntegration);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      sub.dispose();
      resolve(terminal.shellIntegration);
    }, boundMs);
    const sub = vscode.window.onDidChangeTerminalShellIntegration((e) => {
      if (e.terminal !== terminal) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(e.shellIntegration);
    });
  });
}

/** Runs a command through shell integration and waits (at most `boundMs`) for it to end. */
function runAndWait(integration: vscode.TerminalShellIntegration, command: string, boundMs: number): Promise<void> {
  return new Promise((resolve) => {
    const execution = integration.executeCommand(command);
    const timer = setTimeout(() => {
      sub.dispose();
      resolve();
    }, boundMs);
    const sub = vscode.window.onDidEndTerminalShellExecution((e) => {
      if (e.execution !== execution) return;
      clearTimeout(timer);
      sub.dispose();
      resolve();
    });
  });
}
