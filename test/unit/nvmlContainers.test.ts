/**
 * NVML leftovers: MIG device UUIDs in CUDA_VISIBLE_DEVICES (mapped to their GPU through NVML's MIG device list),
 * the device's minor number, and a run in a container whose processes the driver does not list (the run's open
 * /dev/nvidia<minor> is the evidence, an estimate). The stand-in library is the C one of test/fixtures/nvml.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { GpuSnapshot } from '../../src/core/power/gpu';
import { openGpuNodes } from '../../src/core/power/gpu/visible';
import { GpuEnergyAccount, isVisible, parseCudaVisibleDevices } from '../../src/core/power/gpuAccount';
import { NvmlMonitor } from '../../src/core/power/gpuNvml';
import { buildFakeNvml, H100_0, H100_1, until, type FakeNvml } from '../helpers/fakeNvml';

const NAME = 'NVIDIA H100 80GB HBM3';
const dev = (i: number, uuid: string, energyMJ: number, powerMW: number): string =>
  `device ${i} ${uuid} ${energyMJ} ${powerMW} 0 ${NAME}`;
const MIG_A = 'MIG-1f0c8d2e-5b3a-5e71-9c44-0a6b2d8e4f11';
const MIG_B = 'MIG-7d2e9a10-3c4b-5f62-8e15-1b7c3e9f5a22';

/** A fake /proc: <pid>/fd/<n> symbolic links to the given targets (the links need no target to exist). */
function fakeProc(fds: Record<number, string[]>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-proc-fd-'));
  for (const [pid, targets] of Object.entries(fds)) {
    fs.mkdirSync(path.join(root, pid, 'fd'), { recursive: true });
    targets.forEach((t, i) => fs.symlinkSync(t, path.join(root, pid, 'fd', String(i + 3))));
  }
  return root;
}

describe('power/nvml: MIG UUIDs, minor numbers, processes the driver cannot see', function () {
  let fake: FakeNvml;
  const monitors: NvmlMonitor[] = [];
  before(function () {
    if (process.platform !== 'linux') this.skip();
    const f = buildFakeNvml();
    if ('skip' in f) this.skip();
    fake = f as FakeNvml;
  });
  afterEach(async () => {
    for (const m of monitors.splice(0)) {
      m.stop();
      await m.whenIdle();
    }
  });

  async function read(lines: string[]): Promise<GpuSnapshot> {
    fake.write(lines);
    const m = new NvmlMonitor({ env: fake.env, intervalMs: 20, fullEveryMs: 0 });
    monitors.push(m);
    m.start();
    await until(() => m.latest().ok, 'an NVML reading');
    return m.latest();
  }

  it("a MIG UUID in CUDA_VISIBLE_DEVICES names the GPU that holds it; the other GPU is not the run's", async () => {
    const s = await read([
      dev(0, H100_0, 1_000_000, 300_000),
      dev(1, H100_1, 2_000_000, 300_000),
      'mig 0',
      `migdev 0 ${MIG_A} 1`,
      `migdev 0 ${MIG_B} 2`,
      'minor 1 3',
      'proc 0 4242 1073741824 2',
      'proc 1 4242 1073741824',
    ]);
    assert.deepEqual(s.devices[0]!.migDevices, [
      { uuid: MIG_A, gpuInstanceId: 1 },
      { uuid: MIG_B, gpuInstanceId: 2 },
    ]);
    assert.equal(s.devices[0]!.minor, 0);
    assert.equal(s.devices[1]!.minor, 3);
    const visible = parseCudaVisibleDevices(MIG_B)!;
    assert.equal(isVisible(visible, s.devices[0]!), true);
    assert.equal(isVisible(visible, s.devices[1]!), undefined); // no MIG device listed there: the list cannot say
    assert.equal(
      isVisible(visible, { index: 1, uuid: H100_1, migDevices: [{ uuid: MIG_A, gpuInstanceId: 1 }] }),
      false,
    );
    const step = new GpuEnergyAccount({ cudaVisibleDevices: `${MIG_B},0` }).step(s, [4242], 1);
    assert.match(step.shareRule, /GPU 0 100 %: used only by the run: whole device/);
    assert.match(step.shareRule, /GPU 1 0 %: not in the run's CUDA_VISIBLE_DEVICES/);
  });

  it('the driver lists no process anywhere: the one /dev/nvidia<minor> the run holds open is its device (an estimate)', async () => {
    const s = await read([
      dev(0, H100_0, 1_000_000, 650_000),
      dev(1, H100_1, 3_000_000, 60_000),
      'minor 0 0',
      'minor 1 1',
    ]);
    const procRoot = fakeProc({
      4242: ['/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia0', 'pipe:[12345]'],
      4243: ['/dev/null'],
    });
    assert.deepEqual([...openGpuNodes([4242, 4243, 999999], procRoot)], ['/dev/nvidia0']);
    const step = new GpuEnergyAccount({ gpuEnv: {}, procRoot }).step(s, [4242, 4243], 1);
    assert.match(
      step.shareRule,
      /GPU 0 100 %: the driver lists no process on any GPU \(a container hides them from it\); the run holds \/dev\/nvidia0 open: charged whole \(estimate\)/,
    );
    assert.match(step.shareRule, /GPU 1 0 %: idle: no compute process/);
    assert.equal(step.powerW, 650);
    // several nodes held and no CUDA_VISIBLE_DEVICES: which one is busy cannot be told
    const both = fakeProc({ 4242: ['/dev/nvidia0', '/dev/nvidia1'] });
    const unsure = new GpuEnergyAccount({ gpuEnv: {}, procRoot: both }).step(s, [4242], 1);
    assert.match(unsure.shareRule, /GPU 0 0 %: .*the run holds 2 GPU nodes open: set CUDA_VISIBLE_DEVICES/);
    const named = new GpuEnergyAccount({ gpuEnv: { visible: '1' }, procRoot: both }).step(s, [4242], 1);
    assert.match(named.shareRule, /GPU 1 100 %: .*the run holds \/dev\/nvidia1 open: charged whole/);
    assert.match(named.shareRule, /GPU 0 0 %: not in the run's CUDA_VISIBLE_DEVICES/);
  });

  it('a process list with someone on it: the open node is not evidence (the normal rules apply)', async () => {
    const s = await read([
      dev(0, H100_0, 1_000_000, 650_000),
      dev(1, H100_1, 3_000_000, 60_000),
      'proc 1 5151 1073741824',
    ]);
    const procRoot = fakeProc({ 4242: ['/dev/nvidia0'] });
    const step = new GpuEnergyAccount({ gpuEnv: {}, procRoot }).step(s, [4242], 1);
    assert.match(
      step.shareRule,
      /GPU 0 0 %: idle: no compute process; GPU 1 0 %: used only by 1 process outside the run/,
    );
  });
});
