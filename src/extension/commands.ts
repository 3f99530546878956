/** The commands of the "Carbon Meter" category. Every command answers, even when nothing can be metered. */
import * as vscode from 'vscode';
import { showReport } from './reportDocument';
import { formatAgo, formatCo2, formatDuration } from '../core/format';
import { childProcesses, listProcesses } from '../core/sampling/processes';
import { cpuShare, looksLikeTraining, orderProcesses } from '../core/view/processPick';
import type { CommandId } from './commandIds';
import type { FileRuns } from './fileRuns';
import type { MeterService } from './meterService';

/** Registers one of Carbon Meter's commands (package.json contributes it; `CommandId` lists it). */
export function registerCommand(id: CommandId, callback: CommandHandler): vscode.Disposable {
  return vscode.commands.registerCommand(id, callback);
}

/** Runs one of Carbon Meter's commands. */
export function executeCommand<T = unknown>(id: CommandId, ...args: unknown[]): Thenable<T | undefined> {
  return vscode.commands.executeCommand<T>(id, ...args);
}

/** What a command does, given the arguments its caller passed (VS Code passes whatever the caller gave). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- VS Code passes whatever the caller gave
type CommandHandler = (...args: any[]) => unknown;

/** Registers the commands of this module: a table of command id -> handler (the others register their own). */
export function registerCommands(
  service: MeterService,
  showHistory: (runId?: string) => Promise<void>,
  files: FileRuns,
): vscode.Disposable[] {
  const handlers: Partial<Record<CommandId, CommandHandler>> = {
    'carbonMeter.runFileMetered': (uri?: vscode.Uri) => files.runFile(uri),
    'carbonMeter.debugFileMetered': (uri?: vscode.Uri) => files.debugFile(uri),
    'carbonMeter.showFileRuns': (uri?: vscode.Uri) => files.showFileRuns(uri),
    'carbonMeter.showHistory': (runId?: string) => showHistory(typeof runId === 'string' ? runId : undefined),
    'carbonMeter.showRun': (runId: string) => showRunReport(service, runId),
    'carbonMeter.stopMetering': (runId?: string) => stopMetering(service, runId),
    'carbonMeter.meterProcess': () => meterProcess(service),
    'carbonMeter.meterTerminalProcess': () => meterTerminalProcess(service),
    'carbonMeter.openSettings': () =>
      vscode.commands.executeCommand('workbench.action.openSettings', '@ext:carbon-meter.carbon-meter'),
    'carbonMeter.showLog': () => service.log.show(true),
  };
  return (Object.entries(handlers) as [CommandId, CommandHandler][]).map(([id, handler]) =>
    registerCommand(id, handler),
  );
}

/** Stops metering a run (the given one, the only one, or the one picked); the process keeps running. */
async function stopMetering(service: MeterService, runId?: string): Promise<void> {
  const t = vscode.l10n.t;
  const active = service.active();
  if (!active.length) {
    void vscode.window.showInformationMessage(t('Carbon Meter: nothing is being metered.'));
    return;
  }
  let id = typeof runId === 'string' ? runId : undefined;
  if (!id) {
    if (active.length === 1) id = active[0].run.id;
    else {
      const pick = await vscode.window.showQuickPick(
        active.map((m) => ({
          label: m.run.name,
          description: `${formatCo2(m.run.emissionsKg)} · ${formatDuration(m.elapsedS)}`,
          detail: m.run.command,
          id: m.run.id,
        })),
        { title: t('Stop metering which run?') },
      );
      id = pick?.id;
    }
  }
  if (!id) return;
  const run = await service.stop(id);
  if (run)
    void vscode.window.showInformationMessage(
      t(
        'Carbon Meter: stopped metering {0} ({1} CO₂eq). The process keeps running.',
        run.name,
        formatCo2(run.emissionsKg),
      ),
    );
}

/**
 * Meters a process the user picks from all of this machine's processes: Python and training launchers first, then the
 * busiest and the newest (core/view/processPick.ts), under two separators.
 */
async function meterProcess(service: MeterService): Promise<void> {
  const t = vscode.l10n.t;
  const now = Date.now();
  const procs = orderProcesses(
    (await listProcesses()).filter((p) => p.pid !== process.pid),
    now,
  );
  type Item = vscode.QuickPickItem & { pid: number; command: string };
  const items: (Item | vscode.QuickPickItem)[] = [];
  let section: boolean | undefined;
  for (const p of procs) {
    const training = looksLikeTraining(p.command);
    if (training !== section) {
      section = training;
      items.push({
        label: training ? t('Python and training') : t('Other processes'),
        kind: vscode.QuickPickItemKind.Separator,
      });
    }
    const share = cpuShare(p, now);
    const parts = [t('pid {0}', p.pid)];
    if (share !== undefined && share >= 0.01) parts.push(t('{0} % CPU', Math.round(share * 100)));
    if (p.startedAt !== undefined) parts.push(t('started {0}', formatAgo(p.startedAt, now)));
    items.push({
      label: `$(server-process) ${p.command.split(/\s+/)[0].split('/').pop()}`,
      description: parts.join(' · '),
      detail: p.command.slice(0, 300),
      pid: p.pid,
      command: p.command,
    });
  }
  const picked = await vscode.window.showQuickPick(items, {
    title: t('Carbon Meter: meter which process?'),
    matchOnDetail: true,
    matchOnDescription: true,
  });
  const pick = picked && 'pid' in picked ? (picked as Item) : undefined;
  if (!pick) return;
  const meter = await service.start({
    pid: pick.pid,
    command: pick.command,
    cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '',
    source: 'manual',
    countFromProcessStart: false,
  });
  if (!meter)
    void vscode.window.showInformationMessage(t('Carbon Meter: process {0} is already metered.', String(pick.pid)));
}

/** Meters the command running in the active terminal (the one picked when it runs several). */
async function meterTerminalProcess(service: MeterService): Promise<void> {
  const t = vscode.l10n.t;
  const terminal = vscode.window.activeTerminal;
  if (!terminal) {
    void vscode.window.showWarningMessage(
      t('Carbon Meter: there is no active terminal. Start your training in a terminal first.'),
    );
    return;
  }
  const shellPid = await terminal.processId;
  const children = shellPid ? await childProcesses(shellPid) : [];
  if (!shellPid || !children.length) {
    void vscode.window.showWarningMessage(
      t('Carbon Meter: the terminal "{0}" is not running a command now.', terminal.name),
    );
    return;
  }
  let child = children[children.length - 1];
  if (children.length > 1) {
    const pick = await vscode.window.showQuickPick(
      children.map((c) => ({ label: c.command.slice(0, 120), description: `pid ${c.pid}`, c })),
      { title: t('Meter which command?') },
    );
    if (!pick) return;
    child = pick.c;
  }
  await service.start({
    pid: child.pid,
    command: child.command,
    cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '',
    source: 'terminal',
    reaperPid: shellPid,
    countFromProcessStart: false,
  });
}

/** A run's report as a Markdown preview: every figure with its method and source. */
export async function showRunReport(service: MeterService, runId: string): Promise<void> {
  const run = service.findRun(runId);
  if (!run) {
    void vscode.window.showWarningMessage(vscode.l10n.t('Carbon Meter: run {0} is not in the history.', runId));
    return;
  }
  await showReport(run.id);
}
