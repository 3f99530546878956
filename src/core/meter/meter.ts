/**
 * Integrates power over time into energy and emissions, one `Meter` per run, one sampling tick for all runs
 * (`MeterHub`).
 *
 *   energyᵢ (J)   = Pᵢ × Δtᵢ per component; for the CPU, straight from CPU-time (or RAPL counter) deltas, so the
 *                   energy between two ticks is never lost
 *   energy (kWh)  = Σ energyᵢ / 3.6e6, per component; total = (cpu + gpu + ram) × PUE
 *   emissions (kg)= Σ (energyᵢ × PUE) × Iᵢ / 1000, Iᵢ the intensity in force at tick i (gCO₂eq/kWh)
 */
import * as os from 'node:os';
import type { HistoryStore } from '../history/store';
import { newRunId } from '../history/store';
import type { IntensityProvider, IntensityReading } from '../intensity/provider';
import type { RegionInfo } from '../intensity/regions';
import type { GpuSnapshot } from '../power/gpu';
import { GpuEnergyAccount } from '../power/gpuAccount';
import type { GpuMonitor } from '../power/gpuMonitor';
import type { RaplReader } from '../power/rapl';
import { RAM_W_PER_GB } from '../power/ram';
import type { TdpLookup } from '../power/tdp';
import { ProcfsTreeSampler, readMachineCpu, type ProcessTreeSampler, type TreeSample } from '../sampling/procfs';
import type { Adopter } from '../sampling/subreaper';
import { SysinfoTreeSampler } from '../sampling/sysinfo';
import { Emitter, type Disposable } from '../util/events';
import { J_PER_KWH, type Hardware, type Method, type Run, type RunSource, type Sample } from '../types';
import { VERSION } from '../version';
import { errorMessage } from '../errors';

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
  /** RAPL package energy since the previous tick, µJ (undefined when RAPL is not used) */
  raplDeltaUj?: number;
  /** machine busy CPU ticks since the previous tick */
  machineBusyDeltaTicks?: number;
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
  lastSample?: TreeSample;
  /** set once the tree is gone */
  endedAtMs?: number;
  /** set when the root process is gone while some of its descendants live on */
  rootEndedAtMs?: number;
  /** how many processes were alive when the root ended */
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

  /** One tick: read the tree, turn use into watts and joules, and update the run record. */
  async tick(ctx: TickContext): Promise<TreeSample> {
    const tree = await this.sampler.sample(ctx.t);
    this.lastSample = tree;
    const dtS = Math.max(0, (ctx.t - this.lastT) / 1000);
    const dCpuS = Math.max(0, tree.cpuSeconds - this.lastCpuSeconds);
    this.lastCpuSeconds = tree.cpuSeconds;

    // CPU
    let cpuJ: number;
    if (this.env.cpu.kind === 'rapl' && ctx.raplDeltaUj !== undefined && ctx.machineBusyDeltaTicks) {
      const share = Math.min(1, (dCpuS * this.clkTck) / ctx.machineBusyDeltaTicks);
      cpuJ = (ctx.raplDeltaUj / 1e6) * share;
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

    // RAM
    const ramGB = tree.rssBytes / 1024 ** 3;
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
    this.lastPower = { cpu: cpuW, gpu: gpuW, ram: ramW, total: (cpuW + gpuW + ramW) * this.spec.place.pue };
    if (dtS > 0) {
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
    r.power.cpu.meanW = round(this.cpuJ / d, 3);
    r.power.gpu.meanW = round(this.gpuJ / d, 3);
    r.power.ram.meanW = round(this.ramJ / d, 3);
    r.power.cpu.lastW = round(this.lastPower.cpu, 3);
    r.power.gpu.lastW = round(this.lastPower.gpu, 3);
    r.power.ram.lastW = round(this.lastPower.ram, 3);
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
      const adopted = this.lastSample?.adopted
        ? `, ${this.lastSample.adopted} of them adopted after they left the tree`
        : '';
      (this.run.notes ??= []).push(
        `${this.outlivingPids} process(es) outlived the command (background, setsid, nohup or daemon${adopted}); metered until the last exited, ${outlivedS} s after the command`,
      );
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

export function defaultRunName(command: string): string {
  // "python train.py --epochs 3" → "train.py"; "torchrun --nproc 2 train.py" → "train.py"
  const words = command.trim().split(/\s+/);
  const script = words.find((w) => /\.(py|ipynb|sh|js|ts|jl|r)$/i.test(w));
  if (script) return script.split(/[\\/]/).pop()!;
  const mod = words.indexOf('-m');
  if (mod >= 0 && words[mod + 1]) return words[mod + 1];
  return words.slice(0, 3).join(' ').slice(0, 60) || 'run';
}

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
  if ('unavailable' in gpu) {
    return {
      method: 'default',
      detail: `0 W: ${gpu.unavailable}`,
      meanW: 0,
      lastW: 0,
      unavailableReason: gpu.unavailable,
    };
  }
  // 'measured' once the GPU has been read (the first tick); until then nothing is known
  return { method: 'default', detail: 'waiting for the first GPU reading', meanW: 0, lastW: 0 };
}

export interface HubOptions {
  intervalMs?: number;
  checkpointMs?: number;
  /** how long a run whose processes are gone waits for its exit code before it is closed */
  exitGraceMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export interface StopOptions {
  exitCode?: number | null;
  status?: Run['status'];
  /** why metering stopped before the processes ended, kept in the run's notes */
  note?: string;
}

/**
 * Runs one sampling loop for every active run. Nothing ticks while no run is active.
 */
export class MeterHub implements Disposable {
  private readonly meters = new Map<string, Meter>();
  private readonly exitCodes = new Map<string, number | null>();
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private lastMachineBusy?: number;
  private lastCheckpoint = new Map<string, number>();
  private readonly _onReading = new Emitter<Reading>();
  private readonly _onRunStarted = new Emitter<Run>();
  private readonly _onRunFinished = new Emitter<Run>();
  readonly onReading = this._onReading.event;
  readonly onRunStarted = this._onRunStarted.event;
  readonly onRunFinished = this._onRunFinished.event;
  readonly intervalMs: number;
  private readonly checkpointMs: number;
  /** the tick period: the sampling interval, or the checkpoint period when that is shorter */
  private readonly tickMs: number;
  /** problems already logged (a broken history folder is reported once, not at every checkpoint) */
  private readonly reported = new Set<string>();
  /** why the final record of a run could not be written, for the runs stopped by this hub */
  private readonly saveErrors = new Map<string, string>();
  private readonly exitGraceMs: number;
  /** runs whose owner reports the exit code itself (`endWhenGone`): the tick never closes them without it */
  private readonly exitAwaited = new Set<string>();
  private disposed = false;
  private gpuStarted = false;

  constructor(
    readonly env: MeterEnvironment,
    readonly store: HistoryStore,
    private readonly opts: HubOptions = {},
  ) {
    this.intervalMs = Math.max(100, opts.intervalMs ?? 1000);
    this.checkpointMs = Math.min(10_000, opts.checkpointMs ?? 10_000);
    // a checkpoint carries the energy up to its time, so the hub samples at least as often as it checkpoints
    this.tickMs = Math.min(this.intervalMs, Math.max(100, this.checkpointMs));
    this.exitGraceMs = opts.exitGraceMs ?? 0;
  }

  active(): Meter[] {
    return [...this.meters.values()];
  }

  get(id: string): Meter | undefined {
    return this.meters.get(id);
  }

  /** Starts metering a process tree. The first sample is taken at once, so the run has its processes. */
  start(spec: RunSpec): Meter {
    if (this.disposed) throw new Error('the meter was disposed');
    void this.refreshIntensity(Date.now(), [spec.place.region]);
    const meter = new Meter(this.env, spec, spec.startedAt ?? Date.now());
    this.meters.set(meter.run.id, meter);
    this.lastCheckpoint.set(meter.run.id, Date.now());
    this.safeStore(() => this.store.checkpoint(meter.run, []));
    this._onRunStarted.fire(meter.run);
    if (this.env.cpu.kind === 'rapl' && this.lastMachineBusy === undefined) {
      this.safeStore(() => {
        if (this.env.cpu.kind === 'rapl') this.env.cpu.reader.readDeltaUj();
        this.lastMachineBusy = readMachineCpu(this.env.procRoot).busy;
      });
    }
    if ('latest' in this.env.gpu) {
      if (!this.gpuStarted) {
        this.gpuStarted = true;
        this.env.gpu.start();
      } else {
        this.env.gpu.refreshApps();
      }
    }
    this.schedule();
    return meter;
  }

  /** Records the exit code of a run's root process; the run is closed at the next tick once its processes are gone. */
  setExitCode(id: string, exitCode: number | null): void {
    this.exitCodes.set(id, exitCode);
  }

  /** Stops metering a run now: a last sample, then the run is written to the history. */
  /** A fresh GPU reading, so a run's last moments count (NVML; nvidia-smi streams anyway). */
  private async refreshGpu(): Promise<void> {
    if ('refresh' in this.env.gpu && this.env.gpu.refresh) await this.env.gpu.refresh().catch(() => undefined);
  }

  /**
   * A run whose processes are gone, closed by the tick (the extension's terminal, task and debug runs): one fresh
   * GPU reading and a last step, as stop() and endWhenGone() do, so its last interval on the GPU counts too.
   */
  private async finalGpuReading(meter: Meter): Promise<void> {
    if (!('refresh' in this.env.gpu) || !this.env.gpu.refresh) return;
    await this.refreshGpu();
    if (!this.meters.has(meter.run.id)) return;
    // the GPU only: the machine's RAPL and CPU counters stay with the next tick of the runs still metered
    await meter.tick({ t: Date.now(), gpu: this.env.gpu.latest() }).catch(() => undefined);
  }

  async stop(id: string, opts: StopOptions = {}): Promise<Run | undefined> {
    const meter = this.meters.get(id);
    if (!meter) return undefined;
    await this.ticking;
    if (!this.meters.has(id)) return meter.run;
    await this.refreshGpu();
    if (!this.meters.has(id)) return meter.run;
    await meter.tick(this.machineContext(Date.now(), [meter]));
    if (opts.note) (meter.run.notes ??= []).push(opts.note);
    return this.close(meter, opts.status, opts.exitCode ?? this.exitCodes.get(id));
  }

  /**
   * The root process exited with `exitCode`. The run closes at once when nothing of it is left; otherwise it is
   * metered until its last process exits (processes that outlived the command: background jobs, setsid, nohup),
   * and `onOutlived` is told how many live on. `signal` stops waiting: the run is closed with a note.
   */
  async endWhenGone(
    id: string,
    exitCode: number | null,
    opts: { signal?: AbortSignal; onOutlived?: (pids: number) => void; note?: string } = {},
  ): Promise<Run | undefined> {
    const meter = this.meters.get(id);
    if (!meter) return undefined;
    this.exitCodes.set(id, exitCode);
    await this.ticking;
    if (!this.meters.has(id)) return meter.run;
    if (opts.note) (meter.run.notes ??= []).push(opts.note);
    await this.refreshGpu();
    if (!this.meters.has(id)) return meter.run;
    const tree = await meter.tick(this.machineContext(Date.now(), [meter]));
    if (!this.meters.has(id)) return meter.run;
    if (!tree.alive) return this.close(meter, undefined, exitCode);
    opts.onOutlived?.(tree.pids.length);
    // the tick timer does not keep the process alive; while waiting for these processes, something must
    const keepAlive = setInterval(() => undefined, 2 ** 30);
    return new Promise<Run | undefined>((resolve) => {
      const onAbort = (): void => {
        sub.dispose();
        const left = meter.lastSample?.pids.length ?? 0;
        const note = `metering stopped while ${left} process(es) that outlived the command were still running`;
        void this.stop(id, { exitCode, note }).then(resolve);
      };
      const sub = this.onRunFinished((r) => {
        if (r.id !== id) return;
        sub.dispose();
        opts.signal?.removeEventListener('abort', onAbort);
        resolve(r);
      });
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
    }).finally(() => clearInterval(keepAlive));
  }

  private close(meter: Meter, status: Run['status'] | undefined, exitCode: number | null | undefined): Run {
    this.meters.delete(meter.run.id);
    this.exitCodes.delete(meter.run.id);
    this.exitAwaited.delete(meter.run.id);
    this.lastCheckpoint.delete(meter.run.id);
    const st = status ?? (exitCode !== undefined && exitCode !== null && exitCode !== 0 ? 'failed' : 'completed');
    const run = meter.finish(st, exitCode);
    const samples = meter.takePendingSamples();
    const error = this.safeStore(() => [
      ...(samples.length ? this.store.checkpoint(run, samples) : []),
      ...this.store.finish(run),
    ]);
    if (error) this.saveErrors.set(run.id, error);
    this._onRunFinished.fire(run);
    if (this.meters.size === 0) this.unschedule();
    return run;
  }

  /**
   * Why the final record of a run stopped by this hub could not be written (the history folder is missing, a file,
   * read-only, full), or undefined when it was saved.
   */
  saveError(id: string): string | undefined {
    return this.saveErrors.get(id);
  }

  /** Runs a store write; logs its warnings and its failure once each. Returns the failure, if any. */
  private safeStore(fn: () => string[] | void): string | undefined {
    const once = (level: 'warn' | 'error', msg: string) => {
      if (this.reported.has(msg)) return;
      if (this.reported.size > 100) this.reported.clear();
      this.reported.add(msg);
      this.opts.log?.(level, msg);
    };
    try {
      const warnings = fn() ?? [];
      for (const w of warnings) once('warn', w);
      if (!warnings.length) this.reported.clear(); // a write went through: the next failure is news again
      return undefined;
    } catch (err) {
      const msg = `could not write the history in ${this.store.dir}: ${errorMessage(err)}`;
      once('error', msg);
      return msg;
    }
  }

  private schedule(): void {
    if (this.timer || this.disposed) return;
    const loop = () => {
      this.timer = setTimeout(async () => {
        await this.runTick().catch((err) => this.opts.log?.('error', `sampling failed: ${(err as Error).message}`));
        if (this.meters.size && !this.disposed) loop();
        else this.timer = undefined;
      }, this.tickMs);
      this.timer.unref?.();
    };
    loop();
  }

  /** A tick after the one under way (never two at once): `ticking` is the latest. */
  private runTick(): Promise<void> {
    const p = (this.ticking ?? Promise.resolve()).catch(() => undefined).then(() => this.tickAll());
    this.ticking = p;
    const clear = () => {
      if (this.ticking === p) this.ticking = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  /**
   * The caller knows the run's root process and will report its exit code (`endWhenGone`): until then a tick that
   * finds the tree gone keeps the run open, so its record gets the real exit code, not a guess.
   */
  awaitExit(id: string): void {
    if (this.meters.has(id)) this.exitAwaited.add(id);
  }

  /**
   * One tick for every active run now, between the regular ticks, for a source that knows a boundary (a notebook
   * cell started or ended): readings then split at that moment. Ticks never overlap.
   */
  sampleNow(): Promise<void> {
    if (!this.meters.size || this.disposed) return Promise.resolve();
    return this.runTick();
  }

  private unschedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.gpuStarted && 'latest' in this.env.gpu) {
      this.gpuStarted = false;
      this.env.gpu.stop();
    }
  }

  private machineContext(t: number, meters: Meter[]): TickContext {
    const ctx: TickContext = { t };
    if (this.env.cpu.kind === 'rapl') {
      try {
        ctx.raplDeltaUj = this.env.cpu.reader.readDeltaUj();
        const busy = readMachineCpu(this.env.procRoot).busy;
        ctx.machineBusyDeltaTicks = this.lastMachineBusy === undefined ? undefined : busy - this.lastMachineBusy;
        this.lastMachineBusy = busy;
      } catch (err) {
        this.opts.log?.('warn', `RAPL read failed: ${errorMessage(err)}`);
      }
    }
    if (meters.length && 'latest' in this.env.gpu) ctx.gpu = this.env.gpu.latest();
    return ctx;
  }

  /** One tick for every active run. Exposed for tests and the benchmark. */
  async tickAll(now = Date.now()): Promise<void> {
    const meters = this.active();
    if (!meters.length) return;
    void this.refreshIntensity(now);
    const ctx = this.machineContext(now, meters);
    for (const meter of meters) {
      let tree: TreeSample;
      try {
        tree = await meter.tick(ctx);
      } catch (err) {
        this.opts.log?.('error', `sampling ${meter.run.id} failed: ${errorMessage(err)}`);
        continue;
      }
      const id = meter.run.id;
      this._onReading.fire({ runId: id, t: now, elapsedS: meter.elapsedS, powerW: meter.power, run: meter.run });
      if (!tree.alive) {
        const ended = meter.endedAtMs ?? now;
        if (this.exitCodes.has(id) || (!this.exitAwaited.has(id) && now - ended >= this.exitGraceMs)) {
          await this.finalGpuReading(meter);
          this.close(meter, undefined, this.exitCodes.get(id));
          continue;
        }
      }
      // half a tick of slack: a timer that fires a little early does not push the checkpoint a whole tick later
      if (now - (this.lastCheckpoint.get(id) ?? 0) >= this.checkpointMs - this.tickMs / 2) {
        this.lastCheckpoint.set(id, now);
        const samples = meter.takePendingSamples();
        this.safeStore(() => this.store.checkpoint(meter.run, samples));
      }
    }
  }

  // ---- live intensity ------------------------------------------------------------------------------------------
  // A time-resolved provider answers `at` from its cache; `refresh` fills that cache from the network. The hub
  // starts it at most once per provider granularity period and region, never awaits it in a tick, and never lets
  // it fail a tick (the provider falls back to the static average and says why).
  private readonly intensityRefresh = new Map<string, { period: number; pending?: Promise<void> }>();

  /** Starts `env.intensity.refresh` for the given regions (default: those being metered) when due. */
  refreshIntensity(now: number, regions: RegionInfo[] = this.active().map((m) => m.spec.place.region)): Promise<void> {
    const provider = this.env.intensity;
    const g = provider.granularityMs;
    if (!provider.refresh || !(g > 0) || !Number.isFinite(g)) return Promise.resolve();
    const period = Math.floor(now / g);
    const waits: Promise<void>[] = [];
    for (const region of regions) {
      const key = `${provider.id}|${g}|${region.code}`;
      const state = this.intensityRefresh.get(key);
      if (state?.pending) {
        waits.push(state.pending);
        continue;
      }
      if (state && state.period >= period) continue;
      const next: { period: number; pending?: Promise<void> } = { period };
      next.pending = provider
        .refresh(region, now)
        .catch((err) =>
          this.opts.log?.('warn', `intensity refresh (${provider.id}, ${region.code}) failed: ${errorMessage(err)}`),
        )
        .finally(() => (next.pending = undefined));
      this.intensityRefresh.set(key, next);
      waits.push(next.pending);
    }
    return Promise.all(waits).then(() => undefined);
  }

  /** Resolves when no intensity refresh started by the hub is under way (tests, shutdown). */
  intensityIdle(): Promise<void> {
    return Promise.all([...this.intensityRefresh.values()].map((s) => s.pending)).then(() => undefined);
  }

  dispose(): void {
    this.disposed = true;
    this.unschedule();
    // runs still active are left as checkpoints: the next start recovers them as interrupted
    for (const m of this.active()) {
      m.dispose();
      const samples = m.takePendingSamples();
      this.safeStore(() => this.store.checkpoint(m.run, samples));
    }
    this.meters.clear();
    this._onReading.dispose();
    this._onRunStarted.dispose();
    this._onRunFinished.dispose();
  }
}
