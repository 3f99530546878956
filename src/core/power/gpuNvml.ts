/**
 * NVIDIA GPUs through NVML, read by a child process (./nvml/reader.ts) started once while something is metered.
 *
 * The monitor asks the reader for one reading every `intervalMs` (a request, then the next one after the answer);
 * every request has a timeout. A reader that hangs is killed, one that crashes is reported with its signal, and the
 * reader is started again after a backoff (30 s, doubling up to 5 min): meanwhile `latest()` says why there is no
 * reading. The energy counter is cumulative since the driver loaded, so a gap loses no energy, only attribution
 * detail. `latest()` is synchronous and only copies the last answer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GpuDeviceReading, GpuProcess, GpuSnapshot } from './gpu';
import {
  NVML_ERROR_DRIVER_NOT_LOADED,
  NVML_ERROR_LIBRARY_NOT_FOUND,
  type NvmlAnswer,
  type NvmlCallError,
  type NvmlInitAnswer,
  type NvmlReadAnswer,
} from './nvml/protocol';
import { errorMessage } from '../errors';

export interface NvmlOptions {
  /** the reader script; default: dist/nvmlReader.js next to the bundle, or ./nvml/reader.js (tests) */
  readerPath?: string;
  /** Node executable for the reader; default process.execPath (with ELECTRON_RUN_AS_NODE inside VS Code) */
  execPath?: string;
  /** environment of the reader; default process.env */
  env?: NodeJS.ProcessEnv;
  /** time between readings, ms; default 1000 (the meter passes its own tick) */
  intervalMs?: number;
  /** how long nvmlInit and the device list may take, ms; default 20000 (nvmlInit is slow without persistence mode) */
  initTimeoutMs?: number;
  /** how long one reading may take, ms; default 3000 */
  readTimeoutMs?: number;
  /** first wait before starting the reader again after a hang or crash, ms; default 30000 */
  retryMs?: number;
  maxRetryMs?: number;
  /** how long a process's SM utilisation sample counts, ms; default 5000 */
  utilWindowMs?: number;
  /** how often a reading also lists processes, utilisation and power, ms; default: every reading (the energy counter
   * is read every intervalMs) */
  fullEveryMs?: number;
  /** keep Node alive while the reader runs (a one-off probe); default false: the reader never holds a CLI open */
  keepAlive?: boolean;
}

/** Where the reader script is: next to the bundle (dist/nvmlReader.js) or compiled beside this file. */
export function defaultReaderPath(dir = __dirname): string {
  const candidates = [path.join(dir, 'nvmlReader.js'), path.join(dir, 'nvml', 'reader.js')];
  return candidates.find((p) => fs.existsSync(p)) ?? candidates[0]!;
}

function describeCall(e: NvmlCallError | undefined): string | undefined {
  return e ? `${e.fn}: ${e.message}` : undefined;
}

/** Is this init failure one that says "no NVIDIA driver here" (fall back), rather than a broken one? */
export function isAbsent(a: Pick<NvmlInitAnswer, 'code'>): boolean {
  return a.code === NVML_ERROR_LIBRARY_NOT_FOUND || a.code === NVML_ERROR_DRIVER_NOT_LOADED;
}

/**
 * Where a driver's NVML could be found without starting the reader (Linux, macOS): the device node and driver folder
 * the kernel module makes, the library WSL mounts, and libnvidia-ml.so.1 in a folder of LD_LIBRARY_PATH (an explicit
 * library, as the tests' stand-in is).
 */
export const NVIDIA_DRIVER_SIGNS = ['/dev/nvidiactl', '/proc/driver/nvidia', '/usr/lib/wsl/lib/libnvidia-ml.so.1'];

/**
 * Why NVML surely cannot be used here, told without a child process: no sign of an NVIDIA driver at all (none of
 * NVIDIA_DRIVER_SIGNS, no libnvidia-ml.so.1 on LD_LIBRARY_PATH). undefined where there is a sign, and on Windows:
 * the reader then decides. Checked once per process by the caller, never in a loop.
 */
export function noNvidiaDriverReason(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  exists: (p: string) => boolean = fs.existsSync,
): string | undefined {
  if (platform === 'win32') return undefined;
  if (NVIDIA_DRIVER_SIGNS.some((p) => exists(p))) return undefined;
  const dirs = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  if (dirs.some((d) => exists(path.join(d, 'libnvidia-ml.so.1')))) return undefined;
  return 'no NVIDIA driver found (no /dev/nvidiactl, no /proc/driver/nvidia, no libnvidia-ml.so.1 on LD_LIBRARY_PATH)';
}

export class NvmlMonitor {
  readonly intervalMs: number;
  private readonly opts: NvmlOptions;
  private child: ChildProcess | undefined;
  private running = false;
  private nextId = 1;
  private pending = new Map<
    number,
    { resolve: (a: NvmlAnswer | undefined) => void; timer: NodeJS.Timeout; op: string }
  >();
  private initAnswer: NvmlInitAnswer | undefined;
  private last: NvmlReadAnswer | undefined;
  private lastFull: NvmlReadAnswer | undefined;
  private lastFullAt = 0;
  private seq = 0;
  private failure: string | undefined;
  private backoffMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private readTimer: NodeJS.Timeout | undefined;
  private stderr = '';
  private readonly util = new Map<number, Map<number, { smPct: number; at: number }>>();
  private readonly listeners: ((a: NvmlInitAnswer) => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  readonly counts = { spawns: 0, reads: 0, readUs: 0 };

  constructor(opts: NvmlOptions = {}) {
    this.opts = opts;
    this.intervalMs = Math.max(20, opts.intervalMs ?? 1000);
    this.backoffMs = opts.retryMs ?? 30_000;
  }

  /** Called with the answer to every `init` (the first tells whether NVML is here at all). */
  onInit(listener: (a: NvmlInitAnswer) => void): void {
    this.listeners.push(listener);
  }

  get init(): NvmlInitAnswer | undefined {
    return this.initAnswer;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.failure = undefined;
    this.backoffMs = this.opts.retryMs ?? 30_000;
    this.launch();
  }

  refreshApps(): void {
    // every reading lists the processes already
  }

  stop(): void {
    this.running = false;
    for (const t of [this.retryTimer, this.readTimer]) if (t) clearTimeout(t);
    this.retryTimer = this.readTimer = undefined;
    this.last = this.lastFull = undefined;
    this.util.clear();
    const child = this.child;
    this.child = undefined;
    this.settleAll();
    if (child) {
      try {
        child.stdin?.end(`${JSON.stringify({ id: this.nextId++, op: 'quit' })}\n`);
      } catch {
        // gone
      }
      const t = setTimeout(() => child.kill('SIGKILL'), 1000);
      t.unref();
      child.once('exit', () => clearTimeout(t));
    }
  }

  /** Resolves once the reader has exited (after stop()). */
  whenIdle(): Promise<void> {
    if (!this.child && !this.exiting.size) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private readonly exiting = new Set<ChildProcess>();

  private settleAll(): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve(undefined);
      this.pending.delete(id);
    }
  }

  private launch(): void {
    const execPath = this.opts.execPath ?? process.execPath;
    const env = { ...(this.opts.env ?? process.env), ELECTRON_RUN_AS_NODE: '1' };
    let child: ChildProcess;
    try {
      child = spawn(execPath, [this.opts.readerPath ?? defaultReaderPath()], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env,
        windowsHide: true,
      });
    } catch (err) {
      this.fail(`the NVML reader could not be started: ${errorMessage(err)}`);
      return;
    }
    this.counts.spawns++;
    this.child = child;
    this.exiting.add(child);
    this.stderr = '';
    if (!this.opts.keepAlive) {
      child.unref();
      for (const s of [child.stdout, child.stderr, child.stdin] as (NodeJS.EventEmitter & { unref?: () => void })[])
        s?.unref?.();
    }
    child.stdin?.on('error', () => undefined);
    let buf = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.onLine(line);
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      if (this.stderr.length < 4096) this.stderr += d;
    });
    child.on('error', (err) => {
      if (this.child === child) this.fail(`the NVML reader could not be started: ${err.message}`);
    });
    child.on('exit', (code, signal) => {
      this.exiting.delete(child);
      if (this.child === child) {
        const how = signal ? `signal ${signal}` : `exit code ${code}`;
        const first = this.stderr.split('\n').find((l) => l.trim()) ?? '';
        this.fail(`the NVML reader crashed (${how})${first ? `: ${first.trim().slice(0, 200)}` : ''}`);
      }
      if (!this.child && !this.exiting.size) {
        const w = this.idleWaiters;
        this.idleWaiters = [];
        for (const f of w) f();
      }
    });
    const init = this.request('init', this.opts.initTimeoutMs ?? 20_000).then((a) => {
      if (!a || this.child !== child) return;
      const init = a as NvmlInitAnswer;
      this.initAnswer = init;
      for (const l of this.listeners) l(init);
      if (!init.ok) {
        this.fail(init.reason ?? 'NVML could not be initialised', true);
        return;
      }
      this.backoffMs = this.opts.retryMs ?? 30_000;
      this.readLoop(child);
    });
    this.initializing = init;
    void init.finally(() => {
      if (this.initializing === init) this.initializing = undefined;
    });
  }

  private initializing: Promise<void> | undefined;

  private request(op: 'init' | 'read', timeoutMs: number, full?: boolean): Promise<NvmlAnswer | undefined> {
    const child = this.child;
    if (!child?.stdin) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
        if (this.child === child) {
          this.fail(
            `NVML did not answer within ${timeoutMs / 1000} s (${op === 'init' ? 'nvmlInit and the device list' : 'a reading'}); the reader was stopped`,
          );
        }
      }, timeoutMs);
      if (!this.opts.keepAlive) timer.unref();
      this.pending.set(id, { resolve, timer, op });
      child.stdin!.write(`${JSON.stringify(op === 'read' ? { id, op, full } : { id, op })}\n`);
    });
  }

  private onLine(line: string): void {
    let a: NvmlAnswer;
    try {
      a = JSON.parse(line) as NvmlAnswer;
    } catch {
      return;
    }
    const p = this.pending.get(a.id);
    if (!p) return;
    this.pending.delete(a.id);
    clearTimeout(p.timer);
    p.resolve(a);
  }

  private readLoop(child: ChildProcess): void {
    if (!this.running || this.child !== child) return;
    const full = !this.lastFull || Date.now() - this.lastFullAt >= (this.opts.fullEveryMs ?? 0);
    void this.request('read', this.opts.readTimeoutMs ?? 3000, full).then((a) => {
      if (!a || this.child !== child || !this.running) return;
      this.took(a as NvmlReadAnswer);
      this.readTimer = setTimeout(() => this.readLoop(child), this.intervalMs);
      this.readTimer.unref();
    });
  }

  private took(r: NvmlReadAnswer): void {
    if (r.ok) {
      this.last = r;
      if (r.full) {
        this.lastFull = r;
        this.lastFullAt = Date.now();
        this.noteUtil(r);
      }
      this.seq++;
      this.counts.reads++;
      this.counts.readUs += r.readUs;
      this.failure = undefined;
    } else {
      this.failure = r.reason ?? 'NVML reading failed';
    }
  }

  /** One full reading now (a run is ending: its last moments count); resolves when it is in, or failed. */
  async refresh(): Promise<void> {
    // a CLI whose command has ended has nothing else keeping Node alive while it waits here (the reader is unref'd)
    const hold = setTimeout(
      () => undefined,
      (this.opts.initTimeoutMs ?? 20_000) + (this.opts.readTimeoutMs ?? 3000) + 1000,
    );
    try {
      if (this.initializing) await this.initializing; // the reader is starting: its first reading is the fresh one
      const child = this.child;
      if (!this.running || !child || !this.initAnswer?.ok) return;
      const a = await this.request('read', this.opts.readTimeoutMs ?? 3000, true);
      if (a && this.child === child && this.running) this.took(a as NvmlReadAnswer);
    } finally {
      clearTimeout(hold);
    }
  }

  private noteUtil(r: NvmlReadAnswer): void {
    const windowMs = this.opts.utilWindowMs ?? 5000;
    for (const d of r.devices) {
      let m = this.util.get(d.index);
      if (!m) this.util.set(d.index, (m = new Map()));
      for (const [pid, sm] of d.util ?? []) m.set(pid, { smPct: sm, at: r.at });
      for (const [pid, u] of m) if (r.at - u.at > windowMs) m.delete(pid);
    }
  }

  private fail(reason: string, permanent = false): void {
    this.failure = reason;
    this.lastFull = undefined;
    if (!this.initAnswer) {
      // no answer to init at all (the reader hung or crashed in nvmlInit): that is the answer
      for (const l of this.listeners) l({ id: 0, ok: false, reason });
    }
    this.last = undefined;
    const child = this.child;
    this.child = undefined;
    this.settleAll();
    if (child) child.kill('SIGKILL');
    if (this.readTimer) clearTimeout(this.readTimer);
    this.readTimer = undefined;
    if (!this.running || permanent || this.retryTimer) return;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(wait * 2, this.opts.maxRetryMs ?? 300_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.running && !this.child) this.launch();
    }, wait);
    this.retryTimer.unref();
  }

  latest(): GpuSnapshot {
    const init = this.initAnswer;
    const r = this.last;
    const full = this.lastFull;
    if (!this.running || !r || !full || !init?.ok) {
      const reason = !this.running
        ? (this.failure ?? 'the GPU monitor is not running')
        : (this.failure ?? 'waiting for the first NVML reading');
      return { ok: false, devices: [], processes: [], at: Date.now(), reason, source: 'nvml' };
    }
    const devices: GpuDeviceReading[] = [];
    const processes: GpuProcess[] = [];
    for (const d of r.devices) {
      const info = init.devices?.find((x) => x.index === d.index);
      const f = full.devices.find((x) => x.index === d.index);
      if (!info || !f) continue;
      // energy from the latest reading; power from it too where it has one, else from the last full reading
      const p = d.powerMW !== null ? d : f;
      const util = this.util.get(d.index);
      const reading: GpuDeviceReading = {
        index: d.index,
        uuid: info.uuid,
        name: info.name,
        powerW: p.powerMW === null ? null : p.powerMW / 1000,
        energyJ: d.energyMJ === null ? null : d.energyMJ / 1000,
        processUtil:
          f.util === null || f.util === undefined
            ? null
            : [...(util ?? new Map()).entries()].map(([pid, u]) => ({ pid, smPct: u.smPct })),
        migEnabled: info.migEnabled,
      };
      if (p.powerAtUs) reading.powerAtMs = p.powerAtUs / 1000;
      if (info.minor !== undefined) reading.minor = info.minor;
      if (info.migDevices?.length) reading.migDevices = info.migDevices;
      if (d.energyError) reading.energyError = d.energyError.message;
      if (f.utilError) reading.processUtilError = describeCall(f.utilError);
      if (f.procsError) reading.processesError = describeCall(f.procsError);
      devices.push(reading);
      for (const [pid, bytes, gi] of f.procs ?? []) {
        processes.push({
          gpuUuid: info.uuid,
          pid,
          usedMemoryMB: bytes === null ? null : bytes / 2 ** 20,
          gpuInstanceId: gi,
        });
      }
    }
    return { ok: true, devices, processes, at: r.at, source: 'nvml', seq: this.seq };
  }

  stats(): { spawns: number; reads: number; meanReadUs: number; pid?: number } {
    return {
      spawns: this.counts.spawns,
      reads: this.counts.reads,
      meanReadUs: this.counts.reads ? this.counts.readUs / this.counts.reads : 0,
      pid: this.child?.pid,
    };
  }
}

/** Starts a reader, asks for `init`, and stops it: for `doctor` and the hardware inventory. Never rejects. */
export async function probeNvml(opts: NvmlOptions = {}): Promise<NvmlInitAnswer> {
  const m = new NvmlMonitor({ ...opts, retryMs: 3_600_000, keepAlive: true });
  const answer = await new Promise<NvmlInitAnswer>((resolve) => {
    m.onInit(resolve);
    m.start();
  });
  m.stop();
  await m.whenIdle();
  return answer;
}
