/**
 * NVIDIA GPU power through `nvidia-smi`, metered for almost nothing:
 *
 * - power: ONE long-running child, `nvidia-smi --query-gpu=... --format=csv,noheader,nounits -lms <interval>`,
 *   which prints one line per GPU every period; each line updates the latest reading of its GPU;
 * - processes: `nvidia-smi --query-compute-apps=gpu_uuid,pid,used_memory ...`, spawned at most every
 *   `appsEveryMs` (5 s), killed when it does not answer within `timeoutMs`;
 * - `latest()` is synchronous and only copies what the children last said.
 *
 * Every failure (nvidia-smi missing, hanging, printing something else, exiting) ends up as `ok: false` with a
 * reason a person can act on, never as a throw or an unhandled rejection. After a failure the power child is
 * started again with a backoff (30 s, doubling up to 5 min), except when the command does not exist.
 *
 * `nvidia-smi` real output, `--format=csv,noheader,nounits`, fields separated by ", ":
 *   0, GPU-4b8f1c2e-9a7d-4c39-8e0f-3d1b6a5c7e21, NVIDIA A100-SXM4-40GB, 61.42, 400.00, 0, 4, 40960
 * Values the driver does not have are "[N/A]" or "[Not Supported]" (older drivers: "N/A"); "ERR!" marks a
 * failing sensor. Those read as null.
 */
import type { ChildProcess } from 'node:child_process';
import {
  clamp,
  describeExit,
  describeSpawnError,
  firstLine,
  formatSeconds,
  runOnce,
  spawnQuiet,
  terminate,
  truncate,
  type RunResult,
} from './tools';
import { APPS_QUERY_FIELDS, FORMAT, GPU_QUERY_FIELDS, parseComputeAppLine, parseGpuLine } from './nvidiaSmiParse';
import type { GpuDeviceReading, GpuProcess, GpuSnapshot } from './types';

export interface NvidiaSmiOptions {
  /** the executable, default 'nvidia-smi' (looked up on PATH) */
  command?: string;
  /** the power child's period (`-lms`), ms; default 1000 */
  intervalMs?: number;
  /** how long nvidia-smi may stay silent, ms; default 2000 */
  timeoutMs?: number;
  /** how often the compute processes are listed, ms; default 5000 */
  appsEveryMs?: number;
  /** how long a process query may take, ms; default timeoutMs */
  appsTimeoutMs?: number;
  /** first wait before starting nvidia-smi again after a failure, ms; default 30000 (doubles up to maxRetryMs) */
  retryMs?: number;
  /** longest wait between retries, ms; default 300000 */
  maxRetryMs?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// One-shot probe

/** Queries nvidia-smi once, for `doctor` and the hardware inventory. Never rejects. */
export async function probeNvidiaSmi(
  command = 'nvidia-smi',
  timeoutMs = 2000,
): Promise<{ available: boolean; devices: GpuDeviceReading[]; reason?: string; driverVersion?: string }> {
  const fields = [...GPU_QUERY_FIELDS, 'driver_version'];
  const r = await runOnce(command, [`--query-gpu=${fields.join(',')}`, FORMAT], timeoutMs);
  if (r.error) return { available: false, devices: [], reason: describeSpawnError(r.error, command) };
  if (r.timedOut)
    return { available: false, devices: [], reason: `nvidia-smi did not answer within ${formatSeconds(timeoutMs)}` };
  if (r.code !== 0) {
    return {
      available: false,
      devices: [],
      reason: describeExit('nvidia-smi', r, firstLine(r.stderr) || firstLine(r.stdout)),
    };
  }
  const devices: GpuDeviceReading[] = [];
  let driverVersion: string | undefined;
  let bad: string | undefined;
  for (const line of r.stdout.split('\n')) {
    if (!line.trim()) continue;
    const extra: Record<string, string> = {};
    const d = parseGpuLine(line, fields, extra);
    if (d) {
      devices.push(d);
      driverVersion ??= extra.driver_version;
    } else {
      bad ??= line.trim();
    }
  }
  if (!devices.length) {
    return {
      available: false,
      devices,
      reason: bad
        ? `nvidia-smi printed output Carbon Meter cannot read: "${truncate(bad)}"`
        : 'nvidia-smi lists no NVIDIA GPU',
    };
  }
  devices.sort((a, b) => a.index - b.index);
  return { available: true, devices, ...(driverVersion && !/^\[.*\]$/.test(driverVersion) ? { driverVersion } : {}) };
}

// ---------------------------------------------------------------------------------------------------------------
// The monitor

export class NvidiaSmiMonitor {
  readonly command: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly appsEveryMs: number;
  readonly appsTimeoutMs: number;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;

  private running = false;
  private power: ChildProcess | undefined;
  private powerGood = false;
  private powerBadLine: string | undefined;
  private powerStderr = '';
  private readonly devices = new Map<number, GpuDeviceReading>();
  private lastLineAt = 0;
  private failure: string | undefined;
  private permanent = false;
  private backoffMs: number;

  private processes: GpuProcess[] = [];
  private processesAt: number | undefined;
  private processesReason: string | undefined;
  private appsInFlight = false;

  private watchdog: NodeJS.Timeout | undefined;
  private grace: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private appsTimer: NodeJS.Timeout | undefined;

  private readonly children = new Set<ChildProcess>();
  private idleWaiters: (() => void)[] = [];
  private readonly counts = { powerSpawns: 0, appsSpawns: 0, lines: 0 };
  private readonly spawnedPids: number[] = [];

  constructor(opts: NvidiaSmiOptions = {}) {
    this.command = opts.command || 'nvidia-smi';
    this.intervalMs = clamp(opts.intervalMs ?? 1000, 100);
    this.timeoutMs = clamp(opts.timeoutMs ?? 2000, 50);
    this.appsEveryMs = clamp(opts.appsEveryMs ?? 5000, 100);
    this.appsTimeoutMs = clamp(opts.appsTimeoutMs ?? this.timeoutMs, 50);
    this.retryMs = clamp(opts.retryMs ?? 30_000, 100);
    this.maxRetryMs = Math.max(this.retryMs, opts.maxRetryMs ?? 300_000);
    this.backoffMs = this.retryMs;
  }

  /** Starts the power child and the process polling. Calling it again while running does nothing. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.failure = undefined;
    this.permanent = false;
    this.backoffMs = this.retryMs;
    this.devices.clear();
    this.launchPower();
    if (this.permanent) return; // nvidia-smi is known to be absent: nothing to ask, and no timer to wake for
    this.refreshApps();
    // Processes are asked for every appsEveryMs, and every second for a while after refreshApps(): a new run's
    // GPU context appears in the first seconds, when its pid first shows in --query-compute-apps.
    this.appsTimer = setInterval(
      () => {
        const now = Date.now();
        if (now < this.burstUntil || now - this.lastAppsQuery >= this.appsEveryMs) this.pollApps();
      },
      Math.min(1000, this.appsEveryMs),
    );
    this.appsTimer.unref();
  }

  /** Asks for the compute processes now, and every second for the next 10 s (a run started). */
  refreshApps(): void {
    this.burstUntil = Date.now() + 10_000;
    this.pollApps();
  }

  private burstUntil = 0;
  private lastAppsQuery = 0;

  /** What nvidia-smi last said. Synchronous and cheap: no process is started here. */
  latest(): GpuSnapshot {
    const devices = [...this.devices.values()].sort((a, b) => a.index - b.index).map((d) => ({ ...d }));
    const ok = this.running && !this.failure && devices.length > 0;
    let reason: string | undefined;
    if (!this.running) reason = this.failure ?? 'the GPU monitor is not running';
    else if (this.failure) reason = this.failure;
    else if (!devices.length) reason = 'waiting for the first reading from nvidia-smi';
    const snap: GpuSnapshot = {
      ok,
      devices: ok ? devices : [],
      processes: this.processes.map((p) => ({ ...p })),
      at: this.lastLineAt || Date.now(),
    };
    if (reason) snap.reason = reason;
    if (this.processesAt !== undefined) snap.processesAt = this.processesAt;
    if (this.processesReason) snap.processesReason = this.processesReason;
    return snap;
  }

  /** Stops polling and kills every child this monitor started. */
  stop(): void {
    this.running = false;
    for (const t of [this.watchdog, this.grace, this.retryTimer]) if (t) clearTimeout(t);
    if (this.appsTimer) clearInterval(this.appsTimer);
    this.watchdog = this.grace = this.retryTimer = this.appsTimer = undefined;
    this.power = undefined;
    for (const c of this.children) terminate(c);
  }

  /** Resolves once every child this monitor started has exited (after `stop()`, for tests and shutdown). */
  whenIdle(): Promise<void> {
    if (!this.children.size) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Process ids of the children alive now (diagnostics and tests). */
  childPids(): number[] {
    return [...this.children].map((c) => c.pid).filter((p): p is number => typeof p === 'number');
  }

  /**
   * What the monitor has done so far: children started (the last 200 pids), device lines read, the next retry wait,
   * and whether the process polling timer is armed.
   */
  stats(): {
    powerSpawns: number;
    appsSpawns: number;
    lines: number;
    nextRetryMs: number;
    pids: number[];
    polling: boolean;
  } {
    return {
      ...this.counts,
      nextRetryMs: this.backoffMs,
      pids: [...this.spawnedPids],
      polling: this.appsTimer !== undefined,
    };
  }

  private track(child: ChildProcess): void {
    this.children.add(child);
    if (child.pid !== undefined) {
      this.spawnedPids.push(child.pid);
      if (this.spawnedPids.length > 200) this.spawnedPids.shift(); // a process query every 5 s for days: keep it bounded
    }
    const forget = (): void => {
      if (!this.children.delete(child)) return;
      if (!this.children.size) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    };
    child.once('close', forget);
    child.once('error', () => {
      // a child that could not be spawned never closes on some platforms
      if (child.pid === undefined) forget();
    });
  }

  private launchPower(): void {
    const args = [`--query-gpu=${GPU_QUERY_FIELDS.join(',')}`, FORMAT, '-lms', String(this.intervalMs)];
    let child: ChildProcess;
    try {
      child = spawnQuiet(this.command, args);
    } catch (err) {
      this.fail(describeSpawnError(err as NodeJS.ErrnoException, this.command), true);
      return;
    }
    this.counts.powerSpawns++;
    this.power = child;
    this.powerGood = false;
    this.powerBadLine = undefined;
    this.powerStderr = '';
    this.track(child);
    // the monitor alone must not keep Node alive (the CLI exits when its run does)
    child.unref();
    const out = child.stdout as (NodeJS.ReadableStream & { unref?: () => void }) | null;
    const err = child.stderr as (NodeJS.ReadableStream & { unref?: () => void }) | null;
    out?.unref?.();
    err?.unref?.();

    let buffer = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      if (this.power !== child) return;
      buffer += d;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        this.onPowerLine(child, line);
        if (this.power !== child) return;
      }
      if (buffer.length > 64 * 1024) buffer = buffer.slice(-1024); // no newline in sight: garbage, keep it bounded
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      if (this.powerStderr.length < 4096) this.powerStderr += d;
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (this.power !== child) return;
      this.fail(describeSpawnError(e, this.command), e.code === 'ENOENT');
    });
    child.on('close', (code, signal) => {
      if (this.power !== child) return; // stopped, replaced or already failed
      const message = firstLine(this.powerStderr) || this.powerBadLine || '';
      if (code === 0 && this.powerBadLine && !this.powerGood) {
        this.fail(`nvidia-smi printed output Carbon Meter cannot read: "${truncate(this.powerBadLine)}"`);
      } else if (code === 0) {
        this.fail(`nvidia-smi stopped printing readings${message ? `: ${truncate(message, 200)}` : ''}`);
      } else {
        this.fail(describeExit('nvidia-smi', { code, signal }, message));
      }
    });
    this.armWatchdog(child, this.timeoutMs);
  }

  private onPowerLine(child: ChildProcess, line: string): void {
    if (!line.trim()) return;
    const reading = parseGpuLine(line);
    if (reading) {
      this.counts.lines++;
      this.powerGood = true;
      if (this.grace) clearTimeout(this.grace);
      this.grace = undefined;
      this.devices.set(reading.index, reading);
      this.lastLineAt = Date.now();
      if (this.failure) {
        this.failure = undefined;
        this.pollApps(); // the process list may be stale after an outage
      }
      this.backoffMs = this.retryMs;
      this.armWatchdog(child, Math.max(this.timeoutMs, this.intervalMs * 3));
      return;
    }
    // once nvidia-smi has given readings, a stray line (a warning) is ignored
    if (this.powerGood) return;
    this.powerBadLine ??= line.trim();
    if (!this.grace) {
      // wait a moment: nvidia-smi may be about to exit with a code that says more
      this.grace = setTimeout(
        () => {
          this.grace = undefined;
          if (this.power !== child) return;
          this.fail(`nvidia-smi printed output Carbon Meter cannot read: "${truncate(this.powerBadLine ?? '')}"`);
        },
        Math.min(250, this.timeoutMs),
      );
      this.grace.unref();
    }
  }

  private armWatchdog(child: ChildProcess, ms: number): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      if (this.power !== child) return;
      this.fail(`nvidia-smi did not answer within ${formatSeconds(this.timeoutMs)}`);
    }, ms);
    this.watchdog.unref();
  }

  private fail(reason: string, permanent = false): void {
    this.failure = reason;
    this.permanent = this.permanent || permanent;
    this.devices.clear();
    if (this.watchdog) clearTimeout(this.watchdog);
    if (this.grace) clearTimeout(this.grace);
    this.watchdog = this.grace = undefined;
    const child = this.power;
    this.power = undefined;
    if (child) terminate(child);
    if (this.permanent && this.appsTimer) {
      // never retried (the command does not exist): the process polling stops too, so an idle meter wakes only
      // for its own tick
      clearInterval(this.appsTimer);
      this.appsTimer = undefined;
    }
    if (!this.running || this.permanent || this.retryTimer) return;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.maxRetryMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.running && !this.power) this.launchPower();
    }, wait);
    this.retryTimer.unref();
  }

  private pollApps(): void {
    if (!this.running || this.appsInFlight || this.failure) return;
    this.appsInFlight = true;
    this.lastAppsQuery = Date.now();
    const args = [`--query-compute-apps=${APPS_QUERY_FIELDS.join(',')}`, FORMAT];
    this.counts.appsSpawns++;
    runOnce(this.command, args, this.appsTimeoutMs, (c) => this.track(c))
      .then((r) => this.onApps(r))
      .catch(() => undefined)
      .finally(() => {
        this.appsInFlight = false;
      });
  }

  private onApps(r: RunResult): void {
    if (!this.running) return;
    if (r.error) {
      this.processesReason = describeSpawnError(r.error, this.command);
      return;
    }
    if (r.timedOut) {
      this.processesReason = `nvidia-smi --query-compute-apps did not answer within ${formatSeconds(this.appsTimeoutMs)}`;
      return;
    }
    if (r.code !== 0) {
      this.processesReason = describeExit(
        'nvidia-smi --query-compute-apps',
        r,
        firstLine(r.stderr) || firstLine(r.stdout),
      );
      return;
    }
    const list: GpuProcess[] = [];
    for (const line of r.stdout.split('\n')) {
      if (!line.trim()) continue;
      const p = parseComputeAppLine(line);
      if (p === undefined) {
        this.processesReason = `nvidia-smi --query-compute-apps printed output Carbon Meter cannot read: "${truncate(line.trim())}"`;
        return;
      }
      if (p) list.push(p);
    }
    this.processes = list;
    this.processesAt = Date.now();
    this.processesReason = undefined;
  }
}
// ---------------------------------------------------------------------------------------------------------------
// Attribution

export const GPU_ATTRIBUTION_RULE =
  "a GPU's power goes to the run in proportion to the run's processes' share of the GPU memory used by compute " +
  'processes on it: all of it when only the run uses the GPU, none when the run does not, split by process count ' +
  'when memory figures are unavailable';

/**
 * The power of the tracked process tree on the GPUs, W.
 *
 * Rule, per device: let A be the compute processes nvidia-smi lists on it and T ⊆ A those in `trackedPids`.
 *   - T empty (including A empty): share 0, the run is not using this GPU (idle or other users' power is not the
 *     run's);
 *   - T = A: share 1, the whole device power;
 *   - otherwise: share = Σ used_memory(T) / Σ used_memory(A) when every process in A has a memory figure and the
 *     sum is positive, else |T| / |A| (equal split by process count).
 * Device power without a reading ("[N/A]") counts as 0 W. Note: inside a container with its own pid namespace,
 * nvidia-smi may list host pids, which then do not match the tracked ones.
 */
export function attributeGpuPower(
  snapshot: GpuSnapshot,
  trackedPids: Set<number>,
): { powerW: number; perDevice: { index: number; powerW: number; share: number; rule: string }[]; detail: string } {
  if (!snapshot.ok) {
    return { powerW: 0, perDevice: [], detail: `GPU not metered: ${snapshot.reason ?? 'nvidia-smi is not available'}` };
  }
  const perDevice = snapshot.devices.map((d) => {
    const apps = snapshot.processes.filter((p) => p.gpuUuid === d.uuid);
    const mine = apps.filter((p) => trackedPids.has(p.pid));
    let share: number;
    let rule: string;
    if (!mine.length) {
      share = 0;
      rule = apps.length
        ? `used only by ${apps.length} process${apps.length === 1 ? '' : 'es'} outside the run`
        : 'no compute process';
    } else if (mine.length === apps.length) {
      share = 1;
      rule = 'used only by the run';
    } else {
      const known = apps.every((p) => p.usedMemoryMB !== null);
      const total = known ? apps.reduce((s, p) => s + (p.usedMemoryMB ?? 0), 0) : 0;
      if (known && total > 0) {
        const used = mine.reduce((s, p) => s + (p.usedMemoryMB ?? 0), 0);
        share = used / total;
        rule = `shared: the run uses ${used} of ${total} MiB of compute memory`;
      } else {
        share = mine.length / apps.length;
        rule = `shared: no memory figures, ${mine.length} of ${apps.length} processes`;
      }
    }
    const powerW = (d.powerW ?? 0) * share;
    if (d.powerW === null) rule += '; no power reading ([N/A])';
    return { index: d.index, powerW, share, rule };
  });
  const powerW = perDevice.reduce((s, d) => s + d.powerW, 0);
  const parts = perDevice.map((d) => `GPU ${d.index} ${Math.round(d.share * 100)} % (${d.rule})`);
  const detail = `nvidia-smi power.draw; ${GPU_ATTRIBUTION_RULE}${parts.length ? `: ${parts.join(', ')}` : ': no GPU listed'}`;
  return { powerW, perDevice, detail };
}
