/**
 * `carbon-meter run --start-within 12h` (wait for the greenest start in the forecast) and
 * `carbon-meter run --pause-above G [--max-delay 6h]` (pause the run's process tree while the grid is dirty).
 * The decisions are in core/schedule; this is the CLI's clock, signals and messages.
 */
import type { ForecastSource } from '../core/advice/greenerTime';
import { formatClock } from '../core/advice/greenerTime';
import { formatDuration, formatPercent } from '../core/format';
import type { IntensityProvider } from '../core/intensity/provider';
import type { RegionInfo } from '../core/intensity/regions';
import { PAUSE_CAVEAT, PauseController } from '../core/schedule/pause';
import {
  assumedRun,
  planGreenerStart,
  realClock,
  startWaitRecord,
  waitUntil,
  type Clock,
} from '../core/schedule/startTime';
import { foreignProcesses, processTree, signalTree } from '../core/schedule/tree';
import type { PauseRecord, RunSchedule } from '../core/schedule/types';
import type { Run } from '../core/types';
import { durationSeconds } from './common';

export const SCHEDULE_HELP = `  --start-within D   wait for the greenest start in the next D (90m, 1h30m, 2d) of the live provider's forecast, for
                     a run as long as the earlier runs of this command (1 h when there is none); shows the wait and
                     the expected saving, then runs. Ctrl-C while waiting starts nothing. Without a forecast it runs
                     now.
  --pause-above G    pause the whole process tree (SIGSTOP/SIGCONT) while the intensity is above G gCO₂eq/kWh, checked
                     at the provider's granularity; memory (GPU memory too) stays allocated and network or distributed
                     jobs may time out while paused. Refused for processes that are not your own.
  --max-delay D      the most time the run may spend paused in total (default 6h; with --pause-above)
`;

/** "12h", "90m", "1h30m", "2d", "45s", "1.5" (hours) → hours. */
export function parseDurationH(v: string, name: string): number {
  const s = durationSeconds(v, 'h');
  if (s === undefined) throw new Error(`--${name} must be a duration such as 12h, 90m, 1h30m or 2d, not "${v}"`);
  return s / 3600;
}

function forecastSource(provider: IntensityProvider): ForecastSource | undefined {
  const p = provider as Partial<ForecastSource>;
  return typeof p.forecast === 'function' ? (p as ForecastSource) : undefined;
}

export interface StartWaitOptions {
  withinH: number;
  provider: IntensityProvider;
  region: RegionInfo;
  command: string;
  history: readonly Run[];
  out: NodeJS.WritableStream;
  clock?: Clock;
}

/**
 * Waits for the greener start. Resolves `go: false` when interrupted (SIGINT, SIGTERM, SIGHUP): nothing is started.
 */
export async function waitForGreenerStart(o: StartWaitOptions): Promise<{ go: boolean; schedule: RunSchedule }> {
  const clock = o.clock ?? realClock;
  const say = (m: string) => o.out.write(`carbon-meter: ${m}\n`);
  const requestedAt = clock.now();
  const source = forecastSource(o.provider);
  const assumed = assumedRun(o.history, o.command);
  const plan = source
    ? await planGreenerStart(source, o.region, assumed, requestedAt, o.withinH)
    : ({
        kind: 'now',
        reason: 'the intensity provider is static (annual averages): no forecast; choose one with --provider',
        assumed,
      } as const);
  if (plan.kind === 'now') {
    say(`--start-within: running now: ${plan.reason}`);
    return { go: true, schedule: { startedNowReason: plan.reason } };
  }
  // the signals are ours before the wait is announced: a Ctrl-C right after the line must find the handler
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  const a = plan.advice;
  say(
    `waiting until ${formatClock(a.startMs, requestedAt)} (in ${formatDuration((a.startMs - requestedAt) / 1000)}) for a greener start: ` +
      `${Math.round(a.meanGPerKWh)} instead of ${Math.round(a.nowMeanGPerKWh)} g/kWh, ${formatPercent(-a.savingFraction)} for a run like this one (${assumed.from}; ${plan.source}). Ctrl-C starts nothing.`,
  );
  try {
    const go = await waitUntil(a.startMs, clock, abort.signal);
    if (!go) {
      say('interrupted while waiting: nothing was started');
      return { go: false, schedule: {} };
    }
    return { go: true, schedule: { wait: startWaitRecord(plan, o.withinH, requestedAt, clock.now()) } };
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}

export interface PausingOptions {
  thresholdGPerKWh: number;
  maxDelayS: number;
  provider: IntensityProvider;
  region: RegionInfo;
  rootPid: number;
  wrapperPid?: number;
  out: NodeJS.WritableStream;
}

/** Starts pausing the run's tree while the grid is dirty; `finish` resumes it if needed and returns the record. */
export function startPausing(o: PausingOptions): { finish(energyKWh: number): PauseRecord } {
  const say = (m: string) => o.out.write(`carbon-meter: ${m}\n`);
  const source = forecastSource(o.provider);
  const except = new Set(o.wrapperPid !== undefined ? [o.wrapperPid] : []);
  const controller = new PauseController(o.thresholdGPerKWh, o.maxDelayS, o.provider.granularityMs, {
    now: () => Date.now(),
    forecast: (t) =>
      source
        ? source.forecast(o.region, t, 1)
        : Promise.resolve({
            ok: false,
            reason: 'the intensity provider is static (annual averages); choose a live one with --provider',
          }),
    pause: () => {
      const foreign = foreignProcesses(processTree(o.rootPid).filter((p) => !except.has(p)));
      if (foreign.length) return `process(es) ${foreign.slice(0, 5).join(', ')} belong to another user`;
      signalTree(o.rootPid, 'SIGSTOP', except);
      return undefined;
    },
    resume: () => void signalTree(o.rootPid, 'SIGCONT', except),
    log: say,
  });
  say(`--pause-above ${o.thresholdGPerKWh} g/kWh: ${PAUSE_CAVEAT}`);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const loop = async () => {
    const next = await controller.step();
    if (!stopped && Number.isFinite(next)) timer = setTimeout(() => void loop(), next);
  };
  // a signal for the run must reach running processes: continue them, and pause no more
  const onSignal = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    if (controller.isPaused) signalTree(o.rootPid, 'SIGCONT', except);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  void loop();
  return {
    finish(energyKWh: number): PauseRecord {
      stopped = true;
      if (timer) clearTimeout(timer);
      for (const s of signals) process.off(s, onSignal);
      return controller.finish(energyKWh);
    },
  };
}
