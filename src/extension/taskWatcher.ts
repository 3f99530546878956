/** Tasks: the task's process (and its children) from `tasks.onDidStartTaskProcess`. */
import * as vscode from 'vscode';
import { isTrainingCommand } from '../core/classify';
import type { MeterService } from './meterService';

export function taskCommandLine(task: vscode.Task): string {
  const ex = task.execution;
  const arg = (a: string | vscode.ShellQuotedString) => (typeof a === 'string' ? a : a.value);
  if (ex instanceof vscode.ShellExecution) {
    if (ex.commandLine) return ex.commandLine;
    return [ex.command ? arg(ex.command) : '', ...(ex.args ?? []).map(arg)].join(' ').trim();
  }
  if (ex instanceof vscode.ProcessExecution) return [ex.process, ...ex.args].join(' ');
  return task.name;
}

export class TaskWatcher implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly runs = new Map<vscode.TaskExecution, Promise<string | undefined>>();
  /** the process ids of running tasks (their shells): the terminal watcher leaves their terminals to this watcher */
  private readonly taskPids = new Map<vscode.TaskExecution, number>();

  constructor(private readonly service: MeterService) {
    this.disposables.push(
      vscode.tasks.onDidStartTaskProcess((e) => {
        this.taskPids.set(e.execution, e.processId);
        this.runs.set(e.execution, this.onStart(e.execution, e.processId));
      }),
      vscode.tasks.onDidEndTaskProcess(async (e) => {
        this.taskPids.delete(e.execution);
        const id = await this.runs.get(e.execution);
        this.runs.delete(e.execution);
        if (id) await this.service.setExitCode(id, e.exitCode ?? null);
      }),
    );
  }

  /** Whether `pid` is the process of a running task (a task terminal's shell). */
  isTaskProcess(pid: number): boolean {
    for (const p of this.taskPids.values()) if (p === pid) return true;
    return false;
  }

  /**
   * Whether `pid` is a task's process, once every running task with a process has said which (its terminal's shell
   * integration may report the command before the task reports its process). Waits only while such a task is
   * pending, at most `boundMs`.
   */
  async isTaskProcessSettled(pid: number, boundMs: number): Promise<boolean> {
    const until = Date.now() + boundMs;
    while (!this.isTaskProcess(pid) && this.pendingTasks() > 0 && Date.now() < until) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => (sub.dispose(), resolve()), Math.max(0, until - Date.now()));
        const sub = vscode.tasks.onDidStartTaskProcess(() => {
          clearTimeout(timer);
          sub.dispose();
          setTimeout(resolve, 0); // after this watcher's own listener recorded the pid
        });
      });
    }
    return this.isTaskProcess(pid);
  }

  /** Running tasks (shell or process) that have not reported their process yet. */
  private pendingTasks(): number {
    const reported = new Set([...this.taskPids.keys()].map((e) => e.task));
    return vscode.tasks.taskExecutions.filter(
      (e) => !this.taskPids.has(e) && !reported.has(e.task) && !(e.task.execution instanceof vscode.CustomExecution),
    ).length;
  }

  private async onStart(execution: vscode.TaskExecution, pid: number): Promise<string | undefined> {
    const task = execution.task;
    const commandLine = taskCommandLine(task);
    const mode = this.service.settings.tasksMode;
    if (
      mode === 'off' ||
      (mode === 'training' && !isTrainingCommand(commandLine, this.service.settings.terminalPatterns))
    ) {
      this.service.log.info(
        `task "${task.name}": not metered (carbonMeter.tasks.meter is "${mode}"; command "${commandLine}")`,
      );
      return undefined;
    }
    const folder =
      task.scope && typeof task.scope === 'object'
        ? task.scope.uri.fsPath
        : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const meter = await this.service.start({
      pid,
      command: commandLine,
      name: task.name,
      cwd: folder ?? '',
      source: 'task',
    });
    return meter?.run.id;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
