/** A run's figures as the advice needs them. */
import type { Run } from '../types';

/** Safe figure: a non-finite or negative value (a damaged record) counts as 0. */
export function nonNegative(x: number): number {
  return Number.isFinite(x) && x > 0 ? x : 0;
}

/**
 * A run's energy before PUE (what the hardware drew): the sum of its components, or total ÷ PUE when the record has
 * no per-component energy (some CodeCarbon imports).
 */
export function energyBeforePueKWh(run: Run): number {
  const parts = nonNegative(run.energyKWh.cpu) + nonNegative(run.energyKWh.gpu) + nonNegative(run.energyKWh.ram);
  if (parts > 0) return parts;
  const pue = run.pue > 0 ? run.pue : 1;
  return nonNegative(run.energyKWh.total) / pue;
}
