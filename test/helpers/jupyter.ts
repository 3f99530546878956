/**
 * A real Jupyter kernel for the tests, started the way VS Code's Jupyter extension starts one: a connection file with
 * free ports written to a runtime folder as `kernel-v3-<hex>.json`, then `<python> -m ipykernel_launcher --f=<file>`
 * spawned (no shell) with the notebook's folder as cwd. Cells run through jupyter_client (test/fixtures/notebook/
 * bridge.py, JSON lines). Needs Debian's python3-ipykernel and python3-jupyter-client (scripts/setup/system-packages.sh).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';

export const BRIDGE = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'notebook', 'bridge.py');

let cachedPython: string | undefined;

/** A Python that imports ipykernel and jupyter_client (Debian's /usr/bin/python3 first), or an Error saying what to install. */
export function jupyterPython(): string {
  if (cachedPython) return cachedPython;
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(candidate, ['-c', 'import ipykernel, jupyter_client'], { stdio: 'ignore' });
    if (r.status === 0) return (cachedPython = candidate);
  }
  throw new Error(
    'no Python with ipykernel and jupyter_client: run `apt-get install -y python3-ipykernel python3-jupyter-client` (scripts/setup/system-packages.sh)',
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Writes a connection file as the Jupyter extension does (`kernel-v3-<40 hex>.json`, fresh ports and key). */
export async function writeConnectionFile(runtimeDir: string): Promise<string> {
  fs.mkdirSync(runtimeDir, { recursive: true });
  const ports = new Set<number>();
  while (ports.size < 5) ports.add(await freePort());
  const [shell_port, iopub_port, stdin_port, control_port, hb_port] = [...ports];
  const file = path.join(runtimeDir, `kernel-v3-${crypto.randomBytes(20).toString('hex')}.json`);
  const info = {
    shell_port,
    iopub_port,
    stdin_port,
    control_port,
    hb_port,
    ip: '127.0.0.1',
    key: crypto.randomUUID(),
    transport: 'tcp',
    signature_scheme: 'hmac-sha256',
    kernel_name: 'python3',
  };
  fs.writeFileSync(file, JSON.stringify(info, null, 1));
  return file;
}

export interface KernelHandle {
  process: ChildProcess;
  connectionFile: string;
  exited: Promise<void>;
}

/** Spawns `<python> -m ipykernel_launcher --f=<connection file>` in `cwd` (stdout and stderr drained). */
export function startKernel(connectionFile: string, cwd: string, env: NodeJS.ProcessEnv = process.env): KernelHandle {
  const child = spawn(jupyterPython(), ['-m', 'ipykernel_launcher', `--f=${connectionFile}`], {
    cwd,
    env: { ...env, PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.resume();
  child.stderr?.resume();
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { process: child, connectionFile, exited };
}

export interface CellResult {
  id: number;
  status: 'ok' | 'error';
  stdout: string;
  error: string | null;
  startMs: number;
  endMs: number;
}

export interface Bridge {
  ready: Promise<void>;
  execute(code: string): Promise<CellResult>;
  /** asks the kernel to shut down (jupyter_client's shutdown request) and waits for the bridge to exit */
  shutdown(): Promise<void>;
  kill(): void;
}

/** Starts bridge.py on a kernel's connection file. Requests are answered in order. */
export function startBridge(connectionFile: string): Bridge {
  const child = spawn(jupyterPython(), [BRIDGE, connectionFile], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const waiting = new Map<number, (r: CellResult) => void>();
  let onReady!: () => void;
  let onShutdown: (() => void) | undefined;
  let failReady!: (e: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    failReady = reject;
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  void exited.then(() => {
    const e = new Error(`bridge.py exited; stderr: ${stderr}`);
    failReady(e);
    for (const [, w] of waiting) w({ id: -1, status: 'error', stdout: '', error: e.message, startMs: 0, endMs: 0 });
    waiting.clear();
  });
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (msg.ready) onReady();
    else if (msg.shutdown) onShutdown?.();
    else if (typeof msg.id === 'number') {
      waiting.get(msg.id)?.(msg as unknown as CellResult);
      waiting.delete(msg.id);
    }
  });
  let next = 1;
  return {
    ready,
    execute(code) {
      const id = next++;
      return new Promise<CellResult>((resolve) => {
        waiting.set(id, resolve);
        child.stdin.write(JSON.stringify({ id, code }) + '\n');
      });
    },
    async shutdown() {
      const done = new Promise<void>((resolve) => (onShutdown = resolve));
      child.stdin.write(JSON.stringify({ shutdown: true }) + '\n');
      await Promise.race([done, exited]);
      child.stdin.end();
      await exited;
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}

/** Python that keeps the CPU busy for `cpuS` seconds of the kernel's own CPU time (process_time), whatever the load. */
export function busyCell(cpuS: number): string {
  return `import time\n_t0 = time.process_time()\nwhile time.process_time() - _t0 < ${cpuS}:\n    pass\nprint("busy", ${cpuS})`;
}

/** utime + stime + cutime + cstime of a live process, in seconds (clock ticks of 1/100 s). */
export function processCpuSeconds(pid: number): number {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const f = (n: number) => Number(rest[n - 3]);
  return (f(14) + f(15) + f(16) + f(17)) / 100;
}
