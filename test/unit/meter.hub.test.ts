/**
 * MeterHub: a reading of one run on demand (sampleNow(id)), a run's last GPU reading apart from the other runs'
 * ticks, and the memory of runs shorter than a tick. Real processes; no assertion on durations: every wait is for
 * an event or a condition, with a generous deadline.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HistoryStore } from '../../src/core/history/store';
import { StaticIntensityProvider } from '../../src/core/intensity/provider';
import { resolveRegion } from '../../src/core/intensity/regions';
import { MeterHub } from '../../src/core/meter/hub';
import type { MeterEnvironment, RunSpec } from '../../src/core/meter/meter';
import type { GpuSnapshot } from '../../src/core/power/gpu';
import type { GpuMonitor } from '../../src/core/power/gpuMonitor';
import { RAM_W_PER_GB } from '../../src/core/power/ram';
import type { Run } from '../../src/core/types';
import { until } from '../helpers/fakeNvml';

const TDP = { tdpW: 100, method: 'modelled' as const, source: 'test', detail: 'TDP 100 W (test)' };

function env(gpu: MeterEnvironment['gpu'] = { unavailable: 'no GPU in this test' }): MeterEnvironment {
  return {
    hardware: { cpuModel: 'Test CPU', logicalCpus: 4, ramGB: 16, gpus: [] },
    cpu: { kind: 'tdp', tdp: TDP },
    gpu,
    intensity: new StaticIntensityProvider(),
  };
}

function spec(pid: number, cwd: string): RunSpec {
  return {
    pid,
    command: 'node',
    cwd,
    source: 'terminal',
    place: { region: resolveRegion('FR'), reason: 'test', guessed: false, pue: 1, pueSource: 'test' },
  };
}

function idle(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
}

/** A GPU whose on-demand reading answers only when the test says so: a GPU tool that takes seconds (amd-smi). */
class GatedGpu implements GpuMonitor {
  refreshes = 0;
  private readonly waiting: (() => void)[] = [];
  start(): void {}
  stop(): void {}
  refreshApps(): void {}
  latest(): GpuSnapshot {
    return { ok: false, devices: [], processes: [], reason: 'no reading in this test', at: Date.now() };
  }
  refresh(): Promise<void> {
    this.refreshes++;
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  answer(): void {
    for (const release of this.waiting.splice(0)) release();
  }
}

describe('meter/MeterHub: sampling on demand, closing runs, short runs', function () {
  this.timeout(120_000);
  let home: string;
  const children: ChildProcess[] = [];
  beforeEach(() => (home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-hub-'))));
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('sampleNow(id) takes a reading of that run only, in order, never two ticks at once', async () => {
    const a = idle();
    const b = idle();
    children.push(a, b);
    const hub = new MeterHub(env(), new HistoryStore(home, { durable: false }), {
      intervalMs: 3_600_000,
      checkpointMs: 3_600_000,
    });
    try {
      const ma = hub.start(spec(a.pid!, home));
      const mb = hub.start(spec(b.pid!, home));
      const seen: string[] = [];
      hub.onReading((r) => seen.push(r.runId));
      const first = hub.sampleNow(ma.run.id);
      const all = hub.sampleNow();
      const second = hub.sampleNow(ma.run.id);
      await first;
      assert.deepEqual(seen, [ma.run.id], 'one reading, of the run asked for');
      await all;
      assert.deepEqual(seen.slice(1).sort(), [ma.run.id, mb.run.id].sort(), 'without an id: every run');
      await second;
      assert.deepEqual(seen.slice(3), [ma.run.id]);
      assert.ok(mb.lastSample?.pids.includes(b.pid!));
    } finally {
      hub.dispose();
    }
  });

  it('a run waiting for its last GPU reading does not hold back the ticks of the others', async () => {
    const gpu = new GatedGpu();
    const stays = idle();
    const ends = idle();
    children.push(stays, ends);
    const hub = new MeterHub(env(gpu), new HistoryStore(home, { durable: false }), { intervalMs: 3_600_000 });
    const finished: Run[] = [];
    hub.onRunFinished((r) => finished.push(r));
    try {
      const mStays = hub.start(spec(stays.pid!, home));
      const mEnds = hub.start(spec(ends.pid!, home));
      const exited = new Promise((r) => ends.once('exit', r));
      ends.kill('SIGKILL');
      await exited;
      hub.setExitCode(mEnds.run.id, 137);
      await hub.tickAll(); // finds the run gone: its last GPU reading starts, and waits
      await until(() => gpu.refreshes === 1, 'the last GPU reading to be asked for');
      const before = mStays.lastSample?.t ?? 0;
      const readings: string[] = [];
      hub.onReading((r) => readings.push(r.runId));
      await hub.tickAll(before + 1000); // not held back by the GPU
      assert.deepEqual(readings, [mStays.run.id], 'the closing run is not ticked again');
      assert.equal(finished.length, 0, 'the run is written after its last GPU reading');
      const stopped = hub.stop(mEnds.run.id); // waits for the close under way, closes nothing twice
      gpu.answer();
      await hub.closed();
      const run = await stopped;
      assert.equal(finished.length, 1);
      assert.equal(finished[0].id, mEnds.run.id);
      assert.equal(run?.exitCode, 137);
      assert.equal(run?.status, 'failed');
      assert.ok(hub.get(mStays.run.id), 'the other run is still metered');
    } finally {
      gpu.answer();
      hub.dispose();
    }
  });

  it("a run whose command has ended closes when its adopter's child exits, with no tick at all", async () => {
    // the command (a shell) starts a process that outlives it, says its pid, and ends when told
    const sh = spawn('sh', ['-c', 'sleep 1000 & echo $!; read x'], { stdio: ['pipe', 'pipe', 'ignore'] });
    children.push(sh);
    const sleepPid = Number(
      await new Promise<string>((resolve) => sh.stdout.once('data', (d: Buffer) => resolve(d.toString()))),
    );
    let ticksAsked = 0;
    const listeners = new Set<() => void>();
    // the CLI's adopter tells the hub when a child of it exits (SIGCHLD); here the test tells it, once the process
    // that outlived the command is gone, so the run can end by nothing else than that news
    const adopter = {
      pid: process.pid,
      reap: () => false,
      isOwnChild: () => true,
      onChildExit: (l: () => void) => (listeners.add(l), () => listeners.delete(l)),
    };
    const hub = new MeterHub(env(), new HistoryStore(home, { durable: false }), {
      intervalMs: 1000,
      // the ticks are asked for and never run
      setTickTimer: () => (ticksAsked++, { cancel: () => undefined }),
    });
    try {
      const m = hub.start({ ...spec(sh.pid!, home), adopter });
      hub.awaitExit(m.run.id);
      const shExited = new Promise((r) => sh.once('exit', r));
      sh.stdin.end('\n');
      await shExited;
      let outlived = -1;
      const ended = hub.endWhenGone(m.run.id, 0, { onOutlived: (n) => (outlived = n) });
      await until(() => outlived >= 0, 'the hub to see the process that outlived the command');
      assert.equal(outlived, 1);
      process.kill(sleepPid, 'SIGTERM');
      await until(() => !isRunning(sleepPid), 'the outliving process to be gone');
      for (const l of listeners) l();
      const run = await ended;
      assert.ok(ticksAsked >= 1, 'the hub asked for its regular tick');
      assert.equal(run?.status, 'completed');
      assert.ok(hub.get(m.run.id) === undefined, 'the run is closed');
    } finally {
      try {
        process.kill(sleepPid, 'SIGKILL');
      } catch {
        // gone
      }
      hub.dispose();
    }
  });

  it('a run that ends before its first tick has its memory energy: power × its duration', async () => {
    const hub = new MeterHub(env(), new HistoryStore(home, { durable: false }), { intervalMs: 3_600_000 });
    try {
      // a real process that holds 64 MB and ends as soon as the test closes its stdin, with no tick in between
      const child = spawn(
        process.execPath,
        [
          '-e',
          'const b = Buffer.alloc(64 * 2 ** 20, 1); process.stdout.write("ready"); process.stdin.on("data", () => {}); process.stdin.on("end", () => process.exit(b.length > 0 ? 0 : 1));',
        ],
        { stdio: ['pipe', 'pipe', 'ignore'] },
      );
      const code = new Promise<number | null>((r) => child.once('exit', r));
      await new Promise((r) => child.stdout!.once('data', r));
      const meter = hub.start(spec(child.pid!, home));
      hub.awaitExit(meter.run.id);
      child.stdin!.end();
      const run = (await hub.endWhenGone(meter.run.id, await code))!;
      assert.equal(run.status, 'completed');
      assert.ok((run.peakRamGB ?? 0) > 0, 'the memory was seen');
      const ramJ = run.energyKWh.ram * 3.6e6;
      assert.ok(ramJ > 0, `RAM energy ${ramJ} J`);
      // the memory held over the run's whole duration; peakRamGB is rounded to 4 digits (and durationS to 3)
      const heldGB = ramJ / (RAM_W_PER_GB * run.durationS);
      assert.ok(Math.abs(heldGB - (run.peakRamGB ?? 0)) <= 0.0001, `${heldGB} GB held, peak ${run.peakRamGB} GB`);
    } finally {
      hub.dispose();
    }
  });

  it('a run busy to its end keeps its last power: the closing reading after the exit one adds no 0 W sample', async () => {
    const hub = new MeterHub(env(), new HistoryStore(home, { durable: false }), { intervalMs: 3_600_000 });
    try {
      // a real process that burns CPU until the test closes its stdin
      const child = spawn(
        process.execPath,
        [
          '-e',
          'let go = true; process.stdin.on("end", () => (go = false)); process.stdin.resume(); (function burn() { const t = Date.now(); while (Date.now() - t < 20); if (go) setImmediate(burn); else process.exit(0); })();',
        ],
        { stdio: ['pipe', 'ignore', 'ignore'] },
      );
      children.push(child);
      const code = new Promise<number | null>((r) => child.once('exit', r));
      const meter = hub.start(spec(child.pid!, home));
      hub.awaitExit(meter.run.id);
      const ticks = () => {
        const f = fs.readFileSync(`/proc/${child.pid}/stat`, 'latin1').split(') ')[1].split(' ');
        return Number(f[11]) + Number(f[12]);
      };
      await until(() => ticks() >= 20, 'the command to use 0.2 CPU s');
      child.stdin!.end();
      const exit = await code;
      await hub.sampleNow(meter.run.id); // as the CLI does when its command exits
      const run = (await hub.endWhenGone(meter.run.id, exit))!;
      const samples = fs
        .readFileSync(path.join(home, 'samples', `${run.id}.jsonl`), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as number[]);
      // [t, cpuW, gpuW, ramW, g/kWh]: the last one is the exit reading, with the CPU of the run's last interval
      assert.ok(samples.at(-1)![1] > 0, `last sample ${JSON.stringify(samples.at(-1))}`);
      assert.ok(run.power.cpu.lastW > 0, `lastW ${run.power.cpu.lastW}`);
    } finally {
      hub.dispose();
    }
  });
});

/** Whether `pid` is a running process (a zombie is not). */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
