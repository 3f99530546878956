/** The run's power chart draws each interval with its own sample (core/view/steps.ts). */
import * as assert from 'node:assert/strict';
import { powerSeries } from '../../src/core/view/series';
import { STEP_MODE, stepPoints } from '../../src/core/view/steps';
import { makeRun } from '../helpers/history-runs';

/**
 * The value a Chart.js stepped line shows at x (strictly inside a segment), as Chart.js draws it: for 'after' it goes
 * from the previous point vertically to the target's y, then across (helpers.canvas _steppedLineTo); for 'before'
 * across at the previous y first.
 */
function drawnAt(points: { x: number; y: number }[], x: number, mode: 'before' | 'after'): number | undefined {
  for (let i = 1; i < points.length; i++) {
    if (x > points[i - 1].x && x < points[i].x) return mode === 'after' ? points[i].y : points[i - 1].y;
  }
  return undefined;
}

describe('power chart steps (core/view/steps)', () => {
  const t0 = Date.UTC(2026, 10, 26, 8);
  const run = makeRun({}, { startedAt: new Date(t0), durationS: 3 });
  // sampled at the END of each second: 0–1 s at 10 W, 1–2 s at 20 W, 2–3 s at 0 W (the process had ended)
  const samples = [
    { t: t0 + 1000, cpuW: 10, gpuW: 0, ramW: 0 },
    { t: t0 + 2000, cpuW: 20, gpuW: 0, ramW: 0 },
    { t: t0 + 3000, cpuW: 0, gpuW: 0, ramW: 0 },
  ];

  it('draws 0–1 s with the sample measured over 0–1 s, and the last interval with the last sample', () => {
    const p = powerSeries(run, samples)!;
    const pts = stepPoints(p.t, p.cpuW);
    assert.equal(drawnAt(pts, 0.5, STEP_MODE), 10);
    assert.equal(drawnAt(pts, 1.5, STEP_MODE), 20);
    assert.equal(drawnAt(pts, 2.5, STEP_MODE), 0, 'no power where the CO₂eq line is flat');
    // the CO₂eq line rises exactly where power is drawn
    const co2 = stepPoints(p.t, p.co2Kg, 0);
    assert.equal(co2[0].y, 0);
    assert.ok(co2[1].y > 0 && co2[2].y > co2[1].y);
    assert.equal(co2[3].y, co2[2].y);
    // the old drawing ('before' without the start point) was one sample late
    const old = p.t.map((x, i) => ({ x, y: p.cpuW[i] }));
    assert.equal(drawnAt(old, 0.5, 'before'), undefined);
    assert.equal(drawnAt(old, 1.5, 'before'), 10);
  });

  it('adds no start point when the first sample is at the start, and nothing for no points', () => {
    assert.deepEqual(stepPoints([0, 1], [5, 6]), [
      { x: 0, y: 5 },
      { x: 1, y: 6 },
    ]);
    assert.deepEqual(stepPoints([], []), []);
  });
});
