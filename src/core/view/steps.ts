/** Step charts of per-interval values (the run's power, its intensity): how their points are laid out. */

/**
 * The points of a step chart of per-interval values, for Chart.js's `stepped: 'after'` (the segment from point i-1 to
 * point i is drawn at point i's value). Each sample's time is the END of the interval it measured, so the value of
 * point i belongs to (t[i-1], t[i]]; a first point at 0 (the run's start) carries the first interval's value, so
 * 0 → t[0] is drawn with the first sample rather than left blank. `atStart` replaces that value (0 for a cumulative
 * line, which rises from nothing).
 */
export function stepPoints(
  t: readonly number[],
  values: readonly number[],
  atStart?: number,
): { x: number; y: number }[] {
  const out = t.map((x, i) => ({ x, y: values[i] }));
  if (startPoints(t)) out.unshift({ x: 0, y: atStart ?? values[0] });
  return out;
}

/** How many points `stepPoints` puts before the first sample (1: the run's start, when the first sample is later). */
export function startPoints(t: readonly number[]): 0 | 1 {
  return t.length && t[0] > 0 ? 1 : 0;
}

/** How a step chart of `stepPoints` is drawn (see there): each segment takes the value of its end point. */
export const STEP_MODE = 'after' as const;
