/**
 * Terminal runs: commands seen through shell integration that look like training are metered from the moment the
 * command's process appears under the terminal's shell. Terminals without shell integration are served by the
 * "Meter Process in Terminal" command.
 */
import * as vscode from 'vscode';
import { isTrainingCommand, stripCommandPrefixes } from '../core/classify';
import { childProcesses, programName, type ProcessInfo } from '../core/sampling/processes';
import type { MeterService } from './meterService';

const FIND_CHILD_BOUND_MS = 5000;

export class TerminalWatcher implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly runs = new Map<vscode.TerminalShellExecution, Promise<string | undefined>>();

  constructor(
    private readonly service: MeterService,
    /** the run's output from shell integration (for its forecast), read from the command's start */
    private readonly onOutput?: (runId: Promise<string | undefined>, stream: AsyncIterable<string>) => void,
  ) {
    this.disposables.push(
      vscode.window.onDidStartTerminalShellExecution((e) => {
        const started = Date.now();
        const id = this.onStart(e.terminal, e.execution, started);
        this.runs.set(e.execution, id);
        if (this.onOutput) this.onOutput(id, e.execution.read());
      }),
      vscode.window.onDidEndTerminalShellExecution(async (e) => {
        const id = await this.runs.get(e.execution);
        this.runs.delete(e.execution);
        if (id) await this.service.setExitCode(id, e.exitCode ?? null);
      }),
    );
  }

  private async onStart(terminal: vscode.Terminal, execution: vscode.TerminalShellExecution, startedAt: number): Promise<string | undefined> {
    const commandLine = execution.commandLine.value.trim();
    const log = this.service.log;
    const mode = this.service.settings.terminalMode;
    if (!commandLine) return undefined;
    if (mode === 'off') {
      log.debug(`terminal: not metering "${commandLine}": carbonMeter.terminal.meter is "off"`);
      return undefined;
    }
    if (mode === 'training' && !isTrainingCommand(commandLine, this.service.settings.terminalPatterns)) {
      log.info(`terminal: not metering "${commandLine}": it does not look like training (carbonMeter.terminal.patterns)`);
      return undefined;
    }
    const shellPid = await terminal.processId;
    if (!shellPid) {
      log.warn(`terminal: cannot meter "${commandLine}": the terminal has no process id`);
      return undefined;
    }
    const child = await findCommandProcess(shellPid, commandLine);
    if (!child) {
      log.info(`terminal: "${commandLine}" ended or could not be found under the shell (pid ${shellPid}) within ${FIND_CHILD_BOUND_MS / 1000} s`);
      return undefined;
    }
    const meter = await this.service.start({
      pid: child.pid,
      command: commandLine,
      cwd: execution.cwd?.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '',
      source: 'terminal',
      reaperPid: shellPid,
      startedAt,
    });
    return meter?.run.id;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/** Waits for the command's process to appear under the shell and returns it. */
export async function findCommandProcess(shellPid: number, commandLine: string, boundMs = FIND_CHILD_BOUND_MS): Promise<ProcessInfo | undefined> {
  const wanted = programName(stripCommandPrefixes(commandLine));
  const until = Date.now() + boundMs;
  let fallback: ProcessInfo | undefined;
  while (Date.now() < until) {
    const children = await childProcesses(shellPid);
    const match = children.find((c) => programName(c.command) === wanted || c.command.includes(wanted));
    if (match) return match;
    // a child that is not the shell itself (bash forks before exec: the first read may show "bash")
    fallback = children.find((c) => c.command && !/(^|\/)(ba|z|fi|da)?sh( |$)/.test(c.command));
    if (fallback && Date.now() > until - boundMs / 2) return fallback;
    await new Promise((r) => setTimeout(r, 100));
  }
  return fallback;
}
