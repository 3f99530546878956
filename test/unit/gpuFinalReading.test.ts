/**
 * The hub's last GPU reading for runs it closes itself (the extension's terminal, task and debug runs: their end is
 * seen by the tick, not by stop()): the NVML stand-in is read only on demand (a reading interval of an hour), so
 * the energy of the run's last interval is counted only if the hub asks for a fresh reading before closing.
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
import { GpuMonitors } from '../../src/core/power/gpu/choose';
import type { Run } from '../../src/core/types';
import { buildFakeNvml, H100_0, H100_1, until, type FakeNvml } from '../helpers/fakeNvml';

const NAME = 'NVIDIA H100 80GB HBM3';
const dev = (i: number, uuid: string, energyMJ: number, powerMW: number): string =>
  `device ${i} ${uuid} ${energyMJ} ${powerMW} 0 ${NAME}`;

describe('meter/MeterHub: a run closed by the tick gets a last GPU reading', function () {
  this.timeout(120_000);
  let fake: FakeNvml;
  before(function () {
    if (process.platform !== 'linux') this.skip();
    const f = buildFakeNvml();
    if ('skip' in f) this.skip();
    fake = f as FakeNvml;
  });

  it('the counter read after the processes are gone is counted before the run is written', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-final-gpu-'));
    const go = path.join(home, 'go');
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const t = setInterval(() => { if (require('fs').existsSync(${JSON.stringify(go)})) clearInterval(t); }, 20);`,
      ],
      { stdio: 'ignore' },
    );
    const pid = child.pid!;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const at = (e: number): string[] => [
      dev(0, H100_0, e, 650_000),
      dev(1, H100_1, 3_000_000, 60_000),
      `proc 0 ${pid} ${20 * 2 ** 30}`,
    ];
    fake.write(at(1_000_000));
    const gpu = new GpuMonitors({
      nvidia: {
        nvml: { env: fake.env, intervalMs: 3_600_000 },
        nvidiaSmi: { command: '/nonexistent/carbon-meter-test/nvidia-smi' },
      },
      amd: false,
    });
    const hub = new MeterHub(
      {
        hardware: { cpuModel: 'Test CPU', logicalCpus: 2, ramGB: 16, gpus: [] },
        cpu: { kind: 'tdp', tdp: { tdpW: 100, method: 'modelled', source: 'test', detail: 'TDP 100 W (test)' } },
        gpu,
        intensity: new StaticIntensityProvider(),
      },
      new HistoryStore(home, { durable: false }),
      { intervalMs: 3_600_000 }, // the test drives the ticks
    );
    const finished = new Promise<Run>((resolve) => hub.onRunFinished(resolve));
    try {
      const meter = hub.start({
        pid,
        command: 'node train.js',
        cwd: home,
        source: 'terminal',
        place: { region: resolveRegion('FR'), reason: 'test', guessed: false, pue: 1, pueSource: 'test' },
      });
      // the reader's one reading (1000 J) is in once the run shows on GPU 0
      for (;;) {
        await hub.tickAll();
        if (/GPU 0 100 %/.test(meter.run.power.gpu.shareRule ?? '')) break;
        await until(() => gpu.nvidia!.nvmlMonitor!.stats().reads > 0, 'the first NVML reading');
      }
      fake.write(at(1_900_000)); // 900 J more on GPU 0 while the run ends
      fs.writeFileSync(go, '');
      await exited;
      hub.setExitCode(meter.run.id, 0); // as the terminal watcher does
      await until(
        () => !fs.existsSync(`/proc/${pid}/stat`) || /\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')),
        'the process to be gone',
      );
      let run: Run | undefined;
      void finished.then((r) => (run = r));
      while (!run) {
        await hub.tickAll();
        await new Promise((r) => setImmediate(r));
      }
      const gpuJ = run.energyKWh.gpu * 3.6e6;
      assert.ok(
        Math.abs(gpuJ - 900) <= 900 * 0.05,
        `${gpuJ} J, expected 900 J (the reading taken when the run closed)`,
      );
      assert.equal(run.power.gpu.source, 'NVML total-energy counter');
    } finally {
      hub.dispose();
      gpu.stop();
      await gpu.whenIdle();
    }
  });
});
