/**
 * Finding a notebook's Jupyter kernel among the processes in /proc (Linux), from what is observable: the command
 * line, the parent, the working directory, the environment, and which kernel is busy while a cell executes.
 *
 * How kernels are started (read in vscode-jupyter, jupyter_client and jupyter_server):
 *  - the Jupyter extension spawns a local kernel from the extension host itself (`child_process.spawn`, no shell):
 *    `<python> -m ipykernel_launcher --f=<runtime dir>/kernel-v3<hex>.json`, cwd = `jupyter.notebookFileRoot`
 *    (default `${fileDirname}`: the notebook's folder), the extension host's environment, no notebook path;
 *  - a Jupyter server starts `<python> -m ipykernel_launcher -f <runtime dir>/kernel-<id>.json` as its own child,
 *    cwd = the notebook's folder, with `JPY_SESSION_NAME` = the notebook's path (jupyter_server ≥ 2.0.7) and
 *    `JPY_PARENT_PID` = the server's pid in the kernel's environment.
 * Neither names the notebook in a way the VS Code API can match to a pid, so the link is made from the parent, the
 * folder and, when several kernels fit, from which one is busy: ambiguity is reported, never guessed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bootTimeS, parseProcStat } from '../sampling/procfs';

export interface KernelProcess {
  pid: number;
  ppid: number;
  /** the command line, words joined by spaces */
  command: string;
  /** the connection file named by -f / --f= / --connection-file (absolute as given) */
  connectionFile: string;
  /** working directory (readlink /proc/PID/cwd); undefined when unreadable */
  cwd?: string;
  /** JPY_SESSION_NAME from the kernel's environment: set by a Jupyter server (the notebook's path) */
  sessionName?: string;
  /** JPY_PARENT_PID from the kernel's environment: set by jupyter_client's launcher */
  jupyterParentPid?: number;
  /** ms since epoch */
  startedAtMs: number;
  /** utime + stime + cutime + cstime, clock ticks */
  cpuTicks: number;
  /** the pids from the kernel's parent up to init (nearest first), for "is it a descendant of the extension host" */
  ancestors: number[];
}

const CONNECTION_FILE_OPTION = /^(?:--?f|--connection-file|--existing)(?:=(.+))?$/;

/**
 * The connection file of a kernel command line (argv), or undefined when argv is not an ipykernel kernel.
 * Recognised: `-m ipykernel_launcher`, `-m ipykernel`, `.../ipykernel_launcher.py`, with `-f X`, `-f=X`, `--f=X`,
 * `--connection-file X` (and `=X`).
 */
export function parseKernelArgv(argv: readonly string[]): string | undefined {
  let isKernel = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-m' && (argv[i + 1] === 'ipykernel_launcher' || argv[i + 1] === 'ipykernel')) isKernel = true;
    if (a === '-mipykernel_launcher' || a === '-mipykernel' || /(^|[\\/])ipykernel_launcher\.py$/.test(a))
      isKernel = true;
  }
  if (!isKernel) return undefined;
  for (let i = 0; i < argv.length; i++) {
    const m = CONNECTION_FILE_OPTION.exec(argv[i]);
    if (!m || argv[i].startsWith('--existing')) continue;
    const file = m[1] ?? argv[i + 1];
    if (file && file.endsWith('.json')) return file;
  }
  return undefined;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

/** One variable of /proc/PID/environ (NUL-separated), or undefined (absent, or not ours to read). */
export function environValue(environ: string | undefined, name: string): string | undefined {
  if (!environ) return undefined;
  const prefix = `${name}=`;
  for (const entry of environ.split('\0')) if (entry.startsWith(prefix)) return entry.slice(prefix.length);
  return undefined;
}

/** The ancestors of `ppid` (itself first), read from /proc, at most `max`. */
function ancestorsOf(ppid: number, procRoot: string, max = 16): number[] {
  const out: number[] = [];
  let pid = ppid;
  while (pid > 1 && out.length < max) {
    out.push(pid);
    const text = readText(path.join(procRoot, String(pid), 'stat'));
    if (!text) break;
    try {
      pid = parseProcStat(text).ppid;
    } catch {
      break;
    }
  }
  return out;
}

/** Reads one process as a kernel, or undefined when it is not an ipykernel kernel (or is gone). */
export function readKernelProcess(pid: number, procRoot = '/proc', clkTck = 100): KernelProcess | undefined {
  const dir = path.join(procRoot, String(pid));
  const raw = readText(path.join(dir, 'cmdline'));
  if (!raw || !raw.includes('ipykernel')) return undefined;
  const argv = Buffer.from(raw, 'latin1')
    .toString('utf8')
    .split('\0')
    .filter((a) => a !== '');
  const connectionFile = parseKernelArgv(argv);
  if (!connectionFile) return undefined;
  const statText = readText(path.join(dir, 'stat'));
  if (!statText) return undefined;
  let stat;
  try {
    stat = parseProcStat(statText);
  } catch {
    return undefined;
  }
  let cwd: string | undefined;
  try {
    cwd = fs.readlinkSync(path.join(dir, 'cwd'));
  } catch {
    cwd = undefined;
  }
  const environ = readText(path.join(dir, 'environ'));
  const session = environValue(environ, 'JPY_SESSION_NAME');
  const parent = Number(environValue(environ, 'JPY_PARENT_PID'));
  return {
    pid,
    ppid: stat.ppid,
    command: argv.join(' '),
    connectionFile,
    cwd,
    sessionName: session ? Buffer.from(session, 'latin1').toString('utf8') : undefined,
    jupyterParentPid: Number.isInteger(parent) && parent > 0 ? parent : undefined,
    startedAtMs: Math.round((bootTimeS(procRoot) + stat.startTicks / clkTck) * 1000),
    cpuTicks: stat.utimeTicks + stat.stimeTicks + stat.cutimeTicks + stat.cstimeTicks,
    ancestors: ancestorsOf(stat.ppid, procRoot),
  };
}

/** Every ipykernel kernel on this machine that we can see (one pass over /proc; reads only ipykernel processes fully). */
export function listKernelProcesses(procRoot = '/proc', clkTck = 100): KernelProcess[] {
  let names: string[];
  try {
    names = fs.readdirSync(procRoot);
  } catch {
    return [];
  }
  const out: KernelProcess[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const k = readKernelProcess(Number(name), procRoot, clkTck);
    if (k) out.push(k);
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/** CPU ticks of the given pids now (a pid that is gone is left out). */
export function readCpuTicks(pids: readonly number[], procRoot = '/proc'): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const text = readText(path.join(procRoot, String(pid), 'stat'));
    if (!text) continue;
    try {
      const s = parseProcStat(text);
      out.set(pid, s.utimeTicks + s.stimeTicks + s.cutimeTicks + s.cstimeTicks);
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}
