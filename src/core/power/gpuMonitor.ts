/**
 * The GPU monitor the meter uses: NVML first (./gpuNvml.ts), `nvidia-smi` (./gpu.ts) when NVML cannot be loaded or
 * initialised. Which one is decided once per process: an absent NVML library is not looked for again, and neither
 * is an absent nvidia-smi (gpu.ts caches that). With no sign of an NVIDIA driver (gpuNvml.ts noNvidiaDriverReason)
 * the NVML reader is not started at all.
 */
import {
  describeSpawnError,
  isAbsentTool,
  NvidiaSmiMonitor,
  probeNvidiaSmi,
  type GpuSnapshot,
  type NvidiaSmiOptions,
} from './gpu';
import { probeAmd, type AmdProbe } from './gpu/amdProbe';
import { joinGpuReasons, missingTool } from './gpu/tools';
import { isAbsent, noNvidiaDriverReason, NvmlMonitor, probeNvml, type NvmlOptions } from './gpuNvml';
import { NVML_ERROR_DRIVER_NOT_LOADED, type NvmlDeviceInfo, type NvmlInitAnswer } from './nvml/protocol';
import type { GpuInfo } from '../types';

export interface GpuMonitor {
  start(): void;
  stop(): void;
  /** a run started: look for its processes soon */
  refreshApps(): void;
  /** what was last read; synchronous and cheap */
  latest(): GpuSnapshot;
  /**
   * Why nothing can be read, when that is known without reading (every tool missing from disk: no process started),
   * in the words `latest()` uses once started; undefined while a tool or driver is here and may answer.
   */
  knownAbsent?(): string | undefined;
  /** reads now, when the source can (a run is ending) */
  refresh?(): Promise<void>;
}

export interface AutoGpuOptions {
  /** NVML reader options, or false to use nvidia-smi only */
  nvml?: NvmlOptions | false;
  nvidiaSmi?: NvidiaSmiOptions;
}

/** Why NVML is not used in this process (default reader options only): asked once. */
let nvmlAbsentReason: string | undefined;

export function forgetNvmlAbsence(): void {
  nvmlAbsentReason = undefined;
}

export class AutoGpuMonitor implements GpuMonitor {
  private readonly nvml: NvmlMonitor | undefined;
  private smi: NvidiaSmiMonitor | undefined;
  private mode: 'nvml' | 'nvidia-smi';
  private nvmlReason: string | undefined;
  private running = false;

  constructor(private readonly opts: AutoGpuOptions = {}) {
    // default options: no reader at all where there is no sign of a driver (an explicit env always starts it)
    const cached = opts.nvml !== false && !opts.nvml?.env ? (nvmlAbsentReason ??= noNvidiaDriverReason()) : undefined;
    if (opts.nvml === false || cached) {
      this.mode = 'nvidia-smi';
      this.nvmlReason = opts.nvml === false ? 'NVML turned off' : cached;
    } else {
      this.mode = 'nvml';
      this.nvml = new NvmlMonitor(opts.nvml ?? {});
      this.nvml.onInit((a) => this.onNvmlInit(a));
    }
  }

  /** 'nvml' or 'nvidia-smi': what is read now. */
  get source(): 'nvml' | 'nvidia-smi' {
    return this.mode;
  }

  /** Why NVML is not used, when it is not. */
  get nvmlUnavailable(): string | undefined {
    return this.nvmlReason;
  }

  /** Neither NVML nor nvidia-smi is on this machine: nothing NVIDIA to meter (said once, not retried). */
  get absent(): boolean {
    return (
      this.mode === 'nvidia-smi' &&
      this.nvmlReason !== undefined &&
      isAbsentTool(this.opts.nvidiaSmi?.command || 'nvidia-smi')
    );
  }

  /** Neither NVML (no sign of a driver, or it failed) nor nvidia-smi (not on disk) is here: why, as `latest()` says it. */
  knownAbsent(): string | undefined {
    if (this.mode !== 'nvidia-smi' || this.nvmlReason === undefined) return undefined;
    const command = this.opts.nvidiaSmi?.command || 'nvidia-smi';
    const missing = missingTool(command);
    return missing ? joinGpuReasons([describeSpawnError(missing, command), this.nvmlReason]) : undefined;
  }

  /** NVML has not answered its first call yet: whether an NVIDIA GPU is here is not known. */
  get pending(): boolean {
    return this.mode === 'nvml' && this.running && !this.nvml?.init;
  }

  get nvmlMonitor(): NvmlMonitor | undefined {
    return this.nvml;
  }

  private onNvmlInit(a: NvmlInitAnswer): void {
    if (a.ok || this.mode !== 'nvml') return;
    this.nvmlReason = a.reason ?? 'NVML could not be initialised';
    if (!this.opts.nvml || !this.opts.nvml.env) nvmlAbsentReason = this.nvmlReason;
    this.mode = 'nvidia-smi';
    this.nvml?.stop();
    if (this.running) this.smiMonitor().start();
  }

  private smiMonitor(): NvidiaSmiMonitor {
    return (this.smi ??= new NvidiaSmiMonitor(this.opts.nvidiaSmi ?? {}));
  }

  start(): void {
    this.running = true;
    if (this.mode === 'nvml') this.nvml!.start();
    else this.smiMonitor().start();
  }

  stop(): void {
    this.running = false;
    this.nvml?.stop();
    this.smi?.stop();
  }

  refreshApps(): void {
    if (this.mode === 'nvidia-smi') this.smi?.refreshApps();
  }

  async refresh(): Promise<void> {
    if (this.mode === 'nvml') await this.nvml?.refresh();
  }

  async whenIdle(): Promise<void> {
    await Promise.all([this.nvml?.whenIdle(), this.smi?.whenIdle()]);
  }

  latest(): GpuSnapshot {
    if (this.mode === 'nvml') return this.nvml!.latest();
    const s = this.smiMonitor().latest();
    if (!s.ok && this.nvmlReason && s.reason && /not found/.test(s.reason)) {
      // one reason that says both: neither NVIDIA tool is here
      s.reason = joinGpuReasons([s.reason, this.nvmlReason]);
    }
    return { ...s, source: 'nvidia-smi' };
  }
}

/** What `doctor` and the hardware inventory say about the GPUs (NVIDIA, and AMD when asked). */
export interface GpuProbe {
  nvml: {
    available: boolean;
    reason?: string;
    library?: string;
    driverVersion?: string;
    devices: NvmlDeviceInfo[];
    processFn?: string;
  };
  nvidiaSmi?: { command: string; available: boolean; reason?: string; driverVersion?: string };
  /** the devices, from NVML or else nvidia-smi */
  devices: { index: number; name: string; uuid: string; memoryMB?: number }[];
  /** what will be used to meter NVIDIA GPUs */
  source: 'nvml' | 'nvidia-smi' | 'none';
  /** AMD GPUs (amd-smi, else rocm-smi), when probed */
  amd?: AmdProbe;
}

let probeCache: Promise<GpuProbe> | undefined;

/** GPU devices for the hardware inventory (a run's, doctor's): NVIDIA's, then AMD's. */
export function probedDevices(p: GpuProbe): GpuInfo[] {
  const nvidia = p.devices.map((d) => ({
    index: d.index,
    name: d.name,
    uuid: d.uuid,
    ...(d.memoryMB !== undefined ? { memoryMB: d.memoryMB } : {}),
  }));
  return [...nvidia, ...(p.amd?.devices ?? []).map((d) => ({ index: d.index, name: d.name, uuid: d.uuid }))];
}

/**
 * Probes NVML, then nvidia-smi when NVML is not there; AMD (amd-smi, else rocm-smi) too unless `amd` is false
 * (`amdEnergy`: also one metric reading, for doctor). Cached per process unless `fresh`. Never rejects.
 */
export function probeGpus(
  command = 'nvidia-smi',
  opts: {
    nvml?: NvmlOptions | false;
    fresh?: boolean;
    amd?: { amdSmi?: string; rocmSmi?: string } | false;
    amdEnergy?: boolean;
  } = {},
): Promise<GpuProbe> {
  if (!opts.fresh && !opts.nvml && !opts.amdEnergy && probeCache) return probeCache;
  const amd =
    opts.amd === false ? Promise.resolve(undefined) : probeAmd({ ...(opts.amd || {}), energy: opts.amdEnergy });
  const p = (async (): Promise<GpuProbe> => ({
    ...(await probeNvidia(command, opts)),
    ...((await amd) ? { amd: await amd } : {}),
  }))();
  if (!opts.nvml && !opts.amdEnergy) probeCache = p;
  return p;
}

function probeNvidia(command: string, opts: { nvml?: NvmlOptions | false }): Promise<GpuProbe> {
  return (async (): Promise<GpuProbe> => {
    const noDriver = opts.nvml === false || opts.nvml?.env ? undefined : noNvidiaDriverReason();
    const n: NvmlInitAnswer =
      opts.nvml === false
        ? { id: 0, ok: false, reason: 'NVML turned off' }
        : noDriver
          ? { id: 0, ok: false, code: NVML_ERROR_DRIVER_NOT_LOADED, reason: noDriver }
          : await probeNvml(opts.nvml || {});
    const nvml = {
      available: n.ok,
      devices: n.devices ?? [],
      ...(n.reason ? { reason: n.reason } : {}),
      ...(n.library ? { library: n.library } : {}),
      ...(n.driverVersion ? { driverVersion: n.driverVersion } : {}),
      ...(n.processFn ? { processFn: n.processFn } : {}),
    };
    if (!n.ok && !opts.nvml && isAbsent(n)) nvmlAbsentReason ??= n.reason; // the monitor will not look again
    if (n.ok) {
      return {
        nvml,
        devices: nvml.devices.map((d) => ({ index: d.index, name: d.name, uuid: d.uuid })),
        source: 'nvml',
      };
    }
    const s = await probeNvidiaSmi(command, 3000);
    return {
      nvml,
      nvidiaSmi: {
        command,
        available: s.available,
        ...(s.reason ? { reason: s.reason } : {}),
        ...(s.driverVersion ? { driverVersion: s.driverVersion } : {}),
      },
      devices: s.devices.map((d) => ({
        index: d.index,
        name: d.name,
        uuid: d.uuid,
        ...(d.memoryTotalMB ? { memoryMB: d.memoryTotalMB } : {}),
      })),
      source: s.available ? 'nvidia-smi' : 'none',
    };
  })();
}
