/**
 * AMD GPUs through `amd-smi` (ROCm 6+), or `rocm-smi` where amd-smi is not installed.
 *
 * - At start: `amd-smi list --json` (indices and UUIDs) and `amd-smi static --asic --json` (names), once.
 * - Then ONE call at a time, one per `intervalMs` (default 2 s) at most, for every device together:
 *   `amd-smi metric --power --energy --json` (power and the energy counter), or, every `processesEveryMs` (5 s;
 *   every interval for 10 s after a run starts), `amd-smi process --json` (the processes on each device, their
 *   memory and gfx engine time). The energy counter is cumulative, so a reading skipped for the process list loses
 *   no energy.
 * - rocm-smi: `rocm-smi --showpower --showenergycounter --json` per interval; it lists no processes per device.
 *
 * amd-smi is a Python program that takes a second or more to start, which is why it is asked at most every
 * interval rather than at every meter tick. A call that does not answer within `timeoutMs` is killed with its
 * process group and said in one line; after a failure the next call waits 30 s, doubling up to 5 min. A tool that
 * does not exist is not looked for again in this process (tools.ts). `latest()` is synchronous: it copies the last
 * answers.
 */
import type { ChildProcess } from 'node:child_process';
import {
  parseAmdList,
  parseAmdMetric,
  parseAmdProcesses,
  parseAmdStaticNames,
  parseRocmSmi,
  type AmdProcessEntry,
} from './amdSmi';
import {
  clamp,
  describeExit,
  describeSpawnError,
  firstLine,
  formatSeconds,
  missingTool,
  runOnce,
  truncate,
  type RunResult,
} from './tools';
import type { GpuDeviceReading, GpuProcess, GpuSnapshot } from './types';

export interface AmdOptions {
  /** amd-smi executable; default 'amd-smi' on PATH */
  amdSmi?: string;
  /** rocm-smi executable; default 'rocm-smi' on PATH */
  rocmSmi?: string;
  /** at most one call per interval, ms; default 2000 */
  intervalMs?: number;
  /** how often the processes are listed, ms; default 5000 */
  processesEveryMs?: number;
  /** how long one call may take, ms; default 10000 (amd-smi starts slowly) */
  timeoutMs?: number;
  retryMs?: number;
  maxRetryMs?: number;
  /** how long the last gfx-time split of a device stands while its processes are idle, ms; default 5000 */
  utilWindowMs?: number;
  /** environment of the tools (PYTHONUNBUFFERED is added) */
  env?: NodeJS.ProcessEnv;
}

export const GFX_TIME = 'gfx engine time';
export const METRIC_ARGS = ['metric', '--power', '--energy', '--json'];
export const ROCM_SMI_ARGS = ['--showpower', '--showenergycounter', '--json'];

interface Device {
  index: number;
  uuid: string;
  name: string;
  powerW: number | null;
  energyJ: number | null;
  at: number;
  seq: number;
}

export class AmdMonitor {
  readonly amdSmi: string;
  readonly rocmSmi: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  private readonly processesEveryMs: number;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private readonly env: NodeJS.ProcessEnv;

  /** which tool is read: undefined until the first start decides */
  private tool: 'amd-smi' | 'rocm-smi' | undefined;
  private absentReason: string | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  /** bumped by every start: a loop left from before a stop() ends instead of running beside the new one */
  private generation = 0;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failure: string | undefined;
  private backoffMs: number;
  private readonly devices = new Map<number, Device>();
  private readonly uuids = new Map<number, string>();
  private readonly names = new Map<number, string>();
  private seq = 0;
  private processes: GpuProcess[] = [];
  private processesAt: number | undefined;
  private processesReason: string | undefined;
  private lastProcessQuery = 0;
  private burstUntil = 0;
  private readonly gfxPrev = new Map<string, { ns: number; at: number }>();
  private readonly util = new Map<number, { pid: number; smPct: number }[] | null>();
  /** the last split of each device with some gfx time in it, kept `utilWindowMs` while its processes are idle */
  private readonly busyUtil = new Map<number, { util: { pid: number; smPct: number }[]; at: number; pids: string }>();
  private readonly utilWindowMs: number;
  private readonly children = new Set<ChildProcess>();
  private idleWaiters: (() => void)[] = [];
  readonly counts = { calls: 0, metricCalls: 0, processCalls: 0, parseUs: 0, parses: 0 };

  constructor(opts: AmdOptions = {}) {
    this.amdSmi = opts.amdSmi || 'amd-smi';
    this.rocmSmi = opts.rocmSmi || 'rocm-smi';
    this.intervalMs = clamp(opts.intervalMs ?? 2000, 50);
    this.processesEveryMs = clamp(opts.processesEveryMs ?? 5000, 50);
    this.timeoutMs = clamp(opts.timeoutMs ?? 10_000, 50);
    this.retryMs = clamp(opts.retryMs ?? 30_000, 50);
    this.maxRetryMs = Math.max(this.retryMs, opts.maxRetryMs ?? 300_000);
    this.backoffMs = this.retryMs;
    this.utilWindowMs = opts.utilWindowMs ?? 5000;
    this.env = { ...(opts.env ?? process.env), PYTHONUNBUFFERED: '1' };
  }

  /** 'amd-smi', 'rocm-smi', or undefined before the first answer. */
  get source(): 'amd-smi' | 'rocm-smi' | undefined {
    return this.tool;
  }

  /** Not known yet whether an AMD tool answers (the first call is under way). */
  get pending(): boolean {
    return this.running && !this.tool && !this.failure && !this.absentReason;
  }

  /** Why neither tool can be used (both missing, or no AMD GPU): the monitor has stopped for good. */
  get unavailable(): string | undefined {
    return this.absentReason;
  }

  /**
   * Neither amd-smi nor rocm-smi is on disk (looked for without starting them; remembered, so start() then starts
   * nothing): why, as `latest()` says it; undefined while a tool is here or the monitor has not decided yet.
   */
  knownAbsent(): string | undefined {
    if (this.absentReason || this.running || this.tool) return this.absentReason;
    const amd = missingTool(this.amdSmi, this.env);
    const rocm = amd && missingTool(this.rocmSmi, this.env);
    if (amd && rocm) this.absentReason = bothMissing(amd, this.amdSmi, rocm, this.rocmSmi);
    return this.absentReason;
  }

  start(): void {
    if (this.running || this.absentReason) return;
    this.running = true;
    this.failure = undefined;
    this.backoffMs = this.retryMs;
    this.refreshApps();
    this.loop = this.run(++this.generation);
  }

  stop(): void {
    this.running = false;
    this.devices.clear();
    this.wakeUp();
    for (const c of this.children) {
      try {
        if (c.pid) process.kill(-c.pid, 'SIGKILL');
      } catch {
        c.kill('SIGKILL');
      }
    }
  }

  /** A run started: list the processes at every interval for the next 10 s. */
  refreshApps(): void {
    this.burstUntil = Date.now() + 10_000;
  }

  /** One reading now (a run is ending), after the call in flight if there is one. Never rejects. */
  async refresh(): Promise<void> {
    if (!this.running || !this.tool || this.failure) return;
    const hold = setTimeout(() => undefined, this.timeoutMs * 2 + 1000); // keep a finishing CLI alive meanwhile
    try {
      await this.call(this.tool === 'amd-smi' ? 'metric' : 'rocm-smi');
    } finally {
      clearTimeout(hold);
    }
  }

  private inFlight: Promise<unknown> | undefined;

  whenIdle(): Promise<void> {
    if (!this.children.size && !this.loop) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private settleIdle(): void {
    if (this.children.size || this.loop) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private wakeUp(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => this.wakeUp(), ms);
      this.timer.unref();
    });
  }

  private async run(generation: number): Promise<void> {
    try {
      while (this.running && generation === this.generation) {
        if (!this.tool) await this.decide();
        if (!this.running || this.absentReason) break;
        if (this.tool && !this.failure) {
          const processes = this.tool === 'amd-smi' && this.processesDue();
          await this.call(this.tool === 'rocm-smi' ? 'rocm-smi' : processes ? 'process' : 'metric');
        }
        if (!this.running) break;
        if (this.failure) {
          const wait = this.backoffMs;
          this.backoffMs = Math.min(wait * 2, this.maxRetryMs);
          await this.sleep(wait);
          this.failure = undefined; // try again
          if (!this.tool) continue;
        } else {
          await this.sleep(this.intervalMs);
        }
      }
    } finally {
      if (generation === this.generation) this.loop = undefined;
      this.settleIdle();
    }
  }

  /** The process list is asked for when due, never twice in a row (a reading of the counter comes between). */
  private processesDue(): boolean {
    if (this.lastKind !== 'metric') return false;
    const now = Date.now();
    return now < this.burstUntil || now - this.lastProcessQuery >= this.processesEveryMs;
  }

  private lastKind: 'metric' | 'process' | undefined;

  /** Runs one call of the tool, after the one in flight (a run's final reading and the loop never overlap). */
  private exec(command: string, args: string[]): Promise<RunResult> {
    const p = (this.inFlight ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        this.counts.calls++;
        return runOnce(command, args, this.timeoutMs, (c) => this.track(c), this.env);
      });
    this.inFlight = p;
    return p;
  }

  private track(c: ChildProcess): void {
    this.children.add(c);
    c.unref();
    for (const s of [c.stdout, c.stderr] as (NodeJS.EventEmitter & { unref?: () => void })[]) s?.unref?.();
    c.once('close', () => {
      this.children.delete(c);
      this.settleIdle();
    });
  }

  /** What went wrong with a call, in one line; undefined when it answered. */
  private problem(r: RunResult, command: string, tool: string, what: string): string | undefined {
    if (r.error) return describeSpawnError(r.error, command, tool);
    if (r.timedOut) return `${tool} ${what} did not answer within ${formatSeconds(this.timeoutMs)}; it was stopped`;
    if (r.code !== 0) return describeExit(`${tool} ${what}`, r, firstLine(r.stderr) || firstLine(r.stdout));
    return undefined;
  }

  /** Finds which tool answers: amd-smi, else rocm-smi; neither → unavailable for good. */
  private async decide(): Promise<void> {
    const r = await this.exec(this.amdSmi, ['list', '--json']);
    if (!this.running) return;
    if (r.error?.code === 'ENOENT') {
      const q = await this.exec(this.rocmSmi, ['--showproductname', '--json']);
      if (q.error?.code === 'ENOENT') {
        this.absentReason = bothMissing(r.error, this.amdSmi, q.error, this.rocmSmi);
        return;
      }
      const bad = this.problem(q, this.rocmSmi, 'rocm-smi', '--showproductname');
      if (bad) return this.fail(bad);
      for (const d of parseRocmSmi(q.stdout) ?? []) if (d.name) this.names.set(d.index, d.name);
      this.tool = 'rocm-smi';
      return;
    }
    const bad = this.problem(r, this.amdSmi, 'amd-smi', 'list');
    if (bad) return this.fail(bad);
    if (!r.stdout.trim()) {
      this.absentReason = 'amd-smi lists no AMD GPU';
      return;
    }
    const list = parseAmdList(r.stdout);
    if (!list)
      return this.fail(`amd-smi list printed output Carbon Meter cannot read: "${truncate(firstLine(r.stdout))}"`);
    for (const d of list) this.uuids.set(d.index, d.uuid);
    const s = await this.exec(this.amdSmi, ['static', '--asic', '--json']);
    if (!this.problem(s, this.amdSmi, 'amd-smi', 'static'))
      for (const [i, n] of parseAmdStaticNames(s.stdout)) this.names.set(i, n);
    this.tool = 'amd-smi';
  }

  private fail(reason: string): void {
    this.failure = reason;
  }

  private async call(kind: 'metric' | 'process' | 'rocm-smi'): Promise<void> {
    const amd = kind !== 'rocm-smi';
    const command = amd ? this.amdSmi : this.rocmSmi;
    const args = kind === 'metric' ? METRIC_ARGS : kind === 'process' ? ['process', '--json'] : ROCM_SMI_ARGS;
    if (kind === 'process') {
      this.lastProcessQuery = Date.now();
      this.counts.processCalls++;
    } else {
      this.counts.metricCalls++;
    }
    this.lastKind = kind === 'process' ? 'process' : 'metric';
    const r = await this.exec(command, args);
    if (!this.running) return;
    const what = kind === 'rocm-smi' ? ROCM_SMI_ARGS.slice(0, 2).join(' ') : kind;
    const bad = this.problem(r, command, amd ? 'amd-smi' : 'rocm-smi', what);
    if (kind === 'process') {
      if (bad) this.processesReason = bad;
      else this.takeProcesses(r.stdout);
      return;
    }
    if (bad) return this.fail(bad);
    const t0 = process.hrtime.bigint();
    const readings: { index: number; powerW: number | null; energyJ: number | null; name?: string }[] | undefined = amd
      ? parseAmdMetric(r.stdout)
      : parseRocmSmi(r.stdout);
    this.counts.parseUs += Number(process.hrtime.bigint() - t0) / 1000;
    this.counts.parses++;
    if (!readings)
      return this.fail(
        `${amd ? 'amd-smi' : 'rocm-smi'} ${what} printed output Carbon Meter cannot read: "${truncate(firstLine(r.stdout))}"`,
      );
    if (!readings.length) return this.fail(`${amd ? 'amd-smi' : 'rocm-smi'} lists no AMD GPU`);
    const at = Date.now();
    this.seq++;
    for (const d of readings) {
      const name = this.names.get(d.index) ?? d.name ?? 'AMD GPU';
      const uuid = this.uuids.get(d.index) ?? `${amd ? 'amd-smi' : 'rocm-smi'}:card${d.index}`;
      this.devices.set(d.index, {
        index: d.index,
        uuid,
        name,
        powerW: d.powerW,
        energyJ: d.energyJ,
        at,
        seq: this.seq,
      });
    }
    this.backoffMs = this.retryMs;
  }

  private takeProcesses(stdout: string): void {
    const list = parseAmdProcesses(stdout);
    if (!list) {
      this.processesReason = `amd-smi process printed output Carbon Meter cannot read: "${truncate(firstLine(stdout))}"`;
      return;
    }
    const at = Date.now();
    this.noteGfxTime(list, at);
    this.processes = list.map((p) => ({
      gpuUuid: this.uuids.get(p.index) ?? `amd-smi:card${p.index}`,
      pid: p.pid,
      usedMemoryMB: p.memBytes === null ? null : p.memBytes / 2 ** 20,
    }));
    this.processesAt = at;
    this.processesReason = undefined;
  }

  /** gfx engine time per process between two process lists → each process's busy share of the interval, %. */
  private noteGfxTime(list: AmdProcessEntry[], at: number): void {
    const seen = new Set<string>();
    const byDevice = new Map<number, { pid: number; smPct: number }[] | null>();
    for (const p of list) {
      const key = `${p.index}:${p.pid}`;
      seen.add(key);
      if (!byDevice.has(p.index)) byDevice.set(p.index, []);
      const prev = this.gfxPrev.get(key);
      if (p.gfxNs === null) continue;
      this.gfxPrev.set(key, { ns: p.gfxNs, at });
      if (!prev || at <= prev.at || p.gfxNs < prev.ns) {
        byDevice.set(p.index, null); // a process seen for the first time: the next list gives the split
        continue;
      }
      const pct = ((p.gfxNs - prev.ns) / ((at - prev.at) * 1e6)) * 100;
      byDevice.get(p.index)?.push({ pid: p.pid, smPct: Math.round(pct * 10) / 10 });
    }
    for (const key of this.gfxPrev.keys()) if (!seen.has(key)) this.gfxPrev.delete(key);
    this.util.clear();
    for (const [i, u] of byDevice) {
      const pids = list
        .filter((p) => p.index === i)
        .map((p) => p.pid)
        .sort()
        .join(',');
      const busy = this.busyUtil.get(i);
      if (u && u.some((x) => x.smPct > 0)) this.busyUtil.set(i, { util: u, at, pids });
      else if (u && busy && busy.pids === pids && at - busy.at <= this.utilWindowMs) {
        this.util.set(i, busy.util); // idle since: the last split of the same processes stands a while
        continue;
      }
      this.util.set(i, u);
    }
  }

  latest(): GpuSnapshot {
    const source = this.tool ?? 'amd-smi';
    const reason =
      this.absentReason ??
      (!this.running
        ? 'the GPU monitor is not running'
        : (this.failure ?? (this.devices.size ? undefined : `waiting for the first reading from ${source}`)));
    const devices: GpuDeviceReading[] = [];
    if (!reason) {
      for (const d of [...this.devices.values()].sort((a, b) => a.index - b.index)) {
        const r: GpuDeviceReading = {
          index: d.index,
          uuid: d.uuid,
          name: d.name,
          powerW: d.powerW,
          energyJ: d.energyJ,
          powerAtMs: d.at,
          source,
          seq: d.seq,
          vendor: 'amd',
          utilLabel: GFX_TIME,
        };
        if (d.energyJ === null) r.energyError = `${source} reports no energy counter (N/A)`;
        if (source === 'rocm-smi') {
          r.processesError = 'rocm-smi does not list the processes of each GPU';
        } else {
          const u = this.util.get(d.index);
          r.processUtil = u === undefined ? [] : u;
          if (u === null)
            r.processUtilError = 'a process was seen for the first time: the next list gives its gfx engine time';
        }
        devices.push(r);
      }
    }
    const snap: GpuSnapshot = {
      ok: !reason,
      devices,
      processes: this.processes.map((p) => ({ ...p })),
      at: Date.now(),
      source,
      seq: this.seq,
    };
    if (reason) snap.reason = reason;
    if (this.processesAt !== undefined) snap.processesAt = this.processesAt;
    if (this.processesReason) snap.processesReason = this.processesReason;
    return snap;
  }

  stats(): { calls: number; metricCalls: number; processCalls: number; meanParseUs: number; pids: number[] } {
    const c = this.counts;
    return {
      calls: c.calls,
      metricCalls: c.metricCalls,
      processCalls: c.processCalls,
      meanParseUs: c.parses ? c.parseUs / c.parses : 0,
      pids: [...this.children].map((x) => x.pid ?? 0),
    };
  }
}

/** Why neither AMD tool can be used, both missing: one line. */
function bothMissing(
  amdError: NodeJS.ErrnoException,
  amdSmi: string,
  rocmError: NodeJS.ErrnoException,
  rocmSmi: string,
): string {
  const amdReason = describeSpawnError(amdError, amdSmi, 'amd-smi');
  return `${amdReason.replace(/: GPU energy not metered$/, '')}; ${describeSpawnError(rocmError, rocmSmi, 'rocm-smi')}`;
}
