/**
 * What the History panel's buttons do: re-run in a terminal, copy a CodeCarbon CSV row, delete, export and import.
 * Every action answers the user, with what happened or what to do.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isTrainingCommand } from '../../core/classify';
import { parseCodeCarbonCsv, runsToCodeCarbonCsv, runsToJson } from '../../core/history/codecarbon';
import { fromAlpha3, toAlpha3 } from '../../core/intensity/regions';
import type { Run } from '../../core/types';
import type { MeterService } from '../meterService';
import { errorMessage } from '../../core/errors';

/** The dialogs the actions use; the extension-host tests pass their own answers. */
export interface PanelUi {
  /** A modal confirmation; true when the user chose `action`. */
  confirm(message: string, detail: string, action: string): Promise<boolean>;
  saveUri(defaultUri: vscode.Uri | undefined, filters: Record<string, string[]>): Promise<vscode.Uri | undefined>;
  openUri(filters: Record<string, string[]>): Promise<vscode.Uri | undefined>;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const windowUi: PanelUi = {
  async confirm(message, detail, action) {
    const choice = await vscode.window.showWarningMessage(message, { modal: true, detail }, action);
    return choice === action;
  },
  saveUri: (defaultUri, filters) =>
    Promise.resolve(vscode.window.showSaveDialog({ defaultUri, filters, title: vscode.l10n.t('Export runs') })),
  openUri: async (filters) =>
    (
      await vscode.window.showOpenDialog({
        canSelectMany: false,
        canSelectFiles: true,
        canSelectFolders: false,
        filters,
        title: vscode.l10n.t('Import a CodeCarbon emissions.csv'),
        openLabel: vscode.l10n.t('Import'),
      })
    )?.[0],
  info: (m) => void vscode.window.showInformationMessage(m),
  warn: (m) => void vscode.window.showWarningMessage(m),
  error: (m) => void vscode.window.showErrorMessage(m),
};

const t = vscode.l10n.t;

function existingDir(p: string): boolean {
  try {
    return !!p && fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function waitForShellIntegration(terminal: vscode.Terminal, boundMs: number): Promise<boolean> {
  if (terminal.shellIntegration) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      sub.dispose();
      resolve(false);
    }, boundMs);
    const sub = vscode.window.onDidChangeTerminalShellIntegration((e) => {
      if (e.terminal !== terminal) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(true);
    });
  });
}

/**
 * Types the run's command into a new terminal opened in the run's folder, once the shell reports its prompt through
 * shell integration, so that the terminal watcher sees (and meters) it as it would a command typed by hand.
 */
export async function rerunInTerminal(
  run: Run,
  service: MeterService,
  ui: PanelUi,
): Promise<vscode.Terminal | undefined> {
  const command = run.command.trim();
  if (!command) {
    ui.warn(t('Carbon Meter: "{0}" has no command to run again (it was imported).', run.name));
    return undefined;
  }
  const workspaceDir = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const cwd = existingDir(run.cwd) ? run.cwd : workspaceDir;
  if (run.cwd && cwd !== run.cwd) {
    ui.warn(
      t(
        'Carbon Meter: the folder {0} of this run does not exist here; running in {1}.',
        run.cwd,
        cwd ?? t('the default folder'),
      ),
    );
  }
  const terminal = vscode.window.createTerminal({
    name: t('Carbon Meter: {0}', run.name),
    cwd,
    iconPath: new vscode.ThemeIcon('history'),
  });
  terminal.show();
  const integrated = await waitForShellIntegration(terminal, 10_000);
  terminal.sendText(command, true);
  const s = service.settings;
  if (!integrated) {
    ui.warn(
      t(
        'Carbon Meter: shell integration is not active in this terminal, so the command may not be metered. Use "Carbon Meter: Meter Process in Terminal" while it runs.',
      ),
    );
  } else if (s.terminalMode === 'off') {
    ui.info(t('Carbon Meter: terminal metering is off (carbonMeter.terminal.meter), so this run is not metered.'));
  } else if (s.terminalMode === 'training' && !isTrainingCommand(command, s.terminalPatterns)) {
    ui.info(
      t(
        'Carbon Meter: this command does not match carbonMeter.terminal.patterns, so it is not metered automatically. Use "Carbon Meter: Meter Process in Terminal" while it runs.',
      ),
    );
  }
  service.log.info(`panel: re-running ${run.id} in a terminal (${cwd ?? 'default folder'}): ${command}`);
  return terminal;
}

/** The run as one CodeCarbon 3.x emissions.csv row (no header), as `runsToCodeCarbonCsv` writes it. */
export function codeCarbonRow(run: Run): string {
  return runsToCodeCarbonCsv([run], toAlpha3).split('\n')[1];
}

export async function copyCsvRow(run: Run, ui: PanelUi): Promise<string> {
  const row = codeCarbonRow(run);
  await vscode.env.clipboard.writeText(row);
  ui.info(t('Carbon Meter: copied the CodeCarbon CSV row of "{0}" (CodeCarbon 3.x column order).', run.name));
  return row;
}

/** Deletes a finished run after a modal confirmation. True when it was deleted. */
export async function deleteRun(run: Run, service: MeterService, ui: PanelUi): Promise<boolean> {
  if (run.status === 'running') {
    ui.warn(t('Carbon Meter: "{0}" is still being metered. Stop metering it first.', run.name));
    return false;
  }
  const action = t('Delete');
  const ok = await ui.confirm(
    t('Delete the run "{0}" from the history?', run.name),
    t('Its record and its power samples are removed from {0}. This cannot be undone.', service.historyDir),
    action,
  );
  if (!ok) return false;
  service.deleteRun(run.id);
  service.log.info(`panel: deleted run ${run.id}`);
  return true;
}

/** Writes runs as a CodeCarbon emissions.csv or as JSON to a file the user picks. Returns where, if anywhere. */
export async function exportRuns(
  runs: readonly Run[],
  format: 'csv' | 'json',
  service: MeterService,
  ui: PanelUi,
): Promise<vscode.Uri | undefined> {
  const done = runs.filter((r) => r.status !== 'running');
  if (!done.length) {
    ui.info(t('Carbon Meter: no finished run to export.'));
    return undefined;
  }
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const name = format === 'csv' ? 'emissions.csv' : 'carbon-meter-runs.json';
  const filters: Record<string, string[]> = format === 'csv' ? { [t('CodeCarbon CSV')]: ['csv'] } : { JSON: ['json'] };
  const uri = await ui.saveUri(folder ? vscode.Uri.joinPath(folder, name) : undefined, filters);
  if (!uri) return undefined;
  const text = format === 'csv' ? runsToCodeCarbonCsv([...done], toAlpha3) : runsToJson([...done]);
  try {
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text));
  } catch (err) {
    ui.error(t('Carbon Meter: could not write {0}: {1}', uri.fsPath, errorMessage(err)));
    return undefined;
  }
  service.log.info(`panel: exported ${done.length} run(s) as ${format} to ${uri.fsPath}`);
  ui.info(
    done.length === 1
      ? t('Carbon Meter: exported 1 run to {0}.', uri.fsPath)
      : t('Carbon Meter: exported {0} runs to {1}.', done.length, uri.fsPath),
  );
  return uri;
}

export interface ImportResult {
  added: number;
  known: number;
  errors: { line: number; reason: string }[];
}

/** Imports a CodeCarbon emissions.csv the user picks; runs already in the history (same id) are skipped. */
export async function importCsv(service: MeterService, ui: PanelUi): Promise<ImportResult | undefined> {
  const uri = await ui.openUri({ [t('CodeCarbon CSV')]: ['csv'], [t('All files')]: ['*'] });
  if (!uri) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8').decode(await vscode.workspace.fs.readFile(uri));
  } catch (err) {
    ui.error(t('Carbon Meter: could not read {0}: {1}', uri.fsPath, errorMessage(err)));
    return undefined;
  }
  const fileName = path.basename(uri.fsPath);
  const { runs, errors } = parseCodeCarbonCsv(text, { fileName, fromAlpha3 });
  for (const e of errors) service.log.warn(`panel: import ${uri.fsPath}:${e.line}: skipped: ${e.reason}`);
  const known = new Set(service.history().runs.map((r) => r.id));
  const fresh = runs.filter((r) => !known.has(r.id));
  if (fresh.length) service.appendRuns(fresh);
  const result = { added: fresh.length, known: runs.length - fresh.length, errors };
  service.log.info(
    `panel: imported ${result.added} run(s) from ${uri.fsPath} (${result.known} already in the history, ${errors.length} row(s) skipped)`,
  );
  if (!runs.length && errors.length) {
    ui.error(t('Carbon Meter: nothing imported from {0}: line {1}: {2}', fileName, errors[0].line, errors[0].reason));
  } else {
    const parts = [
      result.added === 1
        ? t('Carbon Meter: imported 1 run from {0}.', fileName)
        : t('Carbon Meter: imported {0} runs from {1}.', result.added, fileName),
    ];
    if (result.known) parts.push(t('{0} already in the history.', result.known));
    if (errors.length) parts.push(t('{0} row(s) could not be read (see the log).', errors.length));
    if (errors.length) ui.warn(parts.join(' '));
    else ui.info(parts.join(' '));
  }
  return result;
}
