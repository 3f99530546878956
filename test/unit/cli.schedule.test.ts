/**
 * `--start-within` and `--pause-above` through the built CLI, with the local forecast server standing in for the GB
 * Carbon Intensity API, and real processes.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Run } from '../../src/core/types';
import { runCli } from '../helpers/cli';
import { IntensityServer } from '../helpers/intensityServer';

const ROOT = path.join(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const EPOCHS = path.join(ROOT, 'test', 'fixtures', 'workloads', 'epochs.js');
const HALF = 1_800_000;

describe('carbon-meter run: greener start and pausing', function () {
  this.timeout(180_000);
  let server: IntensityServer;
  let home: string;
  let env: Record<string, string>;
  before(function () {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
  });
  beforeEach(async () => {
    server = await IntensityServer.start();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-cli-sched-'));
    env = {
      CARBON_METER_HOME: home,
      CARBON_METER_PROVIDER: 'uk-carbon-intensity',
      CARBON_METER_UK_CARBON_INTENSITY_URL: server.url,
    };
  });
  afterEach(async () => {
    await server.close();
  });

  it('--start-within with no forecast says why and runs now', async () => {
    const r = await runCli(
      CLI,
      ['run', '--json', '--region', 'DE', '--start-within', '12h', '--', process.execPath, '-e', 'console.log("ran")'],
      { CARBON_METER_HOME: home },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /--start-within: running now: the intensity provider is static/);
    const run: Run = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.match(run.schedule?.startedNowReason ?? '', /static/);
  });

  it("--start-within where the live provider has no data for the region says the provider's reason once", async () => {
    const r = await runCli(
      CLI,
      ['run', '--region', 'FR', '--start-within', '1h', '--', process.execPath, '-e', 'console.log("ran")'],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => /covers Great Britain only/.test(l));
    // on the scheduler's line, not again as a line of its own; the summary's fallback line still names it
    assert.equal(lines.filter((l) => l.startsWith('carbon-meter:')).length, 1, r.stderr);
    assert.match(lines[0], /^carbon-meter: --start-within: running now: the Carbon Intensity API covers Great Britain/);
    assert.equal(server.requests.length, 0);
  });

  it('--start-within waits for the dip, shows the wait and the saving; Ctrl-C while waiting starts nothing', async () => {
    const dip = Math.floor(Date.now() / HALF) * HALF + 8 * HALF;
    server.intensityAt = (t) => (t >= dip && t < dip + 4 * HALF ? 50 : 350);
    const marker = path.join(home, 'started');
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CARBON_METER_')));
    const child = spawn(
      process.execPath,
      [
        CLI,
        'run',
        '--region',
        'GB',
        '--start-within',
        '12h',
        '--',
        process.execPath,
        '-e',
        `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`,
      ],
      {
        env: { ...clean, ...env, CARBON_METER_NVIDIA_SMI: '/nonexistent/nvidia-smi' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!/waiting until/.test(stderr)) {
      if (Date.now() > deadline || child.exitCode !== null) assert.fail(`no wait announced: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(
      stderr,
      /50 instead of 350 g\/kWh, −86 % for a run like this one \(no earlier run of this command: 1 h assumed; /,
    );
    child.kill('SIGINT');
    assert.equal(await closed, 130);
    assert.match(stderr, /interrupted while waiting: nothing was started/);
    assert.equal(fs.existsSync(marker), false, 'the command never ran');
  });

  it('--pause-above pauses the run while the intensity is above, at most --max-delay, and records it', async () => {
    server.intensityAt = () => 420;
    const r = await runCli(
      CLI,
      [
        'run',
        '--json',
        '--region',
        'GB',
        '--pause-above',
        '200',
        '--max-delay',
        '2s',
        '--',
        process.execPath,
        EPOCHS,
        '0.5',
        '3',
        '0.3',
        'plain',
      ],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /pausing keeps memory allocated \(GPU memory included\)/);
    assert.match(r.stderr, /paused: 420 g\/kWh is above 200 g\/kWh/);
    assert.match(r.stderr, /resumed: the allowed delay \(2 s\) is spent/);
    const run: Run = JSON.parse(r.stdout.trim().split('\n').pop()!);
    const p = run.schedule?.pause;
    assert.ok(p, JSON.stringify(run.schedule));
    assert.equal(p.pauses, 1);
    assert.equal(p.delayExhausted, true);
    assert.ok(p.pausedS >= 2, `paused ${p.pausedS} s`);
    assert.equal(p.avoidedMeanGPerKWh, 420);
    assert.equal(p.thresholdGPerKWh, 200);
    assert.match(r.stdout, /epoch 3\/3/, 'the run went on to its end');
  });
});
