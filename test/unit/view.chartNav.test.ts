/** The charts' keyboard path (core/view/chartNav.ts): the next point for a key, the visiting order, what is announced. */
import * as assert from 'node:assert/strict';
import { untranslated } from '../../src/core/advice/text';
import {
  describeIntensityPoint,
  describePowerPoint,
  describeRunPoint,
  nextPointIndex,
  PAGE_POINTS,
  runsChartOrder,
  type PointLabels,
} from '../../src/core/view/chartNav';
import { powerSeries, runsChart } from '../../src/core/view/series';
import { makeRun } from '../helpers/history-runs';

describe('chart keyboard path (core/view/chartNav)', () => {
  describe('nextPointIndex', () => {
    it('arrows move by one and stop at the ends', () => {
      assert.equal(nextPointIndex('ArrowRight', 0, 5), 1);
      assert.equal(nextPointIndex('ArrowDown', 3, 5), 4);
      assert.equal(nextPointIndex('ArrowRight', 4, 5), 4);
      assert.equal(nextPointIndex('ArrowLeft', 2, 5), 1);
      assert.equal(nextPointIndex('ArrowUp', 0, 5), 0);
    });

    it('Home and End go to the first and the last point; PageUp/PageDown move by a page', () => {
      assert.equal(nextPointIndex('Home', 3, 5), 0);
      assert.equal(nextPointIndex('End', 0, 5), 4);
      assert.equal(nextPointIndex('PageDown', 0, 50), PAGE_POINTS);
      assert.equal(nextPointIndex('PageDown', 45, 50), 49);
      assert.equal(nextPointIndex('PageUp', 5, 50), 0);
    });

    it('with no point focused yet, forward keys start at the first point, backward keys at the last', () => {
      assert.equal(nextPointIndex('ArrowRight', -1, 5), 0);
      assert.equal(nextPointIndex('ArrowLeft', -1, 5), 4);
      assert.equal(nextPointIndex('PageUp', -1, 5), 4);
      assert.equal(nextPointIndex('ArrowRight', 9, 5), 0, 'an index past the data (the data shrank) restarts');
    });

    it('other keys, and an empty chart, leave the focus where it is (undefined: the browser handles the key)', () => {
      for (const key of ['Tab', 'Enter', ' ', 'a', 'Escape']) assert.equal(nextPointIndex(key, 2, 5), undefined, key);
      assert.equal(nextPointIndex('ArrowRight', -1, 0), undefined);
    });
  });

  const t0 = Date.UTC(2026, 10, 20, 9);
  const runs = [
    makeRun(
      { name: 'bert-base-finetune', source: 'terminal', emissionsKg: 0.0012 },
      { startedAt: new Date(t0 + 3600_000) },
    ),
    makeRun({ name: 'resnet50', source: 'debug', emissionsKg: 0.25 }, { startedAt: new Date(t0) }),
    makeRun({ name: 'late', source: 'terminal', emissionsKg: 1.5 }, { startedAt: new Date(t0 + 7200_000) }),
  ];
  const labels: PointLabels = {
    t: untranslated,
    source: (s) => `<${s}>`,
    when: (ms) => new Date(ms).toISOString(),
  };

  it('visits the runs chart by start time across sources', () => {
    const chart = runsChart(runs);
    const order = runsChartOrder(chart);
    assert.equal(order.length, 3);
    const names = order.map((p) => chart.series[p.series].name[p.index]);
    assert.deepEqual(names, ['resnet50', 'bert-base-finetune', 'late']);
  });

  it('announces a run point as the tooltip shows it: name, CO₂eq, source, date, and its position', () => {
    const chart = runsChart(runs);
    const order = runsChartOrder(chart);
    assert.equal(
      describeRunPoint(chart, order[1], 1, order.length, labels),
      `2 of 3: bert-base-finetune; 1.2 g CO₂eq; <terminal>; started ${new Date(t0 + 3600_000).toISOString()}`,
    );
    assert.equal(describeRunPoint(chart, { series: 9, index: 0 }, 0, 3, labels), '', 'no such point: nothing');
  });

  it('announces a power sample and an intensity sample with their time into the run', () => {
    const run = makeRun({}, { startedAt: new Date(t0), durationS: 120 });
    const samples = [
      { t: t0 + 60_000, cpuW: 80, gpuW: 250, ramW: 10, gPerKWh: 300 },
      { t: t0 + 120_000, cpuW: 90, gpuW: 240, ramW: 10, gPerKWh: 200 },
    ];
    const p = powerSeries(run, samples)!;
    const text = describePowerPoint(p, 1, untranslated);
    assert.match(text, /^at 2 min: CPU 90 W, GPU 240 W, RAM 10 W; [\d.]+ (mg|g) CO₂eq so far$/u, text);
    assert.equal(describePowerPoint(p, 2, untranslated), '');
    assert.match(describeIntensityPoint(p.t, [300, 200], 0, untranslated), /^at 1 min: 300 gCO₂eq\/kWh$/u);
  });
});
