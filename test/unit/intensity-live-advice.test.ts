/**
 * Greener-time advice from a forecast: the best start (lowest rolling mean over the run, weighted by its power
 * profile), pausing above a threshold for long runs, and whether now is a high-intensity period.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  bestStartTime,
  coarsen,
  formatPauseTip,
  formatStartTimeTip,
  greenerTimeForRun,
  IntensityCurve,
  intensityLevel,
  pauseAboveThreshold,
  profileEnergyKWh,
  profileFromRun,
  profileFromSamples,
  type PowerSegment,
} from '../../src/core/advice/greenerTime';
import { UkCarbonIntensityProvider, type IntensityPoint } from '../../src/core/intensity/live';
import { resolveRegion } from '../../src/core/intensity/regions';
import { IntensityServer } from '../helpers/intensityServer';

const HOUR = 3_600_000;
const HALF = 1_800_000;
const T0 = Date.UTC(2025, 2, 10, 12, 0); // a Monday, 12:00 UTC

function halfHours(values: number[], from = T0): IntensityPoint[] {
  return values.map((g, i) => ({ fromMs: from + i * HALF, toMs: from + (i + 1) * HALF, gPerKWh: g }));
}

/** Deterministic pseudo-random values (LCG). */
function series(n: number, seed: number): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return 50 + (x % 400);
  });
}

describe('advice/greenerTime', () => {
  it('a constant-power run starts where the forecast dips; the saving is exact', () => {
    // 48 h: 300 g/kWh, except 80 g/kWh from 15:00 to 17:00 (periods 6–9)
    const values = Array.from({ length: 96 }, (_, i) => (i >= 6 && i < 10 ? 80 : 300));
    const profile: PowerSegment[] = [{ durationS: 7200, powerW: 500 }];
    const a = bestStartTime(halfHours(values), profile, { nowMs: T0, horizonH: 24 })!;
    assert.equal(a.startMs, T0 + 3 * HOUR);
    assert.equal(a.endMs, T0 + 5 * HOUR);
    assert.equal(a.startsNow, false);
    assert.equal(a.energyKWh, 1);
    assert.ok(Math.abs(a.nowEmissionsKg - 0.3) < 1e-12);
    assert.ok(Math.abs(a.emissionsKg - 0.08) < 1e-12);
    assert.ok(Math.abs(a.savingFraction - (1 - 80 / 300)) < 1e-12);
    assert.equal(a.meanGPerKWh, 80);
    assert.equal(formatStartTimeTip(a, T0, 'UTC'), 'start at 15:00: −73 %');
    assert.equal(formatStartTimeTip(a, T0, 'Europe/Paris'), 'start at 16:00: −73 %');
  });

  it('is the lowest rolling mean of the forecast over the run, found exactly (brute force agrees)', () => {
    for (const seed of [1, 7, 42, 2025]) {
      const pts = halfHours(series(96, seed));
      const durationS = 5400 + seed; // not a multiple of the period
      const a = bestStartTime(pts, [{ durationS, powerW: 300 }], { nowMs: T0 + 7 * 60_000, horizonH: 24 })!;
      const curve = new IntensityCurve(pts);
      let best = Infinity;
      // every start on a 10-second grid
      for (
        let s = T0 + 7 * 60_000;
        s <= T0 + 7 * 60_000 + 24 * HOUR && s + durationS * 1000 <= curve.coveredUntilMs;
        s += 10_000
      ) {
        best = Math.min(best, curve.integral(s, s + durationS * 1000)! / (durationS * 1000));
      }
      assert.ok(a.meanGPerKWh <= best + 1e-9, `seed ${seed}: ${a.meanGPerKWh} vs grid ${best}`);
      // a start moved by ≤ 10 s changes the mean by ≤ 2 × 450 g/kWh × 10 s / duration < 2 g/kWh
      assert.ok(a.meanGPerKWh >= best - 2, 'and no better than the grid allows: the exact minimum');
      const exact = curve.integral(a.startMs, a.endMs)! / (durationS * 1000);
      assert.ok(Math.abs(exact - a.meanGPerKWh) < 1e-9);
    }
  });

  it('the power profile matters: a run that draws most at its start is placed to start in the dip', () => {
    // 1 h at 100 g/kWh (13:00–14:00) in 500 g/kWh elsewhere
    const values = Array.from({ length: 48 }, (_, i) => (i === 2 || i === 3 ? 100 : 500));
    const pts = halfHours(values);
    const frontLoaded: PowerSegment[] = [
      { durationS: 3600, powerW: 1000 },
      { durationS: 3600, powerW: 100 },
    ];
    const backLoaded = [...frontLoaded].reverse();
    const a = bestStartTime(pts, frontLoaded, { nowMs: T0 })!;
    const b = bestStartTime(pts, backLoaded, { nowMs: T0 })!;
    assert.equal(a.startMs, T0 + HOUR);
    assert.equal(b.startMs, T0);
    assert.ok(b.startsNow);
    assert.equal(b.savingFraction, 0);
    assert.equal(formatStartTimeTip(b, T0, 'UTC'), 'now is the cleanest time to start in the next 24 h');
    // energy-weighted: 1 kWh at 100 + 0.1 kWh at 500
    assert.ok(Math.abs(a.emissionsKg - (1 * 100 + 0.1 * 500) / 1000) < 1e-12);
  });

  it('starts only within the horizon, and only where the forecast covers the whole run', () => {
    const values = Array.from({ length: 96 }, (_, i) => (i === 80 ? 10 : 300)); // the dip is 40 h ahead
    const pts = halfHours(values);
    const short = bestStartTime(pts, [{ durationS: 1800, powerW: 100 }], { nowMs: T0, horizonH: 24 })!;
    assert.ok(short.startsNow, 'the dip is beyond 24 h');
    const long = bestStartTime(pts, [{ durationS: 1800, powerW: 100 }], { nowMs: T0, horizonH: 48 })!;
    assert.equal(long.startMs, T0 + 40 * HOUR);
    assert.equal(formatStartTimeTip(long, T0, 'UTC'), 'start at Wed 04:00: −97 %');
    assert.equal(
      bestStartTime(pts, [{ durationS: 49 * 3600, powerW: 100 }], { nowMs: T0 }),
      undefined,
      'longer than the forecast',
    );
    assert.equal(
      bestStartTime(
        pts.filter((_, i) => i !== 3),
        [{ durationS: 3 * 3600, powerW: 100 }],
        { nowMs: T0, horizonH: 1 },
      ),
      undefined,
      'a gap',
    );
  });

  it('pause above a threshold for a long run: the cleanest periods within twice its duration', () => {
    // hourly alternation 100 / 500 for 8 h
    const values = Array.from({ length: 16 }, (_, i) => (Math.floor(i / 2) % 2 === 0 ? 100 : 500));
    const pts = halfHours(values);
    const profile = [{ durationS: 4 * 3600, powerW: 250 }]; // 1 kWh
    const p = pauseAboveThreshold(pts, profile, { nowMs: T0 })!;
    assert.equal(p.thresholdGPerKWh, 100);
    assert.deepEqual(
      p.schedule.map((s) => [(s.fromMs - T0) / HOUR, (s.toMs - T0) / HOUR]),
      [
        [0, 1],
        [2, 3],
        [4, 5],
        [6, 7],
      ],
    );
    assert.equal(p.finishMs, T0 + 7 * HOUR);
    assert.equal(p.pausedS, 3 * 3600);
    assert.ok(Math.abs(p.nowEmissionsKg - 0.3) < 1e-12); // straight: 2 h at 100 + 2 h at 500, 0.25 kWh each
    assert.ok(Math.abs(p.emissionsKg - 0.1) < 1e-12);
    assert.ok(Math.abs(p.savingFraction - 2 / 3) < 1e-12);
    assert.equal(formatPauseTip(p, T0, 'UTC'), 'pause while above 100 g/kWh: −67 %, finishing 19:00');
    assert.equal(
      pauseAboveThreshold(pts, [{ durationS: 1800, powerW: 250 }], { nowMs: T0 }),
      undefined,
      'short runs are not paused',
    );
    assert.equal(
      pauseAboveThreshold(pts, [{ durationS: 9 * 3600, powerW: 250 }], { nowMs: T0 }),
      undefined,
      'the forecast is too short',
    );
  });

  it('profiles: from a run (mean power incl. PUE) and from samples, coarsened without losing energy', () => {
    assert.deepEqual(profileFromRun({ durationS: 7200, energyKWh: { total: 2 } }), [{ durationS: 7200, powerW: 1000 }]);
    const samples = Array.from({ length: 500 }, (_, i) => ({
      t: T0 + (i + 1) * 1000,
      cpuW: 10 + (i % 7),
      gpuW: i % 3 === 0 ? 200 : 150,
      ramW: 3,
    }));
    const prof = profileFromSamples(samples, T0, 1.5, 48);
    assert.equal(prof.length, 48);
    const exact = samples.reduce((e, s) => e + ((s.cpuW + s.gpuW + s.ramW) * 1.5) / 3.6e6, 0);
    assert.ok(Math.abs(profileEnergyKWh(prof) - exact) < 1e-12);
    assert.ok(Math.abs(prof.reduce((d, s) => d + s.durationS, 0) - 500) < 1e-9);
    assert.deepEqual(coarsen([{ durationS: 1, powerW: 1 }], 4), [{ durationS: 1, powerW: 1 }]);
  });

  it('high-intensity periods: the operator’s band, WattTime’s percentile, else the forecast', () => {
    assert.equal(intensityLevel({ currentGPerKWh: 250, nowMs: T0, index: 'very high' })?.level, 'high');
    assert.equal(intensityLevel({ currentGPerKWh: 250, nowMs: T0, index: 'low' })?.level, 'low');
    assert.equal(intensityLevel({ currentGPerKWh: 250, nowMs: T0, signalIndex: 83 })?.level, 'high');
    assert.equal(intensityLevel({ currentGPerKWh: 250, nowMs: T0, signalIndex: 50 })?.level, 'moderate');
    const pts = halfHours(Array.from({ length: 48 }, (_, i) => 100 + i * 5)); // 100 … 335
    const high = intensityLevel({ currentGPerKWh: 320, nowMs: T0, forecast: pts })!;
    assert.equal(high.level, 'high');
    assert.match(high.reason, /of the next 24 h is forecast cleaner/);
    assert.equal(intensityLevel({ currentGPerKWh: 105, nowMs: T0, forecast: pts })?.level, 'low');
    assert.equal(intensityLevel({ currentGPerKWh: 220, nowMs: T0, forecast: pts })?.level, 'moderate');
    assert.equal(intensityLevel({ currentGPerKWh: 220, nowMs: T0 }), undefined);
  });

  it('for a run, through a live provider’s forecast (GB, 48 h from the local server)', async () => {
    const server = await IntensityServer.start();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-advice-'));
    try {
      const now = Date.now();
      const dipStart = Math.floor(now / HALF) * HALF + 20 * HALF;
      server.intensityAt = (t) => (t >= dipStart && t < dipStart + 2 * HALF ? 40 : 260);
      const provider = new UkCarbonIntensityProvider({ cacheDir: dir, baseUrl: server.url });
      const r = await greenerTimeForRun(provider, resolveRegion('GB'), [{ durationS: 3600, powerW: 400 }], now);
      assert.equal(r.kind, 'tips');
      if (r.kind !== 'tips') return;
      assert.equal(r.start.startMs, dipStart);
      assert.ok(Math.abs(r.start.savingFraction - (1 - 40 / 260)) < 1e-9);
      assert.equal(r.start.horizonH, 48);
      assert.equal(r.pause?.thresholdGPerKWh, 260, 'a 1 h run in a 2 h window without the dip pauses nothing');
      assert.equal(r.factorType, 'average');
      assert.equal(server.count('uk.national'), 1);
      const fr = await greenerTimeForRun(provider, resolveRegion('FR'), [{ durationS: 3600, powerW: 400 }], now);
      assert.equal(fr.kind, 'unavailable');
      assert.match(fr.kind === 'unavailable' ? fr.reason : '', /Great Britain only/);
    } finally {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
