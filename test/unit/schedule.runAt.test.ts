/**
 * "Run at the greener hour": the plan from the local forecast server, and the scheduler on a clock the test moves
 * (a run starts at its time and not before, "run now" starts it at once, a cancelled run never starts).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PanelModel } from '../../src/core/view/snapshot';
import { UkCarbonIntensityProvider } from '../../src/core/intensity/live';
import { resolveRegion } from '../../src/core/intensity/regions';
import { assumedFromRun, planRunAt, RunAtScheduler, runAtText, type ScheduledRun } from '../../src/core/schedule/runAt';
import type { Clock } from '../../src/core/schedule/startTime';
import { makeRun } from '../helpers/history-runs';
import { IntensityServer } from '../helpers/intensityServer';

const HALF = 1_800_000;
const HOUR = 3_600_000;

/** A clock that moves only when the test says; sleepers wake when their time is reached (or they are aborted). */
class ManualClock implements Clock {
  private sleepers: { until: number; wake: () => void }[] = [];
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const s = { until: this.t + ms, wake: () => resolve() };
      this.sleepers.push(s);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((x) => x !== s);
        resolve();
      });
    });
  }
  get pending(): number {
    return this.sleepers.length;
  }
  /** moves the time and wakes whoever is due; resolves when their reactions have run */
  async advance(ms: number): Promise<void> {
    this.t += ms;
    const due = this.sleepers.filter((s) => s.until <= this.t);
    this.sleepers = this.sleepers.filter((s) => s.until > this.t);
    for (const s of due) s.wake();
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  }
}

interface Started {
  run: ScheduledRun<string>;
  reason: string;
  atMs: number;
}

describe('schedule: run at the greener hour', function () {
  this.timeout(60_000);
  let server: IntensityServer;
  let dir: string;
  let clock: ManualClock;
  beforeEach(async () => {
    server = await IntensityServer.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-runat-'));
    clock = new ManualClock(Math.floor(Date.now() / HALF) * HALF + 60_000);
    server.now = () => clock.now();
  });
  afterEach(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('plans a run like a past one at the start of the forecast dip, and says what it saves', async () => {
    const t0 = clock.now();
    const dip = Math.floor(t0 / HALF) * HALF + 8 * HALF;
    server.intensityAt = (t) => (t >= dip && t < dip + 3 * HALF ? 100 : 400);
    const provider = new UkCarbonIntensityProvider({ cacheDir: dir, baseUrl: server.url });
    const assumed = assumedFromRun({ durationS: 3600, energyKWh: { cpu: 0.2, gpu: 0, ram: 0, total: 0.2 } });
    assert.ok(assumed);
    const plan = await planRunAt(provider, resolveRegion('GB'), t0, { assumed, command: 'python train.py' });
    assert.equal(plan.kind, 'wait', JSON.stringify(plan));
    if (plan.kind !== 'wait') return;
    assert.equal(plan.advice.startMs, dip);
    assert.ok(Math.abs(plan.advice.savingFraction - 0.75) < 1e-9, String(plan.advice.savingFraction));
    assert.match(
      runAtText(plan.advice.startMs, plan.advice.savingFraction, t0, 'UTC'),
      /^(\w{3} )?\d\d:\d\d \(−75 %\)$/,
    );

    // no earlier run of the command: one hour is assumed, and said
    const fromHistory = await planRunAt(provider, resolveRegion('GB'), t0, { history: [], command: 'python other.py' });
    assert.equal(fromHistory.assumed.durationS, 3600);
    assert.match(fromHistory.assumed.from, /no earlier run/);
  });

  it('says why it cannot plan: a static source, a region the provider does not cover, a provider that fails', async () => {
    const t0 = clock.now();
    const none = await planRunAt(undefined, resolveRegion('DE'), t0, { command: 'python train.py' });
    assert.equal(none.kind, 'now');
    assert.match(none.kind === 'now' ? none.reason : '', /static .*carbonMeter\.intensity\.provider/);
    const provider = new UkCarbonIntensityProvider({ cacheDir: dir, baseUrl: server.url });
    const fr = await planRunAt(provider, resolveRegion('FR'), t0, { command: 'python train.py' });
    assert.equal(fr.kind, 'now');
    assert.match(fr.kind === 'now' ? fr.reason : '', /Great Britain/);
    server.fail('uk.national', { status: 503 });
    const failing = new UkCarbonIntensityProvider({
      cacheDir: fs.mkdtempSync(path.join(dir, 'c')),
      baseUrl: server.url,
    });
    const down = await planRunAt(failing, resolveRegion('GB'), t0, { command: 'python train.py' });
    assert.equal(down.kind, 'now');
    assert.ok(down.kind === 'now' && down.reason.length > 0);
  });

  it('starts a run at its time on the injected clock, not before; once', async () => {
    const started: Started[] = [];
    const s = new RunAtScheduler<string>(
      clock,
      (run, reason) => void started.push({ run, reason, atMs: clock.now() }),
      10 * 60_000,
    );
    let changes = 0;
    s.onChange(() => changes++);
    const at = clock.now() + 3 * HOUR + 17_000;
    const run = s.schedule({
      atMs: at,
      name: 'train.py',
      command: 'python train.py',
      cwd: '/w',
      savingFraction: 0.38,
      source: 'test',
      payload: 'file',
    });
    assert.deepEqual(
      s.list().map((r) => r.id),
      [run.id],
    );
    assert.equal(run.scheduledAtMs, clock.now());
    await clock.advance(3 * HOUR);
    assert.equal(started.length, 0, 'not before its time');
    assert.equal(s.list().length, 1);
    await clock.advance(17_000);
    assert.equal(started.length, 1);
    assert.equal(started[0].reason, 'time');
    assert.equal(started[0].atMs, at);
    assert.equal(started[0].run.payload, 'file');
    assert.equal(s.list().length, 0);
    assert.equal(clock.pending, 0, 'nothing left waiting');
    await clock.advance(24 * HOUR);
    assert.equal(started.length, 1, 'once');
    assert.equal(changes, 2, 'scheduled, started');
    assert.equal(s.runNow(run.id), undefined, 'a started run cannot start again');
  });

  it('"run now" starts at once and a cancelled run never starts', async () => {
    const started: Started[] = [];
    const s = new RunAtScheduler<string>(clock, (run, reason) => void started.push({ run, reason, atMs: clock.now() }));
    const a = s.schedule({
      atMs: clock.now() + 2 * HOUR,
      name: 'a',
      command: 'python a.py',
      cwd: '/w',
      savingFraction: 0.2,
      source: 'test',
      payload: 'a',
    });
    const b = s.schedule({
      atMs: clock.now() + HOUR,
      name: 'b',
      command: 'python b.py',
      cwd: '/w',
      savingFraction: 0.3,
      source: 'test',
      payload: 'b',
    });
    assert.deepEqual(
      s.list().map((r) => r.name),
      ['b', 'a'],
      'soonest first',
    );
    assert.equal(s.cancel(a.id)?.name, 'a');
    assert.equal(s.cancel(a.id), undefined);
    assert.equal(s.runNow(b.id)?.name, 'b');
    await clock.advance(0);
    assert.deepEqual(
      started.map((x) => [x.run.name, x.reason]),
      [['b', 'now']],
    );
    await clock.advance(3 * HOUR);
    assert.deepEqual(
      started.map((x) => x.run.name),
      ['b'],
      'the cancelled run did not start, b not twice',
    );
    assert.equal(clock.pending, 0);
    // a time already past starts at once; dispose drops the rest
    s.schedule({
      atMs: clock.now() - 1,
      name: 'late',
      command: 'x',
      cwd: '/w',
      savingFraction: 0,
      source: 'test',
      payload: 'late',
    });
    await clock.advance(0);
    assert.equal(started[started.length - 1].run.name, 'late');
    s.schedule({
      atMs: clock.now() + HOUR,
      name: 'dropped',
      command: 'x',
      cwd: '/w',
      savingFraction: 0,
      source: 'test',
      payload: 'd',
    });
    s.dispose();
    await clock.advance(2 * HOUR);
    assert.ok(!started.some((x) => x.run.name === 'dropped'));
  });
});

describe("panel: the month's budget used", () => {
  it('counts the runs of this calendar month (UTC) against carbonMeter.budget.monthlyKg, and is absent without it', () => {
    const now = Date.UTC(2026, 10, 20, 12);
    const runs = [
      { ...makeRun({}, { startedAt: new Date(Date.UTC(2026, 10, 1, 0, 0, 1)) }), emissionsKg: 1.5 },
      { ...makeRun({}, { startedAt: new Date(Date.UTC(2026, 10, 19)) }), emissionsKg: 2 },
      { ...makeRun({}, { startedAt: new Date(Date.UTC(2026, 9, 31, 23, 59)) }), emissionsKg: 40 },
    ];
    const s = new PanelModel().build({ runs, now, monthlyBudgetKg: 10 });
    assert.deepEqual(s.monthBudget, { limitKg: 10, usedKg: 3.5, fromMs: Date.UTC(2026, 10, 1) });
    assert.equal(new PanelModel().build({ runs, now }).monthBudget, undefined);
    assert.equal(new PanelModel().build({ runs, now, monthlyBudgetKg: 0 }).monthBudget, undefined);
  });
});
