/**
 * Running a Python file or a notebook metered, debugging it metered, and its runs: what CodeLens's actions (and
 * the commands `carbonMeter.runFileMetered`, `debugFileMetered`, `showFileRuns`, registered in commands.ts) do.
 * The lenses themselves (codeLens.ts) only provide and resolve.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isTrainingCommand } from '../core/classify';
import { formatAgo, formatCo2, formatDuration, formatEnergy } from '../core/format';
import { childProcesses } from '../core/sampling/processes';
import { shellQuote } from '../core/shell';
import type { Run } from '../core/types';
import type { MeterService } from './meterService';
import { meterShellCommand } from './terminalWatcher';

export const TERMINAL_NAME = 'Carbon Meter';
const SHELL_INTEGRATION_WAIT_MS = 4000;

export class FileRuns implements vscode.Disposable {
  /** exit-code listeners of runs metered here, each disposed once it fires */
  private readonly pending = new Set<vscode.Disposable>();

  constructor(
    private readonly service: MeterService,
    /** the runs of a file, newest first (CodeLens's run index) */
    private readonly runsFor: (file: string) => Run[],
  ) {}

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

  /**
   * The interpreter: `python.defaultInterpreterPath` when the user set it (`configured`), else python3 (python on
   * Windows). Looked up once per action.
   */
  private interpreter(uri: vscode.Uri): { path: string; configured: boolean } {
    const set = vscode.workspace.getConfiguration('python', uri).inspect<string>('defaultInterpreterPath');
    const value = set?.workspaceFolderValue ?? set?.workspaceValue ?? set?.globalValue;
    if (value && value.trim()) {
      const folder = vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? path.dirname(uri.fsPath);
      return { path: value.trim().replace(/\$\{workspaceFolder\}/g, folder), configured: true };
    }
    return { path: process.platform === 'win32' ? 'python' : 'python3', configured: false };
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
    const python = shellQuote(this.interpreter(uri).path);
    return uri.fsPath.toLowerCase().endsWith('.ipynb')
      ? `${python} -m jupyter execute ${shellQuote(file)}`
      : `${python} ${shellQuote(file)}`;
  }

  async runFile(uri?: vscode.Uri): Promise<void> {
    const t = vscode.l10n.t;
    const file = this.target(uri);
    if (!file) {
      void vscode.window.showWarningMessage(t('Carbon Meter: open a Python file or a notebook to run it metered.'));
      return;
    }
    if (file.scheme !== 'file') {
      void vscode.window.showWarningMessage(
        t('Carbon Meter: save "{0}" to a file first, then run it.', path.basename(file.path)),
      );
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
      if (integration && here && path.resolve(here) !== path.resolve(cwd))
        await runAndWait(integration, `cd ${shellQuote(cwd)}`, 10_000);
      else if (!integration) terminal.sendText(`cd ${shellQuote(cwd)}`);
    }
    const s = this.service.settings;
    // with shell integration, the terminal watcher meters what looks like training; anything else is metered here
    const watched =
      !!integration &&
      s.terminalMode !== 'off' &&
      (s.terminalMode === 'all' || isTrainingCommand(command, s.terminalPatterns));
    const startedAt = Date.now();
    this.service.log.info(
      `CodeLens: running "${command}" in ${cwd} (terminal "${terminal.name}"${watched ? '' : ', metered directly'})`,
    );
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
    return {
      terminal: vscode.window.createTerminal({ name: TERMINAL_NAME, cwd, iconPath: new vscode.ThemeIcon('pulse') }),
      created: true,
    };
  }

  private async meterDirectly(
    terminal: vscode.Terminal,
    command: string,
    cwd: string,
    startedAt: number,
    execution?: vscode.TerminalShellExecution,
  ): Promise<void> {
    const shellPid = await terminal.processId;
    if (!shellPid) {
      this.service.log.warn(`CodeLens: cannot meter "${command}": the terminal has no process id`);
      return;
    }
    const meter = await meterShellCommand(this.service, {
      shellPid,
      commandLine: command,
      cwd,
      startedAt,
      who: 'CodeLens',
    });
    if (!meter || !execution) return;
    // one listener per run, gone once it has fired
    const end = vscode.window.onDidEndTerminalShellExecution((e) => {
      if (e.execution !== execution) return;
      end.dispose();
      this.pending.delete(end);
      void this.service.setExitCode(meter.run.id, e.exitCode ?? null);
    });
    this.pending.add(end);
  }

  async debugFile(uri?: vscode.Uri): Promise<void> {
    const t = vscode.l10n.t;
    const file = this.target(uri);
    if (!file || file.scheme !== 'file') {
      void vscode.window.showWarningMessage(t('Carbon Meter: open a saved Python file to debug it metered.'));
      return;
    }
    if (file.fsPath.toLowerCase().endsWith('.ipynb')) {
      void vscode.window.showInformationMessage(
        t(
          'Carbon Meter: debug notebook cells with the notebook\'s own "Debug Cell"; use "Run" to meter the whole notebook.',
        ),
      );
      return;
    }
    const type = vscode.extensions.getExtension('ms-python.debugpy')
      ? 'debugpy'
      : vscode.extensions.getExtension('ms-python.python')
        ? 'python'
        : undefined;
    if (!type) {
      const install = t('Show the Python Debugger');
      const choice = await vscode.window.showWarningMessage(
        t('Carbon Meter: debugging Python needs the Python Debugger extension (ms-python.debugpy).'),
        install,
      );
      if (choice === install) await vscode.commands.executeCommand('workbench.extensions.search', 'ms-python.debugpy');
      return;
    }
    if (this.service.settings.debugMode === 'off') {
      void vscode.window.showWarningMessage(
        t('Carbon Meter: debug sessions are not metered (carbonMeter.debug.meter is "off").'),
      );
    }
    await this.saveIfDirty(file);
    const python = this.interpreter(file);
    const config: vscode.DebugConfiguration = {
      type,
      request: 'launch',
      name: t('Carbon Meter: {0}', path.basename(file.fsPath)),
      program: file.fsPath,
      cwd: this.cwdFor(file),
      console: 'integratedTerminal',
      justMyCode: true,
      ...(python.configured ? { python: python.path } : {}),
    };
    this.service.log.info(`CodeLens: debugging ${file.fsPath} (${type})`);
    const ok = await vscode.debug.startDebugging(vscode.workspace.getWorkspaceFolder(file), config);
    if (!ok)
      void vscode.window.showWarningMessage(t('Carbon Meter: the debugger did not start; see the Debug Console.'));
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
      const choice = await vscode.window.showInformationMessage(
        t('Carbon Meter: no run of {0} in the history yet.', name),
        run,
      );
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
    const pick = await vscode.window.showQuickPick(items, {
      title: t('Carbon Meter: runs of {0} ({1})', name, runs.length),
      matchOnDetail: true,
    });
    if (!pick) return;
    await vscode.commands.executeCommand('carbonMeter.showHistory', pick.id);
  }

  dispose(): void {
    for (const d of this.pending) d.dispose();
    this.pending.clear();
  }
}

/** The terminal's shell integration, waiting up to `boundMs` for it to activate. */
function shellIntegrationOf(
  terminal: vscode.Terminal,
  boundMs: number,
): Promise<vscode.TerminalShellIntegration | undefined> {
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
