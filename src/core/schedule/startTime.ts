/**
 * "Run at the greener hour": choose the best start in the next hours from the live provider's forecast (the lowest
 * emissions of a run like the earlier runs of the same command; core/advice/greenerTime), and wait for it.
 *
 * The clock is injected, so tests drive the wait with a clock they control; the CLI uses the real one.
 */
import { bestStartTime, type ForecastSource, type PowerSegment, type StartTimeAdvice } from '../advice/greenerTime';
import type { RegionInfo } from '../intensity/regions';
import type { Run } from '../types';
import type { StartWait } from './types';
import { errorMessage } from '../errors';

export interface Clock {
  now(): number;
  /** resolves after `ms` (or earlier when `signal` aborts) */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/** Duration assumed when the command has no earlier run: one hour. */
export const DEFAULT_ASSUMED_DURATION_S = 3600;

export interface AssumedRun {
  profile: PowerSegment[];
  durationS: number;
  /** "median of 3 earlier runs of this command", "no earlier run of this command: 1 h assumed" */
  from: string;
}

/** The run to plan for: the median duration (and mean power) of the completed earlier runs of the same command. */
export function assumedRun(
  history: readonly Pick<Run, 'command' | 'status' | 'durationS' | 'energyKWh'>[],
  command: string,
): AssumedRun {
  const same = history.filter(
    (r) => r.command === command && r.status === 'completed' && r.durationS > 0 && r.energyKWh.total >= 0,
  );
  if (!same.length) {
    // the power does not change which start is best, nor the fraction saved
    return {
      profile: [{ durationS: DEFAULT_ASSUMED_DURATION_S, powerW: 100 }],
      durationS: DEFAULT_ASSUMED_DURATION_S,
      from: 'no earlier run of this command: 1 h assumed',
    };
  }
  const sorted = same.map((r) => r.durationS).sort((a, b) => a - b);
  const durationS = sorted[Math.floor(sorted.length / 2)];
  const powerW =
    (same.reduce((e, r) => e + r.energyKWh.total, 0) * 3.6e6) / same.reduce((d, r) => d + r.durationS, 0) || 100;
  return {
    profile: [{ durationS, powerW }],
    durationS,
    from: `median of ${same.length} earlier run(s) of this command`,
  };
}

export type StartPlan =
  | { kind: 'wait'; advice: StartTimeAdvice; assumed: AssumedRun; source: string }
  | { kind: 'now'; reason: string; advice?: StartTimeAdvice; assumed: AssumedRun; source?: string };

/** The best start within `withinH` hours of `nowMs`, or why to start now. */
export async function planGreenerStart(
  provider: ForecastSource,
  region: RegionInfo,
  assumed: AssumedRun,
  nowMs: number,
  withinH: number,
): Promise<StartPlan> {
  let f;
  try {
    f = await provider.forecast(region, nowMs, withinH + assumed.durationS / 3600);
  } catch (err) {
    return { kind: 'now', reason: `the forecast could not be read: ${errorMessage(err)}`, assumed };
  }
  if (!f.ok) return { kind: 'now', reason: f.reason, assumed };
  const advice = bestStartTime(f.points, assumed.profile, { nowMs, horizonH: withinH });
  if (!advice) {
    return {
      kind: 'now',
      reason: `the forecast (until ${new Date(f.coveredUntilMs).toISOString()}) does not cover a run of ${Math.round(assumed.durationS / 60)} min from now`,
      assumed,
      source: f.source,
    };
  }
  if (advice.startsNow || advice.savingFraction <= 0)
    return {
      kind: 'now',
      reason: `now is the cleanest start in the next ${withinH} h`,
      advice,
      assumed,
      source: f.source,
    };
  return { kind: 'wait', advice, assumed, source: f.source };
}

/**
 * Waits until `targetMs` on `clock`, in steps of at most `stepMs` (a suspended laptop wakes up to the right time),
 * calling `onStep` with the time left. Resolves true when the time came, false when `signal` aborted.
 */
export async function waitUntil(
  targetMs: number,
  clock: Clock,
  signal: AbortSignal,
  onStep?: (leftMs: number) => void,
  stepMs = 60_000,
): Promise<boolean> {
  for (;;) {
    if (signal.aborted) return false;
    const left = targetMs - clock.now();
    if (left <= 0) return true;
    onStep?.(left);
    await clock.sleep(Math.min(left, stepMs), signal);
  }
}

export function startWaitRecord(
  plan: Extract<StartPlan, { kind: 'wait' }>,
  withinH: number,
  requestedAtMs: number,
  startedAtMs: number,
): StartWait {
  return {
    withinH,
    requestedAt: new Date(requestedAtMs).toISOString(),
    plannedStart: new Date(plan.advice.startMs).toISOString(),
    waitedS: Math.max(0, (startedAtMs - requestedAtMs) / 1000),
    nowMeanGPerKWh: round(plan.advice.nowMeanGPerKWh),
    plannedMeanGPerKWh: round(plan.advice.meanGPerKWh),
    expectedSavingFraction: round(plan.advice.savingFraction, 4),
    assumedDurationS: plan.assumed.durationS,
    assumedFrom: plan.assumed.from,
    source: plan.source,
  };
}

function round(x: number, digits = 1): number {
  const m = 10 ** digits;
  return Math.round(x * m) / m;
}
