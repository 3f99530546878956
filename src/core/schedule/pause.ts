/**
 * "Pause while the grid is dirty": the run's whole process tree is stopped (SIGSTOP) while the provider says the
 * intensity is above a threshold, and continued (SIGCONT) when it falls below, or when the allowed delay is spent.
 * Decisions are taken at the provider's granularity (the period a figure holds: GB 30 min, Electricity Maps 1 h,
 * WattTime 5 min), from its forecast for the current period.
 *
 * What pausing holds: memory stays allocated (GPU memory included: a paused job keeps its GPU), open files and
 * sockets stay open, and whatever waits on the job (a network peer, a distributed training rendezvous, a licence
 * server) may time out. Processes that are not the user's own are never paused.
 *
 * `step()` is called by the driver (the CLI's timer, a test's controlled clock) and says when to call it again.
 */
import type { ForecastResult, IntensityPoint } from '../intensity/live/types';
import type { PauseRecord } from './types';

export interface PauseDeps {
  now(): number;
  /** the provider's forecast from t (cached by the provider: one request per period) */
  forecast(t: number): Promise<ForecastResult>;
  /** stops the tree; returns why it must not, when it must not (processes of another user) */
  pause(): string | undefined;
  resume(): void;
  log(message: string): void;
}

export const PAUSE_CAVEAT =
  'pausing keeps memory allocated (GPU memory included), open files and sockets open; network jobs and distributed training may time out while paused';

/** The point in force at t. */
export function pointAtTime(points: readonly IntensityPoint[], t: number): IntensityPoint | undefined {
  return points.find((p) => p.fromMs <= t && t < p.toMs);
}

export class PauseController {
  private paused = false;
  private done = false;
  private pausedMs = 0;
  private pauses = 0;
  private lastT?: number;
  private lastG?: number;
  private avoided = { ms: 0, gMs: 0 };
  private running = { ms: 0, gMs: 0 };
  private exhausted = false;
  private saidUnavailable = false;
  private source = '';

  constructor(
    readonly thresholdGPerKWh: number,
    readonly maxDelayS: number,
    private readonly granularityMs: number,
    private readonly deps: PauseDeps,
  ) {}

  get isPaused(): boolean {
    return this.paused;
  }

  get pausedS(): number {
    return this.pausedMs / 1000;
  }

  /** Evaluates now; returns the ms until the next step (Infinity when pausing is over for this run). */
  async step(): Promise<number> {
    if (this.done) return Infinity;
    const t = this.deps.now();
    this.account(t);
    const maxDelayMs = this.maxDelayS * 1000;
    if (this.paused && this.pausedMs >= maxDelayMs) {
      this.setPaused(false);
      this.exhausted = true;
      this.done = true;
      this.deps.log(
        `resumed: the allowed delay (${Math.round(this.maxDelayS)} s) is spent; the run goes on whatever the intensity`,
      );
      return Infinity;
    }
    const f = await this.deps.forecast(t).catch((err: Error): ForecastResult => ({ ok: false, reason: err.message }));
    const now = this.deps.now();
    this.account(now);
    const point = f.ok ? pointAtTime(f.points, now) : undefined;
    if (f.ok) this.source = f.source;
    this.lastG = point?.gPerKWh;
    const periodLeft = point ? point.toMs - now : this.granularityMs;
    if (!point) {
      if (!this.saidUnavailable)
        this.deps.log(
          `no intensity for now (${f.ok ? 'the forecast does not cover it' : f.reason}): the run is not paused`,
        );
      this.saidUnavailable = true;
      if (this.paused) this.setPaused(false);
      return clampWait(periodLeft, this.granularityMs);
    }
    if (point.gPerKWh > this.thresholdGPerKWh) {
      const left = maxDelayMs - this.pausedMs;
      if (!this.paused) {
        const refusal = this.deps.pause();
        if (refusal) {
          this.done = true;
          this.deps.log(`not pausing: ${refusal}`);
          return Infinity;
        }
        this.paused = true;
        this.pauses++;
        this.deps.log(
          `paused: ${Math.round(point.gPerKWh)} g/kWh is above ${Math.round(this.thresholdGPerKWh)} g/kWh (${Math.round(left / 1000)} s of delay left)`,
        );
      }
      return clampWait(Math.min(periodLeft, left), this.granularityMs);
    }
    if (this.paused) {
      this.setPaused(false);
      this.deps.log(
        `resumed: ${Math.round(point.gPerKWh)} g/kWh is at or below ${Math.round(this.thresholdGPerKWh)} g/kWh`,
      );
    }
    return clampWait(periodLeft, this.granularityMs);
  }

  /** The run ended (or is ending): continue it if paused, and the record. */
  finish(energyKWh: number): PauseRecord {
    this.account(this.deps.now());
    if (this.paused) this.setPaused(false);
    this.done = true;
    const rec: PauseRecord = {
      thresholdGPerKWh: this.thresholdGPerKWh,
      maxDelayS: this.maxDelayS,
      pausedS: Math.round(this.pausedMs) / 1000,
      pauses: this.pauses,
      source: this.source || 'no forecast',
    };
    if (this.avoided.ms > 0) rec.avoidedMeanGPerKWh = Math.round(this.avoided.gMs / this.avoided.ms);
    if (this.running.ms > 0) rec.runningMeanGPerKWh = Math.round(this.running.gMs / this.running.ms);
    if (rec.avoidedMeanGPerKWh !== undefined && rec.runningMeanGPerKWh !== undefined && this.running.ms > 0) {
      // the paused time's worth of work, at the run's mean power, ran at the running intensity instead
      const meanKW = energyKWh / (this.running.ms / 3_600_000);
      const g =
        ((meanKW * this.pausedMs) / 3_600_000) *
        (this.avoided.gMs / this.avoided.ms - this.running.gMs / this.running.ms);
      rec.estimatedSavingKg = Math.round(g * 1000) / 1e6;
    }
    if (this.exhausted) rec.delayExhausted = true;
    return rec;
  }

  private setPaused(p: boolean): void {
    if (this.paused && !p) this.deps.resume();
    this.paused = p;
  }

  /** Adds [lastT, t] to the paused or the running time, with the intensity in force. */
  private account(t: number): void {
    if (this.lastT !== undefined && t > this.lastT) {
      const dt = t - this.lastT;
      const bucket = this.paused ? this.avoided : this.running;
      if (this.paused) this.pausedMs += dt;
      if (this.lastG !== undefined) {
        bucket.ms += dt;
        bucket.gMs += dt * this.lastG;
      }
    }
    this.lastT = Math.max(t, this.lastT ?? t);
  }
}

function clampWait(ms: number, granularityMs: number): number {
  const cap = Number.isFinite(granularityMs) ? granularityMs : 3_600_000;
  return Math.max(50, Math.min(ms, cap));
}
