/**
 * No NVIDIA driver, no NVML reader: the signs of a driver are looked for in real folders (a temp folder stands for
 * the root), and a monitor with default options on a machine without a driver starts no child and says why.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { forgetAbsentTools } from '../../src/core/power/gpu';
import { AutoGpuMonitor, forgetNvmlAbsence, probeGpus } from '../../src/core/power/gpuMonitor';
import { noNvidiaDriverReason } from '../../src/core/power/gpuNvml';

describe('power/gpuNvml: signs of an NVIDIA driver', () => {
  let root: string;
  const under = (p: string): boolean => fs.existsSync(path.join(root, p));
  const env = (ld?: string): NodeJS.ProcessEnv => (ld === undefined ? {} : { LD_LIBRARY_PATH: ld });

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-driver-signs-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('none: one reason naming what was looked for', () => {
    const why = noNvidiaDriverReason(env(), 'linux', under);
    assert.match(
      why!,
      /^no NVIDIA driver found \(no \/dev\/nvidiactl, no \/proc\/driver\/nvidia, no libnvidia-ml\.so\.1 on LD_LIBRARY_PATH\)$/,
    );
    assert.equal(noNvidiaDriverReason(env(':'), 'darwin', under), why);
  });

  it('the device node, the driver folder or WSL’s library: the reader decides', () => {
    for (const sign of ['dev/nvidiactl', 'proc/driver/nvidia', 'usr/lib/wsl/lib/libnvidia-ml.so.1']) {
      const p = path.join(root, sign);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, '');
      assert.equal(noNvidiaDriverReason(env(), 'linux', under), undefined, sign);
      fs.rmSync(p);
    }
  });

  it('libnvidia-ml.so.1 in a folder of LD_LIBRARY_PATH (an explicit library) starts the reader', () => {
    const lib = path.join(root, 'lib');
    fs.mkdirSync(lib);
    // the folders are looked up under the temp root, as the other signs are
    assert.ok(noNvidiaDriverReason(env('/nonexistent:/lib'), 'linux', under));
    fs.writeFileSync(path.join(lib, 'libnvidia-ml.so.1'), '');
    assert.equal(noNvidiaDriverReason(env('/nonexistent:/lib'), 'linux', under), undefined);
    assert.ok(noNvidiaDriverReason(env(), 'linux', under));
  });

  it('Windows: never decided without the reader', () => {
    assert.equal(noNvidiaDriverReason(env(), 'win32', under), undefined);
  });
});

describe('power/gpuMonitor: no driver here, no NVML reader', function () {
  before(function () {
    if (process.platform === 'win32' || noNvidiaDriverReason() === undefined) this.skip(); // a machine with a driver
  });
  after(() => forgetNvmlAbsence());

  it('the monitor starts no reader, uses nvidia-smi, and gives one reason for both', async () => {
    forgetNvmlAbsence();
    forgetAbsentTools();
    const a = new AutoGpuMonitor({
      nvidiaSmi: { command: 'carbon-meter-test-no-such-nvidia-smi', intervalMs: 100, appsEveryMs: 100 },
    });
    assert.equal(a.nvmlMonitor, undefined);
    assert.equal(a.source, 'nvidia-smi');
    assert.equal(a.nvmlUnavailable, noNvidiaDriverReason());
    a.start();
    try {
      const end = Date.now() + 60_000;
      while (!/not found on PATH/.test(a.latest().reason ?? '')) {
        if (Date.now() > end) throw new Error('gave up waiting for nvidia-smi to be found missing');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.match(
        a.latest().reason!,
        /not found on PATH; no NVIDIA driver found \(no \/dev\/nvidiactl.*\): GPU energy not metered$/,
      );
      assert.equal(a.absent, true);
    } finally {
      a.stop();
      await a.whenIdle();
    }
  });

  it('the probe (doctor, inventory) says the same without a child', async () => {
    const p = await probeGpus('carbon-meter-test-no-such-nvidia-smi', { fresh: true, amd: false });
    assert.equal(p.nvml.available, false);
    assert.equal(p.nvml.reason, noNvidiaDriverReason());
    assert.equal(p.source, 'none');
  });
});
