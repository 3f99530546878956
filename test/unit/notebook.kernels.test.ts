/**
 * Finding a notebook's kernel (core/notebook/kernels.ts, link.ts): fixture /proc trees for every shape of parent,
 * folder and session, then real ipykernel kernels started by this test the way VS Code's Jupyter extension starts
 * them, one of them made busy through jupyter_client.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listKernelProcesses, parseKernelArgv, readCpuTicks, readKernelProcess } from '../../src/core/notebook/kernels';
import { kernelDirs, kernelOrigin, matchKernel, pickBusyKernel } from '../../src/core/notebook/link';
import {
  busyCell,
  startBridge,
  startKernel,
  writeConnectionFile,
  type Bridge,
  type KernelHandle,
} from '../helpers/jupyter';

const BTIME = 1_700_000_000;

interface FakeProc {
  pid: number;
  ppid: number;
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  startTicks?: number;
  cpuTicks?: number;
}

function statLine(p: FakeProc): string {
  // fields 3..24: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
  // priority nice num_threads itrealvalue starttime vsize rss
  const f = [
    'S',
    p.ppid,
    p.pid,
    p.pid,
    0,
    -1,
    0,
    0,
    0,
    0,
    0,
    p.cpuTicks ?? 0,
    0,
    0,
    0,
    20,
    0,
    3,
    0,
    p.startTicks ?? 1000,
    1000,
    100,
  ];
  return `${p.pid} (${path.basename(p.argv[0] ?? 'x').slice(0, 15)}) ${f.join(' ')}\n`;
}

/** A /proc tree in a temporary folder: stat (btime), and per process cmdline, stat, environ and a cwd link. */
function fakeProc(procs: FakeProc[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-nbproc-'));
  fs.writeFileSync(path.join(root, 'stat'), `cpu  1 0 1 100 0 0 0 0 0 0\nbtime ${BTIME}\n`);
  for (const p of procs) {
    const dir = path.join(root, String(p.pid));
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'cmdline'), p.argv.join('\0') + '\0');
    fs.writeFileSync(path.join(dir, 'stat'), statLine(p));
    fs.writeFileSync(
      path.join(dir, 'environ'),
      Object.entries(p.env ?? { PATH: '/usr/bin' })
        .map(([k, v]) => `${k}=${v}\0`)
        .join(''),
    );
    if (p.cwd) fs.symlinkSync(p.cwd, path.join(dir, 'cwd'));
  }
  return root;
}

const HOST = 500;
const vscodeKernel = (pid: number, cwd: string, ppid = HOST): FakeProc => ({
  pid,
  ppid,
  cwd,
  argv: [
    '/usr/bin/python3',
    '-m',
    'ipykernel_launcher',
    `--f=/run/user/1000/jupyter/runtime/kernel-v3-${'ab'.repeat(20)}${pid}.json`,
  ],
});

describe('notebook kernels: command lines', () => {
  it('recognises the ways ipykernel is started and finds the connection file', () => {
    assert.equal(
      parseKernelArgv(['/usr/bin/python3', '-m', 'ipykernel_launcher', '--f=/rt/kernel-v3-ab12.json']),
      '/rt/kernel-v3-ab12.json',
    );
    assert.equal(
      parseKernelArgv(['python', '-m', 'ipykernel_launcher', '-f', '/rt/kernel-1b2c.json']),
      '/rt/kernel-1b2c.json',
    );
    assert.equal(parseKernelArgv(['python', '-m', 'ipykernel', '--connection-file=/rt/k.json']), '/rt/k.json');
    assert.equal(
      parseKernelArgv([
        'python',
        '/usr/lib/python3/dist-packages/ipykernel_launcher.py',
        '-f',
        '/rt/k.json',
        '--debug',
      ]),
      '/rt/k.json',
    );
    assert.equal(parseKernelArgv(['python', '-m', 'ipykernel_launcher']), undefined, 'no connection file');
    assert.equal(
      parseKernelArgv(['python3', 'bridge.py', '/rt/kernel-v3-ab.json']),
      undefined,
      'a client naming a connection file is no kernel',
    );
    assert.equal(parseKernelArgv(['jupyter', 'console', '--existing', '/rt/kernel-1.json']), undefined);
  });
});

describe('notebook kernels: fixture /proc trees', () => {
  const roots: string[] = [];
  after(() => {
    for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  });
  function tree(procs: FakeProc[]): string {
    const r = fakeProc(procs);
    roots.push(r);
    return r;
  }

  const procs: FakeProc[] = [
    { pid: HOST, ppid: 400, argv: ['/usr/share/code/code', '--type=extensionHost'] },
    { pid: 400, ppid: 1, argv: ['/usr/share/code/code'] },
    vscodeKernel(501, '/ws/one', HOST),
    vscodeKernel(502, '/ws/two', HOST),
    vscodeKernel(506, '/ws/two', HOST),
    // a kernel of a JupyterLab server: JPY_SESSION_NAME is the notebook's path
    { pid: 600, ppid: 1, argv: ['/usr/bin/python3', '/usr/bin/jupyter-lab'] },
    {
      pid: 503,
      ppid: 600,
      cwd: '/srv/lab',
      argv: ['/usr/bin/python3', '-m', 'ipykernel_launcher', '-f', '/rt/kernel-3f2a.json'],
      env: { JPY_SESSION_NAME: '/srv/lab/analysis.ipynb', JPY_PARENT_PID: '600' },
    },
    // a session VS Code created on a local server: <root>/<base>-<uuid>.ipynb, cwd = the server's root
    {
      pid: 507,
      ppid: 600,
      cwd: '/srv',
      argv: ['/usr/bin/python3', '-m', 'ipykernel_launcher', '-f', '/rt/kernel-77.json'],
      env: { JPY_SESSION_NAME: '/srv/train-0c1d2e3f-aaaa-bbbb-cccc-0123456789ab.ipynb', JPY_PARENT_PID: '600' },
    },
    // the Jupyter extension's own server (no ZeroMQ): a child of the extension host, its kernels in the server's root
    {
      pid: 900,
      ppid: HOST,
      argv: ['/usr/bin/python3', '-m', 'jupyter', 'notebook', '--no-browser', '--notebook-dir=/srv2'],
    },
    {
      pid: 901,
      ppid: 900,
      cwd: '/srv2',
      argv: ['/usr/bin/python3', '-m', 'ipykernel_launcher', '-f', '/rt/kernel-901.json'],
      env: { JPY_SESSION_NAME: '/srv2/eval-jvsc-0c1d2e3f-aaaa-bbbb-cccc-0123456789ab.ipynb', JPY_PARENT_PID: '900' },
    },
    // another window's kernel in a folder of ours
    { pid: 700, ppid: 1, argv: ['/usr/share/code/code', '--type=extensionHost'] },
    vscodeKernel(504, '/ws/three', 700),
    // a test client naming a connection file: not a kernel
    { pid: 505, ppid: HOST, cwd: '/ws/one', argv: ['/usr/bin/python3', 'bridge.py', '/rt/kernel-v3-ab.json'] },
    // a kernel behind a wrapper of the extension host (a conda activation script)
    { pid: 800, ppid: HOST, argv: ['/bin/sh', 'activate-and-run'] },
    vscodeKernel(801, '/ws/four', 800),
  ];

  it('lists the kernels with their parent, folder, session and start time', () => {
    const root = tree(procs.map((p) => (p.pid === 501 ? { ...p, startTicks: 250, cpuTicks: 42 } : p)));
    const kernels = listKernelProcesses(root);
    assert.deepEqual(
      kernels.map((k) => k.pid),
      [501, 502, 503, 504, 506, 507, 801, 901],
    );
    const k501 = kernels[0];
    assert.equal(k501.ppid, HOST);
    assert.equal(k501.cwd, '/ws/one');
    assert.match(k501.connectionFile, /kernel-v3-[0-9a-f]+\.json$/);
    assert.equal(k501.startedAtMs, (BTIME + 2.5) * 1000);
    assert.equal(k501.cpuTicks, 42);
    assert.deepEqual(k501.ancestors, [HOST, 400]);
    const k503 = kernels.find((k) => k.pid === 503)!;
    assert.equal(k503.sessionName, '/srv/lab/analysis.ipynb');
    assert.equal(k503.jupyterParentPid, 600);
    assert.equal(kernelOrigin(k503, HOST), 'server');
    assert.equal(
      kernelOrigin(
        kernels.find((k) => k.pid === 504)!,
        HOST,
      ),
      'other',
    );
    assert.equal(
      kernelOrigin(
        kernels.find((k) => k.pid === 801)!,
        HOST,
      ),
      'editor',
      'a descendant of the extension host',
    );
    assert.equal(readKernelProcess(505, root), undefined);
    assert.equal(readKernelProcess(9999, root), undefined, 'a pid that is gone');
  });

  it('links a notebook to the one kernel this window started in its folder', () => {
    const kernels = listKernelProcesses(tree(procs));
    const m = matchKernel(kernels, { notebookPath: '/ws/one/a.ipynb', kernelDirs: ['/ws/one'] }, HOST);
    assert.equal(m.kind, 'found');
    assert.equal(m.kind === 'found' && m.kernel.pid, 501);
    assert.equal(m.kind === 'found' && m.origin, 'editor');
    const wrapped = matchKernel(kernels, { notebookPath: '/ws/four/d.ipynb', kernelDirs: ['/ws/four'] }, HOST);
    assert.equal(wrapped.kind === 'found' && wrapped.kernel.pid, 801);
  });

  it('says two kernels in one folder are ambiguous, and links once the other is taken', () => {
    const kernels = listKernelProcesses(tree(procs));
    const place = { notebookPath: '/ws/two/b.ipynb', kernelDirs: ['/ws/two'] };
    const m = matchKernel(kernels, place, HOST);
    assert.equal(m.kind, 'ambiguous');
    assert.deepEqual(m.kind === 'ambiguous' && m.kernels.map((k) => k.pid), [502, 506]);
    assert.match(m.kind === 'ambiguous' ? m.reason : '', /2 kernels/);
    const n = matchKernel(kernels, place, HOST, new Set([506]));
    assert.equal(n.kind === 'found' && n.kernel.pid, 502);
  });

  it('links a Jupyter server kernel by JPY_SESSION_NAME, and a VS Code session on a server by its name', () => {
    const kernels = listKernelProcesses(tree(procs));
    const lab = matchKernel(kernels, { notebookPath: '/srv/lab/analysis.ipynb', kernelDirs: ['/srv/lab'] }, HOST);
    assert.equal(lab.kind === 'found' && lab.kernel.pid, 503);
    assert.match(lab.kind === 'found' ? lab.how : '', /JPY_SESSION_NAME/);
    const vs = matchKernel(kernels, { notebookPath: '/home/u/ml/train.ipynb', kernelDirs: ['/home/u/ml'] }, HOST);
    assert.equal(vs.kind === 'found' && vs.kernel.pid, 507);
    const own = matchKernel(
      kernels,
      { notebookPath: '/ws/one/eval.ipynb', kernelDirs: ['/ws/one'] },
      HOST,
      new Set([501]),
    );
    assert.equal(own.kind === 'found' && own.kernel.pid, 901, "a session on the Jupyter extension's own server");
    const other = matchKernel(kernels, { notebookPath: '/home/u/ml/training.ipynb', kernelDirs: ['/home/u/ml'] }, HOST);
    assert.equal(other.kind, 'none', '"train-<uuid>" is not a session of training.ipynb');
  });

  it("does not take another window's kernel, and calls a kernel nowhere to be seen remote", () => {
    const kernels = listKernelProcesses(tree(procs));
    const m = matchKernel(kernels, { notebookPath: '/ws/three/c.ipynb', kernelDirs: ['/ws/three'] }, HOST);
    assert.equal(m.kind, 'none');
    assert.equal(m.kind === 'none' && m.remote, false);
    assert.match(m.kind === 'none' ? m.reason : '', /not started by this window/);
    const empty = matchKernel([], { notebookPath: '/ws/one/a.ipynb', kernelDirs: ['/ws/one'] }, HOST);
    assert.equal(empty.kind === 'none' && empty.remote, true);
  });

  it('picks the busy kernel only when exactly one moved', () => {
    const before = new Map([
      [1, 100],
      [2, 100],
    ]);
    assert.equal(
      pickBusyKernel(
        before,
        new Map([
          [1, 180],
          [2, 101],
        ]),
      ),
      1,
    );
    assert.equal(
      pickBusyKernel(
        before,
        new Map([
          [1, 180],
          [2, 150],
        ]),
      ),
      undefined,
      'both busy',
    );
    assert.equal(
      pickBusyKernel(
        before,
        new Map([
          [1, 101],
          [2, 100],
        ]),
      ),
      undefined,
      'none busy',
    );
    assert.equal(pickBusyKernel(before, new Map([[2, 150]])), 2, 'the other one is gone');
  });

  it('resolves jupyter.notebookFileRoot like the Jupyter extension', () => {
    assert.deepEqual(kernelDirs(undefined, '/ws/sub/a.ipynb', '/ws', '/home/u'), ['/ws/sub']);
    assert.deepEqual(kernelDirs('${fileDirname}', '/ws/sub/a.ipynb', '/ws', '/home/u'), ['/ws/sub']);
    assert.deepEqual(kernelDirs('${workspaceFolder}', '/ws/sub/a.ipynb', '/ws', '/home/u'), ['/ws', '/ws/sub']);
    assert.deepEqual(kernelDirs('data', '/ws/sub/a.ipynb', '/ws', '/home/u'), ['/ws/data', '/ws/sub']);
    assert.deepEqual(kernelDirs('~/nb', '/ws/sub/a.ipynb', '/ws', '/home/u'), ['/home/u/nb', '/ws/sub']);
    assert.deepEqual(
      kernelDirs('${env:HOME}', '/ws/sub/a.ipynb', '/ws', '/home/u'),
      ['/ws/sub'],
      'an unknown variable: the notebook folder',
    );
  });
});

describe('notebook kernels: real ipykernel kernels started by this process', function () {
  this.timeout(180_000);
  let dir: string;
  const kernels: KernelHandle[] = [];
  const bridges: Bridge[] = [];

  before(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-nb-')));
  });
  after(async () => {
    for (const b of bridges) b.kill();
    for (const k of kernels) k.process.kill('SIGKILL');
    await Promise.all(kernels.map((k) => k.exited));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds two kernels of this process in the notebook folder, and tells them apart by which one is busy', async () => {
    const runtime = path.join(dir, 'runtime');
    const folder = path.join(dir, 'notebooks');
    fs.mkdirSync(folder);
    for (let i = 0; i < 2; i++) kernels.push(startKernel(await writeConnectionFile(runtime), folder));
    for (const k of kernels) {
      const b = startBridge(k.connectionFile);
      bridges.push(b);
      await b.ready; // the kernel answers: it is fully started
    }
    const found = listKernelProcesses().filter((k) => k.ppid === process.pid);
    assert.deepEqual(found.map((k) => k.pid).sort(), kernels.map((k) => k.process.pid).sort());
    for (const k of found) {
      assert.equal(k.cwd, folder);
      assert.equal(kernelOrigin(k, process.pid), 'editor');
      assert.ok(
        kernels.some((h) => h.connectionFile === k.connectionFile),
        k.connectionFile,
      );
    }
    const place = {
      notebookPath: path.join(folder, 'a.ipynb'),
      kernelDirs: kernelDirs(undefined, path.join(folder, 'a.ipynb'), dir, os.homedir()),
    };
    const m = matchKernel(found, place, process.pid);
    assert.equal(m.kind, 'ambiguous');

    // a cell executes on the second kernel: its CPU time moves, the first one's does not
    const pids = found.map((k) => k.pid);
    const before = readCpuTicks(pids);
    const r = await bridges[1].execute(busyCell(0.5));
    assert.equal(r.status, 'ok', r.error ?? '');
    assert.equal(pickBusyKernel(before, readCpuTicks(pids)), kernels[1].process.pid);

    // once that kernel is linked to its notebook, the other notebook of the folder gets the first one
    const other = matchKernel(
      listKernelProcesses(),
      { ...place, notebookPath: path.join(folder, 'b.ipynb') },
      process.pid,
      new Set([kernels[1].process.pid!]),
    );
    assert.equal(other.kind === 'found' && other.kernel.pid, kernels[0].process.pid);
  });
});
