/**
 * Running GPU command-line tools (nvidia-smi, amd-smi, rocm-smi) without ever hanging or throwing: a command found
 * missing is remembered and not tried again in this process, every run has a timeout after which its process group
 * is killed, and every failure becomes one line a person can act on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const IS_WINDOWS = process.platform === 'win32';

/** "2 s", "0.5 s" */
export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : Number(s.toFixed(2))} s`;
}

export function truncate(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

export function firstLine(s: string): string {
  return (
    s
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? ''
  );
}

const NOT_METERED = /[:;] GPU energy not metered(?=;|$)/;
const NOT_METERED_ALL = new RegExp(NOT_METERED.source, 'g');

/**
 * Several tools' reasons joined, saying "GPU energy not metered" once at the end instead of after each tool
 * ("nvidia-smi not found on PATH; no NVIDIA driver found (…); amd-smi not found on PATH: GPU energy not metered").
 */
export function joinGpuReasons(reasons: string[]): string {
  const notMetered = reasons.some((r) => NOT_METERED.test(r));
  const joined = reasons.map((r) => r.replace(NOT_METERED_ALL, '')).join('; ');
  return notMetered ? `${joined}: GPU energy not metered` : joined;
}

/** Words for a failure to start the command. */
export function describeSpawnError(err: NodeJS.ErrnoException, command: string, tool = 'nvidia-smi'): string {
  const bare = !/[\\/]/.test(command);
  const which = bare ? command : `${tool} (${command})`;
  if (err.code === 'ENOENT') {
    return bare
      ? `${command} not found on PATH: GPU energy not metered`
      : `${tool} not found at ${command}: GPU energy not metered`;
  }
  if (err.code === 'EACCES' || err.code === 'EPERM')
    return `cannot run ${which}: permission denied (${err.code}); GPU energy not metered`;
  return `cannot run ${which}: ${err.message}`;
}

function killTree(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    // the child leads its own process group (detached), so wrapper scripts and their children go too
    if (!IS_WINDOWS && child.pid) process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Kills a child, and its group with SIGKILL if it has not gone a second later. */
export function terminate(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  killTree(child, 'SIGTERM');
  const t = setTimeout(() => killTree(child, 'SIGKILL'), 1000);
  t.unref();
  child.once('exit', () => clearTimeout(t));
}

/** Commands found missing (ENOENT) in this process, with the error: they are not tried again (no retry loop). */
const absentTools = new Map<string, NodeJS.ErrnoException>();

/** Forgets the missing commands (tests; a user who just installed the driver restarts the window anyway). */
export function forgetAbsentTools(): void {
  absentTools.clear();
}

/** Is this command known to be missing in this process? */
export function isAbsentTool(command: string): boolean {
  return absentTools.has(command);
}

/**
 * Whether `command` is on disk: the path itself, or a file of that name in a PATH folder (as execvp looks, with the
 * PATH the child gets). Looking costs a few stat calls; spawning a command that is not there costs a fork and an
 * exec, several milliseconds of CPU at every run's start on a machine without a GPU tool. Windows (PATHEXT) is left
 * to spawn.
 */
function onDisk(command: string, env: NodeJS.ProcessEnv): boolean {
  if (IS_WINDOWS) return true;
  const isFile = (p: string) => {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes('/')) return isFile(command);
  const dirs = (env.PATH ?? '/usr/bin:/bin').split(':');
  return dirs.some((d) => isFile(path.join(d || '.', command)));
}

/** The error spawn gives for a missing command, without the fork and exec. */
function notFound(command: string, args: string[]): NodeJS.ErrnoException {
  return Object.assign(new Error(`spawn ${command} ENOENT`), {
    code: 'ENOENT',
    errno: -2,
    syscall: `spawn ${command}`,
    path: command,
    spawnargs: args,
  });
}

/**
 * The spawn error a missing command gives, when `command` is known to be missing or is not on disk (remembered, as
 * spawnQuiet does), without starting anything; undefined when it is there (or on Windows, where spawn decides).
 */
export function missingTool(command: string, env?: NodeJS.ProcessEnv): NodeJS.ErrnoException | undefined {
  const absent = absentTools.get(command);
  if (absent) return absent;
  if (onDisk(command, env ?? process.env)) return undefined;
  const err = notFound(command, []);
  absentTools.set(command, err);
  return err;
}

/**
 * Starts a tool in its own process group with its output piped. Throws the spawn error at once for a command known
 * to be missing, or not found on disk (remembered: not looked for again).
 */
export function spawnQuiet(command: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  const absent = absentTools.get(command);
  if (absent) throw absent;
  if (!onDisk(command, env ?? process.env)) {
    const err = notFound(command, args);
    absentTools.set(command, err);
    throw err;
  }
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: !IS_WINDOWS,
    windowsHide: true,
    ...(env ? { env } : {}),
  });
  child.once('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') absentTools.set(command, err);
  });
  return child;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: NodeJS.ErrnoException;
  timedOut: boolean;
}

const MAX_CAPTURE = 1 << 20;

/** Runs a command to its end, killing it after `timeoutMs`. Never rejects. */
export function runOnce(
  command: string,
  args: string[],
  timeoutMs: number,
  onSpawn?: (c: ChildProcess) => void,
  env?: NodeJS.ProcessEnv,
): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    let child: ChildProcess;
    // assigned once the tool has started (below), read by `done` before that when the spawn throws
    // eslint-disable-next-line prefer-const
    let timer: NodeJS.Timeout | undefined;
    const done = (r: Omit<RunResult, 'stdout' | 'stderr' | 'timedOut'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ stdout, stderr, timedOut, ...r });
    };
    try {
      child = spawnQuiet(command, args, env);
    } catch (err) {
      done({ code: null, signal: null, error: err as NodeJS.ErrnoException });
      return;
    }
    // armed once the tool has started: a timer cleared at once (a missing tool) still woke the process when it
    // would have fired (Node keeps its one libuv timer at the earliest expiry it was given), about 2–3 ms of CPU
    // in the middle of a run on a machine without GPU tools
    timer = setTimeout(() => {
      timedOut = true;
      terminate(child);
    }, timeoutMs);
    onSpawn?.(child);
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      if (stdout.length < MAX_CAPTURE) stdout += d;
    });
    child.stderr?.on('data', (d: string) => {
      if (stderr.length < MAX_CAPTURE) stderr += d;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      terminate(child);
      done({ code: null, signal: null, error: err });
    });
    child.on('close', (code, signal) => done({ code, signal }));
  });
}

export function describeExit(
  command: string,
  r: { code: number | null; signal: NodeJS.Signals | null },
  message: string,
): string {
  const how = r.code !== null ? `exit code ${r.code}` : `signal ${r.signal ?? 'unknown'}`;
  return `${command} failed (${how})${message ? `: ${truncate(message, 200)}` : ''}`;
}

export function clamp(v: number, min: number): number {
  return Number.isFinite(v) ? Math.max(min, v) : min;
}
