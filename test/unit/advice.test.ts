/**
 * The History panel's data shaping, in plain Node: totals, the table (filter, sort, page), the runs chart, power
 * series decimation, and the snapshot as a whole.
 */
import * as assert from 'node:assert/strict';
import { PanelModel, mergeLive, runDetail } from '../../src/core/view/snapshot';
import { MAX_POWER_POINTS, MAX_RUN_POINTS, powerSeries, runsChart } from '../../src/core/view/series';
import { DEFAULT_QUERY, RunTable, normaliseQuery, toRow } from '../../src/core/view/table';
import { energyBeforePueKWh } from '../../src/core/advice/energy';
import { periodStarts, periodTotals } from '../../src/core/view/totals';
import { stepEnergyJ } from '../../src/core/history/decimate';
import { kmByCar, smartphoneCharges } from '../../src/core/equivalents';
import { J_PER_KWH, type Run, type RunSource, type RunStatus, type Sample } from '../../src/core/types';
import { makeRun } from '../helpers/history-runs';
import { rng } from '../helpers/random';

const SOURCES: RunSource[] = ['terminal', 'debug', 'task', 'cli', 'codecarbon-import'];
const STATUSES: RunStatus[] = ['completed', 'completed', 'completed', 'failed', 'interrupted'];

/** n runs over the `days` days before `end`, varied in source, status, region, size. Newest first, like the store. */
function manyRuns(n: number, end = Date.UTC(2026, 10, 25, 12), days = 365, seed = 7): Run[] {
  const r = rng(seed);
  const regions = ['FR', 'DE', 'US', 'gcp:europe-west4', 'aws:us-east-1', 'SE'];
  const runs: Run[] = [];
  for (let i = 0; i < n; i++) {
    const startedAt = new Date(end - r() * days * 86400_000);
    const durationS = 5 + r() ** 3 * 36000;
    const region = regions[i % regions.length];
    runs.push(
      makeRun(
        {
          name: `exp-${i} ${['resnet', 'bert', 'gpt2', 'vit'][i % 4]}`,
          command: `python train.py --seed ${i} --lr ${(r() / 100).toFixed(5)}`,
          source: SOURCES[i % SOURCES.length],
          status: STATUSES[i % STATUSES.length],
          id: `20261101T000000Z-bench-${i.toString(36).padStart(6, '0')}`,
        },
        {
          startedAt,
          durationS,
          cpuW: 20 + 60 * r(),
          gpuW: r() < 0.3 ? 0 : 100 + 250 * r(),
          gPerKWh: 30 + 500 * r(),
          region,
        },
      ),
    );
  }
  return runs.sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
}

/** A 10 h run at 1 Hz with a time-varying intensity. */
function tenHourSamples(t0: number): Sample[] {
  const r = rng(42);
  const out: Sample[] = [];
  for (let i = 1; i <= 36000; i++) {
    const evaluating = (i % 1800) / 1800 > 0.9;
    out.push({
      t: t0 + i * 1000,
      cpuW: 35 + 15 * r() + (evaluating ? 20 : 0),
      gpuW: (evaluating ? 140 : 290) * Math.min(1, i / 300) + 20 * r(),
      ramW: 4 + 0.5 * Math.sin(i / 500),
      gPerKWh: 40 + 30 * Math.sin((2 * Math.PI * i) / 36000),
    });
  }
  return out;
}

describe('advice: totals', () => {
  // Wednesday 25 November 2026, 15:00 local time
  const now = new Date(2026, 10, 25, 15, 0, 0).getTime();
  const at = (y: number, m: number, d: number, h = 10) => new Date(y, m, d, h);

  it('splits runs into today, this week (from Monday), this month and all time, by start time', () => {
    const starts = periodStarts(now);
    assert.equal(starts.today, new Date(2026, 10, 25).getTime());
    assert.equal(starts.week, new Date(2026, 10, 23).getTime()); // Monday
    assert.equal(starts.month, new Date(2026, 10, 1).getTime());
    const runs = [
      makeRun({ status: 'running' }, { startedAt: at(2026, 10, 25, 9), gPerKWh: 100 }), // today, running
      makeRun({}, { startedAt: at(2026, 10, 25, 0), gPerKWh: 100 }), // today (midnight + 0 h … 10 h)
      makeRun({}, { startedAt: at(2026, 10, 23), gPerKWh: 100 }), // Monday: this week
      makeRun({}, { startedAt: at(2026, 10, 22), gPerKWh: 100 }), // Sunday: last week, this month
      makeRun({}, { startedAt: at(2026, 9, 31), gPerKWh: 100 }), // October
    ];
    const totals = periodTotals(runs, now);
    assert.deepEqual(
      totals.map((p) => [p.period, p.runs, p.running]),
      [
        ['today', 2, 1],
        ['week', 3, 1],
        ['month', 4, 1],
        ['all', 5, 1],
      ],
    );
    const all = totals[3];
    const kg = runs.reduce((s, r) => s + r.emissionsKg, 0);
    assert.ok(Math.abs(all.emissionsKg - kg) < 1e-12);
    assert.ok(Math.abs(all.energyKWh - runs.reduce((s, r) => s + r.energyKWh.total, 0)) < 1e-12);
    assert.equal(all.carKm, kmByCar(all.emissionsKg));
    assert.equal(all.smartphoneCharges, smartphoneCharges(all.emissionsKg));
    assert.equal(all.fromMs, undefined);
  });

  it('counts a damaged record (negative or NaN figures) as zero instead of failing', () => {
    const bad = makeRun({ emissionsKg: Number.NaN }, { startedAt: at(2026, 10, 25) });
    bad.energyKWh = { cpu: -1, gpu: 0, ram: 0, total: -5 };
    const [today] = periodTotals([bad], now);
    assert.equal(today.runs, 1);
    assert.equal(today.emissionsKg, 0);
    assert.equal(today.energyKWh, 0);
  });

  it('energy before PUE: the components, or total ÷ PUE for imports without components', () => {
    const r = makeRun({}, { pue: 1.5 });
    assert.ok(Math.abs(energyBeforePueKWh(r) - r.energyKWh.total / 1.5) < 1e-12);
    const imported = makeRun({ pue: 1.2, energyKWh: { cpu: 0, gpu: 0, ram: 0, total: 0.6 } });
    assert.ok(Math.abs(energyBeforePueKWh(imported) - 0.5) < 1e-12);
  });
});

describe('advice: the table of runs', () => {
  const runs = manyRuns(1000);

  it('pages newest first by default, with every run once across the pages', () => {
    const table = new RunTable(runs);
    const seen = new Set<string>();
    let prev = Infinity;
    for (let page = 0; page < 20; page++) {
      const p = table.query({ page });
      assert.equal(p.rows.length, 50);
      assert.equal(p.pageCount, 20);
      assert.equal(p.matched, 1000);
      for (const row of p.rows) {
        assert.ok(row.startedAt <= prev);
        prev = row.startedAt;
        seen.add(row.id);
      }
    }
    assert.equal(seen.size, 1000);
  });

  it('clamps a page past the end to the last page', () => {
    const p = new RunTable(runs).query({ page: 99, pageSize: 100 });
    assert.equal(p.query.page, 9);
    assert.equal(p.rows.length, 100);
    const q = new RunTable(runs).query({ text: 'exp-99', page: 5 }); // exp-99, exp-990 … exp-999: 11 runs
    assert.equal(q.matched, 11);
    assert.equal(q.query.page, 0);
    assert.equal(q.rows.length, 11);
  });

  it('filters by text (name, command, region, id; case-insensitive), source and status, and combines them', () => {
    const table = new RunTable(runs);
    const bert = table.query({ text: 'BERT', pageSize: 100 });
    assert.equal(bert.matched, runs.filter((r) => r.name.includes('bert')).length);
    assert.ok(bert.rows.every((r) => r.name.includes('bert')));
    assert.equal(table.query({ text: '--seed 123 ' }).matched, 1);
    assert.equal(
      table.query({ text: 'gcp:europe-west4' }).matched,
      runs.filter((r) => r.intensity.region === 'gcp:europe-west4').length,
    );
    const debug = table.query({ source: 'debug' });
    assert.equal(debug.matched, runs.filter((r) => r.source === 'debug').length);
    const failedTask = table.query({ source: 'task', status: 'failed', pageSize: 100 });
    assert.equal(failedTask.matched, runs.filter((r) => r.source === 'task' && r.status === 'failed').length);
    assert.ok(failedTask.rows.every((r) => r.source === 'task' && r.status === 'failed'));
    assert.equal(table.query({ text: 'no such run anywhere' }).matched, 0);
    assert.equal(table.query({ text: 'no such run anywhere' }).pageCount, 1);
    assert.equal(table.facets.source.debug, runs.filter((r) => r.source === 'debug').length);
  });

  it('sorts by every column, both ways, with ties broken by start time', () => {
    const table = new RunTable(runs);
    const checks: [Parameters<RunTable['query']>[0], (a: Run, b: Run) => number][] = [
      [{ sort: 'emissionsKg', dir: 'desc' }, (a, b) => b.emissionsKg - a.emissionsKg],
      [{ sort: 'energyKWh', dir: 'asc' }, (a, b) => a.energyKWh.total - b.energyKWh.total],
      [{ sort: 'durationS', dir: 'desc' }, (a, b) => b.durationS - a.durationS],
      [
        { sort: 'name', dir: 'asc' },
        (a, b) =>
          a.name.toLowerCase() < b.name.toLowerCase() ? -1 : a.name.toLowerCase() > b.name.toLowerCase() ? 1 : 0,
      ],
      [
        { sort: 'region', dir: 'desc' },
        (a, b) =>
          a.intensity.region.toLowerCase() > b.intensity.region.toLowerCase()
            ? -1
            : a.intensity.region.toLowerCase() < b.intensity.region.toLowerCase()
              ? 1
              : 0,
      ],
    ];
    const byId = new Map(runs.map((r) => [r.id, r]));
    for (const [q, cmp] of checks) {
      const rows = table.query({ ...q, pageSize: 100 }).rows.map((r) => byId.get(r.id)!);
      for (let i = 1; i < rows.length; i++) assert.ok(cmp(rows[i - 1], rows[i]) <= 0, `${JSON.stringify(q)} at ${i}`);
    }
  });

  it('matching() gives every filtered run in order (what Export writes)', () => {
    const table = new RunTable(runs);
    const m = table.matching({ source: 'cli', sort: 'startedAt', dir: 'asc' });
    assert.equal(m.length, runs.filter((r) => r.source === 'cli').length);
    for (let i = 1; i < m.length; i++) assert.ok(Date.parse(m[i - 1].startedAt) <= Date.parse(m[i].startedAt));
  });

  it('rows are compact, keep strings as they are, and cut long commands', () => {
    const run = makeRun({ name: '<img src=x onerror=alert(1)>', command: 'python ' + 'x'.repeat(1000) });
    const row = toRow(run);
    assert.equal(row.name, '<img src=x onerror=alert(1)>');
    assert.ok(row.command.length <= 160);
    assert.ok(row.command.endsWith('…'));
    assert.ok(!('power' in row) && !('hardware' in row));
  });

  it('normalises queries: unknown values fall back to the defaults', () => {
    assert.deepEqual(normaliseQuery(undefined), DEFAULT_QUERY);
    const q = normaliseQuery({
      sort: 'bogus' as never,
      dir: 'up' as never,
      page: -3,
      pageSize: 7 as never,
      source: 'x' as never,
      text: 'y'.repeat(500),
    });
    assert.equal(q.sort, 'startedAt');
    assert.equal(q.dir, 'desc');
    assert.equal(q.page, 0);
    assert.equal(q.pageSize, 50);
    assert.equal(q.source, 'all');
    assert.equal(q.text.length, 200);
  });

  it('stays correct at 10,000 runs (filter, sort, last page)', () => {
    const big = manyRuns(10_000, undefined, 3 * 365, 11);
    const table = new RunTable(big);
    const p = table.query({ text: 'Bert', source: 'terminal', sort: 'emissionsKg', dir: 'desc', page: 10_000 });
    const expected = big.filter((r) => r.name.includes('bert') && r.source === 'terminal');
    assert.ok(expected.length > 100);
    assert.equal(p.matched, expected.length);
    assert.equal(p.query.page, p.pageCount - 1);
    const smallest = Math.min(...expected.map((r) => r.emissionsKg));
    assert.equal(p.rows[p.rows.length - 1].emissionsKg, smallest);
  });
});

describe('advice: the runs chart', () => {
  it('draws every run when there are few, one series per source', () => {
    const runs = manyRuns(200);
    const c = runsChart(runs);
    assert.equal(c.shown, 200);
    assert.equal(c.total, 200);
    assert.deepEqual(
      c.series.map((s) => s.source),
      SOURCES,
    );
    for (const s of c.series) {
      assert.equal(s.t.length, s.kg.length);
      assert.equal(s.id.length, s.t.length);
      for (let i = 1; i < s.t.length; i++) assert.ok(s.t[i - 1] <= s.t[i]);
    }
  });

  it('keeps at most MAX_RUN_POINTS real runs from 10,000, with the extremes of each source', () => {
    const runs = manyRuns(10_000, undefined, 3 * 365, 3);
    const c = runsChart(runs);
    assert.ok(c.shown <= MAX_RUN_POINTS, `${c.shown} points`);
    assert.ok(c.shown > MAX_RUN_POINTS * 0.8, `${c.shown} points: the budget is used`);
    const byId = new Map(runs.map((r) => [r.id, r]));
    for (const s of c.series) {
      assert.ok(s.t.length <= 2000);
      s.id.forEach((id, i) => {
        const run = byId.get(id);
        assert.ok(run, 'every point is a run');
        assert.equal(run.source, s.source);
        assert.ok(Math.abs(s.kg[i] - run.emissionsKg) <= run.emissionsKg * 1e-3);
      });
      const mine = runs.filter((r) => r.source === s.source);
      const max = mine.reduce((a, b) => (b.emissionsKg > a.emissionsKg ? b : a));
      const min = mine.reduce((a, b) => (b.emissionsKg < a.emissionsKg ? b : a));
      assert.ok(s.id.includes(max.id), `${s.source}: the largest run is drawn`);
      assert.ok(s.id.includes(min.id), `${s.source}: the smallest run is drawn`);
      assert.equal(s.count, mine.length);
    }
  });

  it('leaves runs without emissions out (logarithmic scale) and counts them', () => {
    const runs = manyRuns(10);
    runs[0].emissionsKg = 0;
    const c = runsChart(runs);
    assert.equal(c.zero, 1);
    assert.equal(c.shown, 9);
  });
});

describe('advice: power series', () => {
  const t0 = Date.UTC(2026, 10, 23, 21);
  const samples = tenHourSamples(t0);
  const run = makeRun(
    { intensity: { ...makeRun().intensity, method: 'time-resolved' } },
    { startedAt: new Date(t0), durationS: 36000, pue: 1.2 },
  );

  it('a 10 h run at 1 Hz draws at most 2,000 points per series', () => {
    const p = powerSeries(run, samples)!;
    assert.equal(p.sampleCount, 36000);
    for (const k of ['t', 'cpuW', 'gpuW', 'ramW', 'co2Kg', 'gPerKWh'] as const) {
      assert.ok(p[k]!.length <= MAX_POWER_POINTS, `${k}: ${p[k]!.length}`);
      assert.ok(p[k]!.length >= 1900, `${k}: ${p[k]!.length}`);
    }
  });

  it('keeps the energy and the CO₂eq of the full series', () => {
    const p = powerSeries(run, samples)!;
    // energy of the drawn step series vs the full one
    let drawnJ = 0;
    for (let i = 1; i < p.t.length; i++) drawnJ += (p.cpuW[i] + p.gpuW[i] + p.ramW[i]) * (p.t[i] - p.t[i - 1]);
    drawnJ += (p.cpuW[0] + p.gpuW[0] + p.ramW[0]) * p.t[0];
    const fullJ = stepEnergyJ([{ t: t0, cpuW: 0, gpuW: 0, ramW: 0 }, ...samples]);
    assert.ok(Math.abs(drawnJ - fullJ) / fullJ < 1e-3, `${drawnJ} vs ${fullJ}`);
    // cumulative CO₂eq at the end = Σ energy × PUE × intensity of every sample
    let g = 0;
    let prev = t0;
    for (const s of samples) {
      g += (((s.cpuW + s.gpuW + s.ramW) * ((s.t - prev) / 1000) * 1.2) / J_PER_KWH) * s.gPerKWh!;
      prev = s.t;
    }
    const last = p.co2Kg[p.co2Kg.length - 1];
    assert.ok(Math.abs(last * 1000 - g) / g < 1e-3, `${last * 1000} g vs ${g} g`);
    for (let i = 1; i < p.co2Kg.length; i++) assert.ok(p.co2Kg[i] >= p.co2Kg[i - 1]);
  });

  it('gives the intensity course only when it varies', () => {
    assert.ok(powerSeries(run, samples)!.gPerKWh);
    const flat = samples.slice(0, 100).map((s) => ({ ...s, gPerKWh: 56 }));
    const annual = makeRun({}, { startedAt: new Date(t0) });
    assert.equal(powerSeries(annual, flat)!.gPerKWh, undefined);
    assert.equal(powerSeries(annual, flat)!.t.length, 100);
  });

  it('gives nothing for a run without samples, and skips damaged samples', () => {
    assert.equal(powerSeries(run, []), undefined);
    const p = powerSeries(run, [
      { t: t0 + 1000, cpuW: Number.NaN, gpuW: 0, ramW: 0 },
      { t: t0 + 2000, cpuW: 10, gpuW: 0, ramW: 1 },
    ])!;
    assert.equal(p.t.length, 1);
  });
});

describe('advice: the snapshot', () => {
  it('merges the live records of runs metered here over their checkpoints', () => {
    const stored = manyRuns(3);
    const live = { ...stored[1], status: 'running' as const, emissionsKg: 42 };
    const extra = makeRun({ status: 'running' });
    const merged = mergeLive(stored, [live, extra]);
    assert.equal(merged.length, 4);
    assert.equal(merged[1], live);
    assert.ok(merged.includes(extra));
  });

  it('reuses the table index while the history does not change, and rebuilds it when it does', () => {
    const model = new PanelModel();
    const runs = manyRuns(50);
    const a = model.tableFor(runs);
    assert.equal(model.tableFor(runs.slice()), a);
    assert.notEqual(model.tableFor([...runs, makeRun()]), a);
    const withRunning = [makeRun({ status: 'running' }), ...runs];
    const b = model.tableFor(withRunning);
    assert.notEqual(model.tableFor(withRunning), b, 'a running run changes every second: no reuse');
  });

  it('at 10,000 runs with a 10 h run open, the snapshot is under 300 KB', () => {
    const t0 = Date.UTC(2026, 10, 24, 1);
    const runs = manyRuns(10_000, undefined, 3 * 365, 5);
    const open = makeRun(
      { id: '20261124T010000Z-long-000001', intensity: { ...makeRun().intensity, method: 'time-resolved' } },
      { startedAt: new Date(t0), durationS: 36000 },
    );
    runs.unshift(open);
    const samples = tenHourSamples(t0);
    const s = new PanelModel().build({
      runs,
      query: { pageSize: 100 },
      openRunId: open.id,
      samples: (id) => (id === open.id ? samples : []),
      adviceRegions: ['gcp:*', 'aws:eu-north-1'],
      historyDir: '/home/ada/.local/share/carbon-meter',
      now: Date.UTC(2026, 10, 25, 12),
    });
    const bytes = Buffer.byteLength(JSON.stringify(s));
    assert.ok(bytes < 300 * 1024, `${bytes} bytes`);
    assert.equal(s.runCount, 10_001);
    assert.equal(s.table.rows.length, 100);
    assert.equal(s.detail?.run.id, open.id);
    assert.ok(s.detail!.power!.t.length <= 2000);
    assert.equal(s.totals[3].runs, 10_001);
    assert.ok(s.chart.shown <= MAX_RUN_POINTS);
  });

  it('says when the run asked for is not in the history', () => {
    const s = new PanelModel().build({ runs: manyRuns(3), openRunId: 'gone-run-id' });
    assert.equal(s.detail, null);
    assert.equal(s.missingRunId, 'gone-run-id');
  });

  it('the chart follows the filters; the totals do not', () => {
    const runs = manyRuns(300);
    const s = new PanelModel().build({ runs, query: { source: 'debug' } });
    assert.deepEqual(
      s.chart.series.map((x) => x.source),
      ['debug'],
    );
    assert.equal(s.totals[3].runs, 300);
  });

  it('a detail: rerun only with a command and not while running; delete not while running', () => {
    const imported = makeRun({ command: '', source: 'codecarbon-import' });
    assert.equal(runDetail(imported, []).canRerun, false);
    assert.equal(runDetail(imported, []).power, null);
    const running = makeRun({ status: 'running' });
    assert.equal(runDetail(running, []).canRerun, false);
    assert.equal(runDetail(running, []).canDelete, false);
    const done = makeRun();
    assert.equal(runDetail(done, []).canRerun, true);
    assert.equal(runDetail(done, []).canDelete, true);
  });
});
