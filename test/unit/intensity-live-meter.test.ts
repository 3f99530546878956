/**
 * A run metered through MeterHub with a live provider whose intensity jumps mid-run: its emissions are exactly
 * Σ Eᵢ × Iᵢ (each tick's energy × the intensity in force at that tick), the record says time-resolved, keeps the
 * series, and the hub asks the network at most once per granularity period.
 *
 * The processes are a fixture /proc tree whose CPU times the test advances, so every Eᵢ is known exactly.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HistoryStore } from '../../src/core/history/store';
import { UkCarbonIntensityProvider } from '../../src/core/intensity/live';
import { resolveRegion } from '../../src/core/intensity/regions';
import { MeterHub } from '../../src/core/meter/hub';
import type { MeterEnvironment } from '../../src/core/meter/meter';
import { parseProcStat } from '../../src/core/sampling/procfs';
import { J_PER_KWH } from '../../src/core/types';
import { IntensityServer } from '../helpers/intensityServer';

const FIXTURE = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'proc', 'training-tree');
const HALF_HOUR = 1_800_000;
const GB = resolveRegion('GB');
const TDP_W = 120;
const CPUS = 2;
const RAM_W_PER_GB = 0.5;
const PUE = 1.2;
const PIDS = [4242, 4301, 4302, 4303];

/** Low in even half hours, high in odd ones: every half-hour boundary is a jump. */
function jumping(t: number): number {
  return Math.floor(t / HALF_HOUR) % 2 === 0 ? 90 : 410;
}

class FakeProc {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-proc-live-'));
  constructor() {
    fs.cpSync(FIXTURE, this.root, { recursive: true });
  }
  stat(pid: number) {
    return parseProcStat(fs.readFileSync(path.join(this.root, String(pid), 'stat'), 'latin1'));
  }
  addUtime(pid: number, ticks: number): void {
    const file = path.join(this.root, String(pid), 'stat');
    const text = fs.readFileSync(file, 'latin1');
    const close = text.lastIndexOf(')');
    const rest = text
      .slice(close + 2)
      .replace(/\n$/, '')
      .split(' ');
    rest[14 - 3] = String(Number(rest[14 - 3]) + ticks);
    fs.writeFileSync(file, `${text.slice(0, close + 1)} ${rest.join(' ')}\n`);
  }
  /** total CPU ticks of the tree (u + s + cu + cs) */
  ticks(): number {
    return PIDS.reduce((sum, pid) => {
      const s = this.stat(pid);
      return sum + s.utimeTicks + s.stimeTicks + s.cutimeTicks + s.cstimeTicks;
    }, 0);
  }
  rssBytes(): number {
    return PIDS.reduce((sum, pid) => sum + this.stat(pid).rssPages * 4096, 0);
  }
  removeAll(): void {
    for (const pid of PIDS) fs.rmSync(path.join(this.root, String(pid)), { recursive: true, force: true });
  }
  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

describe('intensity/live: a run spanning a change of intensity, through MeterHub', () => {
  let server: IntensityServer;
  let proc: FakeProc;
  let home: string;
  let hub: MeterHub | undefined;

  beforeEach(async () => {
    server = await IntensityServer.start();
    server.intensityAt = jumping;
    proc = new FakeProc();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-home-live-'));
  });
  afterEach(async () => {
    await hub?.intensityIdle();
    hub?.dispose();
    hub = undefined;
    await server.close();
    proc.cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  function environment(provider: UkCarbonIntensityProvider): MeterEnvironment {
    return {
      hardware: { cpuModel: 'Test CPU', logicalCpus: CPUS, ramGB: 16, gpus: [] },
      cpu: { kind: 'tdp', tdp: { tdpW: TDP_W, method: 'modelled', source: 'test', detail: `TDP ${TDP_W} W (test)` } },
      gpu: { unavailable: 'no GPU in this test' },
      ramWPerGB: RAM_W_PER_GB,
      intensity: provider,
      procRoot: proc.root,
      clkTck: 100,
      pageSize: 4096,
    };
  }

  it('emissions are exactly Σ Eᵢ × Iᵢ over ticks on both sides of the jump', async () => {
    const provider = new UkCarbonIntensityProvider({
      cacheDir: path.join(home, 'intensity-cache'),
      baseUrl: server.url,
      pollMs: 10,
    });
    const store = new HistoryStore(home, { durable: false });
    hub = new MeterHub(environment(provider), store, { intervalMs: 3_600_000 }); // the test drives the ticks

    // the next half-hour boundary at least 10 s ahead: the run starts before it and ends after it
    const B = Math.ceil((Date.now() + 10_000) / HALF_HOUR) * HALF_HOUR;
    const T0 = B - 4000;
    assert.notEqual(jumping(B - 1), jumping(B), 'the intensity jumps at B');
    await provider.refresh(GB, T0);
    const meter = hub.start({
      pid: 4242,
      command: 'python train.py',
      cwd: '/work',
      source: 'cli',
      startedAt: T0,
      place: { region: GB, reason: 'test', guessed: false, pue: PUE, pueSource: 'test' },
    });
    await hub.intensityIdle();

    const ticks = [B - 3000, B - 1500, B - 200, B + 700, B + 2000, B + 3500];
    const work = [0, 37, 80, 55, 120, 9]; // CPU ticks added to 4301 before each tick (the first tick counts the tree's history)
    const rssW = (proc.rssBytes() / 1024 ** 3) * RAM_W_PER_GB;
    let expectedG = 0;
    let expectedKWh = 0;
    let prevTicks = 0; // countFromProcessStart: everything since the processes started counts
    let prevT = T0;
    const seen = new Set<number>();
    for (const [i, t] of ticks.entries()) {
      proc.addUtime(4301, work[i]);
      await hub.tickAll(t);
      const total = proc.ticks();
      const cpuJ = (TDP_W * ((total - prevTicks) / 100)) / CPUS;
      const ramJ = rssW * ((t - prevT) / 1000);
      const kWh = ((cpuJ + ramJ) * PUE) / J_PER_KWH;
      const I = jumping(t);
      seen.add(I);
      expectedKWh += kWh;
      expectedG += kWh * I;
      prevTicks = total;
      prevT = t;
    }
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      [90, 410],
    );

    const run = meter.run;
    assert.ok(
      Math.abs(run.energyKWh.total - expectedKWh) <= expectedKWh * 1e-12,
      `${run.energyKWh.total} vs ${expectedKWh}`,
    );
    assert.ok(
      Math.abs(run.emissionsKg * 1000 - expectedG) <= expectedG * 1e-12,
      `${run.emissionsKg * 1000} g vs Σ Eᵢ × Iᵢ = ${expectedG} g`,
    );
    // not the same as the mean intensity × the energy, nor as either value alone
    for (const flat of [90, 410, (90 + 410) / 2])
      assert.ok(Math.abs(expectedKWh * flat - expectedG) > expectedG * 1e-3);
    assert.equal(run.intensity.method, 'time-resolved');
    assert.ok(Math.abs(run.intensity.gPerKWh - expectedG / expectedKWh) < 1e-3, 'the energy-weighted mean');
    assert.match(run.intensity.source, /Carbon Intensity API/);
    assert.equal(run.intensity.factorType, 'average');
    assert.equal(run.intensity.fallback, undefined);

    // the hub asked once for the first period and once when the ticks crossed into the next, never per tick
    await hub.intensityIdle();
    assert.equal(server.count('uk.national'), 2);

    // the processes exit: the run is closed and stored with the intensity series
    proc.removeAll();
    await hub.tickAll(B + 5000);
    // the last interval, up to the tick that found the processes gone, holds the memory they held at the last look
    expectedG += ((rssW * ((B + 5000 - prevT) / 1000) * PUE) / J_PER_KWH) * jumping(B + 5000);
    const stored = store.load().runs.find((r) => r.id === run.id)!;
    assert.equal(stored.status, 'completed');
    assert.ok(Math.abs(stored.emissionsKg * 1000 - expectedG) <= expectedG * 1e-12);
    assert.equal(stored.intensity.method, 'time-resolved');
    const samples = store.samples(run.id);
    assert.deepEqual(
      samples.map((s) => s.gPerKWh),
      [...ticks.map(jumping), jumping(B + 5000)],
    );
  });

  it('the hub starts the first refresh itself when a run starts, and not again within the period', async () => {
    const provider = new UkCarbonIntensityProvider({
      cacheDir: path.join(home, 'intensity-cache'),
      baseUrl: server.url,
      pollMs: 10,
    });
    hub = new MeterHub(environment(provider), new HistoryStore(home, { durable: false }), { intervalMs: 3_600_000 });
    const now = Date.now();
    const meter = hub.start({
      pid: 4242,
      command: 'python train.py',
      cwd: '/work',
      source: 'terminal',
      place: { region: GB, reason: 'test', guessed: false, pue: 1, pueSource: 'test' },
    });
    await hub.intensityIdle();
    assert.equal(server.count('uk.national'), 1);
    const periodEnd = Math.ceil((now + 1) / HALF_HOUR) * HALF_HOUR;
    const t1 = Math.min(now + 500, periodEnd - 2);
    await hub.tickAll(t1);
    await hub.tickAll(Math.min(t1 + 1, periodEnd - 1));
    await hub.intensityIdle();
    assert.equal(server.count('uk.national'), 1);
    assert.equal(meter.run.intensity.method, 'time-resolved');
    assert.equal(meter.run.intensity.fallback, undefined);
  });

  it('a failing source: the run uses the static average and its record says why', async () => {
    server.fail('uk.national', { status: 503 });
    const problems: string[] = [];
    const provider = new UkCarbonIntensityProvider({
      cacheDir: path.join(home, 'intensity-cache'),
      baseUrl: server.url,
      pollMs: 10,
      onProblem: (p) => problems.push(p.message),
    });
    const store = new HistoryStore(home, { durable: false });
    hub = new MeterHub(environment(provider), store, { intervalMs: 3_600_000 });
    const meter = hub.start({
      pid: 4242,
      command: 'python train.py',
      cwd: '/work',
      source: 'cli',
      place: { region: GB, reason: 'test', guessed: false, pue: 1, pueSource: 'test' },
    });
    await hub.intensityIdle();
    const t = Date.now();
    for (let i = 1; i <= 5; i++) {
      proc.addUtime(4301, 10);
      await hub.tickAll(t + i * 10);
    }
    const run = meter.run;
    assert.equal(run.intensity.method, 'annual-average');
    assert.match(run.intensity.fallback ?? '', /server error \(HTTP 503\); using the static annual average instead/);
    assert.ok(Math.abs(run.emissionsKg / run.energyKWh.total - GB.intensityGPerKWh / 1000) < 1e-12);
    assert.equal(problems.length, 1, 'told once, not per tick');
  });
});
