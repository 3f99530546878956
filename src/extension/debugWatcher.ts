/**
 * Debug sessions: the debuggee's pid comes from the DAP `process` event (`systemProcessId`, debugpy and most
 * adapters), from the `runInTerminal` response (`shellProcessId`: the debuggee is that shell's child), or from the
 * name js-debug gives its child session (`app.js [12345]`). A tracker for every debug type sees all of them.
 */
import * as vscode from 'vscode';
import type { MeterService } from './meterService';
import { findCommandProcess } from '../core/sampling/commandProcess';

interface DapMessage {
  type?: string;
  event?: string;
  command?: string;
  body?: { systemProcessId?: number; shellProcessId?: number; processId?: number; exitCode?: number };
}

export class DebugWatcher implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly runOfSession = new Map<string, string>();

  constructor(private readonly service: MeterService) {
    this.disposables.push(
      vscode.debug.registerDebugAdapterTrackerFactory('*', {
        createDebugAdapterTracker: (session) => this.tracker(session),
      }),
      vscode.debug.onDidStartDebugSession((session) => {
        this.service.log.debug(`debug: session "${session.name}" (${session.type}) started${session.parentSession ? ` under "${session.parentSession.name}"` : ''}`);
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
          void this.meter(session, m.body.systemProcessId, 'DAP process event');
        } else if (m.type === 'event' && m.event === 'exited' && typeof m.body?.exitCode === 'number') {
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
            void findCommandProcess(shell, String(session.configuration.program ?? '')).then((child) => {
              if (child) void this.meter(session, child.pid, 'runInTerminal shell child', shell);
              else this.service.log.info(`debug: no process found under the debug terminal's shell (pid ${shell})`);
            });
          }
        }
      },
    };
  }

  private rootSession(session: vscode.DebugSession): vscode.DebugSession {
    let s = session;
    while (s.parentSession) s = s.parentSession;
    return s;
  }

  private async meter(session: vscode.DebugSession, pid: number, how: string, reaperPid?: number): Promise<void> {
    if (this.service.settings.debugMode === 'off') {
      this.service.log.info(`debug: not metering "${session.name}": carbonMeter.debug.meter is "off"`);
      return;
    }
    const root = this.rootSession(session);
    if (this.runOfSession.has(root.id)) return;
    const cfg = root.configuration;
    const program = [cfg.program ?? cfg.module ?? cfg.name, ...(Array.isArray(cfg.args) ? cfg.args : [])].filter(Boolean).join(' ');
    this.service.log.info(`debug: "${root.name}" (${root.type}) debuggee pid ${pid} from the ${how}`);
    this.runOfSession.set(root.id, '');
    const meter = await this.service.start({
      pid,
      command: program || root.name,
      name: typeof cfg.program === 'string' ? cfg.program.split(/[\\/]/).pop() : root.name,
      cwd: typeof cfg.cwd === 'string' ? cfg.cwd : root.workspaceFolder?.uri.fsPath ?? '',
      source: 'debug',
      reaperPid,
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

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
