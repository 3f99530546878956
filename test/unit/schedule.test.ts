/**
 * Start-time wait and pause/resume, driven by a clock the test controls, against the local forecast server (GB
 * Carbon Intensity API shapes) and, for pausing, a real process tree.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UkCarbonIntensityProvider } from '../../src/core/intensity/live';
import { resolveRegion } from '../../src/core/intensity/regions';
import { PauseController } from '../../src/core/schedule/pause';
import { assumedRun, planGreenerStart, waitUntil, type Clock } from '../../src/core/schedule/startTime';
import { foreignProcesses, processState, processTree, signalTree } from '../../src/core/schedule/tree';
import { IntensityServer } from '../helpers/intensityServer';

const HALF = 1_800_000;
const HOUR = 3_600_000;

class TestClock implements Clock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  /** time passes at once, as far as asked */
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (!signal?.aborted) this.t += ms;
  }
}

function treeCpuTicks(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) {
    try {
      const text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone
    }
  }
  return ticks;
}

async function until<T>(what: string, fn: () => T | undefined | false, deadlineMs = 60_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('schedule: greener start and pausing', function () {
  this.timeout(120_000);
  let server: IntensityServer;
  let dir: string;
  let clock: TestClock;
  beforeEach(async () => {
    server = await IntensityServer.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-sched-'));
    clock = new TestClock(Math.floor(Date.now() / HALF) * HALF + 60_000);
    server.now = () => clock.now();
  });
  afterEach(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('waits for the best window of the forecast, and says what it saves', async () => {
    const t0 = clock.now();
    const dip = Math.floor(t0 / HALF) * HALF + 10 * HALF;
    server.intensityAt = (t) => (t >= dip && t < dip + 2 * HALF ? 60 : 300);
    const provider = new UkCarbonIntensityProvider({ cacheDir: dir, baseUrl: server.url });
    const assumed = assumedRun(
      [
        {
          command: 'python train.py',
          status: 'completed',
          durationS: 3600,
          energyKWh: { cpu: 0, gpu: 0, ram: 0, total: 0.5 },
        },
      ],
      'python train.py',
    );
    assert.equal(assumed.durationS, 3600);
    const plan = await planGreenerStart(provider, resolveRegion('GB'), assumed, t0, 12);
    assert.equal(plan.kind, 'wait');
    if (plan.kind !== 'wait') return;
    assert.equal(plan.advice.startMs, dip);
    assert.ok(Math.abs(plan.advice.savingFraction - (1 - 60 / 300)) < 1e-9);
    const steps: number[] = [];
    assert.equal(
      await waitUntil(plan.advice.startMs, clock, new AbortController().signal, (left) => steps.push(left)),
      true,
    );
    assert.ok(clock.now() >= dip && steps.length >= 2, 'waited in steps, on the test clock');

    const tooFar = await planGreenerStart(provider, resolveRegion('GB'), assumed, t0, 1);
    assert.equal(tooFar.kind, 'now', 'the dip is outside a 1 h window');
    const aborted = new AbortController();
    aborted.abort();
    assert.equal(await waitUntil(clock.now() + HOUR, clock, aborted.signal), false);
    const fr = await planGreenerStart(provider, resolveRegion('FR'), assumed, t0, 12);
    assert.equal(fr.kind, 'now');
    assert.match(fr.kind === 'now' ? fr.reason : '', /Great Britain/);
  });

  it('pauses a real process tree while the grid is dirty: its CPU time does not advance; it resumes when clean', async () => {
    const t0 = clock.now();
    const clean = Math.floor(t0 / HALF) * HALF + HALF;
    server.intensityAt = (t) => (t < clean ? 400 : 100);
    const provider = new UkCarbonIntensityProvider({ cacheDir: dir, baseUrl: server.url });
    const busy = `const {spawn}=require('child_process'); for (let i=0;i<2;i++) spawn(process.execPath,['-e','for(;;){}'],{stdio:'inherit'}); setInterval(()=>{},1000); console.log('ready')`;
    const root = spawn(process.execPath, ['-e', busy], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((r) => root.stdout!.once('data', r));
      await until('a tree of 3', () => processTree(root.pid!).length >= 3);
      const log: string[] = [];
      const c = new PauseController(250, 6 * 3600, provider.granularityMs, {
        now: () => clock.now(),
        forecast: (t) => provider.forecast(resolveRegion('GB'), t, 1),
        pause: () => (signalTree(root.pid!, 'SIGSTOP'), undefined),
        resume: () => void signalTree(root.pid!, 'SIGCONT'),
        log: (m) => log.push(m),
      });
      const next = await c.step();
      assert.equal(c.isPaused, true, log.join('\n'));
      assert.equal(next, clean - t0, 'the next decision at the end of the period');
      const pids = processTree(root.pid!);
      await until('every process stopped', () => pids.every((p) => processState(p) === 'T'));
      const before = treeCpuTicks(root.pid!);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(treeCpuTicks(root.pid!), before, 'no CPU time while paused');

      clock.t = clean + 1000;
      await c.step();
      assert.equal(c.isPaused, false);
      await until('CPU time advancing again', () => treeCpuTicks(root.pid!) > before);
      const rec = c.finish(0.01);
      assert.equal(rec.pauses, 1);
      assert.equal(rec.pausedS, (clean + 1000 - t0) / 1000);
      assert.equal(rec.avoidedMeanGPerKWh, 400);
      assert.equal(rec.thresholdGPerKWh, 250);
      assert.ok(rec.estimatedSavingKg === undefined || rec.estimatedSavingKg >= 0);
      assert.ok(log.some((l) => /paused: 400 g\/kWh is above 250/.test(l)));
      assert.ok(log.some((l) => /resumed: 100 g\/kWh/.test(l)));
    } finally {
      signalTree(root.pid!, 'SIGCONT');
      signalTree(root.pid!, 'SIGKILL');
    }
  });

  it('never pauses longer than the allowed delay in total', async () => {
    server.intensityAt = () => 500;
    const provider = new UkCarbonIntensityProvider({ cacheDir: dir, baseUrl: server.url });
    const actions: string[] = [];
    const c = new PauseController(100, 600, provider.granularityMs, {
      now: () => clock.now(),
      forecast: (t) => provider.forecast(resolveRegion('GB'), t, 1),
      pause: () => (actions.push('stop'), undefined),
      resume: () => void actions.push('cont'),
      log: () => undefined,
    });
    const next = await c.step();
    assert.equal(next, 600_000);
    clock.t += next;
    assert.equal(await c.step(), Infinity);
    assert.deepEqual(actions, ['stop', 'cont']);
    const rec = c.finish(0.1);
    assert.equal(rec.pausedS, 600);
    assert.equal(rec.delayExhausted, true);
  });

  it('refuses to pause processes of another user, and says why', async () => {
    assert.deepEqual(foreignProcesses([process.pid], (process.getuid?.() ?? 0) + 1), [process.pid]);
    assert.deepEqual(foreignProcesses([process.pid]), []);
    server.intensityAt = () => 500;
    const provider = new UkCarbonIntensityProvider({ cacheDir: dir, baseUrl: server.url });
    const log: string[] = [];
    const c = new PauseController(100, 600, provider.granularityMs, {
      now: () => clock.now(),
      forecast: (t) => provider.forecast(resolveRegion('GB'), t, 1),
      pause: () => 'process(es) 1 belong to another user',
      resume: () => assert.fail('nothing to resume'),
      log: (m) => log.push(m),
    });
    assert.equal(await c.step(), Infinity);
    assert.equal(c.isPaused, false);
    assert.match(log.join('\n'), /not pausing: .*another user/);
  });
});
