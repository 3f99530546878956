/**
 * Bounded power series for charts.
 *
 * A sample's power is the mean over the interval since the previous sample, (tᵢ₋₁, tᵢ] (that is how the meter
 * produces them: energy between two ticks ÷ the time between them). Decimation cuts the time span into equal
 * buckets and replaces the samples of a bucket with one point at the bucket's last sample time whose power is
 * the time-weighted mean of the bucket: Σ Pᵢ·Δtᵢ / Σ Δtᵢ. The intervals of the output points are then exactly the
 * union of the intervals they replace, so the energy ∫P dt of the step series is preserved exactly (and the
 * trapezoid integral within a fraction of a percent). The intensity of a bucket is energy-weighted, so
 * Σ energy × intensity is preserved too. The first and the last sample are kept as they are (with `max` = 2, the
 * last point becomes the mean of everything after the first).
 *
 * Decimating an already decimated series is safe: points that stand for long intervals weigh accordingly, and equal
 * time buckets keep the resolution even over the run.
 */
import type { Sample } from '../types';

export const DEFAULT_MAX_SAMPLES = 2000;

export function decimateSamples(samples: Sample[], max: number = DEFAULT_MAX_SAMPLES): Sample[] {
  const n = samples.length;
  const limit = Math.max(2, Math.floor(Number.isFinite(max) ? max : DEFAULT_MAX_SAMPLES));
  if (n <= limit) return samples.map((s) => ({ ...s }));
  const sorted = isSorted(samples) ? samples : [...samples].sort((a, b) => a.t - b.t);

  const first = sorted[0];
  const last = sorted[n - 1];
  const buckets = limit - 2;
  const out: Sample[] = [{ ...first }];
  if (buckets === 0) {
    // two points: the last one stands for everything after the first
    const all = new Acc();
    for (let i = 1; i < n; i++) all.add(sorted[i], Math.max(0, sorted[i].t - sorted[i - 1].t));
    out.push(all.point());
    return out;
  }
  const t0 = first.t;
  const span = last.t - t0;

  let acc = new Acc();
  let current = -1;
  for (let i = 1; i < n - 1; i++) {
    const s = sorted[i];
    // bucket by time; all-equal times (a degenerate series) fall back to buckets by index
    const k =
      span > 0
        ? Math.min(buckets - 1, Math.max(0, Math.floor(((s.t - t0) / span) * buckets)))
        : Math.floor(((i - 1) * buckets) / (n - 2));
    if (k !== current && acc.count > 0) {
      out.push(acc.point());
      acc = new Acc();
    }
    current = k;
    acc.add(s, Math.max(0, s.t - sorted[i - 1].t));
  }
  if (acc.count > 0) out.push(acc.point());
  out.push({ ...last });
  return out;
}

function isSorted(s: Sample[]): boolean {
  for (let i = 1; i < s.length; i++) if (s[i].t < s[i - 1].t) return false;
  return true;
}

class Acc {
  count = 0;
  private t = 0;
  private dt = 0;
  private cpu = 0;
  private gpu = 0;
  private ram = 0;
  // plain sums, for buckets whose samples all have Δt = 0
  private cpu0 = 0;
  private gpu0 = 0;
  private ram0 = 0;
  // intensity: weighted by energy, else by time, else plain
  private gE = 0;
  private gEw = 0;
  private gT = 0;
  private gTw = 0;
  private g0 = 0;
  private g0n = 0;

  add(s: Sample, dt: number): void {
    this.count++;
    this.t = s.t;
    this.dt += dt;
    this.cpu += s.cpuW * dt;
    this.gpu += s.gpuW * dt;
    this.ram += s.ramW * dt;
    this.cpu0 += s.cpuW;
    this.gpu0 += s.gpuW;
    this.ram0 += s.ramW;
    if (s.gPerKWh !== undefined && Number.isFinite(s.gPerKWh)) {
      const e = (s.cpuW + s.gpuW + s.ramW) * dt;
      this.gE += s.gPerKWh * e;
      this.gEw += e;
      this.gT += s.gPerKWh * dt;
      this.gTw += dt;
      this.g0 += s.gPerKWh;
      this.g0n++;
    }
  }

  point(): Sample {
    const p: Sample =
      this.dt > 0
        ? { t: this.t, cpuW: this.cpu / this.dt, gpuW: this.gpu / this.dt, ramW: this.ram / this.dt }
        : { t: this.t, cpuW: this.cpu0 / this.count, gpuW: this.gpu0 / this.count, ramW: this.ram0 / this.count };
    if (this.g0n > 0) {
      p.gPerKWh = this.gEw > 0 ? this.gE / this.gEw : this.gTw > 0 ? this.gT / this.gTw : this.g0 / this.g0n;
    }
    return p;
  }
}

/** ∫ (cpu + gpu + ram) dt of a step series, in joules (W·s): sample i holds over (tᵢ₋₁, tᵢ]. */
export function stepEnergyJ(samples: Sample[]): number {
  let j = 0;
  for (let i = 1; i < samples.length; i++) {
    const s = samples[i];
    j += (s.cpuW + s.gpuW + s.ramW) * ((s.t - samples[i - 1].t) / 1000);
  }
  return j;
}
