/**
 * Terminal runs: commands seen through shell integration that look like training are metered from the moment the
 * command's process appears under the terminal's shell. Terminals without shell integration are served by the
 * "Meter Process in Terminal" command.
 */
import * as vscode from 'vscode';
import { isTrainingCommand } from '../core/classify';
import type { Meter } from '../core/meter/meter';
import { FIND_COMMAND_BOUND_MS, findCommandProcess } from '../core/sampling/commandProcess';
import { reapedChildTicks } from '../core/sampling/procStat';
import type { MeterService } from './meterService';

export class TerminalWatcher implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly runs = new Map<vscode.TerminalShellExecution, Promise<string | undefined>>();

  constructor(
    private readonly service: MeterService,
    /** the run's output from shell integration (for its forecast), read from the command's start */
    private readonly onOutput?: (runId: Promise<string | undefined>, stream: AsyncIterable<string>) => void,
    /** whether a shell pid is a running task's process (taskWatcher.ts meters those as task runs) */
    private readonly isTaskProcess: (pid: number) => boolean = () => false,
    /** the same, once running tasks have reported their processes (bounded wait; taskWatcher.ts) */
    private readonly isTaskProcessSettled: (pid: number) => Promise<boolean> = async (pid) => isTaskProcess(pid),
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

  private async onStart(
    terminal: vscode.Terminal,
    execution: vscode.TerminalShellExecution,
    startedAt: number,
  ): Promise<string | undefined> {
    const commandLine = execution.commandLine.value.trim();
    const log = this.service.log;
    const mode = this.service.settings.terminalMode;
    if (!commandLine) return undefined;
    if (mode === 'off') {
      log.debug(`terminal: not metering "${commandLine}": carbonMeter.terminal.meter is "off"`);
      return undefined;
    }
    if (mode === 'training' && !isTrainingCommand(commandLine, this.service.settings.terminalPatterns)) {
      log.info(
        `terminal: not metering "${commandLine}": it does not look like training (carbonMeter.terminal.patterns)`,
      );
      return undefined;
    }
    const shellPid = await terminal.processId;
    if (!shellPid) {
      log.warn(`terminal: cannot meter "${commandLine}": the terminal has no process id`);
      return undefined;
    }
    const isTask = () => {
      if (!this.isTaskProcess(shellPid)) return false;
      log.debug(`terminal: "${commandLine}" runs in a task's terminal (pid ${shellPid}): metered as the task`);
      return true;
    };
    if (isTask()) return undefined;
    const cwd = execution.cwd?.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
    // the task's start may come while the command is looked for: ask again before metering
    const meter = await meterShellCommand(this.service, {
      shellPid,
      commandLine,
      cwd,
      startedAt,
      who: 'terminal',
      skip: async () => isTask() || ((await this.isTaskProcessSettled(shellPid)) && isTask()),
    });
    return meter?.run.id;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/**
 * Meters what a shell runs for a command line (the terminal watcher, and CodeLens's "Run" where the watcher does not
 * meter it): the command's process is found under the shell (core/sampling/commandProcess.ts) and metered as a
 * terminal run from `startedAt`, with the shell as the reaper of its root.
 */
export async function meterShellCommand(
  service: MeterService,
  req: {
    shellPid: number;
    commandLine: string;
    cwd: string;
    startedAt: number;
    who: string;
    /** asked once the process is found: true leaves it unmetered (another source meters it) */
    skip?: () => boolean | Promise<boolean>;
  },
): Promise<Meter | undefined> {
  const child = await findCommandProcess(req.shellPid, req.commandLine);
  // what the shell had accounted while the command was alive: a command that ends before its meter is made (a short
  // one on a loaded machine) still counts, from the shell's cutime
  const reaperBaselineTicks = child && process.platform === 'linux' ? reapedChildTicks(req.shellPid) : undefined;
  if (await req.skip?.()) return undefined;
  if (!child) {
    service.log.info(
      `${req.who}: "${req.commandLine}" ended or could not be found under the shell (pid ${req.shellPid}) within ${FIND_COMMAND_BOUND_MS / 1000} s`,
    );
    return undefined;
  }
  return service.start({
    pid: child.pid,
    command: req.commandLine,
    cwd: req.cwd,
    source: 'terminal',
    reaperPid: req.shellPid,
    reaperBaselineTicks,
    startedAt: req.startedAt,
  });
}
