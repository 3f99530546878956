/**
 * Extension-host tests: they run inside a real VS Code (code-server here, or @vscode/test-electron), with the
 * extension under development loaded and CARBON_METER_HOME pointing at a throwaway history.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CarbonMeterApi } from '../../src/extension/extension';
import type { Run } from '../../src/core/types';

const EXT_ID = 'carbon-meter.carbon-meter';

async function api(): Promise<CarbonMeterApi> {
  const ext = vscode.extensions.getExtension<CarbonMeterApi>(EXT_ID);
  assert.ok(ext, `extension ${EXT_ID} is installed`);
  return ext.isActive ? ext.exports : await ext.activate();
}

function workspaceFile(name: string): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'a workspace folder is open');
  return path.join(folder.uri.fsPath, name);
}

function nextFinished(a: CarbonMeterApi, predicate: (r: Run) => boolean = () => true): Promise<Run> {
  return new Promise((resolve) => {
    const sub = a.service.onRunFinished((r) => {
      if (!predicate(r)) return;
      sub.dispose();
      resolve(r);
    });
  });
}

async function waitFor<T>(fn: () => T | undefined | false, boundMs = 60_000, what = 'condition'): Promise<T> {
  const until = Date.now() + boundMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function terminalWithShellIntegration(name: string): Promise<vscode.Terminal> {
  const terminal = vscode.window.createTerminal({ name, cwd: vscode.workspace.workspaceFolders![0].uri });
  terminal.show();
  await waitFor(() => terminal.shellIntegration, 30_000, 'shell integration');
  return terminal;
}

describe('Carbon Meter in VS Code', function () {
  this.timeout(120_000);

  it('activates and registers its commands', async () => {
    const a = await api();
    assert.ok(a.service);
    const commands = await vscode.commands.getCommands(true);
    for (const c of [
      'showHistory',
      'stopMetering',
      'meterProcess',
      'meterTerminalProcess',
      'showRun',
      'openSettings',
      'showLog',
    ]) {
      assert.ok(commands.includes(`carbonMeter.${c}`), c);
    }
  });

  it('uses the history folder the CLI uses ($CARBON_METER_HOME)', async () => {
    const a = await api();
    assert.equal(a.service.store.dir, process.env.CARBON_METER_HOME);
  });

  it('falls back to a safe value for a wrong setting', async () => {
    const a = await api();
    const cfg = vscode.workspace.getConfiguration('carbonMeter');
    await cfg.update('sampling.intervalSeconds', 0.1, vscode.ConfigurationTarget.Global);
    try {
      await waitFor(() => a.service.settings.intervalS === 1, 10_000, 'settings re-read');
      assert.equal(a.service.settings.intervalS, 1);
    } finally {
      await cfg.update('sampling.intervalSeconds', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('names an unknown carbonMeter.region as the reason of the region it falls back to', async () => {
    const a = await api();
    const cfg = vscode.workspace.getConfiguration('carbonMeter');
    await cfg.update('region', 'XX', vscode.ConfigurationTarget.Global);
    try {
      await waitFor(() => a.service.settings.region === 'XX', 10_000, 'settings re-read');
      const choice = a.service.regionChoice();
      assert.match(choice.reason, /^carbonMeter\.region "XX" is not a known region; /);
      assert.doesNotMatch(choice.reason, /no region set/);
    } finally {
      await cfg.update('region', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('meters a training command typed in the terminal, and not `ls`', async () => {
    const a = await api();
    const terminal = await terminalWithShellIntegration('cm-terminal');
    const started: Run[] = [];
    const sub = a.service.onRunStarted((r) => started.push(r));
    try {
      const ls = terminal.shellIntegration!.executeCommand('ls');
      await new Promise<void>((resolve) => {
        const end = vscode.window.onDidEndTerminalShellExecution((e) => {
          if (e.execution === ls) {
            end.dispose();
            resolve();
          }
        });
      });
      const finished = nextFinished(a, (r) => r.source === 'terminal');
      terminal.shellIntegration!.executeCommand(`python3 ${workspaceFile('busy.py')} 2`);
      const run = await finished;
      assert.equal(started.length, 1, `started: ${started.map((r) => r.command).join(', ')}`);
      assert.match(run.command, /busy\.py/);
      assert.equal(run.status, 'completed');
      assert.equal(run.exitCode, 0);
      assert.ok(run.cpuSeconds >= 1.5 && run.cpuSeconds < 4, `cpuSeconds ${run.cpuSeconds}`);
      assert.ok(run.energyKWh.total > 0);
      assert.ok(a.service.store.load().runs.some((r) => r.id === run.id));
    } finally {
      sub.dispose();
      terminal.dispose();
    }
  });

  it('records the exit code of a failing terminal command', async () => {
    const a = await api();
    const terminal = await terminalWithShellIntegration('cm-fail');
    try {
      const finished = nextFinished(a, (r) => r.source === 'terminal');
      terminal.shellIntegration!.executeCommand(`python3 -c "import sys; sum(range(10**7)); sys.exit(4)"`);
      const run = await finished;
      assert.equal(run.status, 'failed');
      assert.equal(run.exitCode, 4);
    } finally {
      terminal.dispose();
    }
  });

  it('meters a task once, as a task (not again as a command of its terminal)', async () => {
    const a = await api();
    const finished = nextFinished(a, (r) => r.source === 'task');
    const started: Run[] = [];
    const sub = a.service.onRunStarted((r) => started.push(r));
    const task = new vscode.Task(
      { type: 'shell' },
      vscode.TaskScope.Workspace,
      'cm-train-task',
      'test',
      new vscode.ShellExecution(`python3 ${workspaceFile('busy.py')} 1`),
    );
    let run: Run;
    try {
      await vscode.tasks.executeTask(task);
      run = await finished;
    } finally {
      sub.dispose();
    }
    // the task terminal's shell integration reports the same command: it must not become a second (terminal) run
    assert.deepEqual(
      started.map((r) => `${r.source} ${r.command}`),
      [`task python3 ${workspaceFile('busy.py')} 1`],
    );
    assert.equal(run.name, 'cm-train-task');
    // busy.py burns 1 s of CPU time; the interpreter's start-up comes on top
    assert.ok(run.cpuSeconds >= 0.97 && run.cpuSeconds < 3, `cpuSeconds ${run.cpuSeconds}`);
  });

  it('meters a Node debug session', async () => {
    const a = await api();
    const finished = nextFinished(a, (r) => r.source === 'debug');
    const ok = await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], {
      type: 'node',
      request: 'launch',
      name: 'cm-debug',
      program: workspaceFile('busy.js'),
      args: ['2'],
      console: 'internalConsole',
    });
    assert.ok(ok, 'debugging started');
    const run = await finished;
    assert.match(run.command, /busy\.js/);
    // busy.js burns 2 s of CPU time
    assert.ok(run.cpuSeconds >= 1.95 && run.cpuSeconds < 5, `cpuSeconds ${run.cpuSeconds}`);
  });

  it('meters two runs at once: the status bar shows their sum and the tooltip lists both', async () => {
    const a = await api();
    const t1 = await terminalWithShellIntegration('cm-two-1');
    const t2 = await terminalWithShellIntegration('cm-two-2');
    try {
      t1.shellIntegration!.executeCommand(`python3 ${workspaceFile('busy.py')} 60 first`);
      t2.shellIntegration!.executeCommand(`python3 ${workspaceFile('busy.py')} 60 second`);
      const pair = await waitFor(
        () => {
          const m = a.service.active();
          return m.length === 2 && m.every((x) => x.run.emissionsKg > 0) ? m : undefined;
        },
        60_000,
        'two metered runs',
      );
      // the readout is rendered at most once a second: wait for one that includes both runs
      await waitFor(
        () =>
          /metering 2 run/.test(a.statusBar.tooltip) &&
          /busy\.py 60 second/.test(a.statusBar.tooltip) &&
          /busy\.py 60 first/.test(a.statusBar.tooltip),
        30_000,
        'a readout of both runs',
      );
      // the readout shows the sum: more than either run alone, even read after it was rendered
      const grams = () => {
        const m = /([\d.]+)\s*(mg|g|kg) CO₂eq/.exec(a.statusBar.text);
        return m ? Number(m[1]) * { mg: 1e-3, g: 1, kg: 1e3 }[m[2] as 'mg' | 'g' | 'kg'] : NaN;
      };
      const single = () => Math.max(...pair.map((m) => m.run.emissionsKg * 1000));
      const total = () => pair.reduce((acc, m) => acc + m.run.emissionsKg * 1000, 0);
      await waitFor(() => grams() > single() * 1.1, 30_000, `a sum in the status bar (${a.statusBar.text})`);
      assert.ok(grams() <= total() * 1.01, `shown ${grams()} g, runs now ${total()} g`);
      assert.match(a.statusBar.tooltip, /metering 2 run/);
      assert.match(a.statusBar.tooltip, /busy\.py 60 first/);
      assert.match(a.statusBar.tooltip, /busy\.py 60 second/);
    } finally {
      for (const m of a.service.active()) {
        const pid = m.run.pid!;
        await a.service.stop(m.run.id);
        process.kill(pid, 'SIGTERM');
      }
      t1.dispose();
      t2.dispose();
    }
  });

  it('"Stop Metering" stops metering a run while its process goes on', async () => {
    const a = await api();
    const terminal = await terminalWithShellIntegration('cm-stop');
    try {
      const started = new Promise<Run>((resolve) => {
        const sub = a.service.onRunStarted((r) => {
          sub.dispose();
          resolve(r);
        });
      });
      terminal.shellIntegration!.executeCommand(`python3 ${workspaceFile('busy.py')} 60`);
      const run = await started;
      await waitFor(
        () => a.service.active().find((m) => m.run.id === run.id && m.run.cpuSeconds > 0.5),
        30_000,
        'some CPU time',
      );
      const finished = nextFinished(a, (r) => r.id === run.id);
      await vscode.commands.executeCommand('carbonMeter.stopMetering', run.id);
      const done = await finished;
      assert.equal(a.service.active().length, 0);
      assert.ok(done.cpuSeconds > 0.5);
      // the process itself was not stopped
      assert.doesNotThrow(() => process.kill(done.pid!, 0));
      process.kill(done.pid!, 'SIGTERM');
    } finally {
      terminal.dispose();
    }
  });
});
