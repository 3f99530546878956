import * as assert from 'node:assert/strict';
import { decimateSamples, stepEnergyJ } from '../../src/core/history/decimate';
import type { Sample } from '../../src/core/types';
import { rng } from '../helpers/random';

/** A 10 h training run at 1 Hz: warm-up, epochs with evaluation dips, noise, a stall, a time-varying intensity. */
function tenHourRun(): Sample[] {
  const r = rng(42);
  const t0 = Date.UTC(2026, 10, 23, 21, 0, 0);
  const out: Sample[] = [];
  for (let i = 0; i < 36000; i++) {
    const epochPhase = (i % 1800) / 1800;
    const evaluating = epochPhase > 0.9;
    const warm = Math.min(1, i / 300);
    const stalled = i > 20000 && i < 20600;
    const gpuW = stalled ? 25 : (evaluating ? 140 : 290) * warm + 20 * r();
    const cpuW = 35 + 15 * r() + (evaluating ? 20 : 0);
    const ramW = 4 + 0.5 * Math.sin(i / 500);
    const gPerKWh = 40 + 30 * Math.sin((2 * Math.PI * i) / 36000);
    out.push({ t: t0 + i * 1000 + Math.round(40 * r()), cpuW, gpuW, ramW, gPerKWh });
  }
  return out;
}

function trapezoidJ(s: Sample[]): number {
  let j = 0;
  for (let i = 1; i < s.length; i++) {
    const a = s[i - 1].cpuW + s[i - 1].gpuW + s[i - 1].ramW;
    const b = s[i].cpuW + s[i].gpuW + s[i].ramW;
    j += ((a + b) / 2) * ((s[i].t - s[i - 1].t) / 1000);
  }
  return j;
}

/** Σ energy × intensity (J·g/kWh) over the step series. */
function emissionsWeight(s: Sample[]): number {
  let x = 0;
  for (let i = 1; i < s.length; i++) {
    x += (s[i].cpuW + s[i].gpuW + s[i].ramW) * ((s[i].t - s[i - 1].t) / 1000) * (s[i].gPerKWh ?? 0);
  }
  return x;
}

function perComponentJ(s: Sample[], key: 'cpuW' | 'gpuW' | 'ramW'): number {
  let j = 0;
  for (let i = 1; i < s.length; i++) j += s[i][key] * ((s[i].t - s[i - 1].t) / 1000);
  return j;
}

describe('decimateSamples', () => {
  it('brings a 10 h run at 1 Hz (36,000 samples) to at most 2,000 points, preserving the energy integral', () => {
    const raw = tenHourRun();
    const kept = decimateSamples(raw, 2000);
    assert.ok(kept.length <= 2000, `${kept.length} points`);
    assert.ok(kept.length >= 1900, `uses the budget (${kept.length} points)`);

    // first and last points kept as they are
    assert.deepEqual(kept[0], raw[0]);
    assert.deepEqual(kept[kept.length - 1], raw[raw.length - 1]);
    for (let i = 1; i < kept.length; i++) assert.ok(kept[i].t > kept[i - 1].t, 'times strictly increase');

    // the step integral (what the meter integrates) is preserved exactly, per component too
    const rel = (a: number, b: number) => Math.abs(a - b) / b;
    assert.ok(rel(stepEnergyJ(kept), stepEnergyJ(raw)) < 1e-9);
    for (const k of ['cpuW', 'gpuW', 'ramW'] as const)
      assert.ok(rel(perComponentJ(kept, k), perComponentJ(raw, k)) < 1e-9);
    // a chart's trapezoid integral stays within 1 %
    assert.ok(
      rel(trapezoidJ(kept), trapezoidJ(raw)) < 0.01,
      `trapezoid off by ${rel(trapezoidJ(kept), trapezoidJ(raw))}`,
    );
    // intensity is energy-weighted, so energy × intensity (the emissions) is preserved too
    assert.ok(rel(emissionsWeight(kept), emissionsWeight(raw)) < 1e-9);

    // the stall (25 W GPU for 10 minutes) is still visible
    const stallT = raw[20300].t;
    const near = kept.reduce((best, s) => (Math.abs(s.t - stallT) < Math.abs(best.t - stallT) ? s : best));
    assert.ok(near.gpuW < 40, `stall visible (${near.gpuW} W)`);
  });

  it('decimating again (a long run compacted along the way) still preserves the integral', () => {
    const raw = tenHourRun();
    const once = decimateSamples(raw.slice(0, 18000), 2000);
    const twice = decimateSamples([...once, ...raw.slice(18000)], 2000);
    assert.ok(twice.length <= 2000);
    assert.ok(Math.abs(stepEnergyJ(twice) - stepEnergyJ(raw)) / stepEnergyJ(raw) < 1e-9);
    // equal time buckets: the first half is not starved of points
    const mid = raw[18000].t;
    const firstHalf = twice.filter((s) => s.t < mid).length;
    assert.ok(firstHalf > 800 && firstHalf < 1200, `${firstHalf} points in the first half`);
  });

  it('returns a copy when there is nothing to do, and handles tiny limits and odd input', () => {
    const s: Sample[] = [
      { t: 3000, cpuW: 3, gpuW: 0, ramW: 1 },
      { t: 1000, cpuW: 1, gpuW: 0, ramW: 1 },
      { t: 2000, cpuW: 2, gpuW: 0, ramW: 1, gPerKWh: 50 },
    ];
    const same = decimateSamples(s, 10);
    assert.deepEqual(same, s);
    assert.notEqual(same[0], s[0]);
    const two = decimateSamples(s, 2);
    assert.deepEqual(
      two.map((x) => [x.t, x.cpuW]),
      [
        [1000, 1],
        [3000, 2.5],
      ],
    );
    assert.equal(stepEnergyJ(two), stepEnergyJ([...s].sort((a, b) => a.t - b.t)));
    assert.deepEqual(decimateSamples([], 5), []);
    // all samples at the same time: buckets by index, plain means
    const flat = Array.from({ length: 10 }, (_, i) => ({ t: 0, cpuW: i, gpuW: 0, ramW: 0 }));
    const d = decimateSamples(flat, 4);
    assert.equal(d.length, 4);
    assert.equal(d[0].cpuW, 0);
    assert.equal(d[3].cpuW, 9);
    assert.equal(d[1].cpuW + d[2].cpuW, (1 + 2 + 3 + 4) / 4 + (5 + 6 + 7 + 8) / 4);
  });

  it("a bucket's power is the time-weighted mean of its samples", () => {
    // one bucket between first and last: 1 s at 10 W then 3 s at 30 W → 25 W over 4 s
    const s: Sample[] = [
      { t: 0, cpuW: 0, gpuW: 0, ramW: 0 },
      { t: 1000, cpuW: 10, gpuW: 0, ramW: 0, gPerKWh: 100 },
      { t: 4000, cpuW: 30, gpuW: 0, ramW: 0, gPerKWh: 20 },
      { t: 4001, cpuW: 0, gpuW: 0, ramW: 0 },
    ];
    const d = decimateSamples(s, 3);
    assert.equal(d.length, 3);
    assert.equal(d[1].t, 4000);
    assert.equal(d[1].cpuW, 25);
    // energy-weighted intensity: (10·1·100 + 30·3·20) / (10 + 90) = 28
    assert.equal(d[1].gPerKWh, 28);
  });
});
