/**
 * Follows SLURM jobs until they end, then records each as a run. One `sacct` call per poll for every tracked job
 * together, at most one per `minIntervalMs` (30 s): adding jobs or asking again sooner only brings the next poll
 * forward to the end of that interval. When accounting is unavailable, `squeue` takes sacct's place (one call per
 * poll still) and the jobs are shown but cannot be recorded. Tracked jobs live in the history home, so a window
 * opened later reconciles jobs that ended while no window was open. The clock is injected (tests).
 */
import type { HistoryStore } from '../history/store';
import { Emitter } from '../util/events';
import type { Run } from '../types';
import { groupJobs, isActiveState, type SlurmJob } from './account';
import type { SlurmAccountant } from './accountant';
import { SlurmCommandError, type SlurmCommands } from './commands';
import type { SlurmJobStore, TrackedJob } from './jobStore';
import type { SlurmRecord } from './parse';
import { errorMessage } from '../errors';

export const MIN_POLL_INTERVAL_MS = 30_000;
/** A job sacct and squeue have never heard of is dropped after this long (a typo'd id, a purged database). */
const UNKNOWN_JOB_TTL_MS = 24 * 3600_000;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface JobView {
  jobId: string;
  /** PENDING, RUNNING, ... or SUBMITTED when SLURM has not listed it yet */
  state: string;
  elapsedS?: number;
  command?: string;
}

export interface TrackerOptions {
  commands: SlurmCommands;
  accountant: SlurmAccountant;
  jobs: SlurmJobStore;
  history: HistoryStore;
  clock?: Clock;
  minIntervalMs?: number;
  log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

export class SlurmTracker {
  private readonly clock: Clock;
  private readonly minIntervalMs: number;
  private lastCallAt = -Infinity;
  private timer: unknown;
  private inFlight: Promise<void> | undefined;
  private useSqueue = false;
  /** a command was missing: no more polls until a job is added (a missing tool is not retried in a loop) */
  private stalled = false;
  private disposed = false;
  private views = new Map<string, JobView>();
  private lastProblem = '';
  private readonly _onChange = new Emitter<JobView[]>();
  private readonly _onRecorded = new Emitter<Run>();
  private readonly _onProblem = new Emitter<string>();
  /** the jobs shown (status bar), after every poll that changed them */
  readonly onChange = this._onChange.event;
  /** a finished job was appended to the history */
  readonly onRecorded = this._onRecorded.event;
  /** a SLURM command failed (missing, failing, slow); fired once per distinct message */
  readonly onProblem = this._onProblem.event;

  constructor(private readonly opts: TrackerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.minIntervalMs = opts.minIntervalMs ?? MIN_POLL_INTERVAL_MS;
  }

  /** Reconciles the jobs tracked by earlier sessions (persisted in the history home). */
  start(): void {
    const problems: string[] = [];
    const known = this.opts.jobs.tracked(problems);
    for (const p of problems) this.opts.log?.('warn', `slurm: skipped tracked job file ${p}`);
    for (const j of known) this.views.set(j.jobId, { jobId: j.jobId, state: 'SUBMITTED', command: j.command });
    if (known.length) {
      this.opts.log?.(
        'info',
        `slurm: reconciling ${known.length} job(s) tracked earlier: ${known.map((j) => j.jobId).join(', ')}`,
      );
      this.requestPoll();
    }
    this.fire();
  }

  /** Starts following a job (persisted at once) and asks for a poll, within the throttle. */
  add(job: TrackedJob): void {
    this.stalled = false;
    this.opts.jobs.track(job);
    this.views.set(job.jobId, { jobId: job.jobId, state: 'SUBMITTED', command: job.command });
    this.fire();
    this.requestPoll();
  }

  jobs(): JobView[] {
    return [...this.views.values()];
  }

  /** Schedules a poll as soon as the throttle allows; several requests make one poll. */
  requestPoll(): void {
    if (this.disposed || this.timer !== undefined) return;
    const delay = Math.max(0, this.lastCallAt + this.minIntervalMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.poll();
    }, delay);
  }

  /** Resolves when no poll is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  /** One poll now, unless one ran less than `minIntervalMs` ago (then it is scheduled for later). */
  poll(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.clock.now() - this.lastCallAt < this.minIntervalMs) {
      this.requestPoll();
      return Promise.resolve();
    }
    this.inFlight = this.pollOnce().finally(() => {
      this.inFlight = undefined;
      if (this.views.size && !this.disposed && !this.stalled) this.requestPoll();
    });
    return this.inFlight;
  }

  private async pollOnce(): Promise<void> {
    const tracked = this.opts.jobs.tracked();
    // jobs another window recorded meanwhile are gone from the folder: forget them here too
    for (const id of [...this.views.keys()]) if (!tracked.some((t) => t.jobId === id)) this.views.delete(id);
    if (!tracked.length) return this.fire();
    this.lastCallAt = this.clock.now();
    const ids = tracked.map((t) => t.jobId);
    try {
      if (this.useSqueue) await this.fromSqueue(tracked, ids);
      else await this.fromSacct(tracked, ids);
      this.lastProblem = '';
    } catch (err) {
      if (err instanceof SlurmCommandError && err.kind === 'missing') this.stalled = true;
      const msg = err instanceof SlurmCommandError ? err.message : `SLURM job tracking failed: ${errorMessage(err)}`;
      if (err instanceof SlurmCommandError && err.command === 'sacct' && err.kind === 'failed' && !this.useSqueue) {
        this.useSqueue = true;
        this.problem(`${msg}; following the jobs with squeue instead (they cannot be recorded without accounting)`);
      } else {
        this.problem(msg);
      }
    }
    this.fire();
  }

  private async fromSacct(tracked: TrackedJob[], ids: string[]): Promise<void> {
    const records = await this.opts.commands.sacct(ids, { allClusters: tracked.some((t) => t.cluster) });
    const now = this.clock.now();
    for (const t of tracked) {
      const mine = groupJobs(
        records.filter((r) => belongsTo(r, t.jobId) && (!t.cluster || !r.cluster || r.cluster === t.cluster)),
      );
      if (!mine.length) {
        if (now - t.submittedAt > UNKNOWN_JOB_TTL_MS) {
          this.opts.log?.(
            'warn',
            `slurm: job ${t.jobId} is unknown to sacct a day after submission; no longer followed`,
          );
          this.forget(t);
        }
        continue;
      }
      const active = mine.filter((j) => isActiveState(j.job.state));
      const lead = active[0] ?? mine[mine.length - 1];
      this.views.set(t.jobId, {
        jobId: t.jobId,
        state: active.length ? summarise(active) : lead.job.state,
        elapsedS: lead.job.elapsedS,
        command: t.command,
      });
      for (const j of mine) if (!isActiveState(j.job.state) && !/[[\]]/.test(j.job.jobId)) await this.record(j, t);
      if (!active.length) this.forget(t);
    }
  }

  private async fromSqueue(tracked: TrackedJob[], ids: string[]): Promise<void> {
    const q = await this.opts.commands.squeue(ids);
    for (const t of tracked) {
      const e = q.find((x) => x.jobId === t.jobId || x.jobId.startsWith(`${t.jobId}_`));
      if (e) this.views.set(t.jobId, { jobId: t.jobId, state: e.state, elapsedS: e.elapsedS, command: t.command });
      else {
        this.opts.log?.(
          'warn',
          `slurm: job ${t.jobId} left the queue; without accounting (sacct) it cannot be recorded`,
        );
        this.forget(t);
      }
    }
  }

  private async record(j: SlurmJob, t: TrackedJob): Promise<void> {
    const run = await this.opts.accountant.run(j, this.clock.now());
    if (t.command && !j.job.submitLine) run.command = t.command;
    if (t.cwd && !run.cwd) run.cwd = t.cwd;
    const what = this.opts.jobs.record(this.opts.history, run);
    this.opts.log?.(
      'info',
      `slurm: job ${j.job.jobId} ${j.job.state}: ${what === 'recorded' ? `recorded as ${run.id}` : 'already in the history'}`,
    );
    if (what === 'recorded') this._onRecorded.fire(run);
  }

  private forget(t: TrackedJob): void {
    this.opts.jobs.untrack(t);
    this.views.delete(t.jobId);
  }

  private problem(msg: string): void {
    this.opts.log?.('warn', `slurm: ${msg}`);
    if (msg !== this.lastProblem) this._onProblem.fire(msg);
    this.lastProblem = msg;
  }

  private fire(): void {
    this._onChange.fire(this.jobs());
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this._onChange.dispose();
    this._onRecorded.dispose();
    this._onProblem.dispose();
  }
}

/** A record belongs to tracked job "123" when it is job 123, one of its array tasks (123_4) or het components (123+1). */
export function belongsTo(r: SlurmRecord, jobId: string): boolean {
  return (
    r.jobId === jobId || r.jobIdRaw === jobId || r.jobId.startsWith(`${jobId}_`) || r.jobId.startsWith(`${jobId}+`)
  );
}

/** "RUNNING" for one job; "2 RUNNING, 1 PENDING" for an array's tasks. */
function summarise(active: SlurmJob[]): string {
  if (active.length === 1) return active[0].job.state;
  const counts = new Map<string, number>();
  for (const j of active) counts.set(j.job.state, (counts.get(j.job.state) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
}
