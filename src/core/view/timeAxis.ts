/**
 * The time axis of the runs chart (CO₂eq per run over time): its range, its ticks and how to label them, from the
 * runs' start times. Left to itself, Chart.js pads a single point by 5 % of its value (years for seconds since 1970)
 * and spreads two runs minutes apart across the whole width; here the window is never shorter than an hour, centred
 * on the runs, is padded a little on each side, and its ticks fall on round local times (10 min, 1 h, a day, a week,
 * the 1st and the 16th, a month).
 */

/** The shortest window the axis shows: one run, or runs minutes apart, sit in an hour around them. */
export const MIN_WINDOW_S = 3600;
/** Padding on each side, as a share of the runs' span (a point is never drawn on the chart's edge). */
const PAD_SHARE = 0.05;

/** Round steps up to a week (1 s … 7 d). */
const NICE_STEPS_S = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800,
];

/** A round tick step (1 min, 5 min, 1 h, 2 h, 1 d …) giving at most `max` ticks over `spanS` seconds. */
export function niceStepS(spanS: number, max = 7): number {
  for (const s of NICE_STEPS_S) if (spanS / s <= max) return s;
  return Math.ceil(spanS / max / 86400) * 86400;
}

/** How a tick's date is written: "14:30"; "23 Nov, 14:00"; "23 Nov"; "23 Nov 2025"; "Nov 2025". */
export type TickFormat = 'time' | 'dayTime' | 'day' | 'dayYear' | 'month';

export interface TimeAxis {
  /** the window, seconds since the epoch */
  minS: number;
  maxS: number;
  /** the ticks, seconds since the epoch, inside [minS, maxS], on round local times */
  ticksS: number[];
  /** the step between ticks, s (months: 30 days per month, for information) */
  stepS: number;
  format: TickFormat;
}

/** Minutes east of UTC at an instant (the local time zone's offset; tests pass a fixed one). */
export type UtcOffsetMin = (ms: number) => number;
export const localOffsetMin: UtcOffsetMin = (ms) => -new Date(ms).getTimezoneOffset();

const DAY_S = 86400;
const WEEK_S = 7 * DAY_S;
const MONTH_STEPS = [1, 2, 3, 6, 12, 24, 60];

/**
 * The axis for points at `timesS` (seconds since the epoch), with at most `maxTicks` ticks; undefined when there is no
 * finite time.
 */
export function timeAxis(
  timesS: readonly number[],
  maxTicks = 7,
  offsetMin: UtcOffsetMin = localOffsetMin,
): TimeAxis | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of timesS) {
    if (!Number.isFinite(x)) continue;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (lo > hi) return undefined;
  const max = Math.max(2, Math.floor(maxTicks));
  const span = hi - lo;
  let minS = lo - span * PAD_SHARE;
  let maxS = hi + span * PAD_SHARE;
  if (maxS - minS < MIN_WINDOW_S) {
    const mid = (lo + hi) / 2;
    minS = mid - MIN_WINDOW_S / 2;
    maxS = mid + MIN_WINDOW_S / 2;
  }
  const window = maxS - minS;
  const stepS = niceStepS(window, max);
  // beyond a week, ticks every 9 or 13 days would land on dates that mean nothing: the 1st and the 16th of each
  // month while they fit, else months
  if (stepS > WEEK_S) return halfMonthAxis(minS, maxS, max, offsetMin) ?? monthAxis(minS, maxS, max, offsetMin);
  const ticksS = localTicks(minS, maxS, stepS, offsetMin);
  let format: TickFormat;
  if (stepS < DAY_S) {
    format =
      localDay(ticksS[0] ?? minS, offsetMin) === localDay(ticksS[ticksS.length - 1] ?? maxS, offsetMin)
        ? 'time'
        : 'dayTime';
  } else {
    format = localYear(minS, offsetMin) === localYear(maxS, offsetMin) ? 'day' : 'dayYear';
  }
  return { minS, maxS, ticksS, stepS, format };
}

/**
 * Ticks every `stepS` on round local times (a step of a day or more starts at local midnight). Each tick is placed
 * with the offset at its own time, so a daylight-saving change inside the window keeps the later ticks on midnight.
 */
function localTicks(minS: number, maxS: number, stepS: number, offsetMin: UtcOffsetMin): number[] {
  const out: number[] = [];
  const off0 = offsetMin(minS * 1000) * 60;
  for (let local = Math.ceil((minS + off0) / stepS) * stepS; out.length < 1000; local += stepS) {
    const x = local - offsetMin((local - off0) * 1000) * 60;
    if (x > maxS) break;
    if (x >= minS) out.push(x);
  }
  return out;
}

/** Ticks on the first of every k-th month (local time), for windows of several months or years. */
function monthAxis(minS: number, maxS: number, max: number, offsetMin: UtcOffsetMin): TimeAxis {
  const months = (maxS - minS) / (30.44 * DAY_S);
  const k = MONTH_STEPS.find((m) => months / m <= max) ?? Math.ceil(months / max / 12) * 12;
  const ticksS = calendarTicks(minS, maxS, offsetMin, k, [1]);
  return { minS, maxS, ticksS, stepS: k * 30 * DAY_S, format: 'month' };
}

/** The 1st and the 16th of each month (local midnight), written as days; undefined when more than `max` ticks. */
function halfMonthAxis(minS: number, maxS: number, max: number, offsetMin: UtcOffsetMin): TimeAxis | undefined {
  if ((maxS - minS) / (15.22 * DAY_S) > max + 1) return undefined;
  const ticksS = calendarTicks(minS, maxS, offsetMin, 1, [1, 16]);
  if (ticksS.length > max || ticksS.length < 2) return undefined;
  const format = localYear(minS, offsetMin) === localYear(maxS, offsetMin) ? 'day' : 'dayYear';
  return { minS, maxS, ticksS, stepS: 15 * DAY_S, format };
}

/**
 * Local midnights on the given days of every k-th month (months on round multiples: Jan, Apr, Jul, Oct for k = 3)
 * inside [minS, maxS], each placed with the offset at its own time.
 */
function calendarTicks(minS: number, maxS: number, offsetMin: UtcOffsetMin, k: number, days: number[]): number[] {
  const start = new Date((minS + offsetMin(minS * 1000) * 60) * 1000);
  let y = start.getUTCFullYear();
  let m = Math.floor(start.getUTCMonth() / k) * k; // the round month at or before minS
  const ticksS: number[] = [];
  for (let guard = 0; guard < 1000; guard++) {
    y += Math.floor(m / 12);
    m %= 12;
    for (const d of days) {
      const localS = Date.UTC(y, m, d) / 1000;
      const x = localS - offsetMin(localS * 1000) * 60;
      if (x > maxS) return ticksS;
      if (x >= minS) ticksS.push(x);
    }
    m += k;
  }
  return ticksS;
}

function localDay(s: number, offsetMin: UtcOffsetMin): number {
  return Math.floor((s + offsetMin(s * 1000) * 60) / DAY_S);
}

function localYear(s: number, offsetMin: UtcOffsetMin): number {
  return new Date((s + offsetMin(s * 1000) * 60) * 1000).getUTCFullYear();
}
