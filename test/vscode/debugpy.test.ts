/**
 * Python debugging with the real debugpy adapter (Debian's python3-debugpy), in a real VS Code: the `debugpy`
 * debugger type comes from the test-only extension in test/vscode-fixture-debugpy (debugpy's own adapter,
 * registered the way the Python Debugger extension does; the harness loads it next to Carbon Meter).
 *
 * The program (test/fixtures/workloads/debug_work.py) does known CPU work and writes what the OS accounted for it
 * (os.times(), its waited-for children included); the run's cpuSeconds must be within 5 % of that.
 */
import * as assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CarbonMeterApi } from '../../src/extension/extension';
import type { Run } from '../../src/core/types';

const EXT_ID = 'carbon-meter.carbon-meter';
const TOLERANCE = 0.05;

interface OwnCount {
  pid: number;
  childPid: number | null;
  cpuSeconds: number;
  cpuSecondsSinceGo: number;
}

async function api(): Promise<CarbonMeterApi> {
  const ext = vscode.extensions.getExtension<CarbonMeterApi>(EXT_ID);
  assert.ok(ext, `extension ${EXT_ID} is installed`);
  return ext.isActive ? ext.exports : await ext.activate();
}

async function waitFor<T>(fn: () => T | undefined | false, boundMs: number, what: string): Promise<T> {
  const until = Date.now() + boundMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${boundMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The first Python that can import debugpy (python3 may be a pyenv shim without it; Debian's is /usr/bin). */
function debugpyPython(): string | undefined {
  for (const candidate of [process.env.CARBON_METER_TEST_PYTHON, 'python3', '/usr/bin/python3']) {
    if (!candidate) continue;
    const r = cp.spawnSync(candidate, ['-c', 'import debugpy'], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Is something listening on 127.0.0.1:port? Read from /proc/net/tcp: probing with a connection would be a client to debugpy. */
function listening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const text = fs.readFileSync('/proc/net/tcp', 'utf8');
  return text.split('\n').some((l) => {
    const f = l.trim().split(/\s+/);
    return f[1] === `0100007F:${hex}` && f[3] === '0A';
  });
}

function within(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= TOLERANCE * expected;
}

/** The figures, in the test's title (what the spec reporter prints when it passes). */
function report(test: Mocha.Runnable | undefined, meteredS: number, ownS: number): void {
  const diff = (((meteredS - ownS) / ownS) * 100).toFixed(1);
  if (test) test.title += ` [metered ${meteredS.toFixed(2)} s, the program counted ${ownS.toFixed(2)} s: ${diff} %]`;
}

/** The metered CPU time is within 5 % of the program's own count (both in the test's title). */
function assertCpuWithin(test: Mocha.Runnable | undefined, meteredS: number, ownS: number, message: string): void {
  report(test, meteredS, ownS);
  assert.ok(within(meteredS, ownS), message);
}

type Seen = { started: Run[]; finished: Run[]; sessions: vscode.DebugSession[] };

describe('Python debugging with the real debugpy adapter', function () {
  this.timeout(240_000);
  let python: string;
  let workload: string;
  let tmp: string;
  let folder: vscode.WorkspaceFolder;

  before(function () {
    const found = debugpyPython();
    if (!found) {
      console.log('      (skipped: no Python with debugpy; apt-get install python3-debugpy)');
      this.skip();
    }
    python = found;
    const ext = vscode.extensions.getExtension(EXT_ID);
    const loaded = () =>
      vscode.extensions.all
        .filter((e) => !e.id.startsWith('vscode.'))
        .map((e) => `${e.id} (${e.extensionPath})`)
        .join(', ');
    assert.ok(ext, `${EXT_ID} is loaded (extensions: ${loaded()})`);
    workload = path.join(ext.extensionPath, 'test', 'fixtures', 'workloads', 'debug_work.py');
    assert.ok(fs.existsSync(workload), workload);
    assert.ok(
      vscode.extensions.getExtension('carbon-meter.carbon-meter-test-debugpy'),
      'the test-only debugpy debugger is loaded (test/harness/testExtensions.ts)',
    );
    folder = vscode.workspace.workspaceFolders![0];
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-debugpy-'));
  });

  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Collects the debug runs started and finished while `fn` runs, and the debug sessions started. */
  async function watching<T>(fn: (seen: Seen) => Promise<T>): Promise<T> {
    const a = await api();
    const seen: Seen = { started: [], finished: [], sessions: [] };
    const subs = [
      a.service.onRunStarted((r) => r.source === 'debug' && seen.started.push(r)),
      a.service.onRunFinished((r) => r.source === 'debug' && seen.finished.push(r)),
      vscode.debug.onDidStartDebugSession((s) => seen.sessions.push(s)),
    ];
    try {
      return await fn(seen);
    } finally {
      for (const s of subs) s.dispose();
    }
  }

  function readOwnCount(file: string): OwnCount {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as OwnCount;
  }

  /** Launches the workload under debugpy (`args[0]` is where it writes its own count) and waits for its run to end. */
  async function launchToEnd(
    seen: Seen,
    name: string,
    args: string[],
    options: { console: 'internalConsole' | 'integratedTerminal'; subProcess?: boolean },
  ): Promise<{ run: Run; own: OwnCount }> {
    const out = args[0];
    const ok = await vscode.debug.startDebugging(folder, {
      type: 'debugpy',
      request: 'launch',
      name,
      program: workload,
      args,
      python,
      ...options,
      justMyCode: true,
    });
    assert.ok(ok, 'debugging started');
    const run = await waitFor(
      () => seen.finished.find((r) => r.command.includes(out)),
      180_000,
      'the debug run to finish',
    );
    return { run, own: readOwnCount(out) };
  }

  it('launch: the run is the program, within 5 % of its own CPU count', async function () {
    const test = this.test;
    const out = path.join(tmp, 'launch.json');
    await watching(async (seen) => {
      const { run, own } = await launchToEnd(seen, 'cm-debugpy-launch', [out, '6'], { console: 'internalConsole' });
      assert.equal(
        run.pid,
        own.pid,
        'the run meters the debuggee (the DAP process event), not the adapter or launcher',
      );
      assert.equal(run.exitCode, 0);
      assert.match(run.command, /debug_work\.py/);
      assertCpuWithin(
        test,
        run.cpuSeconds,
        own.cpuSeconds,
        `metered ${run.cpuSeconds} s, the program counted ${own.cpuSeconds} s`,
      );
      assert.equal(seen.started.length, 1);
    });
  });

  it("launch in the integrated terminal (the Python Debugger's default console): one run, within 5 %", async function () {
    const test = this.test;
    const out = path.join(tmp, 'terminal.json');
    const terminals: vscode.Terminal[] = [];
    const opened = vscode.window.onDidOpenTerminal((t) => terminals.push(t));
    try {
      await watching(async (seen) => {
        const { run, own } = await launchToEnd(seen, 'cm-debugpy-terminal', [out, '6'], {
          console: 'integratedTerminal',
        });
        // the shell's child is debugpy's launcher; the process event names its child, the program
        assert.equal(run.pid, own.pid, "the run meters the debuggee, not debugpy's launcher in the terminal");
        assertCpuWithin(
          test,
          run.cpuSeconds,
          own.cpuSeconds,
          `metered ${run.cpuSeconds} s, the program counted ${own.cpuSeconds} s`,
        );
        assert.equal(seen.started.length, 1);
      });
    } finally {
      opened.dispose();
      // the debug console terminal debugpy asked for; its shell is idle once the program ended
      for (const t of terminals) t.dispose();
    }
  });

  it('attach (connect to `python -m debugpy --listen`): counts from the attach, within 5 %', async function () {
    const test = this.test;
    const out = path.join(tmp, 'attach.json');
    const go = path.join(tmp, 'attach.go');
    const port = await freePort();
    // started from a shell, as from a terminal: the shell (not the extension host) reaps it
    const shell = cp.spawn(
      '/bin/sh',
      [
        '-c',
        '"$0" -m debugpy --listen "127.0.0.1:$1" --wait-for-client "$2" "$3" 6 --go "$4"; exit $?',
        python,
        String(port),
        workload,
        out,
        go,
      ],
      { stdio: 'ignore' },
    );
    try {
      await waitFor(() => listening(port) || shell.exitCode !== null, 120_000, `debugpy to listen on ${port}`);
      assert.equal(shell.exitCode, null, 'the debuggee is running');
      await watching(async (seen) => {
        const ok = await vscode.debug.startDebugging(folder, {
          type: 'debugpy',
          request: 'attach',
          name: 'cm-debugpy-attach',
          connect: { host: '127.0.0.1', port },
          justMyCode: true,
        });
        assert.ok(ok, 'attached');
        const started = await waitFor(() => seen.started[0], 120_000, 'the attached run to start');
        // the program works only once the run has its first sample (a start condition, not a duration)
        const a = await api();
        await waitFor(
          () => a.service.active().find((m) => m.run.id === started.id)?.lastSample,
          60_000,
          'the first sample',
        );
        fs.writeFileSync(go, '');
        const run = await waitFor(
          () => seen.finished.find((r) => r.id === started.id),
          180_000,
          'the attached run to finish',
        );
        const own = readOwnCount(out);
        assert.equal(run.pid, own.pid, 'the run meters the process debugpy reported');
        assert.ok(own.cpuSeconds > own.cpuSecondsSinceGo, 'the program had used CPU before the attach');
        assertCpuWithin(
          test,
          run.cpuSeconds,
          own.cpuSecondsSinceGo,
          `metered ${run.cpuSeconds} s, the program counted ${own.cpuSecondsSinceGo} s since the attach (${own.cpuSeconds} s in all)`,
        );
        assert.equal(seen.started.length, 1);
      });
    } finally {
      if (shell.exitCode === null) shell.kill('SIGKILL');
    }
  });

  it('"subProcess": true: the child has its own debug session but is counted once, in the parent\'s run', async function () {
    const test = this.test;
    const out = path.join(tmp, 'subprocess.json');
    await watching(async (seen) => {
      const { run, own } = await launchToEnd(seen, 'cm-debugpy-subprocess', [out, '4', '--child', '4'], {
        console: 'internalConsole',
        subProcess: true,
      });
      // debugpy attached to the child: a child session under the launch session, for the child's pid
      const child = seen.sessions.find((s) => s.configuration.subProcessId === own.childPid);
      assert.ok(
        child,
        `a subprocess session for pid ${own.childPid} (sessions: ${seen.sessions.map((s) => s.name).join(', ')})`,
      );
      assert.equal(child.parentSession?.name, 'cm-debugpy-subprocess');
      // one run: the child's CPU is in the parent's tree, counted once (not twice, not as a run of its own)
      assert.equal(
        seen.started.length,
        1,
        `runs started: ${seen.started.map((r) => `${r.name} (pid ${r.pid})`).join(', ')}`,
      );
      assert.equal(run.pid, own.pid);
      assert.equal(run.exitCode, 0);
      assertCpuWithin(
        test,
        run.cpuSeconds,
        own.cpuSeconds,
        `metered ${run.cpuSeconds} s, the program counted ${own.cpuSeconds} s with its child`,
      );
    });
  });
});
