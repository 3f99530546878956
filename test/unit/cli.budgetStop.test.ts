/**
 * The budget stop between two readings (issue 9): when the budget would be crossed before the next reading at the
 * present power, a reading is taken at that moment, and the stop comes when a reading shows the budget reached
 * (never on the projection alone: a start-up burst sampled at 1 s stopped a light run at 63 % of its budget).
 * Real process, real SIGINT; the timer is handed to the test, which checks the delay the arithmetic gives and fires
 * it itself (no clock involved).
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { BudgetWatch } from '../../src/core/forecast/budget';
import type { Reading } from '../../src/core/meter/meter';
import type { Run } from '../../src/core/types';
import { RunWatch } from '../../src/cli/runWatch';
import { makeRun } from '../helpers/history-runs';

/** 100 W at 360 g/kWh: 0.01 g CO₂eq per second. */
function reading(run: Run, emissionsG: number, powerW = 100, gPerKWh = 360): Reading {
  run.emissionsKg = emissionsG / 1000;
  run.intensity.gPerKWh = gPerKWh;
  return { runId: run.id, t: 1_000_000, elapsedS: 10, powerW: { cpu: powerW, gpu: 0, ram: 0, total: powerW }, run };
}

interface Timer {
  fn: () => void;
  ms: number;
  cancelled: boolean;
}

function watchWithTimers(onBudget: 'warn' | 'stop', intervalS = 10, sampleNow?: () => void) {
  const timers: Timer[] = [];
  const out = new PassThrough();
  let said = '';
  out.on('data', (d: Buffer) => (said += d.toString()));
  const watch = new RunWatch({
    budgetG: 1,
    onBudget,
    stopGraceS: 60,
    out,
    intervalS,
    sampleNow,
    setTimer: (fn, ms) => {
      const t: Timer = { fn, ms, cancelled: false };
      timers.push(t);
      return { cancel: () => (t.cancelled = true) };
    },
  });
  return { watch, timers, said: () => said };
}

describe('budget stop between two readings', function () {
  this.timeout(60_000);

  it('BudgetWatch.secondsToLimit: only before the next check, never after the limit; a warning is timed too', () => {
    const stop = new BudgetWatch({ perRunG: 1, onBudget: 'stop' }, 1);
    assert.equal(Math.round(stop.secondsToLimit(0.95 / 1000, 0.01, 10)! * 1e6), 5e6);
    assert.equal(stop.secondsToLimit(0.5 / 1000, 0.01, 10), undefined, '50 s away: the next reading comes first');
    assert.equal(stop.secondsToLimit(0.95 / 1000, 0, 10), undefined, 'no power, no crossing');
    const warn = new BudgetWatch({ perRunG: 1, onBudget: 'warn' }, 1);
    assert.equal(Math.round(warn.secondsToLimit(0.95 / 1000, 0.01, 10)! * 1e6), 5e6);
    assert.equal(stop.check(2_000_000, 1 / 1000)[0]?.kind, 'reached');
    assert.equal(stop.record.reachedAt, new Date(2_000_000).toISOString());
    assert.equal(stop.secondsToLimit(0.95 / 1000, 0.01, 10), undefined, 'reached already');
  });

  it('takes a reading when the power of the last one says the budget falls before the next, and SIGINTs a real process when a reading shows it reached', async () => {
    const child = spawn(
      process.execPath,
      ['-e', 'process.on("SIGINT", () => process.exit(130)); console.log("ready"); setInterval(() => {}, 1000)'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    try {
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      let sampled = 0;
      const { watch, timers, said } = watchWithTimers('stop', 10, () => sampled++);
      watch.attach(child.pid!);
      const early = timers.length; // the first reading after a second
      const run = makeRun({ status: 'running' });
      watch.reading(reading(run, 0.5));
      assert.equal(timers.length, early, '50 s from the limit at 0.01 g/s: nothing before the next reading');
      watch.reading(reading(run, 0.95));
      const planned = timers.at(-1)!;
      assert.equal(Math.round(planned.ms), 5000, '(1 − 0.95) g ÷ 0.01 g/s');
      // a later reading with less power replans: the earlier timer is cancelled
      watch.reading(reading(run, 0.96, 50));
      assert.equal(planned.cancelled, true);
      assert.equal(Math.round(timers.at(-1)!.ms), 8000, '(1 − 0.96) g ÷ 0.005 g/s');
      timers.at(-1)!.fn();
      assert.equal(sampled, 1, 'a reading is taken, nothing is stopped yet');
      assert.equal(said(), '');
      watch.reading(reading(run, 1.0005, 50));
      assert.equal(await exited, 130, 'the process got SIGINT');
      assert.match(said(), /the run has emitted 1 g CO₂eq, its budget is 1 g: stopping it \(SIGINT/);
      watch.exit();
      watch.finish(run);
      assert.equal(watch.stoppedOnBudget, true);
      assert.equal(run.stoppedBy, 'budget');
      assert.ok(run.budget?.reachedAt);
      assert.ok(
        run.notes?.some((n) => /stopped by Carbon Meter on its budget of 1 g/.test(n)),
        JSON.stringify(run.notes),
      );
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a power that fell since the last reading (a start-up burst) stops nothing: the planned reading replans', () => {
    let sampled = 0;
    const { watch, timers, said } = watchWithTimers('stop', 10, () => sampled++);
    watch.attach(2 ** 22); // never signalled: the budget is not reached
    const run = makeRun({ status: 'running' });
    // 0.6 g emitted, at 100 W (0.01 g/s): the limit 40 s away, past the next reading
    watch.reading(reading(run, 0.6));
    // a burst of 1,000 W: the limit 4 s away
    watch.reading(reading(run, 0.96, 1000));
    const first = timers.at(-1)!;
    assert.equal(Math.round(first.ms), 400, '(1 − 0.96) g ÷ 0.1 g/s');
    first.fn();
    assert.equal(sampled, 1);
    // the reading taken then: the burst is over, 10 W, far from the limit
    watch.reading(reading(run, 0.962, 10));
    assert.equal(said(), '', 'no warning, no stop');
    assert.equal(watch.stoppedOnBudget, false);
    assert.equal(
      timers.at(-1),
      first,
      'the limit is now 38 s away at 10 W (0.001 g/s), past the next reading: no new plan',
    );
    // a limit a millisecond away gets its reading no sooner than 0.2 s later
    watch.reading(reading(run, 0.99999, 1000));
    assert.equal(Math.round(timers.at(-1)!.ms), 200);
    watch.exit();
  });

  it('with a long interval the first reading is taken after a second, so the projection has a power to work from', () => {
    let sampled = 0;
    const { watch, timers } = watchWithTimers('stop', 30, () => sampled++);
    watch.attach(2 ** 22); // no signal is sent here: the budget is far
    assert.equal(timers.length, 1);
    assert.equal(timers[0].ms, 1000);
    timers[0].fn();
    assert.equal(sampled, 1);
    watch.exit();
    assert.equal(timers[0].cancelled, true);
    const short = watchWithTimers('stop', 1, () => sampled++);
    short.watch.attach(2 ** 22);
    assert.equal(short.timers.length, 0, 'at the default interval the first reading comes soon enough');
  });

  it('with --on-budget warn a reading is planned as for a stop, and the warning comes from the reading', () => {
    let sampled = 0;
    const { watch, timers, said } = watchWithTimers('warn', 10, () => sampled++);
    const run = makeRun({ status: 'running' });
    watch.reading(reading(run, 0.99));
    // 0.01 g left at 0.01 g/s: a reading in a second, not the next one 10 s later
    assert.equal(timers.length, 1);
    assert.equal(Math.round(timers[0].ms), 1000);
    timers[0].fn();
    assert.equal(sampled, 1);
    assert.equal(said(), '', 'nothing said on the projection');
    watch.reading(reading(run, 1.001));
    assert.equal(said(), 'carbon-meter: the run has emitted 1 g CO₂eq, its budget is 1 g\n');
    watch.reading(reading(run, 1.2));
    assert.equal(said().split('\n').length, 2, 'said once');
    assert.equal(watch.stoppedOnBudget, false);
  });

  it('with --on-budget warn a reading over the limit that no projection saw coming warns as before', () => {
    const { watch, said } = watchWithTimers('warn');
    const run = makeRun({ status: 'running' });
    watch.reading(reading(run, 0.5));
    watch.reading(reading(run, 1.2));
    assert.match(said(), /the run has emitted 1\.2 g CO₂eq, its budget is 1 g\n/);
    assert.equal(watch.stoppedOnBudget, false);
  });

  it('the first reading comes after a second with a long interval, budget or not (a readout, the memory of a short run)', () => {
    let sampled = 0;
    const warn = watchWithTimers('warn', 10, () => sampled++);
    warn.watch.attach(2 ** 22);
    assert.deepEqual(
      warn.timers.map((t) => t.ms),
      [1000],
    );
    warn.timers[0].fn();
    assert.equal(sampled, 1);
    warn.watch.exit();
    const timers: number[] = [];
    const options = {
      onBudget: 'warn' as const,
      stopGraceS: 60,
      out: new PassThrough(),
      intervalS: 10,
      sampleNow: () => sampled++,
      setTimer: (_fn: () => void, ms: number) => {
        timers.push(ms);
        return { cancel: () => undefined };
      },
    };
    new RunWatch(options).attach(2 ** 22);
    assert.deepEqual(timers, [1000], 'no budget');
    new RunWatch({ ...options, intervalS: 1 }).attach(2 ** 22);
    assert.deepEqual(timers, [1000], 'a reading every second anyway');
  });
});

describe('RunWatch: the progress of both streams', () => {
  it('epochs on stdout and a bar per epoch on stderr make one progress: the bar is a part of its epoch', () => {
    const out = new PassThrough();
    // the output comes between the run's start and its reading (reading() is at t = 1,000,000 ms)
    const watch = new RunWatch({ onBudget: 'warn', stopGraceS: 1, out }, () => 999_000);
    const run = makeRun({ status: 'running' }, { startedAt: new Date(990_000) });
    const bar = (i: number) => `\r${i * 25}%|${'#'.repeat(i)}| ${i}/4 [00:01<00:01, 4.00it/s]`;
    watch.output('stdout', 'Epoch 1/4\n');
    watch.output('stderr', bar(2));
    watch.output('stderr', bar(4) + '\n');
    watch.output('stdout', 'Epoch 2/4\n');
    watch.output('stderr', bar(1));
    watch.output('stderr', bar(2) + '\n');
    watch.reading(reading(run, 0.5));
    assert.match(watch.readoutSuffix(), /epoch 2\/4/);
    // epoch 1 whole and half of epoch 2: 1.5 of 4 epochs, not the bar's 2/4 of the run
    assert.equal(watch.forecast?.progress, 1.5 / 4);
    // Keras's header of the last epoch: that epoch starts, the run is not done
    watch.output('stdout', 'Epoch 4/4\n');
    assert.match(watch.readoutSuffix(), /at the end · epoch 4\/4/);
    // the last epoch done: until the next reading the forecast is the one made before, which the figures so far
    // would contradict; the readout shows the figures alone
    watch.output('stdout', 'epoch 4/4 loss=0.12\n');
    assert.equal(watch.readoutSuffix(), '');
  });
});
