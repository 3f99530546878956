/**
 * Per-cell attribution (core/notebook/cells.ts) against a kernel whose power over time is known exactly: readings
 * are the cumulative integrals of that power at ticks that fall anywhere relative to the cells.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HistoryStore } from '../../src/core/history/store';
import { StaticIntensityProvider } from '../../src/core/intensity/provider';
import { resolveRegion } from '../../src/core/intensity/regions';
import { MeterHub } from '../../src/core/meter/hub';
import type { MeterEnvironment } from '../../src/core/meter/meter';
import {
  attributeCells,
  CellLedger,
  cellMethod,
  firstLineOf,
  floorsOf,
  MAX_FIRST_LINE,
  type CellWindow,
  type ComponentMethods,
  type LedgerPoint,
} from '../../src/core/notebook/cells';

const J_PER_KWH = 3.6e6;
const PUE = 1.2;
const G_PER_KWH = 300;

/** A kernel: idle CPU `idleW`, `workW` more while a work span runs, RAM constant, GPU held idle at `gpuIdleW`. */
interface Kernel {
  idleW: number;
  workW: number;
  ramW: number;
  gpuIdleW: number;
  /** [start, end] ms of the kernel's work (cells, or something else) */
  work: [number, number][];
}

function workMs(k: Kernel, a: number, b: number): number {
  return k.work.reduce((s, [x, y]) => s + Math.max(0, Math.min(y, b) - Math.max(x, a)), 0);
}

/** The run's cumulative figures at each tick, integrated exactly. */
function readings(k: Kernel, ticks: number[]): LedgerPoint[] {
  const pts: LedgerPoint[] = [];
  let cpuJ = 0;
  let ramJ = 0;
  let gpuJ = 0;
  let cpuS = 0;
  for (let i = 0; i < ticks.length; i++) {
    if (i > 0) {
      const a = ticks[i - 1];
      const b = ticks[i];
      const busyS = workMs(k, a, b) / 1000;
      cpuJ += k.idleW * ((b - a) / 1000) + k.workW * busyS;
      cpuS += busyS;
      ramJ += k.ramW * ((b - a) / 1000);
      gpuJ += k.gpuIdleW * ((b - a) / 1000);
    }
    const pre = (cpuJ + ramJ + gpuJ) / J_PER_KWH;
    pts.push({
      t: ticks[i],
      cpuKWh: cpuJ / J_PER_KWH,
      gpuKWh: gpuJ / J_PER_KWH,
      ramKWh: ramJ / J_PER_KWH,
      totalKWh: pre * PUE,
      emissionsKg: (pre * PUE * G_PER_KWH) / 1000,
      cpuSeconds: cpuS,
    });
  }
  return pts;
}

/** What a window really used (with PUE), from the same model. */
function truth(k: Kernel, w: { startMs: number; endMs: number }): number {
  const s = (w.endMs - w.startMs) / 1000;
  const j = (k.idleW + k.ramW + k.gpuIdleW) * s + k.workW * (workMs(k, w.startMs, w.endMs) / 1000);
  return (j / J_PER_KWH) * PUE;
}

function ticksEvery(fromMs: number, toMs: number, stepMs: number): number[] {
  const out: number[] = [];
  for (let t = fromMs; t <= toMs; t += stepMs) out.push(t);
  return out;
}

const methods: ComponentMethods = { cpu: 'modelled', gpu: 'measured', ram: 'modelled' };

describe('notebook cells: attribution', () => {
  const T0 = 1_700_000_000_000;
  // a 1 s cell and a 3 s cell, 2.5 s apart, neither aligned with the 1 s ticks (which start 370 ms after T0)
  const cellA = { startMs: T0 + 1250, endMs: T0 + 2250 };
  const cellB = { startMs: T0 + 4750, endMs: T0 + 7750 };
  const kernel: Kernel = {
    idleW: 0.05,
    workW: 12,
    ramW: 0.4,
    gpuIdleW: 0,
    work: [
      [cellA.startMs, cellA.endMs],
      [cellB.startMs, cellB.endMs],
    ],
  };

  it('gives each cell what the kernel used in its window, whatever the tick phase', () => {
    for (const phase of [0, 130, 370, 500, 999]) {
      const pts = readings(kernel, ticksEvery(T0 + phase - 1000, T0 + 10_000, 1000));
      const floors = floorsOf(pts, -Infinity, [cellA, cellB]);
      const [a, b] = attributeCells(pts, [cellA, cellB], -Infinity, floors);
      assert.ok(
        Math.abs(a.totalKWh / truth(kernel, cellA) - 1) < 0.01,
        `phase ${phase}: cell A ${a.totalKWh} vs ${truth(kernel, cellA)}`,
      );
      assert.ok(
        Math.abs(b.totalKWh / truth(kernel, cellB) - 1) < 0.01,
        `phase ${phase}: cell B ${b.totalKWh} vs ${truth(kernel, cellB)}`,
      );
      assert.ok(
        Math.abs(b.totalKWh / a.totalKWh - 3) < 0.05,
        `phase ${phase}: 3 s of work is three times 1 s (${b.totalKWh / a.totalKWh})`,
      );
      assert.ok(
        Math.abs(a.cpuSeconds - 1) < 1e-6 && Math.abs(b.cpuSeconds - 3) < 1e-6,
        `phase ${phase}: CPU time ${a.cpuSeconds}, ${b.cpuSeconds}`,
      );
      // emissions follow the energy at the intensity in force
      assert.ok(Math.abs(a.emissionsKg - (a.totalKWh * G_PER_KWH) / 1000) < 1e-12);
    }
  });

  it('gives a cell its work even when a long sampling interval spans idle time and the cell', () => {
    // 10 s ticks: splitting by time alone would give the 1 s cell a tenth of the interval's work
    const pts = readings(kernel, [T0 - 25_000, T0 - 15_000, T0 - 5000, T0 + 5000, T0 + 15_000]);
    const [a, b] = attributeCells(pts, [cellA, cellB], -Infinity, floorsOf(pts, -Infinity, [cellA, cellB]));
    assert.ok(Math.abs(a.totalKWh / truth(kernel, cellA) - 1) < 0.05, `${a.totalKWh} vs ${truth(kernel, cellA)}`);
    assert.ok(Math.abs(b.totalKWh / truth(kernel, cellB) - 1) < 0.05);
  });

  it('leaves idle time between cells with what the kernel used then, and counts nothing twice', () => {
    const pts = readings(kernel, ticksEvery(T0 - 630, T0 + 10_370, 1000));
    const [a, b] = attributeCells(pts, [cellA, cellB], -Infinity, floorsOf(pts, -Infinity, [cellA, cellB]));
    const run = pts[pts.length - 1].totalKWh - pts[0].totalKWh;
    const idle = run - a.totalKWh - b.totalKWh;
    const idleTruth =
      ((kernel.idleW + kernel.ramW) * ((pts[pts.length - 1].t - pts[0].t - 4000) / 1000) * PUE) / J_PER_KWH;
    assert.ok(Math.abs(idle / idleTruth - 1) < 0.01, `idle ${idle} vs ${idleTruth}`);
  });

  it('without an idle interval to learn the floor from, still splits what the cells share by overlap', () => {
    const c1 = { startMs: T0, endMs: T0 + 1000 };
    const c2 = { startMs: T0 + 1000, endMs: T0 + 4000 };
    const k: Kernel = { ...kernel, work: [[T0, T0 + 4000]] };
    const pts = readings(k, ticksEvery(T0, T0 + 4000, 700).concat([T0 + 4000]));
    const [x, y] = attributeCells(pts, [c1, c2], -Infinity, floorsOf(pts, -Infinity, [c1, c2]));
    assert.ok(Math.abs(y.totalKWh / x.totalKWh - 3) < 0.01, `${y.totalKWh / x.totalKWh}`);
  });

  it("reports a GPU held idle during a cell as the cell's share of it", () => {
    const k: Kernel = { ...kernel, gpuIdleW: 60 };
    const pts = readings(k, ticksEvery(T0 - 630, T0 + 10_370, 1000));
    const [a] = attributeCells(pts, [cellA], -Infinity, floorsOf(pts, -Infinity, [cellA]));
    assert.ok(Math.abs(a.gpuKWh / (60 / J_PER_KWH) - 1) < 0.01, `GPU ${a.gpuKWh * J_PER_KWH} J for a 1 s cell at 60 W`);
    assert.equal(cellMethod(a, methods), 'modelled', 'the CPU is modelled, and makes more than a tenth');
  });

  it('splits an interval that began before the kernel was found by time only', () => {
    // the kernel started 20 s before it was found; its start-up work is in the first interval
    const k: Kernel = {
      ...kernel,
      work: [
        [T0 - 20_000, T0 - 18_000],
        [cellA.startMs, cellA.endMs],
      ],
    };
    const found = T0 + 1400;
    const pts = readings(k, [T0 - 20_000, found, T0 + 2400, T0 + 3400]);
    const [a] = attributeCells(pts, [cellA], found, floorsOf(pts, found, [cellA]));
    // without the rule the whole start-up (2 s of work) would land on the cell; with it, only 150 ms / 21.4 s of it
    assert.ok(a.cpuSeconds < 1.05, `cell CPU ${a.cpuSeconds}`);
    assert.ok(a.cpuSeconds > 0.8, `cell CPU ${a.cpuSeconds}: what was seen after the kernel was found counts`);
  });

  it('shares an interval between two back-to-back cells by overlap', () => {
    const c1 = { startMs: T0 + 1000, endMs: T0 + 2600 };
    const c2 = { startMs: T0 + 2600, endMs: T0 + 3200 };
    const k: Kernel = { ...kernel, work: [[c1.startMs, c2.endMs]] };
    const pts = readings(k, ticksEvery(T0, T0 + 5000, 1000));
    const [x, y] = attributeCells(pts, [c1, c2], -Infinity, floorsOf(pts, -Infinity, [c1, c2]));
    assert.ok(
      Math.abs(x.cpuSeconds - 1.6) < 1e-6 && Math.abs(y.cpuSeconds - 0.6) < 1e-6,
      `${x.cpuSeconds} ${y.cpuSeconds}`,
    );
  });
});

describe('notebook cells: ledger', () => {
  const T0 = 1_700_000_000_000;

  it('settles a cell once a reading covers its end, with its figures and method', () => {
    const k: Kernel = { idleW: 0, workW: 10, ramW: 0.5, gpuIdleW: 0, work: [[T0 + 1200, T0 + 2200]] };
    const pts = readings(k, ticksEvery(T0, T0 + 4000, 1000));
    const ledger = new CellLedger(T0 - 1, () => methods);
    const w: CellWindow = { index: 3, firstLine: 'train(model)', startMs: T0 + 1200, endMs: T0 + 2200, success: true };
    ledger.addPoint(pts[0]);
    ledger.addPoint(pts[1]);
    ledger.cellStarted(w.startMs);
    ledger.addPoint(pts[2]);
    ledger.cellEnded(w);
    assert.deepEqual(ledger.settle(), [], 'not before a reading covers the end');
    ledger.addPoint(pts[3]);
    const [{ footprint: c }] = ledger.settle();
    assert.equal(c.index, 3);
    assert.equal(c.firstLine, 'train(model)');
    assert.equal(c.startedAt, new Date(T0 + 1200).toISOString());
    assert.equal(c.durationS, 1);
    assert.equal(c.cpuSeconds, 1);
    assert.equal(c.method, 'modelled');
    assert.equal(c.success, true);
    assert.ok(Math.abs(c.energyKWh / truth(k, w) - 1) < 0.01);
    assert.ok(Math.abs(c.emissionsKg - (c.energyKWh * G_PER_KWH) / 1000) < 1e-12);
    assert.deepEqual(ledger.settle(), [], 'a cell is settled once');
  });

  it('keeps a bounded number of readings over a long idle kernel', () => {
    const k: Kernel = { idleW: 0.01, workW: 10, ramW: 0.5, gpuIdleW: 0, work: [] };
    const ledger = new CellLedger(T0, () => methods);
    for (const p of readings(k, ticksEvery(T0, T0 + 3_600_000, 1000))) ledger.addPoint(p);
    assert.ok(ledger.heldPoints <= 160, `held ${ledger.heldPoints}`);
  });

  it('takes the first non-empty line of a cell, bounded', () => {
    assert.equal(firstLineOf('\n\n   model.fit(x)  \nmore'), 'model.fit(x)');
    assert.equal(firstLineOf(''), '');
    const long = firstLineOf('x'.repeat(500));
    assert.equal(long.length, MAX_FIRST_LINE);
    assert.ok(long.endsWith('…'));
  });
});

describe('notebook cells: a reading on demand (MeterHub.sampleNow)', () => {
  it('takes a reading of every run at once, one tick after the other, never two at a time', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-home-nb-'));
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const env: MeterEnvironment = {
      hardware: { cpuModel: 'Test CPU', logicalCpus: 4, ramGB: 16, gpus: [] },
      cpu: { kind: 'tdp', tdp: { tdpW: 100, method: 'modelled', source: 'test', detail: 'TDP 100 W (test)' } },
      gpu: { unavailable: 'no GPU in this test' },
      intensity: new StaticIntensityProvider(),
    };
    // a regular tick would come in an hour: every reading here is one asked for
    const hub = new MeterHub(env, new HistoryStore(home, { durable: false }), {
      intervalMs: 3_600_000,
      checkpointMs: 3_600_000,
    });
    try {
      const meter = hub.start({
        pid: child.pid!,
        command: 'node',
        cwd: home,
        source: 'notebook',
        place: { region: resolveRegion('FR'), reason: 'test', guessed: false, pue: 1, pueSource: 'test' },
      });
      const seen: number[] = [];
      hub.onReading((r) => seen.push(r.t));
      const a = hub.sampleNow();
      const b = hub.sampleNow();
      await a;
      assert.equal(seen.length, 1, 'the first reading is there when its promise resolves');
      await b;
      assert.equal(seen.length, 2);
      assert.ok(seen[1] >= seen[0], 'in order');
      assert.ok(meter.lastSample?.pids.includes(child.pid!));
    } finally {
      hub.dispose();
      child.kill('SIGKILL');
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
