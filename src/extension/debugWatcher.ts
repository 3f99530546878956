/**
 * Debug sessions: the debuggee's pid comes from the DAP `process` event (`systemProcessId`, debugpy and most
 * adapters), from the `runInTerminal` response (`shellProcessId`: the debuggee is that shell's child), or from the
 * name js-debug gives its child session (`app.js [12345]`). A tracker for every debug type sees all of them.
 * One run per root session: child sessions (js-debug's, debugpy's subprocess sessions) are in the root's process
 * tree. `launch` counts from the process start, `attach` from the attach; see core/debuggee.ts.
 * The shell's child is a fallback: with debugpy it is debugpy's launcher, whose child the debuggee is (reported by
 * the process event right after the launch response), so the process event wins when it comes.
 */
import * as vscode from 'vscode';
import { isSubprocessSession, localHostNames, planDebuggee, type DapProcessEventBody } from '../core/debuggee';
import { ancestorPids } from '../core/sampling/processes';
import type { MeterService } from './meterService';
import { findCommandProcess } from '../core/sampling/commandProcess';

/**
 * How long the runInTerminal fallback waits for a process event before it meters the terminal shell's child. Nothing
 * is lost by waiting: a launched process counts from its start.
 */
const PROCESS_EVENT_BOUND_MS = 15_000;

interface DapMessage {
  type?: string;
  event?: string;
  command?: string;
  body?: DapProcessEventBody & { shellProcessId?: number; processId?: number; exitCode?: number };
}

export class DebugWatcher implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly runOfSession = new Map<string, string>();
  /** root session id → callbacks to run when a process event came for it */
  private readonly processWaiters = new Map<string, Set<() => void>>();

  constructor(private readonly service: MeterService) {
    this.disposables.push(
      vscode.debug.registerDebugAdapterTrackerFactory('*', {
        createDebugAdapterTracker: (session) => this.tracker(session),
      }),
      vscode.debug.onDidStartDebugSession((session) => {
        this.service.log.debug(
          `debug: session "${session.name}" (${session.type}) started${session.parentSession ? ` under "${session.parentSession.name}"` : ''}`,
        );
        // js-debug names the child session of a Node process "<file> [<pid>]" (1.139: "busy.js [14455] « launch name")
        const m = /\[(\d+)\](?:\s|$)/.exec(session.name);
        if (m && session.parentSession) void this.meter(session, Number(m[1]), 'js-debug child session');
      }),
    );
  }

  private tracker(session: vscode.DebugSession): vscode.DebugAdapterTracker {
    return {
      onDidSendMessage: (m: DapMessage) => {
        if (m.type === 'event' && m.event === 'process' && m.body?.systemProcessId) {
          void this.meter(session, m.body.systemProcessId, 'DAP process event', undefined, m.body);
          for (const wake of this.processWaiters.get(this.rootSession(session).id) ?? []) wake();
        } else if (m.type === 'event' && m.event === 'exited' && typeof m.body?.exitCode === 'number') {
          // a subprocess's exit code is not the run's: the run is its root debuggee's
          if (isSubprocessSession(session.configuration)) return;
          const id = this.runOfSession.get(this.rootSession(session).id);
          if (id) void this.service.setExitCode(id, m.body.exitCode);
        }
      },
      onWillReceiveMessage: (m: DapMessage) => {
        if (m.type === 'response' && m.command === 'runInTerminal' && (m.body?.shellProcessId || m.body?.processId)) {
          if (m.body.processId) {
            void this.meter(session, m.body.processId, 'runInTerminal response');
          } else {
            const shell = m.body.shellProcessId!;
            void findCommandProcess(shell, String(session.configuration.program ?? '')).then(async (child) => {
              if (!child) {
                this.service.log.info(`debug: no process found under the debug terminal's shell (pid ${shell})`);
                return;
              }
              const root = this.rootSession(session);
              if (!this.runOfSession.has(root.id)) await this.processEventOrEnd(root, PROCESS_EVENT_BOUND_MS);
              if (!this.runOfSession.has(root.id))
                void this.meter(session, child.pid, 'runInTerminal shell child', shell);
            });
          }
        }
      },
    };
  }

  /** Resolves when a process event came for the root session, when it ends, or after boundMs. */
  private processEventOrEnd(root: vscode.DebugSession, boundMs: number): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.processWaiters.get(root.id) ?? new Set<() => void>();
      this.processWaiters.set(root.id, waiters);
      const done = () => {
        clearTimeout(timer);
        end.dispose();
        waiters.delete(done);
        if (!waiters.size) this.processWaiters.delete(root.id);
        resolve();
      };
      const timer = setTimeout(done, boundMs);
      const end = vscode.debug.onDidTerminateDebugSession((s) => s.id === root.id && done());
      waiters.add(done);
    });
  }

  private rootSession(session: vscode.DebugSession): vscode.DebugSession {
    let s = session;
    while (s.parentSession) s = s.parentSession;
    return s;
  }

  private async meter(
    session: vscode.DebugSession,
    pid: number,
    how: string,
    reaperPid?: number,
    processEvent?: DapProcessEventBody,
  ): Promise<void> {
    if (this.service.settings.debugMode === 'off') {
      this.service.log.info(`debug: not metering "${session.name}": carbonMeter.debug.meter is "off"`);
      return;
    }
    const root = this.rootSession(session);
    if (this.runOfSession.has(root.id)) return;
    const cfg = root.configuration;
    const plan = planDebuggee(session.configuration, cfg, localHostNames(), processEvent);
    if (!plan.meter) {
      this.service.log.info(`debug: not metering "${session.name}" (pid ${pid}): ${plan.why}`);
      return;
    }
    const inRun = this.runContaining(pid);
    if (inRun) {
      this.service.log.info(`debug: "${session.name}" (pid ${pid}) is already metered in ${inRun}`);
      return;
    }
    const program = [cfg.program ?? cfg.module ?? cfg.name, ...(Array.isArray(cfg.args) ? cfg.args : [])]
      .filter(Boolean)
      .join(' ');
    this.service.log.info(`debug: "${root.name}" (${root.type}) debuggee pid ${pid} from the ${how}; ${plan.why}`);
    this.runOfSession.set(root.id, '');
    const meter = await this.service.start({
      pid,
      command: program || root.name,
      name: typeof cfg.program === 'string' ? cfg.program.split(/[\\/]/).pop() : root.name,
      cwd: typeof cfg.cwd === 'string' ? cfg.cwd : (root.workspaceFolder?.uri.fsPath ?? ''),
      source: 'debug',
      reaperPid,
      countFromProcessStart: plan.countFromProcessStart,
    });
    if (meter) this.runOfSession.set(root.id, meter.run.id);
    else this.runOfSession.delete(root.id);
    const end = vscode.debug.onDidTerminateDebugSession((s) => {
      if (s.id !== root.id) return;
      end.dispose(); // a per-run listener: gone once it has fired, not kept until the extension stops
      this.disposables.splice(this.disposables.indexOf(end), 1);
      this.runOfSession.delete(root.id);
    });
    this.disposables.push(end);
  }

  /** The run (id) whose processes include `pid` or one of its ancestors: a subprocess of a metered debuggee. */
  private runContaining(pid: number): string | undefined {
    const lineage = [pid, ...ancestorPids(pid)];
    const m = this.service.active().find((x) => lineage.some((p) => x.run.pid === p || x.lastSample?.pids.includes(p)));
    return m ? `${m.run.name} (${m.run.id})` : undefined;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
