/**
 * Integrates power over time into energy and emissions, one `Meter` per run; one sampling tick for all runs is
 * `MeterHub` (hub.ts).
 *
 *   energyᵢ (J)   = Pᵢ × Δtᵢ per component; for the CPU, straight from CPU-time (or RAPL counter) deltas, so the
 *                   energy between two ticks is never lost
 *   energy (kWh)  = Σ energyᵢ / 3.6e6, per component; total = (cpu + gpu + ram) × PUE
 *   emissions (kg)= Σ (energyᵢ × PUE) × Iᵢ / 1000, Iᵢ the intensity in force at tick i (gCO₂eq/kWh)
 */
import * as os from 'node:os';
import { newRunId } from '../history/store';
import type { IntensityProvider, IntensityReading } from '../intensity/provider';
import type { RegionInfo } from '../intensity/regions';
import type { GpuSnapshot } from '../power/gpu';
import { GpuEnergyAccount } from '../power/gpuAccount';
import type { GpuMonitor } from '../power/gpuMonitor';
import type { RaplReader } from '../power/rapl';
import { RAM_W_PER_GB } from '../power/ram';
import type { TdpLookup } from '../power/tdp';
import { ProcfsTreeSampler, type ProcessTreeSampler, type TreeSample } from '../sampling/procfs';
import type { Adopter } from '../sampling/subreaper';
import { SysinfoTreeSampler } from '../sampling/sysinfo';
import { J_PER_KWH, type Hardware, type Method, type Run, type RunSource, type Sample } from '../types';
import { VERSION } from '../version';
import { defaultRunName } from '../runName';

/** How CPU power is obtained on this machine, decided once. */
export type CpuPowerSource = { kind: 'rapl'; reader: RaplReader; domains: string[] } | { kind: 'tdp'; tdp: TdpLookup };

export interface MeterEnvironment {
  hardware: Hardware;
  cpu: CpuPowerSource;
  /** GPU monitor (NVML, else nvidia-smi), or the reason the GPU is not metered */
  gpu: GpuMonitor | { unavailable: string };
  ramWPerGB?: number;
  intensity: IntensityProvider;
  procRoot?: string;
  clkTck?: number;
  pageSize?: number;
}

/** Where a run's energy is used. */
export interface Place {
  region: RegionInfo;
  /** how the region was chosen: "set by --region", "guessed from the time zone Europe/Paris; …" */
  reason: string;
  guessed: boolean;
  pue: number;
  pueSource: string;
}

export interface RunSpec {
  pid: number;
  command: string;
  name?: string;
  cwd: string;
  source: RunSource;
  /** the untracked parent that reaps the root (the CLI itself, a terminal's shell) */
  reaperPid?: number;
  /** what the reaper had accounted when the root was found alive (sampling/procfs.ts reaperBaselineTicks) */
  reaperBaselineTicks?: number;
  /** the child subreaper that keeps the run's orphans (the CLI on Linux, see sampling/subreaper.ts) */
  adopter?: Adopter;
  /** false when attaching to a process that was already running */
  countFromProcessStart?: boolean;
  /** where the energy is used: region, PUE, and why (see chooseRegion) */
  place: Place;
  /** when the root process started (ms since epoch); default: now */
  startedAt?: number;
  /** a sampler other than /proc (macOS, Windows) */
  sampler?: ProcessTreeSampler;
  notes?: string[];
}

export interface PowerW {
  cpu: number;
  gpu: number;
  ram: number;
  /** (cpu + gpu + ram) × PUE */
  total: number;
}

/** What subscribers (status bar, panel, CLI readout) get after every tick. */
export interface Reading {
  runId: string;
  t: number;
  elapsedS: number;
  powerW: PowerW;
  run: Run;
}

/** Machine-wide figures read once per tick and shared by every meter. */
export interface TickContext {
  t: number;
  /** RAPL package energy read since the hub began, µJ (undefined when RAPL is not used); each meter takes differences */
  raplUj?: number;
  /** the machine's busy CPU ticks (cumulative, /proc/stat) */
  machineBusyTicks?: number;
  gpu?: GpuSnapshot;
}

const MAX_SAMPLE_BUFFER = 100_000;

export class Meter {
  readonly run: Run;
  private readonly sampler: ProcessTreeSampler;
  private readonly clkTck: number;
  private lastCpuSeconds = 0;
  private lastT: number;
  private cpuJ = 0;
  private gpuJ = 0;
  private ramJ = 0;
  private emissionsG = 0;
  private lastPower: PowerW = { cpu: 0, gpu: 0, ram: 0, total: 0 };
  private pending: Sample[] = [];
  private readonly gpuAccount: GpuEnergyAccount;
  /** the machine's counters at this meter's previous tick (RAPL) */
  private lastRaplUj?: number;
  private lastBusyTicks?: number;
  /** resident memory of the tree at the last look while it was alive, bytes */
  private lastRssBytes = 0;
  lastSample?: TreeSample;
  /** set once the tree is gone */
  endedAtMs?: number;
  /** set when the root process is gone while some of its descendants live on */
  rootEndedAtMs?: number;
  /** how many processes were alive at the first look after the root ended (samplers that do not count `outlived`) */
  outlivingPids = 0;

  constructor(
    private readonly env: MeterEnvironment,
    readonly spec: RunSpec,
    startedAt = Date.now(),
  ) {
    this.clkTck = env.clkTck ?? 100;
    this.lastT = startedAt;
    this.sampler =
      spec.sampler ??
      (process.platform !== 'linux' && !env.procRoot
        ? new SysinfoTreeSampler(spec.pid)
        : new ProcfsTreeSampler(spec.pid, {
            procRoot: env.procRoot,
            clkTck: this.clkTck,
            pageSize: env.pageSize,
            reaperPid: spec.reaperPid,
            reaperBaselineTicks: spec.reaperBaselineTicks,
            adopter: spec.adopter,
            countFromProcessStart: spec.countFromProcessStart ?? true,
            logicalCpus: env.hardware.logicalCpus,
          }));
    this.gpuAccount = new GpuEnergyAccount({ rootPid: spec.pid, procRoot: env.procRoot });
    if ('latest' in env.gpu) this.gpuAccount.begin(env.gpu.latest());
    const start = new Date(startedAt);
    const hw = env.hardware;
    const reading = env.intensity.at(spec.place.region, startedAt);
    this.run = {
      id: newRunId(start),
      name: spec.name ?? defaultRunName(spec.command),
      command: spec.command,
      cwd: spec.cwd,
      source: spec.source,
      startedAt: start.toISOString(),
      durationS: 0,
      status: 'running',
      exitCode: null,
      cpuSeconds: 0,
      peakRamGB: 0,
      energyKWh: { cpu: 0, gpu: 0, ram: 0, total: 0 },
      emissionsKg: 0,
      pue: spec.place.pue,
      pueSource: spec.place.pueSource,
      intensity: {
        gPerKWh: reading.gPerKWh,
        region: spec.place.region.code,
        regionName: spec.place.region.name,
        source: reading.source,
        year: reading.year,
        method: reading.method,
        factorType: reading.factorType,
        guessed: spec.place.guessed || undefined,
        regionReason: spec.place.reason,
        fallback: reading.fallback,
      },
      power: {
        cpu: cpuPowerDescription(env.cpu, hw),
        gpu: gpuPowerDescription(env.gpu),
        ram: {
          method: 'modelled',
          detail: `${env.ramWPerGB ?? RAM_W_PER_GB} W per GB of resident memory of the tracked processes`,
          meanW: 0,
          lastW: 0,
          wPerGB: env.ramWPerGB ?? RAM_W_PER_GB,
        },
      },
      hardware: hw,
      pid: spec.pid,
      meterVersion: VERSION,
      notes: spec.notes ? [...spec.notes] : [],
      host: os.hostname(),
    };
  }

  get power(): PowerW {
    return this.lastPower;
  }

  get elapsedS(): number {
    return (this.lastT - Date.parse(this.run.startedAt)) / 1000;
  }

  /** Samples since the last call (for checkpoints). */
  takePendingSamples(): Sample[] {
    const s = this.pending;
    this.pending = [];
    return s;
  }

  /**
   * A first look at the tree, at once (the /proc sampler only: it answers synchronously): its processes and its
   * memory, so that a run that ends before the first tick has a memory figure for its whole duration. The CPU time
   * is left to the ticks.
   */
  prime(t = Date.now()): void {
    if (!(this.sampler instanceof ProcfsTreeSampler)) return;
    const tree = this.sampler.sample(t);
    this.lastSample = tree;
    if (tree.alive) this.lastRssBytes = tree.rssBytes;
    this.run.peakRamGB = Math.max(this.run.peakRamGB ?? 0, round(tree.rssBytes / 1024 ** 3, 4));
  }

  /** The machine's counters when the run starts (RAPL): the first tick's share is taken from them. */
  setMachineBaseline(ctx: Pick<TickContext, 'raplUj' | 'machineBusyTicks'>): void {
    this.lastRaplUj = ctx.raplUj;
    this.lastBusyTicks = ctx.machineBusyTicks;
  }

  /** RAPL energy and machine busy ticks since this meter's previous tick (undefined without both counters). */
  private machineDeltas(ctx: TickContext): { raplUj: number; busyTicks: number } | undefined {
    if (ctx.raplUj === undefined || ctx.machineBusyTicks === undefined) return undefined;
    const prevUj = this.lastRaplUj;
    const prevBusy = this.lastBusyTicks;
    this.lastRaplUj = ctx.raplUj;
    this.lastBusyTicks = ctx.machineBusyTicks;
    if (prevUj === undefined || prevBusy === undefined) return undefined;
    return { raplUj: Math.max(0, ctx.raplUj - prevUj), busyTicks: ctx.machineBusyTicks - prevBusy };
  }

  /** One tick: read the tree, turn use into watts and joules, and update the run record. */
  async tick(ctx: TickContext): Promise<TreeSample> {
    const tree = await this.sampler.sample(ctx.t);
    this.lastSample = tree;
    const wasEnded = this.endedAtMs !== undefined;
    const dtS = Math.max(0, (ctx.t - this.lastT) / 1000);
    const dCpuS = Math.max(0, tree.cpuSeconds - this.lastCpuSeconds);
    this.lastCpuSeconds = tree.cpuSeconds;

    // CPU
    let cpuJ: number;
    const machine = this.machineDeltas(ctx);
    if (this.env.cpu.kind === 'rapl' && machine && machine.busyTicks > 0) {
      const share = Math.min(1, (dCpuS * this.clkTck) / machine.busyTicks);
      cpuJ = (machine.raplUj / 1e6) * share;
    } else {
      const tdpW = this.env.cpu.kind === 'tdp' ? this.env.cpu.tdp.tdpW : 0;
      cpuJ = (tdpW * dCpuS) / this.env.hardware.logicalCpus;
    }

    // GPU
    let gpuW = 0;
    let gpuJ = 0;
    if (ctx.gpu && 'latest' in this.env.gpu) {
      const g = this.gpuAccount.step(ctx.gpu, tree.pids, dtS);
      const p = this.run.power.gpu;
      gpuW = g.powerW;
      gpuJ = g.joules;
      p.detail = g.detail;
      if (g.unavailableReason) {
        p.method = 'default';
        p.unavailableReason = g.unavailableReason;
      } else {
        p.method = 'measured';
        p.unavailableReason = undefined;
        p.source = g.source;
        p.shareRule = g.shareRule;
      }
    }

    // RAM: the memory held over the interval; in the tick that finds the tree gone, what it held at the last look
    // (a run shorter than a tick included), and nothing in later ticks
    const rssBytes = tree.alive ? tree.rssBytes : this.endedAtMs === undefined ? this.lastRssBytes : 0;
    if (tree.alive) this.lastRssBytes = tree.rssBytes;
    const ramGB = rssBytes / 1024 ** 3;
    const ramW = ramGB * (this.env.ramWPerGB ?? RAM_W_PER_GB);
    const ramJ = ramW * dtS;

    this.cpuJ += cpuJ;
    this.gpuJ += gpuJ;
    this.ramJ += ramJ;

    // Emissions with the intensity in force now
    const intensity = this.env.intensity.at(this.spec.place.region, ctx.t);
    const stepKWh = ((cpuJ + gpuJ + ramJ) * this.spec.place.pue) / J_PER_KWH;
    this.emissionsG += stepKWh * intensity.gPerKWh;

    const cpuW = dtS > 0 ? cpuJ / dtS : 0;
    // a tick after the one that found the tree gone (the run's closing reading, moments after the exit one) that
    // adds nothing is no sample: it read 0 W, so every run's power curve ended in a drop to 0 and its last power
    // (lastW) was 0 for a run busy up to its end
    const nothingAfterEnd = !tree.alive && wasEnded && cpuJ === 0 && gpuJ === 0 && ramJ === 0;
    if (!nothingAfterEnd)
      this.lastPower = { cpu: cpuW, gpu: gpuW, ram: ramW, total: (cpuW + gpuW + ramW) * this.spec.place.pue };
    if (dtS > 0 && !nothingAfterEnd) {
      if (this.pending.length < MAX_SAMPLE_BUFFER) {
        this.pending.push({
          t: ctx.t,
          cpuW: round(cpuW, 3),
          gpuW: round(gpuW, 3),
          ramW: round(ramW, 3),
          gPerKWh: intensity.gPerKWh,
        });
      }
    }
    this.lastT = ctx.t;
    this.updateRecord(tree, ramGB, intensity);
    if (tree.alive && tree.rootAlive === false && this.rootEndedAtMs === undefined) {
      this.rootEndedAtMs = ctx.t;
      this.outlivingPids = tree.pids.length;
    }
    if (!tree.alive && this.endedAtMs === undefined) {
      this.endedAtMs = ctx.t;
      this.sampler.dispose?.();
    }
    return tree;
  }

  private updateRecord(tree: TreeSample, ramGB: number, intensity: IntensityReading): void {
    const r = this.run;
    r.durationS = round(this.elapsedS, 3);
    r.cpuSeconds = round(tree.cpuSeconds, 3);
    r.peakRamGB = Math.max(r.peakRamGB ?? 0, round(ramGB, 4));
    const cpu = this.cpuJ / J_PER_KWH;
    const gpu = this.gpuJ / J_PER_KWH;
    const ram = this.ramJ / J_PER_KWH;
    r.energyKWh = { cpu, gpu, ram, total: (cpu + gpu + ram) * this.spec.place.pue };
    r.emissionsKg = this.emissionsG / 1000;
    const d = Math.max(r.durationS, 1e-9);
    // significant digits, not decimals: a process's memory power is often under a milliwatt (0.000566 W read 0.001)
    r.power.cpu.meanW = roundSig(this.cpuJ / d);
    r.power.gpu.meanW = roundSig(this.gpuJ / d);
    r.power.ram.meanW = roundSig(this.ramJ / d);
    r.power.cpu.lastW = roundSig(this.lastPower.cpu);
    r.power.gpu.lastW = roundSig(this.lastPower.gpu);
    r.power.ram.lastW = roundSig(this.lastPower.ram);
    // energy-weighted mean intensity over the run
    r.intensity.gPerKWh = r.energyKWh.total > 0 ? round(this.emissionsG / r.energyKWh.total, 3) : intensity.gPerKWh;
    if (intensity.method === 'time-resolved') {
      // the first reading may predate the first live value: the record names the live source once it is used
      r.intensity.method = 'time-resolved';
      r.intensity.source = intensity.source;
      r.intensity.factorType = intensity.factorType;
      r.intensity.year = undefined;
    }
    if (intensity.fallback) r.intensity.fallback = intensity.fallback;
  }

  /** Releases what the sampler holds (open /proc files) without finishing the run. */
  dispose(): void {
    this.sampler.dispose?.();
  }

  /** Marks the run finished; the caller persists it. */
  finish(status: Run['status'], exitCode: number | null | undefined, endedAt = Date.now()): Run {
    this.sampler.dispose?.();
    if (this.rootEndedAtMs !== undefined && this.endedAtMs !== undefined && this.endedAtMs > this.rootEndedAtMs) {
      const outlivedS = round((this.endedAtMs - this.rootEndedAtMs) / 1000, 1);
      const note = outlivedNote(this.lastSample, this.outlivingPids, outlivedS);
      if (note) (this.run.notes ??= []).push(note);
    }
    this.run.status = status;
    this.run.exitCode = exitCode ?? null;
    this.run.endedAt = new Date(this.endedAtMs ?? endedAt).toISOString();
    this.run.durationS = round((Date.parse(this.run.endedAt) - Date.parse(this.run.startedAt)) / 1000, 3);
    return this.run;
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** `x` to 6 significant digits (0 and non-finite values as they are). */
function roundSig(x: number): number {
  return x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(6));
}

// moved to core/runName.ts (it splits the command as the shell does); re-exported for its callers
export { defaultRunName };

function cpuPowerDescription(cpu: CpuPowerSource, hw: Hardware): Run['power']['cpu'] {
  if (cpu.kind === 'rapl') {
    return {
      method: 'measured',
      detail: `RAPL ${cpu.domains.join(', ')} energy counters, split by the run's share of the machine's CPU time`,
      meanW: 0,
      lastW: 0,
    };
  }
  const method: Method = cpu.tdp.method;
  return {
    method,
    detail: `${cpu.tdp.detail}; power = TDP × CPU time of the run ÷ (elapsed × ${hw.logicalCpus} logical CPUs)`,
    meanW: 0,
    lastW: 0,
    tdpW: cpu.tdp.tdpW,
  };
}

function gpuPowerDescription(gpu: MeterEnvironment['gpu']): Run['power']['gpu'] {
  // no GPU tool or driver at all is known before any reading: the first checkpoint says so, not "waiting"
  const unavailable = 'unavailable' in gpu ? gpu.unavailable : gpu.knownAbsent?.();
  if (unavailable !== undefined) {
    return {
      method: 'default',
      detail: `0 W: ${unavailable}`,
      meanW: 0,
      lastW: 0,
      unavailableReason: unavailable,
    };
  }
  // 'measured' once the GPU has been read (the first tick); until then a tool or driver here has not answered
  return { method: 'default', detail: 'waiting for the first GPU reading', meanW: 0, lastW: 0 };
}

/**
 * The note of a run whose processes outlived its command: how many were still running at the first look after the
 * command exited (each counted once, found then or later), how many of those were orphans adopted by the child
 * subreaper (the command's children, or processes whose parent had exited), the others being processes these
 * had started; and, where more orphans were adopted over the whole run (some ended before the command, or started
 * after it), that total.
 */
export function outlivedNote(
  tree: TreeSample | undefined,
  fallbackCount: number,
  outlivedS: number,
): string | undefined {
  const n = tree?.outlived ?? fallbackCount;
  // nothing was running at the first look: the end came in the same instant, or from a process found later
  if (n === 0)
    return outlivedS > 0
      ? `processes of the run were still running after the command exited (found after the first look); metered until the last exited, ${outlivedS} s after the command`
      : undefined;
  const m = Math.min(n, tree?.outlivedAdopted ?? 0);
  const total = tree?.adopted ?? 0;
  const which = m
    ? `${m} orphan(s) adopted by the meter (background, setsid, nohup or daemon)` +
      (n > m ? ` and ${n - m} process(es) these had started` : '')
    : 'background, setsid, nohup or daemon';
  const inAll =
    total > m
      ? `; ${total} orphan(s) adopted over the whole run, counting those that ended before the command or started after it`
      : '';
  return `${n} process(es) outlived the command (still running at the first look after it exited: ${which}${inAll}); metered until the last exited, ${outlivedS} s after the command`;
}
