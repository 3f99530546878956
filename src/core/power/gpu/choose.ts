/**
 * Both vendors metered together: NVIDIA (NVML, else nvidia-smi: ../gpuMonitor.ts) and AMD (amd-smi, else rocm-smi:
 * ./amdMonitor.ts). A machine may hold GPUs of both; each side starts its own reader and gives up quietly for good
 * when its tools are absent (a missing tool is not looked for again). The snapshot the meter reads joins both:
 * every device says who read it (`source`) and carries its own reading number (`seq`).
 *
 * Order: NVML → nvidia-smi for NVIDIA devices, amd-smi → rocm-smi for AMD devices. The two sides never read the same
 * device, so nothing is counted twice.
 */
import { AutoGpuMonitor, type AutoGpuOptions, type GpuMonitor } from '../gpuMonitor';
import { AmdMonitor, type AmdOptions } from './amdMonitor';
import { joinGpuReasons } from './tools';
import type { GpuSnapshot } from './types';

export interface GpuMonitorsOptions {
  /** NVIDIA options, or false to leave NVIDIA GPUs unmetered */
  nvidia?: AutoGpuOptions | false;
  /** AMD options, or false to leave AMD GPUs unmetered */
  amd?: AmdOptions | false;
}

export class GpuMonitors implements GpuMonitor {
  readonly nvidia: AutoGpuMonitor | undefined;
  readonly amd: AmdMonitor | undefined;

  constructor(opts: GpuMonitorsOptions = {}) {
    if (opts.nvidia !== false) this.nvidia = new AutoGpuMonitor(opts.nvidia ?? {});
    if (opts.amd !== false) this.amd = new AmdMonitor(opts.amd ?? {});
  }

  start(): void {
    this.nvidia?.start();
    this.amd?.start();
  }

  stop(): void {
    this.nvidia?.stop();
    this.amd?.stop();
  }

  refreshApps(): void {
    this.nvidia?.refreshApps();
    this.amd?.refreshApps();
  }

  async refresh(): Promise<void> {
    await Promise.all([this.nvidia?.refresh(), this.amd?.refresh()]);
  }

  async whenIdle(): Promise<void> {
    await Promise.all([this.nvidia?.whenIdle(), this.amd?.whenIdle()]);
  }

  /**
   * What no vendor's tools being here reads as: made once, since a missing tool is not looked for again (every
   * tick reads the snapshot, and on a machine without a GPU that is most of what this class does).
   */
  private absentSnap: GpuSnapshot | undefined;

  /**
   * Why no GPU can be read, known before any reading: every vendor's tools are missing from disk (nothing is started
   * to find that out). The same words `latest()` gives once the monitors have started; undefined while a tool or
   * driver of some vendor is here (its first answer is awaited).
   */
  knownAbsent(): string | undefined {
    if (!this.nvidia && !this.amd) return undefined;
    const reasons: string[] = [];
    for (const side of [this.nvidia, this.amd]) {
      if (!side) continue;
      const reason = side.knownAbsent();
      if (reason === undefined) return undefined;
      reasons.push(reason);
    }
    return joinGpuReasons(reasons);
  }

  /** Every vendor's tools are missing for good (none pending): nothing here can be read. */
  private allAbsent(): boolean {
    if (!this.nvidia && !this.amd) return false;
    return (!this.nvidia || this.nvidia.absent) && (!this.amd || this.amd.unavailable !== undefined);
  }

  /** The snapshot the meter reads each tick; shared while no vendor's tools are here, so treat it as read-only. */
  latest(): GpuSnapshot {
    const absent = this.allAbsent();
    if (absent && this.absentSnap) return this.absentSnap;
    const snap = this.join();
    this.absentSnap = absent ? snap : undefined;
    return snap;
  }

  private join(): GpuSnapshot {
    const parts: { snap: GpuSnapshot; absent: boolean; vendor: 'NVIDIA' | 'AMD' }[] = [];
    // a vendor not found (or not known yet) is not mentioned while the other is read
    if (this.nvidia)
      parts.push({ snap: this.nvidia.latest(), absent: this.nvidia.absent || this.nvidia.pending, vendor: 'NVIDIA' });
    if (this.amd)
      parts.push({
        snap: this.amd.latest(),
        absent: this.amd.unavailable !== undefined || this.amd.pending,
        vendor: 'AMD',
      });
    return joinSnapshots(parts);
  }
}

/**
 * One snapshot from each vendor's. ok when one of them is; a vendor whose tools are absent is not mentioned while
 * another works; one that is present but failing is named in `reason` (the devices that were read still count).
 */
export function joinSnapshots(parts: { snap: GpuSnapshot; absent: boolean; vendor: string }[]): GpuSnapshot {
  if (parts.length === 1) return parts[0]!.snap;
  const good = parts.filter((p) => p.snap.ok);
  const failing = parts.filter((p) => !p.snap.ok && !p.absent);
  // while one vendor is read, only a failing (not absent) other one is worth a word; with none read, say why: the
  // failing ones (named when several), or every absent tool
  const shown = good.length || failing.length ? failing : parts;
  const named = shown.length > 1 && (good.length > 0 || failing.length > 0);
  const reason = joinGpuReasons(
    shown.map((p) => (named || good.length ? `${p.vendor}: ` : '') + (p.snap.reason ?? 'not read')),
  );
  const out: GpuSnapshot = {
    ok: good.length > 0,
    devices: good.flatMap((p) =>
      p.snap.devices.map((d) => ({
        ...d,
        source: d.source ?? p.snap.source ?? 'nvidia-smi',
        seq: d.seq ?? p.snap.seq,
      })),
    ),
    processes: good.flatMap((p) => p.snap.processes),
    at: Math.max(...parts.map((p) => p.snap.at)),
    source: (good[0] ?? parts[0]!).snap.source,
  };
  if (reason) out.reason = reason;
  const reasons = good.map((p) => p.snap.processesReason).filter(Boolean);
  if (reasons.length) out.processesReason = reasons.join('; ');
  return out;
}
