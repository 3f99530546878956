import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { forgetAbsentTools, type GpuSnapshot } from '../../src/core/power/gpu';
import { AmdMonitor, type AmdOptions } from '../../src/core/power/gpu/amdMonitor';
import { probeAmd } from '../../src/core/power/gpu/amdProbe';
import {
  amdValue,
  counterDeltaJ,
  parseAmdList,
  parseAmdMetric,
  parseAmdProcesses,
  parseAmdStaticNames,
  parseRocmSmi,
} from '../../src/core/power/gpu/amdSmi';
import { GpuMonitors, joinSnapshots } from '../../src/core/power/gpu/choose';
import { amdVisibleDevices } from '../../src/core/power/gpu/visible';
import {
  GpuEnergyAccount,
  SOURCE_AMD_SMI_COUNTER,
  SOURCE_AMD_SMI_POWER,
  SOURCE_ROCM_SMI_COUNTER,
} from '../../src/core/power/gpuAccount';
import type { Run } from '../../src/core/types';
import { runCli } from '../helpers/cli';
import { ROOT } from '../helpers/fakeNvml';

const FIX = path.join(__dirname, '..', '..', '..', 'test', 'fixtures');
const amdFixture = (scenario: string, file: string): string =>
  fs.readFileSync(path.join(FIX, 'amd-smi', scenario, file), 'utf8');
const amdTool = (scenario: string): string => path.join(FIX, 'amd-smi', scenario, 'amd-smi');
const rocmTool = (scenario: string): string => path.join(FIX, 'rocm-smi', scenario, 'rocm-smi');
const MISSING_AMD = '/nonexistent/carbon-meter-test/amd-smi';
const MISSING_ROCM = '/nonexistent/carbon-meter-test/rocm-smi';
const MI300X_0 = '2cff74a1-0000-1000-80e8-2b6e1bfa9a8e';
const MI300X_1 = '9eff74a1-0000-1000-8031-6d5a0e2c4b19';
const MI300X_2 = '64ff74a1-0000-1000-80c5-91e0b7d3a26f';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string, deadlineMs = 60_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const stateDirs: string[] = [];
/** A folder for the stand-in's call counters and log (removed after the test). */
function stateDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-amd-'));
  stateDirs.push(dir);
  return dir;
}
const count = (state: string, key: string): number => {
  try {
    return Number(fs.readFileSync(path.join(state, `${key}.count`), 'utf8'));
  } catch {
    return 0;
  }
};
const calls = (state: string): string[] => {
  try {
    return fs.readFileSync(path.join(state, 'calls.log'), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

const monitors: AmdMonitor[] = [];
function monitor(opts: AmdOptions, state?: string): AmdMonitor {
  const m = new AmdMonitor({
    intervalMs: 30,
    processesEveryMs: 30,
    timeoutMs: 20_000,
    retryMs: 60_000,
    env: { ...process.env, ...(state ? { FAKE_AMD_STATE: state } : {}) },
    ...opts,
  });
  monitors.push(m);
  return m;
}

/** A monitor of the stand-ins with a state folder of its own, started; resolves once `ready` holds for it. */
async function started(
  opts: AmdOptions,
  ready: (m: AmdMonitor) => boolean,
  what: string,
): Promise<{ m: AmdMonitor; state: string }> {
  const state = stateDir();
  const m = monitor(opts, state);
  m.start();
  await until(() => ready(m), what);
  return { m, state };
}

afterEach(async () => {
  for (const m of monitors.splice(0)) {
    m.stop();
    await m.whenIdle();
  }
  forgetAbsentTools();
  for (const dir of stateDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('power/gpu/amdSmi: parsing amd-smi and rocm-smi JSON (fixtures in the real layouts)', () => {
  it('reads metric output of ROCm 6.0 (bare numbers, one device as an object), 6.2 (value/unit lists) and 7 (gpu_data)', () => {
    assert.deepEqual(parseAmdMetric(amdFixture('rocm-6.0', 'metric.1.json')), [
      { index: 0, powerW: 412, energyJ: 1843000.5 },
    ]);
    assert.deepEqual(parseAmdMetric(amdFixture('rocm-6.2', 'metric.2.json')), [
      { index: 0, powerW: 600, energyJ: 250600.125 },
      { index: 1, powerW: 300, energyJ: 81534.5 },
      { index: 2, powerW: 100, energyJ: 12100 },
    ]);
    assert.deepEqual(parseAmdMetric(amdFixture('rocm-7', 'metric.3.json')), [
      { index: 0, powerW: 700, energyJ: 6400 },
      { index: 1, powerW: 140, energyJ: 9280 },
    ]);
    assert.deepEqual(parseAmdMetric(amdFixture('radeon-no-energy', 'metric.1.json')), [
      { index: 0, powerW: 200, energyJ: null },
    ]);
  });

  it('reads process lists of every layout: pid, memory, gfx engine time; "No running processes detected" is none', () => {
    const p62 = parseAmdProcesses(amdFixture('rocm-6.2', 'process.2.json'));
    assert.deepEqual(
      p62?.map((p) => [p.index, p.pid, p.name, p.memBytes, p.gfxNs]),
      [
        [0, 4242, 'python3', 34366038016, 4_000_000_000],
        [0, 5151, 'python3', 8596234240, 2_000_000_000],
        [1, 4243, 'python3', 17186168832, 1_400_000_000],
      ],
    );
    assert.deepEqual(
      parseAmdProcesses(amdFixture('rocm-6.0', 'process.1.json'))?.map((p) => [p.index, p.pid, p.memBytes, p.gfxNs]),
      [[0, 4242, 21481136128, 750_000_000]],
    );
    assert.deepEqual(
      parseAmdProcesses(amdFixture('rocm-7', 'process.1.json'))?.map((p) => [p.index, p.pid, p.gfxNs]),
      [[0, 4242, 2_000_000_000]],
    );
  });

  it('reads list and static: UUIDs and market names', () => {
    assert.deepEqual(
      parseAmdList(amdFixture('rocm-6.2', 'list.json'))?.map((d) => [d.index, d.uuid, d.bdf]),
      [
        [0, MI300X_0, '0000:0c:00.0'],
        [1, MI300X_1, '0000:22:00.0'],
        [2, MI300X_2, '0000:38:00.0'],
      ],
    );
    assert.deepEqual(
      parseAmdList(amdFixture('rocm-6.0', 'list.json'))?.map((d) => d.uuid),
      ['4bff740c-0000-1000-8046-1b2ad9e3c6f0'],
    );
    assert.deepEqual(
      [...parseAmdStaticNames(amdFixture('rocm-7', 'static.json'))],
      [
        [0, 'AMD Instinct MI300X'],
        [1, 'AMD Instinct MI300X'],
      ],
    );
  });

  it('reads rocm-smi JSON: power (either name), the accumulated energy in µJ → J, none when a card has no counter', () => {
    const one = parseRocmSmi(fs.readFileSync(path.join(FIX, 'rocm-smi', 'mi210', 'metric.2.json'), 'utf8'));
    assert.equal(one?.length, 1);
    assert.equal(one![0]!.powerW, 250);
    assert.ok(Math.abs(one![0]!.energyJ! - 40250.55295221) < 1e-6);
    const two = parseRocmSmi(fs.readFileSync(path.join(FIX, 'rocm-smi', 'two-cards', 'metric.1.json'), 'utf8'));
    assert.deepEqual(
      two?.map((c) => [c.index, c.powerW, c.energyJ === null]),
      [
        [0, 301, false],
        [1, 95, true],
      ],
    );
  });

  it('says "not this output" for the human-readable format, CSV or an error text, never a wrong number', () => {
    for (const text of [
      'GPU: 0\n    POWER:\n        SOCKET_POWER: 600 W',
      'gpu,socket_power\n0,600',
      '',
      'ERROR:root:Driver not loaded',
      '{"foo": 1}',
      '[{"gpu": "x"}]',
    ]) {
      assert.equal(parseAmdMetric(text), undefined, text);
      assert.equal(parseAmdProcesses(text), undefined, text);
    }
    assert.equal(parseRocmSmi('WARNING: no JSON here'), undefined);
  });

  it('reads values with units and converts them; N/A is null', () => {
    assert.equal(amdValue({ value: 550, unit: 'W' }, 'W'), 550);
    assert.equal(amdValue({ value: 550000, unit: 'mW' }, 'W'), 550);
    assert.equal(amdValue('600 W', 'W'), 600);
    assert.equal(amdValue({ value: 2, unit: 'MB' }, 'B'), 2 * 2 ** 20);
    assert.equal(amdValue({ value: 3, unit: 'ms' }, 'ns'), 3e6);
    assert.equal(amdValue('N/A', 'W'), null);
    assert.equal(amdValue({ value: 'N/A', unit: 'W' }, 'W'), null);
    assert.equal(amdValue({ value: 1, unit: 'furlongs' }, 'W'), null);
  });

  it('takes a counter that goes back as a wrap of the 32-bit accumulator (65 536 J) when plausible, else a restart', () => {
    assert.deepEqual(counterDeltaJ(1000, 1600, 1), { joules: 600 });
    const wrap = counterDeltaJ(65_400, 300, 1);
    assert.equal(wrap.event, 'wrap');
    assert.ok(Math.abs(wrap.joules - 436) < 1e-9);
    const rounded = counterDeltaJ(65_600, 100, 1); // amd-smi ≤ 6.2 rounds the resolution to 15.3 µJ: wraps at ~65 712 J
    assert.equal(rounded.event, 'wrap');
    assert.ok(Math.abs(rounded.joules - (65536 * (15.3 / (1e6 / 65536)) - 65_600 + 100)) < 1e-6);
    assert.deepEqual(counterDeltaJ(250_000, 40, 1), { joules: 40, event: 'restart' });
    assert.deepEqual(counterDeltaJ(250_000, 90_000, 1), { joules: 0, event: 'restart' }); // implausible: not counted
  });
});

describe('power/gpu/visible: HIP_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES', () => {
  it('composes ROCR (among all devices) then HIP (among what ROCR left); CUDA_VISIBLE_DEVICES stands for HIP', () => {
    assert.equal(amdVisibleDevices(undefined, 4), undefined);
    assert.equal(amdVisibleDevices({}, 4), undefined);
    assert.deepEqual(amdVisibleDevices({ hip: '1,3' }, 4), [{ index: 1 }, { index: 3 }]);
    assert.deepEqual(amdVisibleDevices({ rocr: '2,3' }, 4), [{ index: 2 }, { index: 3 }]);
    assert.deepEqual(amdVisibleDevices({ rocr: '2,3', hip: '1' }, 4), [{ index: 3 }]);
    assert.deepEqual(amdVisibleDevices({ visible: '0' }, 2), [{ index: 0 }]);
    assert.deepEqual(amdVisibleDevices({ hip: '-1' }, 2), []);
    assert.equal(amdVisibleDevices({ rocr: 'GPU-4b8f1c2e9a7d4c39' }, 2), undefined); // ROCm UUIDs are not amd-smi's: cannot tell
  });
});

describe('power/gpu/amdMonitor: amd-smi stand-ins (real processes)', function () {
  this.timeout(90_000);
  before(function () {
    if (process.platform === 'win32') this.skip();
  });

  it('ROCm 6.2, three MI300X: counter energy, the shared device split by gfx engine time, the idle one not charged', async () => {
    const { m, state } = await started(
      { amdSmi: amdTool('rocm-6.2'), rocmSmi: MISSING_ROCM, utilWindowMs: 3_600_000 },
      (g) => g.latest().ok,
      'the first amd-smi reading',
    );
    const s0 = m.latest();
    assert.equal(s0.source, 'amd-smi');
    assert.deepEqual(
      s0.devices.map((d) => [d.index, d.uuid, d.name, d.vendor, d.source]),
      [
        [0, MI300X_0, 'AMD Instinct MI300X', 'amd', 'amd-smi'],
        [1, MI300X_1, 'AMD Instinct MI300X', 'amd', 'amd-smi'],
        [2, MI300X_2, 'AMD Instinct MI300X', 'amd', 'amd-smi'],
      ],
    );
    // the stand-in has given its last metric and process files (then it repeats them)
    await until(
      () =>
        count(state, 'amd-smi-metric') >= 5 &&
        count(state, 'amd-smi-process') >= 3 &&
        m.latest().devices[0]?.energyJ === 251800.125,
      'the last readings',
    );
    const s1 = m.latest();
    assert.deepEqual(
      s1.devices.map((d) => d.energyJ),
      [251800.125, 82134.5, 12300],
    );
    const util0 = s1.devices[0]!.processUtil!;
    assert.deepEqual(util0.map((u) => u.pid).sort(), [4242, 5151]);
    assert.equal(s1.devices[0]!.utilLabel, 'gfx engine time');

    const account = new GpuEnergyAccount({ gpuEnv: {} });
    account.begin(s0);
    const step = account.step(s1, [4242, 4243], 1);
    const e0 = s0.devices.map((d) => d.energyJ!);
    const expected = (251800.125 - e0[0]!) * 0.75 + (82134.5 - e0[1]!) * 1;
    assert.ok(
      Math.abs(step.joules - expected) <= Math.max(1e-6, expected * 0.05),
      `${step.joules} J, expected ${expected} J`,
    );
    assert.equal(step.source, SOURCE_AMD_SMI_COUNTER);
    assert.match(step.shareRule, /AMD GPU 0 75 %: shared: split by gfx engine time \(estimate\)/);
    assert.match(step.shareRule, /AMD GPU 1 100 %: used only by the run: whole device/);
    assert.match(step.shareRule, /AMD GPU 2 0 %: idle: no compute process/);
    assert.ok(Math.abs(step.powerW - (600 * 0.75 + 300)) < 750 * 0.01, `${step.powerW} W`); // the split is rounded to 0.1 %
    // one amd-smi call at a time, every one of them a metric, process, list or static call
    assert.ok(
      calls(state).every((c) =>
        /^amd-smi (metric --power --energy --json|process --json|list --json|static --asic --json)$/.test(c),
      ),
      calls(state).join('\n'),
    );
  });

  it('ROCm 6.0 (one device printed as an object) and ROCm 7 ({"gpu_data": [...]}) read the same way', async () => {
    const m60 = monitor({ amdSmi: amdTool('rocm-6.0'), rocmSmi: MISSING_ROCM }, stateDir());
    const m7 = monitor({ amdSmi: amdTool('rocm-7'), rocmSmi: MISSING_ROCM }, stateDir());
    m60.start();
    m7.start();
    await until(
      () => m60.latest().ok && m7.latest().ok && m7.latest().processes.length > 0 && m60.latest().processes.length > 0,
      'readings of both',
    );
    const a = m60.latest();
    assert.deepEqual(
      a.devices.map((d) => [d.uuid, d.name, d.powerW]),
      [['4bff740c-0000-1000-8046-1b2ad9e3c6f0', 'AMD GPU', 412]],
    );
    assert.deepEqual(a.processes, [
      { gpuUuid: '4bff740c-0000-1000-8046-1b2ad9e3c6f0', pid: 4242, usedMemoryMB: 21481136128 / 2 ** 20 },
    ]);
    const b = m7.latest();
    assert.deepEqual(
      b.devices.map((d) => [d.index, d.uuid, d.name]),
      [
        [0, MI300X_0, 'AMD Instinct MI300X'],
        [1, MI300X_1, 'AMD Instinct MI300X'],
      ],
    );
    const step = new GpuEnergyAccount({ gpuEnv: {} }).step(b, [4242], 1);
    assert.match(
      step.shareRule,
      /AMD GPU 0 100 %: used only by the run: whole device; AMD GPU 1 0 %: idle: no compute process/,
    );
  });

  it('no energy counter (Radeon, "N/A"): power samples integrated over the readings, said so', async () => {
    const { m, state } = await started(
      { amdSmi: amdTool('radeon-no-energy'), rocmSmi: MISSING_ROCM },
      (g) => g.latest().ok && g.latest().processes.length > 0,
      'a reading and the processes',
    );
    const s0 = m.latest();
    await until(
      () => count(state, 'amd-smi-metric') >= 4 && m.latest().devices[0]!.seq! > s0.devices[0]!.seq!,
      'later readings',
    );
    const s1 = m.latest();
    const account = new GpuEnergyAccount({ gpuEnv: {} });
    account.begin(s0);
    const step = account.step(s1, [4242], 1);
    const d0 = s0.devices[0]!;
    const d1 = s1.devices[0]!;
    const expected = ((d0.powerW! + d1.powerW!) / 2) * ((d1.powerAtMs! - d0.powerAtMs!) / 1000);
    assert.ok(Math.abs(step.joules - expected) < 1e-6, `${step.joules} vs ${expected}`);
    assert.equal(step.source, SOURCE_AMD_SMI_POWER);
    assert.equal(d1.energyError, 'amd-smi reports no energy counter (N/A)');
  });

  it('rocm-smi when amd-smi is absent: its energy counter; no per-device processes, so HIP_VISIBLE_DEVICES decides', async () => {
    const { m, state } = await started(
      { amdSmi: MISSING_AMD, rocmSmi: rocmTool('mi210') },
      (g) => g.latest().ok,
      'a rocm-smi reading',
    );
    const s0 = m.latest();
    assert.equal(s0.source, 'rocm-smi');
    assert.deepEqual(
      s0.devices.map((d) => [d.uuid, d.name, d.powerW]),
      [['rocm-smi:card0', 'AMD Instinct MI210', 250]],
    );
    await until(
      () => count(state, 'rocm-smi-metric') >= 4 && m.latest().devices[0]!.seq! > s0.devices[0]!.seq!,
      'the last reading',
    );
    const s1 = m.latest();
    const mine = new GpuEnergyAccount({ gpuEnv: { hip: '0' } });
    mine.begin(s0);
    const step = mine.step(s1, [4242], 1);
    assert.ok(Math.abs(step.joules - (s1.devices[0]!.energyJ! - s0.devices[0]!.energyJ!)) < 1e-6);
    assert.equal(step.source, SOURCE_ROCM_SMI_COUNTER);
    assert.match(
      step.shareRule,
      /AMD GPU 0 100 %: process list not readable \(rocm-smi does not list the processes of each GPU\); named in the run's HIP\/ROCR_VISIBLE_DEVICES, charged whole/,
    );
    const other = new GpuEnergyAccount({ gpuEnv: {} });
    other.begin(s0);
    assert.equal(other.step(s1, [4242], 1).joules, 0);
    assert.ok(
      calls(state).every((c) => /^rocm-smi (--showproductname --json|--showpower --showenergycounter --json)$/.test(c)),
      calls(state).join('\n'),
    );
  });

  it('a hanging amd-smi is killed and said in one line; the next try waits for the backoff', async () => {
    const { m, state } = await started(
      { amdSmi: amdTool('hang'), rocmSmi: MISSING_ROCM, timeoutMs: 300 },
      (g) => /did not answer/.test(g.latest().reason ?? ''),
      'the timeout',
    );
    assert.equal(m.latest().reason, 'amd-smi list did not answer within 0.3 s; it was stopped');
    await until(() => m.stats().pids.length === 0, 'the hung child to be gone');
    assert.equal(calls(state).length, 1);
  });

  it("a driver that is not loaded: amd-smi's own words, one call (no retry loop)", async () => {
    const { m, state } = await started(
      { amdSmi: amdTool('fail'), rocmSmi: MISSING_ROCM },
      (g) => !!g.latest().reason && !/waiting/.test(g.latest().reason ?? ''),
      'the failure',
    );
    assert.equal(
      m.latest().reason,
      'amd-smi list failed (exit code 255): ERROR:root:Driver not loaded (amdgpu not found in modules)',
    );
    assert.equal(calls(state).length, 1);
  });

  it('output that is not JSON is refused with what was printed', async () => {
    const { m } = await started(
      { amdSmi: amdTool('garbage'), rocmSmi: MISSING_ROCM },
      (g) => /cannot read/.test(g.latest().reason ?? ''),
      'the refusal',
    );
    assert.equal(m.latest().reason, 'amd-smi list printed output Carbon Meter cannot read: "GPU: 0"');
  });

  it('neither tool installed: one line for both, the monitor stops for good and is not started again', async () => {
    const m = monitor({ amdSmi: MISSING_AMD, rocmSmi: MISSING_ROCM });
    m.start();
    await until(() => m.unavailable !== undefined, 'the verdict');
    assert.equal(
      m.unavailable,
      `amd-smi not found at ${MISSING_AMD}; rocm-smi not found at ${MISSING_ROCM}: GPU energy not metered`,
    );
    assert.equal(m.latest().ok, false);
    const before = m.stats().calls;
    m.stop();
    m.start();
    assert.equal(m.stats().calls, before);
  });
});

describe('power/gpu/choose: NVIDIA and AMD together', function () {
  this.timeout(90_000);

  it('no vendor has its tools here: the snapshot says why for both, and is made once, not at every tick', async () => {
    const g = new GpuMonitors({
      nvidia: { nvml: false, nvidiaSmi: { command: '/nonexistent/carbon-meter-test/nvidia-smi' } },
      amd: { amdSmi: MISSING_AMD, rocmSmi: MISSING_ROCM, env: process.env },
    });
    g.start();
    try {
      await until(() => g.nvidia!.absent && g.amd!.unavailable !== undefined, 'both verdicts');
      const first = g.latest();
      assert.equal(first.ok, false);
      assert.deepEqual(first.devices, []);
      assert.equal(
        first.reason,
        `nvidia-smi not found at /nonexistent/carbon-meter-test/nvidia-smi; NVML turned off; amd-smi not found at ${MISSING_AMD}; ` +
          `rocm-smi not found at ${MISSING_ROCM}: GPU energy not metered`,
      );
      assert.equal(g.latest(), first, 'the same snapshot while nothing can change it');
      forgetAbsentTools(); // a tool that may be here again: the next snapshot is made afresh
      assert.notEqual(g.latest(), first);
    } finally {
      g.stop();
      await g.whenIdle();
    }
  });

  it('AMD GPUs are metered when no NVIDIA tool is here, and the absent vendor is not mentioned', async () => {
    const g = new GpuMonitors({
      nvidia: { nvml: false, nvidiaSmi: { command: '/nonexistent/carbon-meter-test/nvidia-smi' } },
      amd: { amdSmi: amdTool('rocm-7'), rocmSmi: MISSING_ROCM, intervalMs: 30, processesEveryMs: 30, env: process.env },
    });
    g.start();
    try {
      await until(() => g.latest().ok && g.latest().processes.length > 0 && g.nvidia!.absent, 'AMD readings');
      const s = g.latest();
      assert.equal(s.reason, undefined);
      assert.deepEqual(
        s.devices.map((d) => [d.vendor, d.source, d.index]),
        [
          ['amd', 'amd-smi', 0],
          ['amd', 'amd-smi', 1],
        ],
      );
    } finally {
      g.stop();
      await g.whenIdle();
    }
  });

  it('joins the two snapshots: devices of both, each with its source; a failing present vendor is named', () => {
    const nv: GpuSnapshot = {
      ok: true,
      devices: [{ index: 0, uuid: 'GPU-1', name: 'H100', powerW: 500, energyJ: 10 }],
      processes: [],
      at: 1,
      source: 'nvml',
      seq: 7,
    };
    const amdBad: GpuSnapshot = {
      ok: false,
      devices: [],
      processes: [],
      at: 2,
      source: 'amd-smi',
      reason: 'amd-smi metric did not answer within 10 s; it was stopped',
    };
    const j = joinSnapshots([
      { snap: nv, absent: false, vendor: 'NVIDIA' },
      { snap: amdBad, absent: false, vendor: 'AMD' },
    ]);
    assert.equal(j.ok, true);
    assert.deepEqual(
      j.devices.map((d) => [d.uuid, d.source, d.seq]),
      [['GPU-1', 'nvml', 7]],
    );
    assert.equal(j.reason, 'AMD: amd-smi metric did not answer within 10 s; it was stopped');
    assert.equal(
      joinSnapshots([
        { snap: nv, absent: false, vendor: 'NVIDIA' },
        { snap: amdBad, absent: true, vendor: 'AMD' },
      ]).reason,
      undefined,
    );
    const nvBad: GpuSnapshot = {
      ok: false,
      devices: [],
      processes: [],
      at: 1,
      reason: 'nvidia-smi not found on PATH: GPU energy not metered',
    };
    const none = joinSnapshots([
      { snap: nvBad, absent: true, vendor: 'NVIDIA' },
      {
        snap: { ...amdBad, reason: 'amd-smi not found on PATH; rocm-smi not found on PATH: GPU energy not metered' },
        absent: true,
        vendor: 'AMD',
      },
    ]);
    assert.equal(none.ok, false);
    assert.equal(
      none.reason,
      'nvidia-smi not found on PATH; amd-smi not found on PATH; rocm-smi not found on PATH: GPU energy not metered',
    );
    const both = joinSnapshots([
      { snap: { ...nvBad, reason: 'NVML did not answer' }, absent: false, vendor: 'NVIDIA' },
      { snap: amdBad, absent: false, vendor: 'AMD' },
    ]);
    assert.equal(
      both.reason,
      'NVIDIA: NVML did not answer; AMD: amd-smi metric did not answer within 10 s; it was stopped',
    );
  });

  it('probeAmd (doctor): devices, names and whether the energy counter works', async () => {
    const p = await probeAmd({ amdSmi: amdTool('rocm-6.2'), rocmSmi: MISSING_ROCM, energy: true });
    assert.equal(p.source, 'amd-smi');
    assert.deepEqual(
      p.devices.map((d) => [d.index, d.name, d.uuid, d.energyCounter, d.powerW]),
      [
        [0, 'AMD Instinct MI300X', MI300X_0, true, 600],
        [1, 'AMD Instinct MI300X', MI300X_1, true, 300],
        [2, 'AMD Instinct MI300X', MI300X_2, true, 100],
      ],
    );
    const r = await probeAmd({ amdSmi: MISSING_AMD, rocmSmi: rocmTool('mi210'), energy: true });
    assert.equal(r.source, 'rocm-smi');
    assert.deepEqual(
      r.devices.map((d) => [d.name, d.energyCounter, d.powerW]),
      [['AMD Instinct MI210', true, 250]],
    );
    const none = await probeAmd({ amdSmi: amdTool('fail'), rocmSmi: MISSING_ROCM });
    assert.equal(none.source, 'none');
    assert.equal(
      none.amdSmi.reason,
      'amd-smi list failed (exit code 255): ERROR:root:Driver not loaded (amdgpu not found in modules)',
    );
  });
});

describe('power/gpu: carbon-meter run meters an AMD GPU through amd-smi (dist/cli.js, stand-in on PATH)', function () {
  this.timeout(120_000);
  before(function () {
    if (process.platform !== 'linux') this.skip();
  });

  it('the run owns GPU 0: the energy counter difference, the idle GPU 1 not charged, the record says how', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-amd-cli-'));
    const state = stateDir();
    const pidFile = path.join(home, 'pid');
    const stepFile = path.join(home, 'step');
    const go = path.join(home, 'go');
    fs.writeFileSync(stepFile, '1');
    // the command: writes its pid, then waits for the test's go (no clock involved)
    const script = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); const t = setInterval(() => { if (require('fs').existsSync(${JSON.stringify(go)})) clearInterval(t); }, 20);`;
    const done = runCli(
      path.join(ROOT, 'dist', 'cli.js'),
      ['run', '--json', '--region', 'FR', '--checkpoint', '1', '--', process.execPath, '-e', script],
      {
        CARBON_METER_HOME: home,
        CARBON_METER_NVIDIA_SMI: '/nonexistent/carbon-meter-test/nvidia-smi',
        PATH: `${path.join(FIX, 'amd-smi', 'rocm-7')}:${process.env.PATH ?? ''}`,
        FAKE_AMD_STATE: state,
        FAKE_AMD_PID_FILE: pidFile,
        FAKE_AMD_STEP_FILE: stepFile,
      },
    );
    const running = path.join(home, 'running');
    const checkpoint = (): Run | undefined => {
      for (const f of fs.existsSync(running) ? fs.readdirSync(running) : []) {
        try {
          return (JSON.parse(fs.readFileSync(path.join(running, f), 'utf8')) as { run: Run }).run;
        } catch {
          // being replaced
        }
      }
      return undefined;
    };
    await until(
      () => /AMD GPU 0 100 %/.test(checkpoint()?.power.gpu.shareRule ?? ''),
      'the meter to see the run on AMD GPU 0',
    );
    fs.writeFileSync(stepFile, '3'); // the counter moves from 5000 J to 6400 J on GPU 0 (9000 → 9280 J on the idle GPU 1)
    await until(() => (checkpoint()?.energyKWh.gpu ?? 0) > 0, 'the meter to read the counter again');
    fs.writeFileSync(go, '');
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    const run = JSON.parse(r.stdout.trim().split('\n').pop()!) as Run;
    const gpuJ = run.energyKWh.gpu * 3.6e6;
    assert.ok(Math.abs(gpuJ - 1400) <= 1400 * 0.05, `${gpuJ} J, expected 1400 J`);
    assert.equal(run.power.gpu.method, 'measured');
    assert.match(run.power.gpu.source ?? '', /amd-smi energy counter/);
    assert.match(
      run.power.gpu.shareRule ?? '',
      /AMD GPU 0 100 %: used only by the run: whole device; AMD GPU 1 0 %: idle: no compute process/,
    );
    assert.deepEqual(
      run.hardware.gpus.filter((g) => g.uuid === MI300X_0 || g.uuid === MI300X_1).map((g) => g.name),
      ['AMD Instinct MI300X', 'AMD Instinct MI300X'],
    );
  });

  it('doctor lists amd-smi, each AMD GPU and its energy counter; --json carries the same', async () => {
    const env = {
      PATH: `${path.join(FIX, 'amd-smi', 'rocm-6.2')}:${process.env.PATH ?? ''}`,
      CARBON_METER_NVIDIA_SMI: '/nonexistent/carbon-meter-test/nvidia-smi',
    };
    const r = await runCli(path.join(ROOT, 'dist', 'cli.js'), ['doctor'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /✓ amd-smi +3 GPU\(s\)/);
    assert.match(r.stdout, new RegExp(`#0 AMD Instinct MI300X ${MI300X_0}: energy counter works; 600 W now`));
    assert.match(r.stdout, /GPU meter +AMD: amd-smi/);
    const j = await runCli(path.join(ROOT, 'dist', 'cli.js'), ['doctor', '--json'], env);
    const rep = JSON.parse(j.stdout) as {
      gpu: { available: boolean; amd: { source: string; devices: { uuid: string }[] } };
    };
    assert.equal(rep.gpu.available, true);
    assert.equal(rep.gpu.amd.source, 'amd-smi');
    assert.deepEqual(
      rep.gpu.amd.devices.map((d) => d.uuid),
      [MI300X_0, MI300X_1, MI300X_2],
    );
  });
});
