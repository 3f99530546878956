import { strict as assert } from 'node:assert';
import { ProgressParser } from '../../src/core/forecast/progress';
import { naiveForecastKWh, RunForecaster } from '../../src/core/forecast/forecaster';
import { BudgetWatch, monthUsedKg, runLimitG } from '../../src/core/forecast/budget';
import { rng } from '../helpers/random';

/**
 * A simulated run on a controlled clock: a set-up phase, then equal epochs, a meter reading every `tickS`, the
 * power jittering around `powerW`. The workload prints its progress (`lines(k)` after epoch k) at the exact time.
 */
function simulate(opts: {
  setupS: number;
  epochs: number;
  epochS: number;
  tickS: number;
  powerW: number;
  jitter: number;
  print: (k: number, n: number) => string;
  /** give the forecaster the run's start (t = 0), as the CLI and the extension do */
  withStart?: boolean;
}) {
  const r = rng(7);
  const parser = new ProgressParser();
  const fc = new RunForecaster();
  const endS = opts.setupS + opts.epochs * opts.epochS;
  const events: { t: number; kind: 'tick' | 'print'; k?: number }[] = [];
  for (let t = opts.tickS; t < endS + opts.tickS; t += opts.tickS) events.push({ t: Math.min(t, endS), kind: 'tick' });
  events.push({ t: opts.setupS, kind: 'print', k: 0 });
  for (let k = 1; k <= opts.epochs; k++) events.push({ t: opts.setupS + k * opts.epochS, kind: 'print', k });
  events.sort((a, b) => a.t - b.t || (a.kind === 'print' ? -1 : 1));
  let energyKWh = 0;
  let lastT = 0;
  const forecasts: { progress: number; predictedKWh: number; energyAtProgress: number }[] = [];
  for (const e of events) {
    if (e.kind === 'print') {
      const u = parser.push(opts.print(e.k!, opts.epochs));
      if (u) fc.observeProgress(e.t * 1000, u.fraction, u.label);
      continue;
    }
    const w = opts.powerW * (1 + opts.jitter * (r() * 2 - 1));
    energyKWh += (w * (e.t - lastT)) / 3.6e6;
    lastT = e.t;
    const f = fc.observeEnergy({
      t: e.t * 1000,
      energyKWh,
      emissionsKg: energyKWh * 0.4,
      ...(opts.withStart && { startT: 0 }),
    });
    if (f) forecasts.push({ progress: f.progress, predictedKWh: f.predictedKWh, energyAtProgress: f.energyKWh });
  }
  return { finalKWh: energyKWh, forecasts, series: fc.series };
}

const formats: Record<string, (k: number, n: number) => string> = {
  'plain epoch lines': (k, n) => (k ? `epoch ${k}/${n} loss=${(1 / k).toFixed(3)}\n` : 'data loaded\n'),
  'Keras headers': (k, n) =>
    k < n
      ? `${k ? '\r32/32 [==============================] - 1s - loss: 0.3\n' : ''}Epoch ${k + 1}/${n}\n`
      : '\r32/32 [==============================] - 1s - loss: 0.3\n',
  'a tqdm bar over all steps': (k, n) =>
    `\r${k * 10}%|${'█'.repeat(k)}${' '.repeat(n - k)}| ${k * 100}/${n * 100} [00:0${k}<00:10, 9.87it/s]`,
};

describe('forecaster', () => {
  for (const [name, print] of Object.entries(formats)) {
    it(`one-second set-up and ten equal epochs (${name}): the first forecast at 20–40 % is within 10 % of the end`, () => {
      const { finalKWh, forecasts } = simulate({
        setupS: 1,
        epochs: 10,
        epochS: 1,
        tickS: 0.25,
        powerW: 100,
        jitter: 0.15,
        print,
      });
      const first = forecasts.find((f) => f.progress >= 0.2 && f.progress <= 0.4);
      assert.ok(first, `a forecast between 20 and 40 %: ${JSON.stringify(forecasts)}`);
      const err = Math.abs(first.predictedKWh - finalKWh) / finalKWh;
      assert.ok(err <= 0.1, `forecast ${first.predictedKWh} vs final ${finalKWh}: ${(err * 100).toFixed(1)} % off`);
      const naive = naiveForecastKWh(first.energyAtProgress, first.progress)!;
      assert.ok(
        Math.abs(naive - finalKWh) / finalKWh > 0.2,
        'energy ÷ progress is far off on this run (the set-up would distort it)',
      );
    });
  }

  // the CLI samples every 2 s with a GPU and every 10 s without (src/cli/runArgs.ts): the same run shape at each, five
  // readings in the whole run
  for (const [name, print] of Object.entries(formats))
    for (const tickS of [2, 10])
      it(`readings every ${tickS} s (a CLI default), a set-up shorter than a tick (${name}): within 10 % at 20–40 %`, () => {
        // a steadier power than above, so that the start is what the test is about
        const { finalKWh, forecasts } = simulate({
          setupS: tickS / 2,
          epochs: 10,
          epochS: tickS / 2,
          tickS,
          powerW: 100,
          jitter: 0.05,
          print,
          withStart: true,
        });
        const first = forecasts.find((f) => f.progress >= 0.2 && f.progress <= 0.4);
        assert.ok(first, `a forecast between 20 and 40 %: ${JSON.stringify(forecasts)}`);
        const err = Math.abs(first.predictedKWh - finalKWh) / finalKWh;
        assert.ok(err <= 0.1, `forecast ${first.predictedKWh} vs final ${finalKWh}: ${(err * 100).toFixed(1)} % off`);
      });

  it("progress printed before the first reading is interpolated from the run's start", () => {
    const fc = new RunForecaster();
    fc.observeProgress(1000, 0, 'epoch 1/4');
    fc.observeEnergy({ t: 2000, energyKWh: 2, emissionsKg: 1, startT: 0 });
    fc.observeProgress(3000, 0.5, 'epoch 3/4');
    const f = fc.observeEnergy({ t: 4000, energyKWh: 4, emissionsKg: 2, startT: 0 })!;
    // energy at 1 s = 1 (not the first reading's 2), at 3 s = 3; rate 4 kWh per unit; 3 + 4 × 0.5
    assert.equal(f.predictedKWh, 5);
    assert.equal(f.energyKWh, 3);
  });

  it('progress printed between ticks takes the energy interpolated at that moment', () => {
    const fc = new RunForecaster();
    fc.observeEnergy({ t: 0, energyKWh: 0, emissionsKg: 0 });
    fc.observeEnergy({ t: 1000, energyKWh: 1, emissionsKg: 0.5 });
    fc.observeProgress(1500, 0, 'epoch 1/2');
    assert.equal(fc.observeEnergy({ t: 2000, energyKWh: 2, emissionsKg: 1 }), undefined, 'one point is no rate');
    fc.observeProgress(2250, 0.5, 'epoch 1/2');
    const f = fc.observeEnergy({ t: 3000, energyKWh: 3, emissionsKg: 1.5 })!;
    // energy at 1.5 s = 1.5, at 2.25 s = 2.25; rate 1.5 kWh per unit; 2.25 + 1.5 × 0.5
    assert.equal(f.predictedKWh, 3);
    assert.equal(f.predictedKg, 1.5);
    assert.equal(f.label, 'epoch 1/2');
    assert.deepEqual(fc.series, [{ t: 2250, progress: 0.5, predictedKWh: 3, predictedKg: 1.5 }]);
  });

  it('never forecasts less than the run has already spent (a run past its last progress line)', () => {
    const fc = new RunForecaster();
    fc.observeEnergy({ t: 0, energyKWh: 0, emissionsKg: 0 });
    fc.observeProgress(1000, 0.1);
    fc.observeProgress(2000, 0.9);
    const f = fc.observeEnergy({ t: 2000, energyKWh: 2, emissionsKg: 1 })!;
    // 1 kWh at 10 %, 2 at 90 %: rate 1.25 per unit, 2 + 1.25 × 0.1
    assert.equal(f.predictedKWh, 2.125);
    // the last epoch (or saving, evaluating) goes on without a progress line
    const g = fc.observeEnergy({ t: 5000, energyKWh: 5, emissionsKg: 2.5 })!;
    assert.equal(g.predictedKWh, 5);
    assert.equal(g.predictedKg, 2.5);
    assert.equal(g.progress, 0.9, 'still the forecast made at the last progress, raised to what is spent');
    assert.equal(
      fc.observeEnergy({ t: 5500, energyKWh: 5, emissionsKg: 2.5 }),
      undefined,
      'unchanged: no new forecast',
    );
  });

  it('keeps a bounded series, first and last included', () => {
    const fc = new RunForecaster({ maxPoints: 20 });
    fc.observeEnergy({ t: 0, energyKWh: 0, emissionsKg: 0 });
    for (let i = 0; i <= 1000; i++) {
      fc.observeProgress(i * 1000 + 1, i / 1000);
      fc.observeEnergy({ t: i * 1000 + 2, energyKWh: i, emissionsKg: i / 2 });
    }
    const s = fc.series;
    assert.ok(s.length <= 20 && s.length >= 10, `${s.length} points`);
    assert.equal(s[s.length - 1].progress, 1);
    assert.ok(s.every((p, i) => i === 0 || p.progress > s[i - 1].progress));
    assert.ok(s.every((p) => p.predictedKWh >= 0 && p.progress >= 0 && p.progress <= 1));
  });

  it('ignores bad input', () => {
    const fc = new RunForecaster();
    fc.observeProgress(NaN, 0.5);
    fc.observeProgress(0, 2);
    fc.observeProgress(0, -1);
    assert.equal(fc.observeEnergy({ t: 10, energyKWh: NaN, emissionsKg: 0 }), undefined);
    assert.equal(fc.current, undefined);
  });
});

describe('budget', () => {
  it('warns once when the forecast goes over, and reaches once', () => {
    const w = new BudgetWatch({ perRunG: 50, onBudget: 'stop' }, 50);
    assert.deepEqual(w.check(0, 0.01, 0.04), []);
    assert.deepEqual(
      w.check(1000, 0.02, 0.06).map((e) => e.kind),
      ['forecast-over'],
    );
    assert.deepEqual(w.check(2000, 0.03, 0.07), []);
    const r = w.check(3000, 0.05, 0.07);
    assert.deepEqual(r, [{ kind: 'reached', emissionsG: 50, limitG: 50, stop: true }]);
    assert.deepEqual(w.check(4000, 0.06), []);
    assert.equal(w.record.forecastG, 60);
    assert.equal(w.record.reachedAt, new Date(3000).toISOString());
    // a tiny run's forecast keeps its digits in the record (0.862 mg, not 0.001 g)
    const tiny = new BudgetWatch({ perRunG: 0.0005, onBudget: 'warn' }, 0.0005);
    tiny.check(0, 0, 0.000000862);
    assert.equal(tiny.record.forecastG, 0.000862);
  });

  it('the month limits a run to what is left of it', () => {
    const now = Date.UTC(2026, 10, 20);
    const runs = [
      { startedAt: new Date(Date.UTC(2026, 10, 2)).toISOString(), emissionsKg: 1.5 },
      { startedAt: new Date(Date.UTC(2026, 9, 30)).toISOString(), emissionsKg: 9 },
      { startedAt: new Date(Date.UTC(2026, 10, 19)).toISOString(), emissionsKg: 0.25 },
    ];
    assert.equal(monthUsedKg(runs, now), 1.75);
    assert.equal(runLimitG({ perRunG: 500, monthlyKg: 2, onBudget: 'warn' }, 1.75), 250);
    assert.equal(runLimitG({ perRunG: 100, monthlyKg: 2, onBudget: 'warn' }, 1.75), 100);
    assert.equal(runLimitG({ onBudget: 'warn' }), undefined);
  });
});
