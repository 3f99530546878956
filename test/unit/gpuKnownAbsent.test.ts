/**
 * A machine without any GPU tool or driver says so from a run's first checkpoint: the absence is known before any
 * reading (the tools are looked for on disk, nothing is started), in the words of the final record. "waiting for the
 * first GPU reading" is kept for a tool that is there and has not answered yet. Real files, processes and signals;
 * every wait is for a condition, with a generous deadline.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HistoryStore } from '../../src/core/history/store';
import { resolveRegion } from '../../src/core/intensity/regions';
import { createMeterEnvironment } from '../../src/core/meter/environment';
import { MeterHub } from '../../src/core/meter/hub';
import type { RunSpec } from '../../src/core/meter/meter';
import { forgetAbsentTools } from '../../src/core/power/gpu';
import { GpuMonitors, type GpuMonitorsOptions } from '../../src/core/power/gpu/choose';
import { runOnce } from '../../src/core/power/gpu/tools';
import { noNvidiaDriverReason } from '../../src/core/power/gpuNvml';
import type { Run } from '../../src/core/types';
import { runCli } from '../helpers/cli';
import { ROOT, until } from '../helpers/fakeNvml';

const CLI = path.join(ROOT, 'dist', 'cli.js');
const PRESENT_NVIDIA_SMI = path.join(ROOT, 'test', 'fixtures', 'nvidia-smi', 'multi-gpu');
const PRESENT_AMD_SMI = path.join(ROOT, 'test', 'fixtures', 'amd-smi', 'rocm-7', 'amd-smi');

function idle(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
}

function checkpointOf(home: string, id: string): Run {
  return (JSON.parse(fs.readFileSync(path.join(home, 'running', `${id}.json`), 'utf8')) as { run: Run }).run;
}

describe('GPU tools known absent before any reading (first checkpoint, recovered run)', function () {
  this.timeout(120_000);
  let dir: string;
  const children: ChildProcess[] = [];
  const missing = (name: string): string => path.join(dir, 'no-such-folder', name);
  const options = (nvidiaSmi: string, amdSmi: string): GpuMonitorsOptions => ({
    nvidia: { nvml: false, nvidiaSmi: { command: nvidiaSmi } },
    amd: { amdSmi, rocmSmi: missing('rocm-smi') },
  });

  beforeEach(() => {
    forgetAbsentTools();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-gpu-absent-'));
  });
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    forgetAbsentTools();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  before(function () {
    if (!fs.existsSync(PRESENT_AMD_SMI)) assert.fail(`fixture missing: ${PRESENT_AMD_SMI}`);
  });

  it('says, before start and without starting a tool, what latest() says once the monitors have looked', async () => {
    const started = new GpuMonitors(options(missing('nvidia-smi'), missing('amd-smi')));
    started.start();
    await started.whenIdle();
    const after = started.latest();
    started.stop();
    assert.equal(after.ok, false);
    assert.ok(after.reason, 'a reason once started');

    forgetAbsentTools();
    const fresh = new GpuMonitors(options(missing('nvidia-smi'), missing('amd-smi')));
    const before = fresh.knownAbsent();
    assert.equal(before, after.reason, 'the same words before any reading');
    assert.match(before, /^nvidia-smi not found at .*no-such-folder\/nvidia-smi; NVML turned off; /);
    assert.match(before, /amd-smi not found at .*; rocm-smi not found at .*: GPU energy not metered$/);
    assert.equal(fresh.amd?.counts.calls, 0, 'no AMD tool was started to find out');
    fresh.start();
    await fresh.whenIdle();
    assert.equal(fresh.amd?.counts.calls, 0, 'a tool found missing is not started afterwards either');
    assert.equal(fresh.latest().reason, before);
    fresh.stop();
  });

  it('is unknown while a tool of some vendor is on disk', () => {
    assert.equal(new GpuMonitors(options(PRESENT_NVIDIA_SMI, missing('amd-smi'))).knownAbsent(), undefined);
    const amd = new GpuMonitors(options(missing('nvidia-smi'), PRESENT_AMD_SMI));
    assert.equal(amd.knownAbsent(), undefined);
    assert.equal(amd.amd?.counts.calls, 0);
    // one vendor absent alone is said by that vendor's monitor, and the run waits for the other
    assert.match(amd.nvidia?.knownAbsent() ?? '', /nvidia-smi not found/);
  });

  it("a run's first checkpoint gives the reason with no GPU tool, and waits only for a tool that is there", async () => {
    const home = path.join(dir, 'home');
    const first = async (nvidiaSmi: string): Promise<Run['power']['gpu']> => {
      const env = await createMeterEnvironment({
        nvidiaSmi,
        amdSmi: missing('amd-smi'),
        rocmSmi: missing('rocm-smi'),
        nvml: false,
        probeGpus: false,
        intervalMs: 3_600_000,
      });
      const hub = new MeterHub(env, new HistoryStore(home, { durable: false }), {
        intervalMs: 3_600_000,
        checkpointMs: 3_600_000,
      });
      const child = idle();
      children.push(child);
      const spec: RunSpec = {
        pid: child.pid!,
        command: 'node',
        cwd: dir,
        source: 'terminal',
        place: { region: resolveRegion('FR'), reason: 'test', guessed: false, pue: 1, pueSource: 'test' },
      };
      try {
        // written by start(), before any tick: what a run killed now would be recovered with
        return checkpointOf(home, hub.start(spec).run.id).power.gpu;
      } finally {
        hub.dispose();
      }
    };
    const none = await first(missing('nvidia-smi'));
    assert.equal(none.method, 'default');
    assert.match(none.unavailableReason ?? '', /^nvidia-smi not found at .*: GPU energy not metered$/);
    assert.equal(none.detail, `0 W: ${none.unavailableReason}`);
    assert.doesNotMatch(none.detail, /waiting/);

    const present = await first(PRESENT_NVIDIA_SMI);
    assert.equal(present.detail, 'waiting for the first GPU reading');
    assert.equal(present.unavailableReason, undefined);
  });

  it('a CLI run killed with SIGKILL before its first tick is recovered with the reason, not "waiting"', async function () {
    if (!fs.existsSync(CLI)) assert.fail(`${CLI} is missing: run npm run build first`);
    if (noNvidiaDriverReason() === undefined) this.skip(); // an NVIDIA driver here: NVML is asked, and waited for
    const home = path.join(dir, 'home');
    const env = {
      CARBON_METER_HOME: home,
      CARBON_METER_AMD_SMI: missing('amd-smi'),
      CARBON_METER_ROCM_SMI: missing('rocm-smi'),
    };
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CARBON_METER_')));
    const cli = spawn(process.execPath, [CLI, 'run', '--', process.execPath, '-e', 'setInterval(() => {}, 1000)'], {
      env: { ...clean, CARBON_METER_NVIDIA_SMI: missing('nvidia-smi'), ...env },
      stdio: 'ignore',
    });
    children.push(cli);
    const running = path.join(home, 'running');
    const listed = (): string[] =>
      fs.existsSync(running) ? fs.readdirSync(running).filter((f) => /\.json$/.test(f)) : [];
    await until(() => listed().length === 1, 'the first checkpoint');
    const id = listed()[0]!.slice(0, -'.json'.length);
    const checkpoint = checkpointOf(home, id);
    assert.match(checkpoint.power.gpu.detail, /nvidia-smi not found at .*: GPU energy not metered$/);
    const exited = new Promise((resolve) => cli.once('exit', resolve));
    cli.kill('SIGKILL');
    await exited;
    if (checkpoint.pid) process.kill(checkpoint.pid, 'SIGKILL');

    const r = await runCli(CLI, ['history', '--json'], { ...env, CARBON_METER_NVIDIA_SMI: missing('nvidia-smi') });
    assert.equal(r.code, 0, r.stderr);
    const runs = JSON.parse(r.stdout) as Run[] | { runs: Run[] };
    const run = (Array.isArray(runs) ? runs : runs.runs).find((x) => x.id === id);
    assert.ok(run, `run ${id} in the history: ${r.stdout.slice(0, 300)}`);
    assert.equal(run.status, 'interrupted');
    assert.equal(run.power.gpu.method, 'default');
    assert.doesNotMatch(run.power.gpu.detail, /waiting for the first/);
    assert.match(run.power.gpu.detail, /nvidia-smi not found at .*; amd-smi not found at .*: GPU energy not metered$/);
  });

  it('samples at the interval without a GPU when none is found, and at the GPU interval when one is', async () => {
    // each in a process of its own: the GPU list is probed once per process (core/hardware.ts)
    const intervalOf = async (nvidiaSmi: string): Promise<number> => {
      const script = `require(${JSON.stringify(path.join(ROOT, 'out', 'src', 'core', 'meter', 'environment.js'))})
        .createMeterEnvironment(${JSON.stringify({
          nvidiaSmi,
          amdSmi: missing('amd-smi'),
          rocmSmi: missing('rocm-smi'),
          nvml: false,
          intervalMs: 2000,
          intervalMsWithoutGpu: 10_000,
        })})
        .then((env) => { env.gpu.stop?.(); process.stdout.write(String(env.intervalMs)); process.exit(0); });`;
      const file = path.join(dir, 'interval.js');
      fs.writeFileSync(file, script);
      const r = await runCli(file, [], {});
      assert.equal(r.code, 0, r.stderr);
      return Number(r.stdout);
    };
    assert.equal(await intervalOf(missing('nvidia-smi')), 10_000);
    assert.equal(await intervalOf(PRESENT_NVIDIA_SMI), 2000);
  });

  it('a missing tool arms no timer: a cleared one still woke the process when it would have fired', async () => {
    const armed: number[] = [];
    const real = global.setTimeout;
    global.setTimeout = ((fn: () => void, ms?: number) => {
      armed.push(ms ?? 0);
      return real(fn, ms);
    }) as typeof setTimeout;
    try {
      const r = await runOnce(missing('nvidia-smi'), ['-L'], 3000);
      assert.equal(r.error?.code, 'ENOENT');
    } finally {
      global.setTimeout = real;
    }
    assert.deepEqual(armed, []);
    // a tool that is there is still bounded by its timeout
    const hung = await runOnce(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], 300);
    assert.equal(hung.timedOut, true);
  });
});
