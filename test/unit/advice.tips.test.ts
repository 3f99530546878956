/** Greener-region and greener-time advice, and their sentences. */
import * as assert from 'node:assert/strict';
import {
  annualAverageNote,
  formatCo2Pair,
  regionTipBasis,
  regionTipText,
  timeAdviceText,
  untranslated,
} from '../../src/core/advice/text';
import { greenerTimeForRun, type ForecastSource } from '../../src/core/advice/greenerTime';
import { PanelModel } from '../../src/core/view/snapshot';
import {
  regionAdvice,
  resolveAdviceRegions,
  runRegionAdvice,
  timeAdvice,
  timeAdviceFromForecast,
  totalsRegionAdvice,
} from '../../src/core/advice/tips';
import { listRegions, resolveRegion } from '../../src/core/intensity/regions';
import { makeRun } from '../helpers/history-runs';

describe('advice: greener regions', () => {
  it('says the example of the issue: "in gcp:europe-north1 this run would have emitted 0.7 g instead of 9.8 g (−93 %)"', () => {
    const fi = resolveRegion('gcp:europe-north1');
    const perKWh = fi.intensityGPerKWh * fi.pue!; // g per kWh before PUE, there
    const energy = 0.7 / perKWh;
    const advice = regionAdvice(energy, 0.0098, 1, 'US', { userRegions: ['gcp:europe-north1'] });
    const yours = advice.groups.find((g) => g.key === 'yours')!;
    assert.equal(yours.tips.length, 1);
    const text = regionTipText(yours.tips[0], advice.actualKg, 'run');
    assert.equal(
      text.replace(/\u00a0/g, ' '),
      'in gcp:europe-north1 this run would have emitted 0.7 g instead of 9.8 g (−93 %)',
    );
    assert.match(text, /0\.7\u00a0g .* 9\.8\u00a0g \(−93\u00a0%\)$/, 'a figure and its unit stay on one line');
  });

  it('gives the greenest countries (with the run’s PUE) and cloud regions (with their provider’s PUE), greenest first', () => {
    const a = regionAdvice(2, 1.0, 1.3, 'DE');
    const countries = a.groups.find((g) => g.key === 'countries')!;
    const cloud = a.groups.find((g) => g.key === 'cloud')!;
    assert.equal(countries.tips.length, 3);
    assert.equal(cloud.tips.length, 3);
    for (const g of [countries, cloud]) {
      for (let i = 1; i < g.tips.length; i++) assert.ok(g.tips[i - 1].emissionsKg <= g.tips[i].emissionsKg);
    }
    for (const tip of countries.tips) {
      assert.equal(tip.kind, 'country');
      assert.equal(tip.pue, 1.3);
      assert.ok(Math.abs(tip.emissionsKg - (2 * 1.3 * tip.intensityGPerKWh) / 1000) < 1e-12);
      assert.ok(Math.abs(tip.change! - (tip.emissionsKg - 1) / 1) < 1e-12);
    }
    for (const tip of cloud.tips) {
      const r = resolveRegion(tip.code);
      assert.equal(tip.kind, 'cloud');
      assert.equal(tip.pue, r.pue);
      assert.match(tip.pueSource, /PUE/);
      assert.ok(Math.abs(tip.emissionsKg - (2 * r.pue! * r.intensityGPerKWh) / 1000) < 1e-12);
    }
    // the greenest cloud region of the tables comes first
    const greenestCloud = listRegions()
      .filter((r) => r.kind === 'cloud')
      .sort((x, y) => x.intensityGPerKWh * x.pue! - y.intensityGPerKWh * y.pue!)[0];
    assert.equal(cloud.tips[0].code, greenestCloud.code);
    assert.equal(a.basis, 'annual-average');
  });

  it('leaves out countries whose intensity is 0 (a data gap in CO2.js, not a green grid) and the run’s own region', () => {
    const zero = listRegions().filter((r) => r.kind === 'country' && r.intensityGPerKWh === 0);
    assert.ok(zero.length > 0, 'the tables have such a country');
    const a = regionAdvice(1, 1, 1, 'gcp:europe-north2', { perGroup: 50 });
    const codes = a.groups.flatMap((g) => g.tips.map((t) => t.code));
    for (const z of zero) assert.ok(!codes.includes(z.code), z.code);
    assert.ok(!codes.includes('gcp:europe-north2'));
    assert.ok(!codes.includes('WORLD'));
  });

  it('compares the regions of carbonMeter.advice.regions, groups included, and reports the unknown ones', () => {
    const a = regionAdvice(1, 0.5, 1, 'FR', {
      userRegions: ['gcp:*', 'aws:eu-north-1', 'mars:olympus-1', 'FR', 42 as unknown as string],
    });
    const yours = a.groups.find((g) => g.key === 'yours')!;
    const gcpCount = listRegions().filter((r) => r.provider === 'gcp').length;
    assert.equal(yours.compared, gcpCount + 2); // FR included in the compared set, but not suggested (own region)
    assert.equal(yours.tips.length, 5);
    assert.ok(yours.tips.every((t) => t.code !== 'FR'));
    assert.equal(a.problems.length, 2);
    assert.match(a.problems[0], /mars:olympus-1/);
    assert.match(a.problems[1], /42/);
    assert.deepEqual(a.configured, ['gcp:*', 'aws:eu-north-1', 'mars:olympus-1', 'FR']);
    assert.deepEqual(resolveAdviceRegions([]).regions, []);
  });

  it('shows a dirtier region of the user’s list with a + change', () => {
    const a = regionAdvice(1, 0.01, 1, 'SE', { userRegions: ['PL'] });
    const tip = a.groups.find((g) => g.key === 'yours')!.tips[0];
    assert.ok(tip.change! > 0);
    assert.match(
      regionTipText(tip, a.actualKg, 'run'),
      /^in Poland \(PL\) this run would have emitted .+ instead of 10\sg \(\+\d+\s%\)$/,
    );
  });

  it('has nothing to compare for a run without energy', () => {
    const a = regionAdvice(0, 0, 1, 'FR');
    assert.deepEqual(a.groups, []);
  });

  it('for a run: its energy before PUE, its emissions and its own region', () => {
    const run = makeRun({}, { pue: 1.4, region: 'DE', gPerKWh: 380 });
    const a = runRegionAdvice(run);
    assert.ok(Math.abs(a.energyKWh - run.energyKWh.total / 1.4) < 1e-12);
    assert.equal(a.actualKg, run.emissionsKg);
    assert.equal(a.region, 'DE');
    assert.equal(a.ownPue, 1.4);
  });

  it('for the totals: summed energy and emissions, energy-weighted PUE, own region only when it is the same for all', () => {
    const a = makeRun({}, { pue: 1, region: 'FR', durationS: 1000 });
    const b = makeRun({}, { pue: 2, region: 'FR', durationS: 1000 });
    const same = totalsRegionAdvice([a, b]);
    assert.ok(Math.abs(same.energyKWh - (a.energyKWh.total + b.energyKWh.total / 2)) < 1e-12);
    assert.ok(Math.abs(same.actualKg - (a.emissionsKg + b.emissionsKg)) < 1e-12);
    assert.ok(Math.abs(same.ownPue - 1.5) < 1e-9);
    assert.equal(same.region, 'FR');
    const mixed = totalsRegionAdvice([a, makeRun({}, { region: 'DE' })]);
    assert.equal(mixed.region, undefined);
    assert.match(
      regionTipText(same.groups[0].tips[0], same.actualKg, 'runs'),
      /^in .+ \([A-Z]{2}\) these runs would have emitted /,
    );
    assert.match(
      regionTipText(same.groups[1].tips[0], same.actualKg, 'runs'),
      /^in (gcp|aws|azure):\S+ these runs would have emitted /,
    );
  });

  it('every tip says where its figures come from, and the note says they are annual averages', () => {
    const a = regionAdvice(1, 1, 1, undefined);
    const tip = a.groups[1].tips[0];
    const basis = regionTipBasis(tip);
    assert.match(basis, /annual average/);
    assert.match(basis, /PUE/);
    assert.ok(basis.includes(tip.source));
    assert.match(annualAverageNote(), /Annual averages .* not the intensity at the hour of the run/);
  });

  it('sentences go through the translation function', () => {
    const a = regionAdvice(1, 1, 1, undefined);
    const seen: string[] = [];
    const t = (m: string, ...args: (string | number)[]) => {
      seen.push(m);
      return untranslated(m.toUpperCase(), ...args);
    };
    const s = regionTipText(a.groups[0].tips[0], 1, 'run', t);
    assert.deepEqual(seen, ['in {0} this run would have emitted {1} instead of {2}{3}']);
    assert.match(s, /^IN .+ THIS RUN/);
  });
});

describe('advice: greener hours', () => {
  it('points at carbonMeter.intensity.provider until a live source gives a forecast', () => {
    const a = timeAdvice({ method: 'annual-average' });
    assert.deepEqual(a, { kind: 'needs-live-source', settingKey: 'carbonMeter.intensity.provider' });
    assert.equal(timeAdviceText(a), 'Set carbonMeter.intensity.provider to a live source to get greener-hour tips.');
  });

  it('for a time-resolved run, gives the range the run saw', () => {
    const a = timeAdvice({ method: 'time-resolved' }, [120, 80.5, Number.NaN, 300]);
    assert.deepEqual(a, {
      kind: 'no-forecast',
      settingKey: 'carbonMeter.intensity.provider',
      minGPerKWh: 80.5,
      maxGPerKWh: 300,
    });
    assert.match(timeAdviceText(a), /ranged from 80\.5 gCO₂eq\/kWh to 300 gCO₂eq\/kWh/);
    assert.equal(timeAdvice({ method: 'time-resolved' }, []).kind, 'needs-live-source');
  });
});

describe('advice: figures in tips', () => {
  it('puts both masses in the unit of the larger one', () => {
    const plain = (p: [string, string]) => p.map((x) => x.replace(/\u00a0/g, ' '));
    assert.deepEqual(plain(formatCo2Pair(0.0007, 0.0098)), ['0.7 g', '9.8 g']);
    assert.deepEqual(plain(formatCo2Pair(0.0000012, 0.0000098)), ['1.2 mg', '9.8 mg']);
    assert.deepEqual(plain(formatCo2Pair(0.35, 12.4)), ['0.35 kg', '12.4 kg']);
    assert.deepEqual(plain(formatCo2Pair(0, 0)), ['0 g', '0 g']);
  });
});

describe('advice: greener hours from a live forecast', () => {
  const now = Date.UTC(2026, 10, 24, 12);
  const H = 3600_000;
  /** 24 hourly forecast points: 300 g/kWh, but 60 g/kWh from +5 h to +9 h. */
  const source = (ok = true): ForecastSource => ({
    forecastHorizonH: 24,
    forecast: async (_region, t) =>
      ok
        ? {
            ok: true,
            points: Array.from({ length: 48 }, (_, i) => ({
              fromMs: t + i * H,
              toMs: t + (i + 1) * H,
              gPerKWh: i >= 5 && i < 9 ? 60 : 300,
              forecast: true,
            })),
            factorType: 'average',
            source: 'Test Grid',
            coveredUntilMs: t + 48 * H,
          }
        : { ok: false, reason: 'forecasts are not in this account’s plan' },
  });

  it('gives the best start for a run like this one, and says it in words', async () => {
    const region = resolveRegion('GB');
    const advice = timeAdviceFromForecast(
      await greenerTimeForRun(source(), region, [{ durationS: 2 * 3600, powerW: 300 }], now),
    );
    assert.equal(advice.kind, 'forecast');
    if (advice.kind !== 'forecast') return;
    assert.equal(advice.startMs, now + 5 * H);
    assert.equal(advice.startsNow, false);
    assert.ok(Math.abs(advice.savingFraction - 0.8) < 1e-9, String(advice.savingFraction));
    assert.equal(advice.source, 'Test Grid');
    const text = timeAdviceText(advice, untranslated, (ms) => `+${(ms - now) / H} h`).replace(/\u00a0/g, ' ');
    assert.equal(
      text,
      'A run like this one started at +5 h instead of now would emit 80 % less (144 g; forecast by Test Grid, average emissions).',
    );
  });

  it('says when the provider has no forecast, and why', async () => {
    const advice = timeAdviceFromForecast(
      await greenerTimeForRun(source(false), resolveRegion('GB'), [{ durationS: 3600, powerW: 100 }], now),
    );
    assert.deepEqual(advice, {
      kind: 'unavailable',
      settingKey: 'carbonMeter.intensity.provider',
      reason: 'forecasts are not in this account’s plan',
    });
    assert.equal(timeAdviceText(advice), 'No greener-hour tip: forecasts are not in this account’s plan');
  });

  it('the snapshot takes the host’s greener-time line for the open run', () => {
    const run = makeRun();
    const advice = { kind: 'pending', settingKey: 'carbonMeter.intensity.provider' } as const;
    const s = new PanelModel().build({ runs: [run], openRunId: run.id, greenerTime: () => advice });
    assert.deepEqual(s.detail?.time, advice);
    const none = new PanelModel().build({ runs: [run], openRunId: run.id, greenerTime: () => undefined });
    assert.equal(none.detail?.time.kind, 'needs-live-source');
  });
});
