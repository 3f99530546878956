/**
 * The extension's access to the core: one HistoryStore and one MeterHub (created on the first run, so nothing is
 * probed or sampled while nothing is metered), the settings, and the reasons behind every decision in the log.
 */
import * as vscode from 'vscode';
import type { ExternalChange, HistoryAppend } from '../core/history/changes';
import { HistoryStore, type HistoryLoad } from '../core/history/store';
import type { IntensityProvider } from '../core/intensity/provider';
import { UnknownRegionError } from '../core/intensity/regions';
import { chooseRegion, createMeterEnvironment, type RegionChoice } from '../core/meter/environment';
import { MeterHub } from '../core/meter/hub';
import type { Meter, Reading, RunSpec } from '../core/meter/meter';
import type { Run, Sample } from '../core/types';
import { Emitter } from '../core/util/events';
import type { Settings } from '../core/config/settings';
import { Configuration } from './configuration';
import { redactSecrets } from '../core/history/redact';
import { errorMessage } from '../core/errors';
import { meteredAncestor } from '../core/sampling/lineage';

/**
 * A change of the history: records this window appended (with them: a run of this window ended, an import, a
 * delete), or what another window or CLI changed (read the history again; `checkpoints` alone: one of their running
 * runs moved). This window's own checkpoints are no change: its readings carry its running runs.
 */
export type HistoryChange = ({ origin: 'here' } & HistoryAppend) | ({ origin: 'elsewhere' } & ExternalChange);

/** What an adapter knows of a run it wants metered; the service adds the region and PUE. */
export type StartRequest = Pick<
  RunSpec,
  | 'pid'
  | 'command'
  | 'name'
  | 'cwd'
  | 'source'
  | 'reaperPid'
  | 'reaperBaselineTicks'
  | 'startedAt'
  | 'countFromProcessStart'
>;

export class MeterService implements vscode.Disposable {
  /** the one reader of `carbonMeter.*` (configuration.ts) */
  readonly config: Configuration;
  readonly store: HistoryStore;
  private hub?: Promise<MeterHub>;
  private hubInstance?: MeterHub;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly _onReading = new Emitter<Reading>();
  private readonly _onRunStarted = new Emitter<Run>();
  private readonly _onRunFinished = new Emitter<Run>();
  private readonly _onHistoryChanged = new Emitter<HistoryChange>();
  readonly onReading = this._onReading.event;
  readonly onRunStarted = this._onRunStarted.event;
  readonly onRunFinished = this._onRunFinished.event;
  /** the history changed: records appended here (with them), or a change by another window or CLI (see HistoryChange) */
  readonly onHistoryChanged = this._onHistoryChanged.event;
  /** the open run's samples, read again only when its file changed */
  private samplesCache?: { id: string; stamp: string; samples: Sample[] };
  /** the carbon intensity source (intensity.ts sets it; default: static annual averages) */
  intensity?: IntensityProvider;

  constructor(readonly log: vscode.LogOutputChannel) {
    this.config = new Configuration(log);
    this.store = new HistoryStore(
      this.settings.historyPath || process.env.CARBON_METER_HOME || HistoryStore.defaultDir(),
      {
        redactSecrets: this.settings.redactSecrets,
      },
    );
    this.log.info(`history: ${this.store.dir}`);
    try {
      for (const r of this.store.recoverInterrupted()) {
        this.log.warn(`recovered interrupted run ${r.name} (${r.id}) up to its last checkpoint`);
      }
    } catch (err) {
      this.log.error(`could not look for interrupted runs in ${this.store.dir}: ${errorMessage(err)}`);
    }
    this.disposables.push(
      this.store.onAppended((a) => this._onHistoryChanged.fire({ origin: 'here', ...a })),
      this.store.watch((c) => this._onHistoryChanged.fire({ origin: 'elsewhere', ...c })),
    );
    this.disposables.push(
      this.config,
      this.config.onDidChange((c) => {
        this.store.redactSecrets = this.settings.redactSecrets;
        if (c.affects('sampling', 'cpu', 'gpu')) void this.resetHubWhenIdle();
      }),
    );
  }

  /** The checked `carbonMeter.*` settings, always current (configuration.ts reads them again on a change). */
  get settings(): Settings {
    return this.config.settings;
  }

  /** Tells the user once about a wrong setting, with a button to fix it. */
  problem(message: string, settingKey?: string): void {
    this.config.problem(message, settingKey);
  }

  private async resetHubWhenIdle(): Promise<void> {
    const hub = await this.hub;
    if (hub && hub.active().length === 0) {
      hub.dispose();
      this.hub = undefined;
      this.hubInstance = undefined;
    }
  }

  private getHub(): Promise<MeterHub> {
    if (!this.hub) {
      this.hub = (async () => {
        const s = this.settings;
        const env = await createMeterEnvironment({
          cpuTdpW: s.cpuTdpW,
          gpu: s.gpuEnabled,
          nvidiaSmi: s.nvidiaSmiPath || undefined,
          intervalMs: s.intervalS * 1000,
          intensity: this.intensity,
        });
        const cpu =
          env.cpu.kind === 'rapl'
            ? `RAPL (${env.cpu.domains.join(', ')})`
            : `${env.cpu.tdp.method} TDP ${env.cpu.tdp.tdpW} W: ${env.cpu.tdp.detail}`;
        this.log.info(
          `machine: ${env.hardware.cpuModel}, ${env.hardware.logicalCpus} logical CPUs, ${env.hardware.ramGB} GB; CPU power: ${cpu}`,
        );
        if (!env.rapl.readable)
          this.log.info(
            `RAPL not used: ${env.rapl.reason ?? 'not readable'}${env.rapl.fix ? ` (fix: ${env.rapl.fix})` : ''}`,
          );
        const hub = new MeterHub(env, this.store, {
          intervalMs: s.intervalS * 1000,
          exitGraceMs: 3000,
          log: (level, msg) => this.log[level](msg),
        });
        hub.onReading((r) => this._onReading.fire(r));
        hub.onRunStarted((r) => this._onRunStarted.fire(r));
        hub.onRunFinished((r) => {
          this.log.info(
            `finished ${r.name} (${r.id}): ${r.status}, ${r.energyKWh.total.toExponential(3)} kWh, ${(r.emissionsKg * 1000).toFixed(3)} g CO₂eq`,
          );
          this._onRunFinished.fire(r); // the store already announced its record (onHistoryChanged, origin 'here')
        });
        this.hubInstance = hub;
        return hub;
      })();
      this.hub.catch((err) => {
        this.log.error(`metering is unavailable: ${errorMessage(err)}`);
        this.hub = undefined;
      });
    }
    return this.hub;
  }

  regionChoice(): RegionChoice {
    const s = this.settings;
    try {
      return chooseRegion({
        region: s.region || process.env.CARBON_METER_REGION,
        regionFrom: s.region ? 'setting carbonMeter.region' : 'CARBON_METER_REGION',
        pue: s.pue,
        pueFrom: 'setting carbonMeter.pue',
      });
    } catch (err) {
      if (err instanceof UnknownRegionError) {
        this.problem(`${err.message} Using a guess from the time zone until it is fixed.`, 'carbonMeter.region');
        const rejected = s.region
          ? `carbonMeter.region "${s.region.trim()}"`
          : `CARBON_METER_REGION "${(process.env.CARBON_METER_REGION ?? '').trim()}"`;
        return chooseRegion({ pue: s.pue, pueFrom: 'setting carbonMeter.pue', rejected });
      }
      throw err;
    }
  }

  /** Starts metering a process (and its children). Returns undefined when it is already metered. */
  async start(req: StartRequest): Promise<Meter | undefined> {
    const hub = await this.getHub();
    const active = hub.active();
    let already = active.find((m) => m.run.pid === req.pid || m.lastSample?.pids.includes(req.pid));
    if (!already && active.length > 0) {
      // a child of a metered root that no sample lists yet (a task's shell, then its command seen by the terminal)
      const roots = new Set(active.flatMap((m) => (m.run.pid ? [m.run.pid] : [])));
      const root = meteredAncestor(req.pid, roots);
      already = active.find((m) => m.run.pid === root);
    }
    if (already) {
      this.log.info(
        `${req.source}: pid ${req.pid} ("${req.command}") is already metered as ${already.run.name} (${already.run.id}, ${already.run.source} run of pid ${already.run.pid})`,
      );
      return undefined;
    }
    const choice = this.regionChoice();
    const meter = hub.start({
      ...req,
      command: this.settings.redactSecrets ? redactSecrets(req.command) : req.command,
      place: choice,
      notes: choice.warnings,
    });
    this.log.info(
      `metering ${req.source} run "${meter.run.command}" (pid ${req.pid}) as ${meter.run.id}; region ${choice.region.code} (${choice.reason})`,
    );
    return meter;
  }

  /** Stops metering a run (at the user's request unless `note` says why); its processes go on. */
  async stop(id: string, note = 'metering stopped by the user; the process went on'): Promise<Run | undefined> {
    const hub = await this.hub;
    return hub?.stop(id, { note });
  }

  /** A reading now of one run (a notebook cell started or ended), or of every active run. */
  async sampleNow(runId?: string): Promise<void> {
    await (await this.hub)?.sampleNow(runId);
  }

  async setExitCode(id: string, exitCode: number | null): Promise<void> {
    (await this.hub)?.setExitCode(id, exitCode);
  }

  /** The history as stored (newest first, running runs from their checkpoints). */
  history(): HistoryLoad {
    return this.store.load();
  }

  /** Where the history is kept (shown to the user). */
  get historyDir(): string {
    return this.store.dir;
  }

  /** One run: metered here now, or from the history. */
  findRun(id: string): Run | undefined {
    return this.active().find((m) => m.run.id === id)?.run ?? this.store.get(id);
  }

  /** A run's power samples; the last run asked for is kept until its sample file changes. */
  runSamples(id: string): Sample[] {
    const stamp = this.store.samplesStamp(id);
    if (stamp === undefined) {
      if (this.samplesCache?.id === id) this.samplesCache = undefined;
      return [];
    }
    const hit = this.samplesCache;
    if (hit && hit.id === id && hit.stamp === stamp) return hit.samples;
    const samples = this.store.samples(id);
    this.samplesCache = { id, stamp, samples };
    return samples;
  }

  /** Hides a finished run (and removes its samples). */
  deleteRun(id: string): void {
    this.store.delete(id);
  }

  /** Appends finished or imported runs. */
  appendRuns(runs: Run[]): void {
    this.store.appendMany(runs);
  }

  /** The runs being metered now. */
  active(): Meter[] {
    return this.hubInstance?.active() ?? [];
  }

  dispose(): void {
    void this.hub?.then((h) => h.dispose());
    for (const d of this.disposables) d.dispose();
    this._onReading.dispose();
    this._onRunStarted.dispose();
    this._onRunFinished.dispose();
    this._onHistoryChanged.dispose();
  }
}
