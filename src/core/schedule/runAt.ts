/**
 * "Run at 03:00 (−38 %)": runs scheduled for a greener start, held in memory by their host (the extension, while
 * VS Code is open). The plan is core's (startTime.ts `planGreenerStart` over the live provider's forecast); the
 * scheduler waits on an injected clock, so tests drive the time, and calls `onDue` once per run: at its time, or
 * at once on "run now". A cancelled run never starts. Nothing is persisted: a reload drops what was scheduled, and
 * the UI says so.
 */
import { formatPercent } from '../format';
import { formatClock, profileFromRun, type ForecastSource, type PowerSegment } from '../advice/greenerTime';
import type { RegionInfo } from '../intensity/regions';
import type { Run } from '../types';
import { assumedRun, planGreenerStart, waitUntil, type AssumedRun, type Clock, type StartPlan } from './startTime';

export interface ScheduledRun<T> {
  id: string;
  /** when it will start, ms since epoch */
  atMs: number;
  /** when it was scheduled */
  scheduledAtMs: number;
  /** what the user knows it by: the run's or the file's name */
  name: string;
  command: string;
  cwd: string;
  /** the forecast's expected saving against starting now, 0–1, and its source */
  savingFraction: number;
  source: string;
  /** what the host needs to start it (a file to run, a run to repeat) */
  payload: T;
}

export type DueReason = 'time' | 'now';

/** The run to plan for when the user picked a past run: that run itself (its duration and mean power). */
export function assumedFromRun(
  run: Pick<Run, 'durationS' | 'energyKWh'>,
  samplesProfile?: readonly PowerSegment[],
): AssumedRun | undefined {
  const profile = samplesProfile?.length ? [...samplesProfile] : profileFromRun(run);
  if (!profile.length) return undefined;
  return { profile, durationS: run.durationS, from: 'the run it repeats' };
}

/**
 * The plan for running `command` again: from `assumed` (the run it repeats) or the earlier runs of the same command
 * in `history`, within the provider's forecast horizon (24 h unless it says otherwise). A provider that is not live
 * gives "now" with why.
 */
export async function planRunAt(
  provider: ForecastSource | undefined,
  region: RegionInfo,
  nowMs: number,
  what: {
    assumed?: AssumedRun;
    history?: readonly Pick<Run, 'command' | 'status' | 'durationS' | 'energyKWh'>[];
    command: string;
  },
): Promise<StartPlan> {
  const assumed = what.assumed ?? assumedRun(what.history ?? [], what.command);
  if (!provider)
    return {
      kind: 'now',
      reason:
        'the intensity source is static (annual averages): set carbonMeter.intensity.provider to a live source for forecasts',
      assumed,
    };
  return planGreenerStart(provider, region, assumed, nowMs, provider.forecastHorizonH || 24);
}

/** "03:00 (−38 %)": the start (with its weekday when not today) and the expected saving. */
export function runAtText(atMs: number, savingFraction: number, nowMs: number, timeZone?: string): string {
  return `${formatClock(atMs, nowMs, timeZone)} (${formatPercent(-savingFraction)})`;
}

let counter = 0;

/** The runs waiting for their time; each starts once (at its time or on `runNow`), unless cancelled. */
export class RunAtScheduler<T> {
  private readonly waiting = new Map<string, { run: ScheduledRun<T>; abort: AbortController }>();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (run: ScheduledRun<T>, reason: DueReason) => void | Promise<void>,
    /** the wait wakes up at least this often (a suspended machine starts the run when it wakes, not later) */
    private readonly stepMs = 60_000,
  ) {}

  /** Called after every change (scheduled, started, cancelled). */
  onChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  list(): ScheduledRun<T>[] {
    return [...this.waiting.values()].map((w) => w.run).sort((a, b) => a.atMs - b.atMs);
  }

  get(id: string): ScheduledRun<T> | undefined {
    return this.waiting.get(id)?.run;
  }

  schedule(run: Omit<ScheduledRun<T>, 'id' | 'scheduledAtMs'>): ScheduledRun<T> {
    const scheduled: ScheduledRun<T> = {
      ...run,
      id: `at-${this.clock.now().toString(36)}-${(++counter).toString(36)}`,
      scheduledAtMs: this.clock.now(),
    };
    const abort = new AbortController();
    this.waiting.set(scheduled.id, { run: scheduled, abort });
    void waitUntil(scheduled.atMs, this.clock, abort.signal, undefined, this.stepMs).then((due) => {
      if (due) void this.start(scheduled.id, 'time');
    });
    this.changed();
    return scheduled;
  }

  /** Starts a waiting run at once; undefined when it is not waiting (started, cancelled, unknown). */
  runNow(id: string): ScheduledRun<T> | undefined {
    return this.start(id, 'now');
  }

  cancel(id: string): ScheduledRun<T> | undefined {
    const w = this.waiting.get(id);
    if (!w) return undefined;
    this.waiting.delete(id);
    w.abort.abort();
    this.changed();
    return w.run;
  }

  dispose(): void {
    for (const w of this.waiting.values()) w.abort.abort();
    this.waiting.clear();
    this.listeners.clear();
  }

  private start(id: string, reason: DueReason): ScheduledRun<T> | undefined {
    const w = this.waiting.get(id);
    if (!w) return undefined;
    this.waiting.delete(id);
    w.abort.abort();
    this.changed();
    void Promise.resolve()
      .then(() => this.onDue(w.run, reason))
      .catch(() => undefined); // the host reports its own failures
    return w.run;
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}
