import { strict as assert } from 'node:assert';
import { RunOutlook } from '../../src/core/forecast/outlook';
import { readSettings } from '../../src/extension/settings';
import { makeRun } from '../helpers/history-runs';

describe('run outlook (extension hosts) and budget settings', () => {
  it('reads output, forecasts, keeps the record up to date and warns once over the budget of the month', () => {
    const now = Date.UTC(2026, 10, 20, 12);
    const earlier = [{ id: 'a', startedAt: new Date(Date.UTC(2026, 10, 3)).toISOString(), emissionsKg: 0.95 }];
    const o = new RunOutlook({ monthlyKg: 1, onBudget: 'warn' }, earlier, now, 'this');
    assert.ok(Math.abs(o.budget!.limitG - 50) < 1e-9, 'what is left of the month');
    const run = makeRun({ id: 'this', status: 'running' });
    const at = (t: number, kwh: number) => {
      run.energyKWh.total = kwh;
      run.emissionsKg = kwh * 0.4;
      return o.reading(now + t, run);
    };
    assert.deepEqual(at(0, 0), []);
    o.output(now + 500, '\x1b[32mEpoch 1/10\x1b[0m\r\n');
    assert.deepEqual(at(1000, 0.01), []);
    o.output(now + 1500, 'epoch 1/10 loss=0.3\n');
    // 0.005 kWh at the start of epoch 1 (1.5 s), 0.02 at its end (1.5 s): 0.02 + 0.15 × 0.9 = 0.155 kWh, 62 g > 50 g
    const events = at(2000, 0.03);
    assert.deepEqual(
      events.map((e) => e.kind),
      ['forecast-over'],
    );
    assert.ok(Math.abs(o.forecast!.predictedKWh - 0.155) < 1e-9, String(o.forecast?.predictedKWh));
    o.output(now + 2500, 'epoch 2/10 loss=0.2\n');
    assert.deepEqual(at(3000, 0.05), []);
    assert.ok(run.forecasts && run.forecasts.length >= 1);
    assert.equal(run.budget?.monthUsedKg, 0.95);
    assert.equal(run.budget?.monthlyKg, 1);
    assert.deepEqual(at(4000, 0.06), [], 'once');
  });

  it('budget settings: checked, with safe defaults', () => {
    const values: Record<string, unknown> = {
      'budget.perRunGrams': 85,
      'budget.monthlyKg': -3,
      'budget.onBudget': 'explode',
    };
    const { settings, problems } = readSettings((k) => values[k]);
    assert.equal(settings.budgetPerRunG, 85);
    assert.equal(settings.budgetMonthlyKg, undefined);
    assert.equal(settings.onBudget, 'warn');
    assert.equal(problems.length, 2);
    assert.equal(readSettings(() => undefined).settings.budgetPerRunG, undefined);
  });
});
