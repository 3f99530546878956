import * as assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { attachHost, isLocalHost, isSubprocessSession, localHostNames, planDebuggee } from '../../src/core/debuggee';
import { ancestorPids } from '../../src/core/sampling/processes';

const local = new Set(['localhost', '::1', 'devbox', '10.1.2.3']);

describe('debuggee plan (core/debuggee)', () => {
  // configurations in the shapes the Python Debugger extension and debugpy's adapter use
  const launch = {
    type: 'debugpy',
    request: 'launch',
    name: 'Python: train',
    program: '/w/train.py',
    console: 'integratedTerminal',
  };
  const attachLocal = {
    type: 'debugpy',
    request: 'attach',
    name: 'Attach',
    connect: { host: 'localhost', port: 5678 },
  };
  // debugpy's "debugpyAttach" event body: the parent's arguments with request attach, subProcessId and connect
  const subprocess = {
    ...launch,
    request: 'attach',
    name: 'Subprocess 4242',
    subProcessId: 4242,
    connect: { host: '127.0.0.1', port: 40811 },
  };

  it('launch: counts everything since the process started', () => {
    const plan = planDebuggee(launch, launch, local, {
      systemProcessId: 10,
      isLocalProcess: true,
      startMethod: 'launch',
    });
    assert.deepEqual(plan.meter && plan.countFromProcessStart, true);
  });

  it('attach to this machine: counts from the attach on', () => {
    for (const connect of [
      { host: 'localhost', port: 1 },
      { host: '127.0.0.1', port: 1 },
      { host: '::1', port: 1 },
      { port: 1 },
      { host: 'devbox', port: 1 },
      { host: '10.1.2.3', port: 1 },
    ]) {
      const cfg = { ...attachLocal, connect };
      const plan = planDebuggee(cfg, cfg, local);
      assert.equal(plan.meter, true, JSON.stringify(connect));
      assert.equal(plan.meter && plan.countFromProcessStart, false);
    }
    // by pid (debugpy injects itself into the process) and the older host/port form
    const byPid = { type: 'debugpy', request: 'attach', processId: 1234 };
    assert.equal(planDebuggee(byPid, byPid, local).meter, true);
    const legacy = { type: 'python', request: 'attach', port: 5678 };
    assert.equal(planDebuggee(legacy, legacy, local).meter, true);
  });

  it('attach to another machine: not metered, with the reason', () => {
    const remote = { ...attachLocal, connect: { host: 'gpu-node-7.example.org', port: 5678 } };
    const plan = planDebuggee(remote, remote, local, { systemProcessId: 7, isLocalProcess: true });
    assert.equal(plan.meter, false);
    assert.match(plan.why, /gpu-node-7\.example\.org.*carbon-meter run/);
    const legacy = { type: 'python', request: 'attach', host: '192.168.5.5', port: 5678 };
    assert.equal(planDebuggee(legacy, legacy, local).meter, false);
  });

  it('a process the adapter calls not local is not metered', () => {
    const plan = planDebuggee(launch, launch, local, { systemProcessId: 7, isLocalProcess: false });
    assert.equal(plan.meter, false);
  });

  it("debugpy's subprocess sessions belong to the parent's run, never a run of their own", () => {
    assert.equal(isSubprocessSession(subprocess), true);
    assert.equal(isSubprocessSession(launch), false);
    // whatever the root is (even when a client starts the child without a parent session)
    assert.equal(planDebuggee(subprocess, launch, local).meter, false);
    assert.equal(planDebuggee(subprocess, subprocess, local).meter, false);
    assert.match(planDebuggee(subprocess, launch, local).why, /subProcessId 4242/);
  });

  it('attachHost: connect.host, the older host/port, or none', () => {
    assert.equal(attachHost({ connect: { host: ' example.org ', port: 1 } }), 'example.org');
    assert.equal(attachHost({ connect: { port: 1 } }), '127.0.0.1');
    assert.equal(attachHost({ host: 'h', port: 1 }), 'h');
    assert.equal(attachHost({ port: 1 }), '127.0.0.1');
    assert.equal(attachHost({ processId: 3 }), undefined);
    assert.equal(attachHost({ listen: { port: 1 } }), undefined);
  });

  it('isLocalHost: loopback forms and this machine', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'LOCALHOST', 'app.localhost', '[::1]', '::ffff:127.0.0.1', 'devbox'])
      assert.equal(isLocalHost(h, local), true, h);
    for (const h of ['128.0.0.1', 'example.org', '10.1.2.4', 'localhost.example.org'])
      assert.equal(isLocalHost(h, local), false, h);
    const mine = localHostNames();
    assert.equal(isLocalHost(os.hostname(), mine), true);
    assert.equal(mine.has('::1'), true);
  });
});

describe('ancestorPids (core/sampling/processes)', () => {
  it('follows a real process tree up from the leaf', async function () {
    if (process.platform !== 'linux') this.skip();
    // sh → sleep: the leaf's ancestors are sh, then this Node process, then its own ancestors
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-ancestors-'));
    const pidFile = path.join(dir, 'leaf');
    const sh = cp.spawn('/bin/sh', ['-c', `sleep 30 & echo $! > ${pidFile}; wait`], { stdio: 'ignore' });
    let leaf = 0;
    try {
      const until = Date.now() + 30_000;
      while (!fs.existsSync(pidFile) || !fs.readFileSync(pidFile, 'utf8').trim()) {
        if (Date.now() > until) throw new Error('the shell did not report its child');
        await new Promise((r) => setTimeout(r, 20));
      }
      leaf = Number(fs.readFileSync(pidFile, 'utf8').trim());
      const chain = ancestorPids(leaf);
      assert.equal(chain[0], sh.pid);
      assert.equal(chain[1], process.pid);
      assert.deepEqual(chain.slice(2), ancestorPids(process.pid));
      assert.ok(!chain.includes(1) && !chain.includes(0));
    } finally {
      if (leaf) process.kill(leaf, 'SIGKILL');
      sh.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is empty for a pid that does not exist, and reads a fixture /proc', () => {
    assert.deepEqual(ancestorPids(2 ** 22 + 17), []);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-proc-'));
    try {
      const stat = (pid: number, ppid: number) => {
        fs.mkdirSync(path.join(root, String(pid)));
        fs.writeFileSync(
          path.join(root, String(pid), 'stat'),
          `${pid} (py thon) S ${ppid} ${pid} ${pid} 0 -1 0 0 0 0 0 5 6 7 8 20 0 1 0 100 0 0`,
        );
      };
      stat(30, 20);
      stat(20, 10);
      stat(10, 1);
      assert.deepEqual(ancestorPids(30, root), [20, 10]);
      // a loop (pids reused while reading) stops
      stat(40, 41);
      stat(41, 40);
      assert.deepEqual(ancestorPids(40, root), [41, 40]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
