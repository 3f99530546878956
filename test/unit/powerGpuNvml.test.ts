/**
 * NVML metering against the stand-in libnvidia-ml.so.1 (test/fixtures/nvml/fake_nvml.c, built with gcc): the real
 * reader child, koffi, the real struct layouts; counters, processes and utilisation move only when the test writes
 * a new scenario, so nothing here depends on the clock.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { forgetAbsentTools, type GpuSnapshot } from '../../src/core/power/gpu';
import {
  deviceShare,
  GpuEnergyAccount,
  isVisible,
  parseCudaVisibleDevices,
  SOURCE_NVML_COUNTER,
  SOURCE_NVML_POWER,
} from '../../src/core/power/gpuAccount';
import { AutoGpuMonitor, forgetNvmlAbsence, probeGpus } from '../../src/core/power/gpuMonitor';
import { defaultReaderPath, NvmlMonitor, probeNvml, type NvmlOptions } from '../../src/core/power/gpuNvml';
import type { NvmlReadAnswer } from '../../src/core/power/nvml/protocol';
import { buildFakeNvml, H100_0, H100_1, ROOT, until, type FakeNvml } from '../helpers/fakeNvml';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Run } from '../../src/core/types';
import { runCli } from '../helpers/cli';

const NAME = 'NVIDIA H100 80GB HBM3';
const dev = (i: number, uuid: string, energyMJ: number | '-', powerMW: number | '-', tsUs = 0): string =>
  `device ${i} ${uuid} ${energyMJ} ${powerMW} ${tsUs} ${NAME}`;
const GiB = 2 ** 30;

describe('power/gpuNvml: NVML through the reader child, against the stand-in library', function () {
  let fake: FakeNvml;
  const monitors: { stop(): void; whenIdle(): Promise<void> }[] = [];
  const children: ChildProcess[] = [];

  before(function () {
    if (process.platform !== 'linux') this.skip();
    const f = buildFakeNvml();
    if ('skip' in f) {
      console.log(`      skipped: ${f.skip}`);
      this.skip();
    }
    fake = f as FakeNvml;
  });

  afterEach(async () => {
    for (const m of monitors.splice(0)) {
      m.stop();
      await m.whenIdle();
    }
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  /** An NVML monitor of the stand-in library, started (stopped after the test). */
  function started(opts: NvmlOptions = {}): NvmlMonitor {
    const m = new NvmlMonitor({ env: fake.env, intervalMs: 20, retryMs: 50, fullEveryMs: 0, ...opts });
    monitors.push(m);
    m.start();
    return m;
  }

  /** NVML, else nvidia-smi, started (stopped after the test). */
  function startedAuto(opts: ConstructorParameters<typeof AutoGpuMonitor>[0]): AutoGpuMonitor {
    const a = new AutoGpuMonitor(opts);
    monitors.push(a);
    a.start();
    return a;
  }

  /** The stand-in's environment with a library folder where no libnvidia-ml.so.1 is. */
  const withoutLibrary = (): NodeJS.ProcessEnv => ({ ...fake.env, LD_LIBRARY_PATH: path.join(fake.dir, 'empty') });

  /** A real process standing for the run (its pid is what NVML lists). */
  function runProcess(env: NodeJS.ProcessEnv = process.env): number {
    const c = spawn('sleep', ['300'], { env, stdio: 'ignore' });
    children.push(c);
    return c.pid!;
  }

  /** Writes a scenario and waits until the monitor shows its device-0 counter (or power timestamp). */
  async function show(m: NvmlMonitor, lines: string[], seen: (s: GpuSnapshot) => boolean): Promise<GpuSnapshot> {
    fake.write(lines);
    await until(() => seen(m.latest()), `the monitor to read: ${lines.join(' | ')}`);
    return m.latest();
  }
  const energyIs = (j: number) => (s: GpuSnapshot) => s.ok && s.devices[0]?.energyJ === j;

  it('init lists the devices, the driver version, the energy counter and the process function', async () => {
    fake.write(['driver 550.54.15', dev(0, H100_0, 1_000_000, 350_000), dev(1, H100_1, '-', 60_000)]);
    const a = await probeNvml({ env: fake.env });
    assert.equal(a.ok, true, a.reason);
    assert.equal(a.driverVersion, '550.54.15');
    assert.equal(a.library, 'libnvidia-ml.so.1');
    assert.equal(a.processFn, 'nvmlDeviceGetComputeRunningProcesses_v3');
    assert.deepEqual(
      a.devices?.map((d) => [d.index, d.uuid, d.name, d.energyCounter, d.power]),
      [
        [0, H100_0, NAME, true, 'field-instant'],
        [1, H100_1, NAME, false, 'field-instant'],
      ],
    );
    assert.equal(a.devices?.[1]?.energyError?.message, 'Not Supported (3)');
    const p = await probeGpus('nvidia-smi', { nvml: { env: fake.env } });
    assert.equal(p.source, 'nvml');
    assert.deepEqual(
      p.devices.map((d) => d.uuid),
      [H100_0, H100_1],
    );
  });

  it('the reader asks for SM utilisation only on a device two processes share (it is what splits one)', async () => {
    fake.write([
      dev(0, H100_0, 1_000_000, 350_000),
      dev(1, H100_1, 2_000_000, 360_000),
      `proc 0 4001 ${GiB}`,
      `util 0 4001 90 10 1000`,
      `proc 1 4002 ${GiB}`,
      `proc 1 4003 ${2 * GiB}`,
      `util 1 4002 60 10 1000`,
      `util 1 4003 30 10 1000`,
    ]);
    const reader = spawn(process.execPath, [defaultReaderPath(path.join(ROOT, 'out', 'src', 'core', 'power'))], {
      env: fake.env,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(reader);
    let out = '';
    reader.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    reader.stdin!.end('{"id":1,"op":"init"}\n{"id":2,"op":"read","full":true}\n{"id":3,"op":"quit"}\n');
    await new Promise((r) => reader.on('close', r));
    const read = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as NvmlReadAnswer)
      .find((a) => a.id === 2)!;
    assert.equal(read.ok, true, read.reason);
    const [d0, d1] = read.devices;
    assert.deepEqual(d0.procs, [[4001, GiB, null]]);
    assert.equal(d0.util, undefined, 'one process: no utilisation asked');
    assert.deepEqual(d1.util, [
      [4002, 60, 10],
      [4003, 30, 10],
    ]);
  });

  it("a device asked again after a pause gets only the samples since the previous reading, not the driver's older ones", async () => {
    const nowUs = Date.now() * 1000;
    fake.write([dev(0, H100_0, 1_000_000, 350_000), `proc 0 4001 ${GiB}`, `util 0 4001 100 10 ${nowUs - 5e6}`]);
    const reader = spawn(process.execPath, [defaultReaderPath(path.join(ROOT, 'out', 'src', 'core', 'power'))], {
      env: fake.env,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(reader);
    const answers = new Map<number, NvmlReadAnswer>();
    let buf = '';
    reader.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const a = JSON.parse(buf.slice(0, i)) as NvmlReadAnswer;
        answers.set(a.id, a);
        buf = buf.slice(i + 1);
      }
    });
    reader.stdin!.write('{"id":1,"op":"init"}\n{"id":2,"op":"read","full":true}\n');
    await until(() => answers.has(2), 'the first reading');
    assert.equal(answers.get(2)!.devices[0].util, undefined, 'one process: no utilisation asked');
    // a second process came; the driver still holds the first one's old sample (listed last here)
    const freshUs = Date.now() * 1000 + 1000;
    fake.write([
      dev(0, H100_0, 1_500_000, 350_000),
      `proc 0 4001 ${GiB}`,
      `proc 0 4002 ${GiB}`,
      `util 0 4001 30 10 ${freshUs}`,
      `util 0 4002 70 10 ${freshUs}`,
      `util 0 4001 100 10 ${nowUs - 5e6}`,
    ]);
    reader.stdin!.write('{"id":3,"op":"read","full":true}\n');
    await until(() => answers.has(3), 'the second reading');
    assert.deepEqual(answers.get(3)!.devices[0].util, [
      [4001, 30, 10],
      [4002, 70, 10],
    ]);
    reader.stdin!.end('{"id":4,"op":"quit"}\n');
  });

  it("exclusive use: the counter difference of the run's device, whole; an idle second device is not charged", async () => {
    const pid = runProcess();
    const m = started();
    const at = (e0: number, e1: number) => [
      dev(0, H100_0, e0, 700_000),
      dev(1, H100_1, e1, 70_000),
      `proc 0 ${pid} ${40 * GiB}`,
      `util 0 ${pid} 98 40 ${e0}`,
    ];
    const acc = new GpuEnergyAccount({ rootPid: pid });
    acc.begin(await show(m, at(1_000_000, 5_000_000), energyIs(1000)));
    let j = 0;
    j += acc.step(await show(m, at(1_500_000, 5_100_000), energyIs(1500)), [pid], 1).joules;
    const last = acc.step(await show(m, at(2_700_000, 5_300_000), energyIs(2700)), [pid], 1);
    j += last.joules;
    assert.ok(Math.abs(j - 1700) <= 1700 * 0.05, `${j} J, expected 1700 J`);
    assert.equal(last.source, SOURCE_NVML_COUNTER);
    assert.match(last.shareRule, /GPU 0 100 %: used only by the run: whole device/);
    assert.match(last.shareRule, /GPU 1 0 %: idle: no compute process/);
    assert.equal(last.powerW, 700);
    // the process has left the run's tree, but NVML still lists its context: still the run's
    const lingering = acc.step(await show(m, at(2_800_000, 5_350_000), energyIs(2800)), [], 1);
    assert.ok(Math.abs(lingering.joules - 100) < 1, String(lingering.joules));
    assert.match(lingering.shareRule, /GPU 0 100 %: used only by the run/);
    // the run's process has gone at the next reading: its last interval is still its own
    const gone = acc.step(
      await show(m, [dev(0, H100_0, 2_900_000, 80_000), dev(1, H100_1, 5_400_000, 70_000)], energyIs(2900)),
      [pid],
      1,
    );
    assert.ok(Math.abs(gone.joules - 100) < 1, String(gone.joules));
    assert.match(
      gone.shareRule,
      /^GPU 0 100 %: used only by the run: whole device \(until the run left it\); GPU 1 0 %: idle/,
    );
  });

  it('a device shared with a foreign process is split by SM utilisation, labelled an estimate; memory when utilisation is not reported', async () => {
    const pid = runProcess();
    const m = started();
    const shared = (e: number, extra: string[] = []) => [
      dev(0, H100_0, e, 500_000),
      `proc 0 ${pid} ${3 * GiB}`,
      `proc 0 999999 ${1 * GiB}`,
      `util 0 ${pid} 60 10 ${e}`,
      `util 0 999999 20 5 ${e}`,
      ...extra,
    ];
    const acc = new GpuEnergyAccount({ rootPid: pid });
    acc.begin(await show(m, shared(10_000_000), energyIs(10_000)));
    const s = acc.step(await show(m, shared(11_000_000), energyIs(11_000)), [pid], 1);
    assert.ok(Math.abs(s.joules - 750) <= 750 * 0.05, `${s.joules} J, expected 750 J`);
    assert.match(s.shareRule, /GPU 0 75 %: shared: split by SM utilisation \(estimate\): the run 60 % of 80 %/);

    const m2 = started();
    const noUtil = (e: number) =>
      shared(e, ['fail nvmlDeviceGetProcessUtilization 3']).filter((l) => !l.startsWith('util'));
    const acc2 = new GpuEnergyAccount({ rootPid: pid });
    acc2.begin(await show(m2, noUtil(20_000_000), energyIs(20_000)));
    const s2 = acc2.step(await show(m2, noUtil(22_000_000), energyIs(22_000)), [pid], 1);
    assert.ok(Math.abs(s2.joules - 1500) <= 1500 * 0.05, `${s2.joules} J, expected 1500 J`);
    assert.match(
      s2.shareRule,
      /shared: split by memory, the run 3072 of 4096 MiB \(estimate; SM utilisation not reported \(nvmlDeviceGetProcessUtilization: Not Supported \(3\)\)\)/,
    );
  });

  it('CUDA_VISIBLE_DEVICES of the run: a device it cannot see is never charged; with no process list, the named device is', async () => {
    const pid = runProcess({
      ...process.env,
      CUDA_VISIBLE_DEVICES: H100_1.slice(0, 12),
      CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
    });
    const m = started();
    const noList = (e: number) => [
      dev(0, H100_0, e, 300_000),
      dev(1, H100_1, e * 2, 400_000),
      'fail nvmlDeviceGetComputeRunningProcesses_v3 4',
    ];
    const acc = new GpuEnergyAccount({ rootPid: pid });
    acc.begin(await show(m, noList(1_000_000), energyIs(1000)));
    const s = acc.step(await show(m, noList(1_100_000), energyIs(1100)), [pid], 1);
    // device 1 went from 2000 J to 2200 J: the run's; device 0 is not visible to it
    assert.ok(Math.abs(s.joules - 200) <= 10, `${s.joules} J, expected 200 J`);
    assert.match(s.shareRule, /GPU 0 0 %: not in the run's CUDA_VISIBLE_DEVICES/);
    assert.match(
      s.shareRule,
      /GPU 1 100 %: process list not readable \(nvmlDeviceGetComputeRunningProcesses_v3: Insufficient Permissions \(4\)\); named in the run's CUDA_VISIBLE_DEVICES, charged whole/,
    );
  });

  it('a counter that goes back (driver reloaded) restarts the difference', async () => {
    const pid = runProcess();
    const m = started();
    const at = (e: number) => [dev(0, H100_0, e, 400_000), `proc 0 ${pid} ${GiB}`];
    const acc = new GpuEnergyAccount({ rootPid: pid });
    acc.begin(await show(m, at(5_000_000), energyIs(5000)));
    let j = acc.step(await show(m, at(5_400_000), energyIs(5400)), [pid], 1).joules;
    j += acc.step(await show(m, at(200_000), energyIs(200)), [pid], 1).joules;
    const last = acc.step(await show(m, at(700_000), energyIs(700)), [pid], 1);
    j += last.joules;
    assert.ok(Math.abs(j - 1100) <= 1100 * 0.05, `${j} J, expected 400 + 200 + 500 J`);
    assert.match(last.shareRule, /energy counter restarted 1× \(driver reloaded\)/);
  });

  it("energy counter not supported: power samples integrated over the driver's timestamps, and said so", async () => {
    const pid = runProcess();
    const m = started();
    const at = (mW: number, tsUs: number) => [dev(0, H100_0, '-', mW, tsUs), `proc 0 ${pid} ${GiB}`];
    const tsIs = (us: number) => (s: GpuSnapshot) => s.ok && s.devices[0]?.powerAtMs === us / 1000;
    const acc = new GpuEnergyAccount({ rootPid: pid });
    acc.begin(await show(m, at(250_000, 1_000_000), tsIs(1_000_000)));
    let j = acc.step(await show(m, at(250_000, 3_000_000), tsIs(3_000_000)), [pid], 1).joules; // 2 s at 250 W
    const last = acc.step(await show(m, at(350_000, 4_000_000), tsIs(4_000_000)), [pid], 1); // 1 s, 250 → 350 W
    j += last.joules;
    assert.ok(Math.abs(j - 800) <= 800 * 0.05, `${j} J, expected 500 + 300 J`);
    assert.equal(last.source, SOURCE_NVML_POWER);
    assert.equal(m.latest().devices[0]?.energyError, 'Not Supported (3)');
  });

  it('a driver call that hangs: the reader is killed, the meter says why and carries on', async () => {
    const pid = runProcess();
    const m = started({ readTimeoutMs: 5000 });
    const ok = [dev(0, H100_0, 1_000_000, 300_000), `proc 0 ${pid} ${GiB}`];
    await show(m, ok, energyIs(1000));
    const firstPid = m.stats().pid;
    fake.write([...ok, 'hang nvmlDeviceGetTotalEnergyConsumption']);
    await until(() => !m.latest().ok, 'the hang to be noticed');
    assert.equal(m.latest().reason, 'NVML did not answer within 5 s (a reading); the reader was stopped');
    const acc = new GpuEnergyAccount({ rootPid: pid });
    const s = acc.step(m.latest(), [pid], 1);
    assert.equal(s.joules, 0);
    assert.equal(s.unavailableReason, m.latest().reason);
    assert.equal(s.detail, `0 W: ${m.latest().reason}`);
    fake.write(ok);
    await until(() => m.latest().ok, 'a new reader after the hang');
    assert.notEqual(m.stats().pid, firstPid);
    assert.ok(m.stats().spawns >= 2);
  });

  it('a driver call that crashes: the reader dies alone, the meter says why and starts it again', async () => {
    const m = started();
    const ok = [dev(0, H100_0, 1_000_000, 300_000)];
    await show(m, ok, energyIs(1000));
    fake.write([...ok, 'crash nvmlDeviceGetComputeRunningProcesses_v3']);
    await until(() => /crashed/.test(m.latest().reason ?? ''), 'the crash to be noticed');
    assert.match(m.latest().reason!, /^the NVML reader crashed \(signal SIGSEGV\)/);
    fake.write(ok);
    await until(() => m.latest().ok, 'a new reader after the crash');
  });

  it('no NVML library: nvidia-smi is used instead, and NVML is not looked for again in this process', async () => {
    forgetNvmlAbsence();
    const smi = path.join(ROOT, 'test', 'fixtures', 'nvidia-smi', 'one-gpu');
    const a = startedAuto({ nvml: { env: withoutLibrary() }, nvidiaSmi: { command: smi, intervalMs: 100 } });
    await until(() => a.latest().ok, 'nvidia-smi readings');
    assert.equal(a.source, 'nvidia-smi');
    assert.equal(a.latest().source, 'nvidia-smi');
    assert.match(a.nvmlUnavailable!, /^NVML library not found \(libnvidia-ml\.so\.1: /);
  });

  it('neither NVML nor nvidia-smi: one reason, and the missing tool is not started again', async () => {
    forgetAbsentTools();
    const a = startedAuto({
      nvml: { env: withoutLibrary() },
      nvidiaSmi: { command: 'carbon-meter-test-no-such-nvidia-smi', intervalMs: 100, appsEveryMs: 100 },
    });
    await until(
      () => a.source === 'nvidia-smi' && /not found on PATH/.test(a.latest().reason ?? ''),
      'both to be found missing',
    );
    assert.match(
      a.latest().reason!,
      /^carbon-meter-test-no-such-nvidia-smi not found on PATH; NVML library not found \(libnvidia-ml\.so\.1: cannot open shared object file.*: GPU energy not metered$/,
    );
    const acc = new GpuEnergyAccount();
    const s = acc.step(a.latest(), [1], 1);
    assert.equal(s.detail, `0 W: ${a.latest().reason}`);
    // started again (a new run): the absence is remembered, nothing is spawned
    a.stop();
    a.start();
    assert.match(a.latest().reason!, /not found on PATH/);
  });
});

describe('power/gpuAccount: CUDA_VISIBLE_DEVICES', () => {
  it('reads indices, UUIDs and their prefixes, and stops at the first invalid entry as CUDA does', () => {
    assert.equal(parseCudaVisibleDevices(undefined), undefined);
    assert.deepEqual(parseCudaVisibleDevices(''), []);
    assert.deepEqual(parseCudaVisibleDevices('-1'), []);
    assert.deepEqual(parseCudaVisibleDevices('0, 2'), [{ index: 0 }, { index: 2 }]);
    assert.deepEqual(parseCudaVisibleDevices('1,foo,2'), [{ index: 1 }]);
    const uuid = parseCudaVisibleDevices(`${H100_1.slice(0, 10)}`)!;
    assert.equal(isVisible(uuid, { index: 0, uuid: H100_0 }), false);
    assert.equal(isVisible(uuid, { index: 1, uuid: H100_1 }), true);
    assert.equal(
      isVisible(parseCudaVisibleDevices('MIG-4b8f1c2e-9a7d-4c39-8e0f-3d1b6a5c7e21')!, { index: 0, uuid: H100_0 }),
      undefined,
    );
  });
});

describe('power/gpuNvml: carbon-meter run meters a GPU through NVML (dist/cli.js, stand-in library)', function () {
  let fake: FakeNvml;
  before(function () {
    if (process.platform !== 'linux') this.skip();
    const f = buildFakeNvml();
    if ('skip' in f) this.skip();
    fake = f as FakeNvml;
  });

  it('the run owns its device: the counter difference while its process is on it, and the record says how', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-nvml-cli-'));
    const pidFile = path.join(home, 'pid');
    const go = path.join(home, 'go');
    const at = (e: number, pid?: number) => [
      dev(0, H100_0, e, 650_000),
      dev(1, H100_1, 3_000_000, 60_000),
      ...(pid ? [`proc 0 ${pid} ${20 * GiB}`, `util 0 ${pid} 97 30 ${e}`] : []),
    ];
    fake.write(at(1_000_000));
    // the command: writes its pid, then waits for the test's go (no clock involved)
    const script = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); const t = setInterval(() => { if (require('fs').existsSync(${JSON.stringify(go)})) { clearInterval(t); } }, 20);`;
    const done = runCli(
      path.join(ROOT, 'dist', 'cli.js'),
      ['run', '--json', '--region', 'FR', '--checkpoint', '1', '--', process.execPath, '-e', script],
      {
        CARBON_METER_HOME: home,
        LD_LIBRARY_PATH: fake.libDir,
        FAKE_NVML_SCENARIO: fake.scenario,
      },
    );
    await until(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').length > 0, 'the command to start');
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    fake.write(at(1_000_000, pid));
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
    await until(() => /GPU 0 100 %/.test(checkpoint()?.power.gpu.shareRule ?? ''), 'the meter to see the run on GPU 0');
    fake.write(at(1_900_000, pid));
    fs.writeFileSync(go, '');
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    const run = JSON.parse(r.stdout) as Run;
    const gpuJ = run.energyKWh.gpu * 3.6e6;
    assert.ok(Math.abs(gpuJ - 900) <= 900 * 0.05, `${gpuJ} J, expected 900 J`);
    assert.equal(run.power.gpu.method, 'measured');
    assert.equal(run.power.gpu.source, 'NVML total-energy counter');
    assert.match(
      run.power.gpu.shareRule ?? '',
      /GPU 0 100 %: used only by the run: whole device; GPU 1 0 %: idle: no compute process/,
    );
    assert.deepEqual(
      run.hardware.gpus.map((g) => [g.name, g.uuid]),
      [
        [NAME, H100_0],
        [NAME, H100_1],
      ],
    );
  });

  it("doctor --json lists NVML's GPUs in its hardware too, as a run's record does", async () => {
    fake.write([dev(0, H100_0, 1_000_000, 650_000), dev(1, H100_1, 3_000_000, 60_000)]);
    const r = await runCli(path.join(ROOT, 'dist', 'cli.js'), ['doctor', '--json'], {
      CARBON_METER_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'cm-nvml-doctor-')),
      LD_LIBRARY_PATH: fake.libDir,
      FAKE_NVML_SCENARIO: fake.scenario,
    });
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as {
      hardware: { gpus: { name: string; uuid: string }[] };
      gpu: { source: string };
    };
    assert.equal(rep.gpu.source, 'nvml');
    assert.deepEqual(
      rep.hardware.gpus.map((g) => [g.name, g.uuid]),
      [
        [NAME, H100_0],
        [NAME, H100_1],
      ],
    );
  });
});

describe('power/gpuAccount: MIG', () => {
  it('splits a MIG-enabled GPU by GPU instance: an equal part per busy instance, by memory within one', () => {
    const d = { index: 0, uuid: H100_0, name: NAME, powerW: 400, migEnabled: true, processUtil: null };
    const procs = [
      { gpuUuid: H100_0, pid: 10, usedMemoryMB: 1000, gpuInstanceId: 1 },
      { gpuUuid: H100_0, pid: 20, usedMemoryMB: 3000, gpuInstanceId: 2 },
      { gpuUuid: H100_0, pid: 30, usedMemoryMB: 1000, gpuInstanceId: 2 },
    ];
    const alone = deviceShare(d, procs, new Set([10]));
    assert.equal(alone.share, 0.5);
    assert.match(alone.rule, /^MIG: split by GPU instance \(2 busy/);
    assert.equal(deviceShare(d, procs, new Set([20])).share, 0.375);
    assert.equal(deviceShare(d, procs, new Set([10, 20, 30])).share, 1);
  });
});
