import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  attributeGpuPower,
  forgetAbsentTools,
  formatSeconds,
  isAbsentTool,
  GPU_ATTRIBUTION_RULE,
  NvidiaSmiMonitor,
  parseComputeAppLine,
  parseGpuLine,
  parseNumberField,
  probeNvidiaSmi,
  type GpuSnapshot,
  type NvidiaSmiOptions,
} from '../../src/core/power/gpu';
import { runOnce, spawnQuiet } from '../../src/core/power/gpu/tools';

const FAKES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'nvidia-smi');
const fake = (name: string): string => path.join(FAKES, name);

const A100_0 = 'GPU-4b8f1c2e-9a7d-4c39-8e0f-3d1b6a5c7e21';
const A100_1 = 'GPU-5c9a2d3f-0b8e-4d4a-9f10-4e2c7b6d8f32';
const A100_2 = 'GPU-6dab3e40-1c9f-4e5b-a021-5f3d8c7e9043';
const DRIVER_FAILED =
  "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond` holds, checking every 20 ms (mocha's own timeout is the only limit). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await sleep(20);
}

/** A process that is running (a zombie waiting for its reaper counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Live processes of a process group (the fakes' shells and their `sleep`s). */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (f[0] !== 'Z' && Number(f[2]) === pgid) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const monitors: NvidiaSmiMonitor[] = [];
function monitor(name: string, opts: NvidiaSmiOptions = {}): NvidiaSmiMonitor {
  const m = new NvidiaSmiMonitor({
    command: fake(name),
    intervalMs: 100,
    timeoutMs: 1000,
    appsEveryMs: 200,
    retryMs: 100,
    ...opts,
  });
  monitors.push(m);
  return m;
}

/** A monitor of the fake `name`, started, once `ready` holds for it. */
async function started(
  name: string,
  ready: (m: NvidiaSmiMonitor) => boolean,
  opts: NvidiaSmiOptions = {},
): Promise<NvidiaSmiMonitor> {
  const m = monitor(name, opts);
  m.start();
  await until(() => ready(m));
  return m;
}

/** nvidia-smi has answered (or failed to): the monitor no longer waits for its first reading. */
const answered = (m: NvidiaSmiMonitor): boolean =>
  m.latest().reason !== 'waiting for the first reading from nvidia-smi';

/** Stops a monitor and checks that every child it ever started, and their process groups, are gone. */
async function stopAndCheckNoLeak(m: NvidiaSmiMonitor): Promise<void> {
  m.stop();
  await m.whenIdle();
  assert.deepEqual(m.childPids(), []);
  const pids = m.stats().pids;
  if (process.platform === 'linux') {
    await until(() => pids.every((p) => !alive(p) && groupMembers(p).length === 0));
  }
}

describe('power/gpu: parsing nvidia-smi output', () => {
  it('reads a real device line', () => {
    assert.deepEqual(parseGpuLine(`0, ${A100_0}, NVIDIA A100-SXM4-40GB, 61.42, 400.00, 0, 4, 40960`), {
      index: 0,
      uuid: A100_0,
      name: 'NVIDIA A100-SXM4-40GB',
      powerW: 61.42,
      powerLimitW: 400,
      utilizationPct: 0,
      memoryUsedMB: 4,
      memoryTotalMB: 40960,
    });
  });

  it('reads "[N/A]" and "[Not Supported]" as null', () => {
    const d = parseGpuLine(
      '0, GPU-8fcd5062-3eb1-4a7d-c243-715fae9b0265, NVIDIA GeForce GT 1030, [N/A], [Not Supported], 35, 1021, 2048',
    );
    assert.equal(d?.powerW, null);
    assert.equal(d?.powerLimitW, null);
    assert.equal(d?.utilizationPct, 35);
  });

  it('keeps fields beyond the reading, in the order asked', () => {
    const extra: Record<string, string> = {};
    const d = parseGpuLine(
      `1, ${A100_1}, NVIDIA A100-SXM4-40GB, 535.129.03`,
      ['index', 'uuid', 'name', 'driver_version'],
      extra,
    );
    assert.deepEqual(d, { index: 1, uuid: A100_1, name: 'NVIDIA A100-SXM4-40GB', powerW: null });
    assert.deepEqual(extra, { driver_version: '535.129.03' });
  });

  it('rejects lines that are not device lines', () => {
    for (const line of [
      DRIVER_FAILED,
      'No devices were found',
      '+-----------------------------------------------------------------------------------------+',
      `0, ${A100_0}, NVIDIA A100-SXM4-40GB, 61.42, 400.00, 0, 4`, // a field short
      `x, ${A100_0}, NVIDIA A100-SXM4-40GB, 61.42, 400.00, 0, 4, 40960`,
      `0, not-a-uuid, NVIDIA A100-SXM4-40GB, 61.42, 400.00, 0, 4, 40960`,
      `0, ${A100_0}, NVIDIA A100-SXM4-40GB, lots, 400.00, 0, 4, 40960`,
      '',
    ]) {
      assert.equal(parseGpuLine(line), undefined, line);
    }
  });

  it("parseNumberField: numbers, units, the driver's placeholders, garbage", () => {
    assert.equal(parseNumberField(' 61.42 '), 61.42);
    assert.equal(parseNumberField('61.42 W'), 61.42);
    assert.equal(parseNumberField('1024 MiB'), 1024);
    assert.equal(parseNumberField('[N/A]'), null);
    assert.equal(parseNumberField('N/A'), null);
    assert.equal(parseNumberField('[Not Supported]'), null);
    assert.equal(parseNumberField('[Unknown Error]'), null);
    assert.equal(parseNumberField('ERR!'), null);
    assert.equal(parseNumberField('sixty'), undefined);
  });

  it('reads compute-app lines, "[N/A]" memory and the no-process message', () => {
    assert.deepEqual(parseComputeAppLine(`${A100_0}, 4242, 30000`), {
      gpuUuid: A100_0,
      pid: 4242,
      usedMemoryMB: 30000,
    });
    assert.deepEqual(parseComputeAppLine(`${A100_0}, 4242, [N/A]`), { gpuUuid: A100_0, pid: 4242, usedMemoryMB: null });
    assert.equal(parseComputeAppLine('No running processes found'), null);
    assert.equal(parseComputeAppLine('pid, gpu, memory'), undefined);
    assert.equal(parseComputeAppLine(`${A100_0}, 4242`), undefined);
  });

  it('formats timeouts for people', () => {
    assert.equal(formatSeconds(2000), '2 s');
    assert.equal(formatSeconds(300), '0.3 s');
    assert.equal(formatSeconds(1250), '1.25 s');
  });
});

describe('power/gpu: the fake nvidia-smi executables', () => {
  it('are executable and print real nvidia-smi CSV', () => {
    const r = spawnSync(
      fake('one-gpu'),
      [
        '--query-gpu=index,uuid,name,power.draw,power.limit,utilization.gpu,memory.used,memory.total',
        '--format=csv,noheader,nounits',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `0, ${A100_0}, NVIDIA A100-SXM4-40GB, 61.42, 400.00, 0, 4, 40960\n`);
    for (const f of fs.readdirSync(FAKES)) {
      const st = fs.statSync(fake(f));
      if (st.isFile() && !f.endsWith('.md')) assert.ok(st.mode & 0o111, `${f} is not executable`);
    }
  });
});

describe('power/gpu: probeNvidiaSmi', () => {
  it('lists one GPU and the driver version', async () => {
    const p = await probeNvidiaSmi(fake('one-gpu'), 5000);
    assert.equal(p.available, true);
    assert.equal(p.driverVersion, '535.129.03');
    assert.deepEqual(p.devices, [
      {
        index: 0,
        uuid: A100_0,
        name: 'NVIDIA A100-SXM4-40GB',
        powerW: 61.42,
        powerLimitW: 400,
        utilizationPct: 0,
        memoryUsedMB: 4,
        memoryTotalMB: 40960,
      },
    ]);
    assert.equal(p.reason, undefined);
  });

  it('lists several GPUs in index order', async () => {
    const p = await probeNvidiaSmi(fake('multi-gpu'), 5000);
    assert.equal(p.available, true);
    assert.deepEqual(
      p.devices.map((d) => [d.index, d.name, d.powerW]),
      [
        [0, 'NVIDIA H100 80GB HBM3', 512.34],
        [1, 'NVIDIA H100 80GB HBM3', 498.1],
        [2, 'NVIDIA H100 80GB HBM3', 71.05],
        [3, 'NVIDIA H100 80GB HBM3', 69.87],
      ],
    );
    assert.equal(p.driverVersion, '550.54.15');
  });

  it('says when nvidia-smi is not there', async () => {
    const missing = fake('does-not-exist');
    const p = await probeNvidiaSmi(missing, 5000);
    assert.deepEqual(p, {
      available: false,
      devices: [],
      reason: `nvidia-smi not found at ${missing}: GPU energy not metered`,
    });
    const bare = await probeNvidiaSmi('carbon-meter-test-no-such-nvidia-smi', 5000);
    assert.equal(bare.reason, 'carbon-meter-test-no-such-nvidia-smi not found on PATH: GPU energy not metered');
  });

  it('on this machine, without nvidia-smi on PATH, gives the documented reason', async function () {
    if (spawnSync('nvidia-smi', ['-L']).error === undefined) this.skip(); // a machine with a GPU driver
    const p = await probeNvidiaSmi();
    assert.equal(p.available, false);
    assert.equal(p.reason, 'nvidia-smi not found on PATH: GPU energy not metered');
  });

  it('reports the driver failure message and exit code', async () => {
    const p = await probeNvidiaSmi(fake('fail'), 5000);
    assert.equal(p.available, false);
    assert.equal(p.reason, `nvidia-smi failed (exit code 9): ${DRIVER_FAILED}`);
  });

  it('reports a machine without a visible GPU', async () => {
    const p = await probeNvidiaSmi(fake('no-devices'), 5000);
    assert.equal(p.reason, 'nvidia-smi failed (exit code 6): No devices were found');
  });

  it('quotes the first unreadable line, truncated', async () => {
    const p = await probeNvidiaSmi(fake('garbage'), 5000);
    assert.equal(p.available, false);
    assert.equal(p.reason, `nvidia-smi printed output Carbon Meter cannot read: "+${'-'.repeat(79)}…"`);
  });

  it('kills a hanging nvidia-smi after the timeout', async function () {
    if (process.platform !== 'linux') this.skip(); // looks for the killed process in /proc
    const before = sleepers();
    const p = await probeNvidiaSmi(fake('hang'), 300);
    assert.deepEqual(p, { available: false, devices: [], reason: 'nvidia-smi did not answer within 0.3 s' });
    await until(() => sleepers().filter((pid) => !before.includes(pid)).length === 0);
  });
});

/** The `sleep 2147483647` processes of the hanging fakes still alive. */
function sleepers(): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (fs.readFileSync(`/proc/${e}/cmdline`, 'utf8') === 'sleep\u00002147483647\u0000' && alive(Number(e)))
        out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

describe('power/gpu: NvidiaSmiMonitor', function () {
  if (process.platform === 'win32') return; // the fakes are bash scripts

  afterEach(async () => {
    for (const m of monitors.splice(0)) await stopAndCheckNoLeak(m);
  });

  it('is not ok before start, and says why', () => {
    const m = monitor('one-gpu');
    const s = m.latest();
    assert.equal(s.ok, false);
    assert.equal(s.reason, 'the GPU monitor is not running');
    assert.deepEqual(s.devices, []);
    assert.deepEqual(m.stats().pids, []);
  });

  it('keeps ONE nvidia-smi -lms child for power and lists processes at most every appsEveryMs', async () => {
    const m = monitor('one-gpu');
    const t0 = Date.now();
    m.start();
    m.start(); // a second start does nothing
    await until(() => m.stats().lines >= 6 && m.latest().processes.length > 0);
    const s = m.latest();
    assert.equal(s.ok, true);
    assert.equal(s.reason, undefined);
    assert.deepEqual(s.devices, [
      {
        index: 0,
        uuid: A100_0,
        name: 'NVIDIA A100-SXM4-40GB',
        powerW: 61.42,
        powerLimitW: 400,
        utilizationPct: 0,
        memoryUsedMB: 4,
        memoryTotalMB: 40960,
      },
    ]);
    assert.deepEqual(s.processes, [{ gpuUuid: A100_0, pid: 4242, usedMemoryMB: 1024 }]);
    assert.ok(s.at >= t0 && s.at <= Date.now());
    assert.ok(s.processesAt! >= t0);
    const stats = m.stats();
    assert.equal(stats.powerSpawns, 1);
    assert.ok(
      stats.appsSpawns >= 1 && stats.appsSpawns <= Math.floor((Date.now() - t0) / 200) + 2,
      `${stats.appsSpawns} process queries`,
    );
    // latest() never starts a process
    for (let i = 0; i < 10_000; i++) m.latest();
    assert.equal(m.stats().powerSpawns, 1);
    // the snapshot is a copy
    s.devices[0]!.powerW = 0;
    assert.equal(m.latest().devices[0]!.powerW, 61.42);
  });

  it("reads several GPUs from one child and attributes the run's two of them", async () => {
    const m = await started('multi-gpu', (g) => g.latest().devices.length === 4 && g.latest().processes.length === 2);
    const a = attributeGpuPower(m.latest(), new Set([4242, 4243, 1]));
    assert.equal(a.powerW, 512.34 + 498.1);
    assert.deepEqual(
      a.perDevice.map((d) => [d.index, d.share]),
      [
        [0, 1],
        [1, 1],
        [2, 0],
        [3, 0],
      ],
    );
    assert.equal(m.stats().powerSpawns, 1);
  });

  it("splits a shared GPU by the run's share of its compute memory", async () => {
    const m = await started('shared-gpu', (g) => g.latest().devices.length === 3 && g.latest().processes.length === 4);
    const a = attributeGpuPower(m.latest(), new Set([4242, 4243]));
    assert.equal(a.powerW, 300 * 0.75 + 200);
    assert.deepEqual(a.perDevice, [
      { index: 0, powerW: 225, share: 0.75, rule: 'shared: the run uses 30000 of 40000 MiB of compute memory' },
      { index: 1, powerW: 200, share: 1, rule: 'used only by the run' },
      { index: 2, powerW: 0, share: 0, rule: 'used only by 1 process outside the run' },
    ]);
    assert.ok(a.detail.startsWith(`nvidia-smi power.draw; ${GPU_ATTRIBUTION_RULE}: GPU 0 75 % (shared`), a.detail);
  });

  it('splits by process count when memory figures are "[N/A]"', async () => {
    const m = await started('shared-gpu-no-memory', (g) => g.latest().ok && g.latest().processes.length === 3);
    assert.ok(m.latest().processes.every((p) => p.usedMemoryMB === null));
    const a = attributeGpuPower(m.latest(), new Set([4242, 4243]));
    assert.equal(a.perDevice[0]!.share, 2 / 3);
    assert.ok(Math.abs(a.powerW - (240.5 * 2) / 3) < 1e-9, String(a.powerW));
    assert.equal(a.perDevice[0]!.rule, 'shared: no memory figures, 2 of 3 processes');
  });

  it('keeps going with "[N/A]" power, which counts as 0 W', async () => {
    const m = await started('na-power', (g) => g.latest().ok && g.latest().processes.length === 1);
    const s = m.latest();
    assert.equal(s.devices[0]!.powerW, null);
    assert.equal(s.devices[0]!.powerLimitW, null);
    const a = attributeGpuPower(s, new Set([4242]));
    assert.equal(a.powerW, 0);
    assert.equal(a.perDevice[0]!.rule, 'used only by the run; no power reading ([N/A])');
  });

  it('nvidia-smi missing: ok false with the reason, and no retries, not even for the next run', async () => {
    forgetAbsentTools();
    const missing = fake('does-not-exist');
    const m = await started('does-not-exist', answered, { retryMs: 100 });
    const s = m.latest();
    assert.equal(s.ok, false);
    assert.equal(s.reason, `nvidia-smi not found at ${missing}: GPU energy not metered`);
    await sleep(500); // several retry periods
    assert.equal(m.stats().powerSpawns, 0);
    assert.equal(m.latest().reason, s.reason);
    assert.equal(m.stats().polling, false, 'no process polling timer left to wake the meter');
    // the absence is remembered for this process: the next run (start again), a probe, nothing spawns it
    m.stop();
    m.start();
    assert.equal(m.latest().reason, s.reason);
    assert.equal(m.stats().polling, false);
    assert.equal(isAbsentTool(missing), true);
    assert.equal((await probeNvidiaSmi(missing, 5000)).reason, s.reason);
    // not on disk: nothing was ever started, neither the power child nor a process query
    assert.equal(m.stats().powerSpawns, 0);
    assert.equal(m.stats().appsSpawns, 0);
  });

  it('a bare tool name is looked for on the PATH the child gets: not there, nothing is spawned; there, it runs', async () => {
    forgetAbsentTools();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-path-'));
    try {
      assert.throws(
        () => spawnQuiet('cm-test-gpu-tool', ['-q'], { PATH: dir }),
        (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && e.message === 'spawn cm-test-gpu-tool ENOENT',
      );
      assert.equal(isAbsentTool('cm-test-gpu-tool'), true, 'remembered: not looked for again');
      const r = await runOnce('cm-test-gpu-tool', [], 5000, undefined, { PATH: dir });
      assert.equal(r.error?.code, 'ENOENT');
      // the same name in a folder of the child's PATH: found and run
      forgetAbsentTools();
      fs.writeFileSync(path.join(dir, 'cm-test-gpu-tool'), '#!/bin/sh\necho "found $1"\n', { mode: 0o755 });
      const ok = await runOnce('cm-test-gpu-tool', ['here'], 30_000, undefined, { PATH: `/nonexistent:${dir}` });
      assert.equal(ok.error, undefined);
      assert.equal(ok.stdout, 'found here\n');
    } finally {
      forgetAbsentTools();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a hanging nvidia-smi is killed after timeoutMs, and so is a hanging process query', async () => {
    const m = await started('hang', answered, { timeoutMs: 300, retryMs: 60_000 });
    assert.equal(m.latest().ok, false);
    assert.equal(m.latest().reason, 'nvidia-smi did not answer within 0.3 s');
    await until(() => m.childPids().length === 0); // both the power child and the process query were killed
    assert.ok(m.stats().pids.every((p) => !alive(p)));
  });

  it('quotes the first line of garbage output and stops that child', async () => {
    const m = await started('garbage', (g) => /cannot read/.test(g.latest().reason ?? ''), { retryMs: 60_000 });
    assert.equal(m.latest().reason, `nvidia-smi printed output Carbon Meter cannot read: "+${'-'.repeat(79)}…"`);
    assert.equal(m.latest().ok, false);
    await until(() => m.childPids().length === 0);
  });

  it('reports a non-zero exit with its message, then retries with a growing backoff', async () => {
    const m = monitor('fail', { retryMs: 100 });
    const t0 = Date.now();
    m.start();
    await until(() => /failed/.test(m.latest().reason ?? ''));
    assert.equal(m.latest().reason, `nvidia-smi failed (exit code 9): ${DRIVER_FAILED}`);
    await until(() => m.stats().powerSpawns >= 3);
    // waits of 100 then 200 ms at least between the three starts: never a tight loop
    assert.ok(Date.now() - t0 >= 300);
    assert.ok(m.stats().nextRetryMs >= 400);
    // the process list is not polled while nvidia-smi is failing
    assert.ok(m.stats().appsSpawns <= 1);
  });

  it('recovers when nvidia-smi works again after dying', async () => {
    const m = await started('dies', (g) => g.latest().ok, { retryMs: 100 });
    await until(() => !m.latest().ok && /failed/.test(m.latest().reason ?? ''));
    assert.equal(
      m.latest().reason,
      'nvidia-smi failed (exit code 15): Unable to determine the device handle for GPU0000:00:04.0: Unknown Error',
    );
    assert.deepEqual(m.latest().devices, []);
    await until(() => m.latest().ok);
    assert.ok(m.stats().powerSpawns >= 2);
    // the backoff started over after the success (100, then 200 after the next death; never 400)
    assert.ok(m.stats().nextRetryMs <= 200, String(m.stats().nextRetryMs));
  });

  it('a process query that hangs is killed and reported, power keeps flowing', async () => {
    // the power child gets a minute before it counts as silent, so a loaded machine cannot fail it; only the
    // process query has a short timeout, and the test waits for conditions, never for a duration
    const m = await started('apps-hang', (g) => g.latest().processesReason !== undefined && g.latest().ok, {
      timeoutMs: 60_000,
      appsTimeoutMs: 300,
      appsEveryMs: 100,
    });
    assert.equal(m.latest().processesReason, 'nvidia-smi --query-compute-apps did not answer within 0.3 s');
    assert.deepEqual(m.latest().processes, []);
    const first = m.stats().appsSpawns;
    await until(() => m.stats().appsSpawns > first + 1);
    assert.equal(m.latest().ok, true);
    // one query at a time: the power child plus at most one process query
    assert.ok(m.childPids().length <= 2);
  });

  it('can be stopped and started again', async () => {
    const m = await started('one-gpu', (g) => g.latest().ok);
    const firstPids = m.stats().pids;
    m.stop();
    assert.equal(m.latest().ok, false);
    assert.equal(m.latest().reason, 'the GPU monitor is not running');
    await m.whenIdle();
    assert.ok(firstPids.every((p) => !alive(p)));
    m.start();
    await until(() => m.latest().ok);
    assert.equal(m.stats().powerSpawns, 2);
  });

  it('stopping before the first reading leaves nothing behind', async () => {
    const m = monitor('one-gpu');
    m.start();
    m.stop();
    await m.whenIdle();
    assert.deepEqual(m.childPids(), []);
  });
});

describe('power/gpu: attributeGpuPower', () => {
  const device = (index: number, uuid: string, powerW: number | null) => ({
    index,
    uuid,
    name: 'NVIDIA A100-SXM4-40GB',
    powerW,
  });
  const snap = (processes: GpuSnapshot['processes'], devices = [device(0, A100_0, 300)]): GpuSnapshot => ({
    ok: true,
    devices,
    processes,
    at: 0,
  });

  it('gives nothing when the snapshot is not ok, and says why', () => {
    const a = attributeGpuPower(
      { ok: false, devices: [], processes: [], at: 0, reason: 'nvidia-smi not found on PATH: GPU energy not metered' },
      new Set([1]),
    );
    assert.deepEqual(a, {
      powerW: 0,
      perDevice: [],
      detail: 'GPU not metered: nvidia-smi not found on PATH: GPU energy not metered',
    });
  });

  it('gives nothing for an idle GPU (no compute process)', () => {
    const a = attributeGpuPower(snap([]), new Set([1]));
    assert.equal(a.powerW, 0);
    assert.equal(a.perDevice[0]!.rule, 'no compute process');
  });

  it("gives all of a GPU used by the run's processes only", () => {
    const a = attributeGpuPower(
      snap([
        { gpuUuid: A100_0, pid: 10, usedMemoryMB: 100 },
        { gpuUuid: A100_0, pid: 11, usedMemoryMB: null },
      ]),
      new Set([10, 11]),
    );
    assert.equal(a.powerW, 300);
  });

  it('splits by memory, and by count when one figure is missing or all are zero', () => {
    const tracked = new Set([10]);
    assert.equal(
      attributeGpuPower(
        snap([
          { gpuUuid: A100_0, pid: 10, usedMemoryMB: 1000 },
          { gpuUuid: A100_0, pid: 20, usedMemoryMB: 3000 },
        ]),
        tracked,
      ).powerW,
      75,
    );
    assert.equal(
      attributeGpuPower(
        snap([
          { gpuUuid: A100_0, pid: 10, usedMemoryMB: 1000 },
          { gpuUuid: A100_0, pid: 20, usedMemoryMB: null },
        ]),
        tracked,
      ).powerW,
      150,
    );
    assert.equal(
      attributeGpuPower(
        snap([
          { gpuUuid: A100_0, pid: 10, usedMemoryMB: 0 },
          { gpuUuid: A100_0, pid: 20, usedMemoryMB: 0 },
          { gpuUuid: A100_0, pid: 30, usedMemoryMB: 0 },
        ]),
        tracked,
      ).powerW,
      100,
    );
  });

  it('matches processes to GPUs by UUID across several GPUs', () => {
    const a = attributeGpuPower(
      snap(
        [
          { gpuUuid: A100_1, pid: 10, usedMemoryMB: 500 },
          { gpuUuid: A100_2, pid: 99, usedMemoryMB: 500 },
        ],
        [device(0, A100_0, 100), device(1, A100_1, 200), device(2, A100_2, 300)],
      ),
      new Set([10]),
    );
    assert.equal(a.powerW, 200);
    assert.deepEqual(
      a.perDevice.map((d) => d.share),
      [0, 1, 0],
    );
    assert.match(
      a.detail,
      /GPU 0 0 % \(no compute process\), GPU 1 100 % \(used only by the run\), GPU 2 0 % \(used only by 1 process outside the run\)$/,
    );
  });
});
