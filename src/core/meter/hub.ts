/**
 * One sampling loop for every active run (`MeterHub`): ticks the runs' `Meter`s together, reads the machine-wide
 * counters once per tick (RAPL, GPU), checkpoints running runs at least every 10 s, closes a run when its processes
 * are gone (with its exit code) and announces readings, starts and ends. Nothing ticks while no run is active.
 */
import { unrefTimer, type SetTimer } from '../util/timer';
import type { HistoryStore } from '../history/store';
import type { RegionInfo } from '../intensity/regions';
import { readMachineCpu, type TreeSample } from '../sampling/procfs';
import { Emitter, type Disposable } from '../util/events';
import type { Run } from '../types';
import { errorMessage } from '../errors';
import { Meter, type MeterEnvironment, type Reading, type RunSpec, type TickContext } from './meter';

export interface HubOptions {
  intervalMs?: number;
  checkpointMs?: number;
  /** how long a run whose processes are gone waits for its exit code before it is closed */
  exitGraceMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** the timer of the regular ticks (default: an unref'd setTimeout); tests give their own to hold the ticks back */
  setTickTimer?: SetTimer;
}

export interface StopOptions {
  exitCode?: number | null;
  status?: Run['status'];
  /** why metering stopped before the processes ended, kept in the run's notes */
  note?: string;
}

/**
 * After a child of a run's adopter exited (SIGCHLD), the soonest a run whose command has ended is sampled again: the
 * end of the run is seen when its last process exits, and a burst of exits costs at most one sample per this.
 */
const EXIT_CHECK_SPACING_MS = 100;

/**
 * Runs one sampling loop for every active run. Nothing ticks while no run is active.
 */
export class MeterHub implements Disposable {
  private readonly meters = new Map<string, Meter>();
  private readonly exitCodes = new Map<string, number | null>();
  /** the status a caller of `endWhenGone` gave (a run its owner stopped on purpose), whichever path closes it */
  private readonly endStatus = new Map<string, Run['status']>();
  private timer?: { cancel(): void };
  private ticking?: Promise<unknown>;
  /** RAPL energy read since the hub began, µJ: each meter takes its own differences (machineCounters) */
  private raplTotalUj = 0;
  /** runs whose processes are gone, waiting for their last GPU reading before they are written (closeAfterGpu) */
  private readonly closing = new Map<string, Promise<Run>>();
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
  /** runs whose adopter tells when its children exit (the CLI's): the listener's unsubscribe */
  private readonly childExitWatch = new Map<string, () => void>();
  /** runs to sample as soon as the spacing allows: a child of their adopter exited after their command had ended */
  private readonly exitChecks = new Set<string>();
  private exitCheckTimer?: NodeJS.Timeout;
  private lastExitCheck = 0;

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

  /**
   * Starts metering a process tree. The tree is looked at once at once (its processes and memory, so a run shorter
   * than a tick has them too), and the machine's counters are read as the run's baseline.
   */
  start(spec: RunSpec): Meter {
    if (this.disposed) throw new Error('the meter was disposed');
    void this.refreshIntensity(Date.now(), [spec.place.region]);
    const meter = new Meter(this.env, spec, spec.startedAt ?? Date.now());
    meter.prime();
    this.meters.set(meter.run.id, meter);
    const unwatch = spec.adopter?.onChildExit?.(() => this.childExited(meter));
    if (unwatch) this.childExitWatch.set(meter.run.id, unwatch);
    this.lastCheckpoint.set(meter.run.id, Date.now());
    this.safeStore(() => this.store.checkpoint(meter.run, []));
    this._onRunStarted.fire(meter.run);
    if (this.env.cpu.kind === 'rapl') meter.setMachineBaseline(this.machineContext(Date.now(), []));
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

  /** A fresh GPU reading, so a run's last moments count (NVML; nvidia-smi streams anyway). */
  private async refreshGpu(): Promise<void> {
    if ('refresh' in this.env.gpu && this.env.gpu.refresh) await this.env.gpu.refresh().catch(() => undefined);
  }

  /**
   * A run whose processes are gone, found by the tick (the extension's terminal, task and debug runs): with a GPU
   * that is read on demand, one fresh GPU reading and a last step of that run alone, as stop() and endWhenGone()
   * do, so its last interval on the GPU counts too; then the run is written. The reading (amd-smi may take seconds)
   * runs apart from the ticks: the other runs go on being sampled meanwhile, and this one is no longer ticked.
   */
  private closeWhenGone(meter: Meter): void {
    const id = meter.run.id;
    if (!('refresh' in this.env.gpu) || !this.env.gpu.refresh) {
      this.close(meter, undefined, this.exitCodes.get(id));
      return;
    }
    const gpu = this.env.gpu;
    const closed = this.refreshGpu()
      .then(() =>
        // the GPU only: the machine's RAPL and CPU counters stay with the runs still metered
        this.serial(() => meter.tick({ t: Date.now(), gpu: gpu.latest() })).catch(() => undefined),
      )
      .then(() => (this.meters.get(id) === meter ? this.close(meter, undefined, this.exitCodes.get(id)) : meter.run))
      .finally(() => this.closing.delete(id));
    this.closing.set(id, closed);
  }

  /** Stops metering a run now: a last sample, then the run is written to the history. */
  async stop(id: string, opts: StopOptions = {}): Promise<Run | undefined> {
    const meter = this.meters.get(id);
    if (!meter) return undefined;
    await this.refreshGpu();
    return this.serial(async () => {
      const closing = this.closing.get(id);
      if (closing) return closing;
      if (!this.meters.has(id)) return meter.run;
      await meter.tick(this.machineContext(Date.now(), [meter]));
      if (opts.note) (meter.run.notes ??= []).push(opts.note);
      return this.close(meter, opts.status, opts.exitCode ?? this.exitCodes.get(id));
    });
  }

  /**
   * The root process exited with `exitCode`. The run closes at once when nothing of it is left; otherwise it is
   * metered until its last process exits (processes that outlived the command: background jobs, setsid, nohup),
   * and `onOutlived` is told how many were still running when the command exited. `signal` stops waiting: the run
   * is closed with a note.
   */
  async endWhenGone(
    id: string,
    exitCode: number | null,
    opts: { signal?: AbortSignal; onOutlived?: (pids: number) => void; note?: string; status?: Run['status'] } = {},
  ): Promise<Run | undefined> {
    const meter = this.meters.get(id);
    if (!meter) return undefined;
    this.exitCodes.set(id, exitCode);
    if (opts.status) this.endStatus.set(id, opts.status);
    await this.refreshGpu();
    const last = await this.serial(async (): Promise<Run | TreeSample> => {
      const closing = this.closing.get(id);
      if (closing) return closing;
      if (!this.meters.has(id)) return meter.run;
      if (opts.note) (meter.run.notes ??= []).push(opts.note);
      const tree = await meter.tick(this.machineContext(Date.now(), [meter]));
      return tree.alive ? tree : this.close(meter, undefined, exitCode);
    });
    if (!('alive' in last)) return last;
    // the processes still running when the command exited (the sampler's count; else those alive now)
    opts.onOutlived?.(last.outlived ?? last.pids.length);
    // the tick timer does not keep the process alive; while waiting for these processes, something must
    const keepAlive = setInterval(() => undefined, 2 ** 30);
    return new Promise<Run | undefined>((resolve) => {
      const onAbort = (): void => {
        sub.dispose();
        const left = meter.lastSample?.pids.length ?? 0;
        // every live process of the run: those that outlived the command and any they started since
        const note = `metering stopped while ${left} process(es) of the run were still running after the command had ended`;
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

  /**
   * A child of the run's adopter exited. Once the command has ended, the run's remaining processes are the ones it is
   * waiting for, and the last of them to exit is a child of the adopter (an adopted orphan: every other process of
   * the run has a live parent in the run): the run is sampled now, so its end is seen and recorded when that process
   * exited, not at the next tick. While the command runs, nothing is done (its exit is sampled by the caller).
   */
  private childExited(meter: Meter): void {
    const id = meter.run.id;
    if (this.disposed || this.meters.get(id) !== meter || this.closing.has(id)) return;
    if (meter.rootEndedAtMs === undefined || meter.endedAtMs !== undefined) return;
    this.exitChecks.add(id);
    if (this.exitCheckTimer) return;
    const wait = Math.max(0, this.lastExitCheck + EXIT_CHECK_SPACING_MS - Date.now());
    this.exitCheckTimer = setTimeout(() => {
      this.exitCheckTimer = undefined;
      this.lastExitCheck = Date.now();
      const ids = [...this.exitChecks];
      this.exitChecks.clear();
      for (const runId of ids) void this.sampleNow(runId).catch(() => undefined);
    }, wait);
    this.exitCheckTimer.unref?.();
  }

  private unwatchChildExits(id: string): void {
    this.childExitWatch.get(id)?.();
    this.childExitWatch.delete(id);
    this.exitChecks.delete(id);
  }

  private close(meter: Meter, status: Run['status'] | undefined, exitCode: number | null | undefined): Run {
    this.meters.delete(meter.run.id);
    this.unwatchChildExits(meter.run.id);
    this.exitCodes.delete(meter.run.id);
    status ??= this.endStatus.get(meter.run.id);
    this.endStatus.delete(meter.run.id);
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
      // the name of the temporary file of an atomic write (x.json.tmp-PID-RANDOM) differs at each attempt: without
      // it, one failure is one message, said once
      const msg = `could not write the history in ${this.store.dir}: ${errorMessage(err).replace(/\.tmp-\d+-[0-9a-f]+/g, '')}`;
      once('error', msg);
      return msg;
    }
  }

  private schedule(): void {
    if (this.timer || this.disposed) return;
    const loop = () => {
      this.timer = (this.opts.setTickTimer ?? unrefTimer)(() => {
        void this.runTick()
          .catch((err: unknown) => this.opts.log?.('error', `sampling failed: ${errorMessage(err)}`))
          .then(() => {
            if (this.meters.size && !this.disposed) loop();
            else this.timer = undefined;
          });
      }, this.tickMs);
    };
    loop();
  }

  /** A tick of every run after the one under way. */
  private runTick(): Promise<void> {
    return this.serial(() => this.tickAll());
  }

  /** Runs `fn` after the tick under way and before the next (never two ticks at once): `ticking` is the latest. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = (this.ticking ?? Promise.resolve()).catch(() => undefined).then(fn);
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
   * A reading of one run now, between the regular ticks, for a source that knows a boundary of that run (a notebook
   * cell started or ended, the CLI's command exited): its readings then split at that moment. The other runs are
   * not sampled. Ticks never overlap. Without `id`, every active run is sampled.
   */
  sampleNow(id?: string): Promise<void> {
    if (!this.meters.size || this.disposed) return Promise.resolve();
    if (id === undefined) return this.runTick();
    return this.serial(async () => {
      const meter = this.meters.get(id);
      if (!meter || this.closing.has(id)) return;
      await this.tickMeters(Date.now(), [meter]);
    });
  }

  private unschedule(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.exitCheckTimer) clearTimeout(this.exitCheckTimer);
    this.exitCheckTimer = undefined;
    if (this.gpuStarted && 'latest' in this.env.gpu) {
      this.gpuStarted = false;
      this.env.gpu.stop();
    }
  }

  /**
   * What every meter of this tick shares: the GPU snapshot and, with RAPL, the machine's cumulative counters (each
   * meter takes its own differences, so sampling some runs never takes energy from the others).
   */
  private machineContext(t: number, meters: Meter[]): TickContext {
    const ctx: TickContext = { t };
    if (this.env.cpu.kind === 'rapl') {
      try {
        this.raplTotalUj += this.env.cpu.reader.readDeltaUj();
        ctx.machineBusyTicks = readMachineCpu(this.env.procRoot).busy;
        ctx.raplUj = this.raplTotalUj;
      } catch (err) {
        this.opts.log?.('warn', `RAPL read failed: ${errorMessage(err)}`);
      }
    }
    if (meters.length && 'latest' in this.env.gpu) ctx.gpu = this.env.gpu.latest();
    return ctx;
  }

  /** One tick for every active run. Exposed for tests and the benchmark. */
  async tickAll(now = Date.now()): Promise<void> {
    const meters = this.ticked();
    if (!meters.length) return;
    void this.refreshIntensity(now);
    await this.tickMeters(now, meters);
  }

  /** The runs the tick samples: those not waiting for their last GPU reading. */
  private ticked(): Meter[] {
    const out: Meter[] = [];
    for (const m of this.meters.values()) if (!this.closing.has(m.run.id)) out.push(m);
    return out;
  }

  private async tickMeters(now: number, meters: Meter[]): Promise<void> {
    const ctx = this.machineContext(now, meters);
    const gone: Meter[] = [];
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
          gone.push(meter);
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
    // after the loop: a run's last GPU reading never holds back the other runs' samples
    for (const meter of gone) this.closeWhenGone(meter);
  }

  /** Resolves when every run found gone has been written (their last GPU readings taken). */
  closed(): Promise<void> {
    return Promise.all([...this.closing.values()]).then(() => undefined);
  }

  // ---- live intensity ------------------------------------------------------------------------------------------
  // A time-resolved provider answers `at` from its cache; `refresh` fills that cache from the network. The hub
  // starts it at most once per provider granularity period and region, never awaits it in a tick, and never lets
  // it fail a tick (the provider falls back to the static average and says why).
  private readonly intensityRefresh = new Map<string, { period: number; pending?: Promise<void> }>();

  /** Starts `env.intensity.refresh` for the given regions (default: those being metered) when due. */
  refreshIntensity(now: number, regions?: RegionInfo[]): Promise<void> {
    const provider = this.env.intensity;
    const g = provider.granularityMs;
    // a static provider (the usual case) has nothing to refresh: nothing is allocated per tick for it
    if (!provider.refresh || !(g > 0) || !Number.isFinite(g)) return Promise.resolve();
    const period = Math.floor(now / g);
    const waits: Promise<void>[] = [];
    for (const region of regions ?? this.active().map((m) => m.spec.place.region)) {
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
    // runs found gone are written now, without their last GPU reading; runs still active are left as checkpoints:
    // the next start recovers them as interrupted
    for (const id of this.closing.keys()) {
      const m = this.meters.get(id);
      if (m) this.close(m, undefined, this.exitCodes.get(id));
    }
    for (const m of this.active()) {
      this.unwatchChildExits(m.run.id);
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
