/**
 * The CLI as users run it: the built dist/cli.js, real child processes, a real history folder.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Run } from '../../src/core/types';
import { runCli, type CliResult } from '../helpers/cli';

const ROOT = path.join(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const WORKLOAD = path.join(ROOT, 'test', 'fixtures', 'workloads', 'spawn_two.py');
const PYTHON = process.env.PYTHON ?? 'python3';

function tmpHome(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cm-home-'));
}

function cli(args: string[], home: string, extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return runCli(CLI, args, { CARBON_METER_HOME: home, ...extraEnv });
}

/** Python that uses 1 s of CPU time (its own, whatever the machine's load) and exits. */
const BURN_ONE_CPU_S = 'import time\nend = time.process_time() + 1\nwhile time.process_time() < end: pass';

function history(home: string): Run[] {
  const r = spawnSync(process.execPath, [CLI, 'history', '--json'], {
    env: { ...process.env, CARBON_METER_HOME: home },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('carbon-meter CLI', function () {
  this.timeout(180_000);
  before(function () {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
  });

  it('meters a parent and two CPU-busy children: cpuSeconds matches what the OS accounted within 3 %', async () => {
    const home = tmpHome();
    const r = await cli(['run', '--json', '--region', 'FR', '--interval', '0.5', '--', PYTHON, WORKLOAD, '1.0'], home);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, 'exactly one JSON object on stdout');
    const run: Run = JSON.parse(lines[0]);
    const accounted = JSON.parse(
      r.stderr
        .trim()
        .split('\n')
        .find((l) => l.startsWith('{"cpuSeconds"'))!,
    ).cpuSeconds;
    assert.ok(accounted > 2, `the workload used ${accounted} s`);
    const err = Math.abs(run.cpuSeconds - accounted) / accounted;
    console.log(
      `      cpuSeconds metered ${run.cpuSeconds} vs accounted by the OS ${accounted.toFixed(3)} (${(err * 100).toFixed(2)} %)`,
    );
    assert.ok(err <= 0.03, `metered ${run.cpuSeconds} s vs ${accounted} s`);
    assert.equal(run.status, 'completed');
    assert.equal(run.exitCode, 0);
    assert.equal(run.source, 'cli');
    assert.equal(run.intensity.region, 'FR');
    assert.equal(run.intensity.method, 'annual-average');
    assert.ok(run.energyKWh.cpu > 0 && run.energyKWh.ram > 0);
    assert.equal(run.energyKWh.gpu, 0);
    assert.match(run.power.gpu.unavailableReason ?? '', /nvidia-smi/);
    assert.ok(
      Math.abs(run.energyKWh.total - (run.energyKWh.cpu + run.energyKWh.gpu + run.energyKWh.ram) * run.pue) < 1e-12,
    );
    assert.ok(Math.abs(run.emissionsKg - (run.energyKWh.total * run.intensity.gPerKWh) / 1000) < 1e-9);
    for (const k of ['id', 'name', 'command', 'cwd', 'startedAt', 'endedAt', 'durationS', 'hardware'] as const)
      assert.ok(run[k] !== undefined, k);
    assert.equal(run.name, 'spawn_two.py');
    const stored = history(home);
    assert.equal(stored.length, 1);
    assert.equal(stored[0].id, run.id);
    assert.equal(stored[0].cpuSeconds, run.cpuSeconds);
  });

  it("meters the GPU through nvidia-smi: a device used only by the run's processes counts in full", async () => {
    const home = tmpHome();
    // a fake nvidia-smi (the fixtures' byte-exact output format) whose compute apps are the CLI's children: the run
    const fake = path.join(home, 'nvidia-smi');
    fs.writeFileSync(
      fake,
      [
        '#!/usr/bin/env bash',
        'GPUS=("0|GPU-4b8f1c2e-9a7d-4c39-8e0f-3d1b6a5c7e21|NVIDIA A100-SXM4-40GB|250.00|400.00|97|30000|40960|535.129.03")',
        'APPS=()',
        'for pid in $(cat /proc/$PPID/task/*/children); do',
        '  case "$(cat /proc/$pid/comm 2>/dev/null)" in python*) APPS+=("GPU-4b8f1c2e-9a7d-4c39-8e0f-3d1b6a5c7e21|$pid|30000|python") ;; esac',
        'done',
        `source ${JSON.stringify(path.join(ROOT, 'test', 'fixtures', 'nvidia-smi', 'lib', 'fake-nvidia-smi.sh'))}`,
        'fake_main "$@"',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const r = await cli(
      [
        'run',
        '--json',
        '--region',
        'FR',
        '--interval',
        '0.5',
        '--',
        PYTHON,
        path.join(ROOT, 'test', 'fixtures', 'workspace', 'busy.py'),
        '3',
      ],
      home,
      {
        CARBON_METER_NVIDIA_SMI: fake,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const run: Run = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(run.power.gpu.method, 'measured', JSON.stringify(run.power.gpu));
    assert.equal(run.hardware.gpus[0]?.name, 'NVIDIA A100-SXM4-40GB');
    // 250 W while the device is attributed to the run: never more, and most of the run
    const gpuJ = run.energyKWh.gpu * 3.6e6;
    assert.ok(gpuJ <= 250 * run.durationS * 1.001, `gpu ${gpuJ} J over ${run.durationS} s`);
    assert.ok(gpuJ >= 250 * run.durationS * 0.4, `gpu ${gpuJ} J over ${run.durationS} s`);
    assert.ok(run.energyKWh.gpu > run.energyKWh.cpu);
  });

  it('prints a summary with the method and source of every figure', async () => {
    const home = tmpHome();
    const r = await cli(['run', '--region', 'aws:eu-west-3', '--', PYTHON, '-c', 'sum(range(3_000_000))'], home);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /CPU .*(modelled|default|measured):/);
    assert.match(r.stderr, /RAM .*modelled: 0\.375 W per GB/);
    assert.match(r.stderr, /GPU .*default: nvidia-smi/);
    assert.match(r.stderr, /PUE 1\.135/);
    assert.match(r.stderr, /aws:eu-west-3/);
    // the distance in the unit that reads (a tiny run: µm), never an exponent
    assert.match(r.stderr, /≈ [0-9.]+ (nm|µm|mm|m|km) by car \(US EPA/);
    assert.doesNotMatch(r.stderr, /\de-\d/);
    // with a PUE above 1, the parts are before it and the total after: the summary says so
    assert.match(r.stderr, /incl\. PUE 1\.135 \(.*\); the parts below are before PUE/);
    assert.equal(history(home)[0].pue, 1.135);
  });

  it('says when the region is a guess', async () => {
    const home = tmpHome();
    const r = await cli(['run', '--json', '--', 'true'], home, { TZ: 'Europe/Paris', CARBON_METER_REGION: '' });
    assert.equal(r.code, 0, r.stderr);
    const run: Run = JSON.parse(r.stdout);
    assert.equal(run.intensity.region, 'FR');
    assert.equal(run.intensity.guessed, true);
    assert.match(run.intensity.regionReason ?? '', /Europe\/Paris/);
  });

  it("returns the command's exit code and records the run as failed", async () => {
    const home = tmpHome();
    const r = await cli(['run', '--json', '--region', 'DE', '--', 'sh', '-c', 'exit 3'], home);
    assert.equal(r.code, 3);
    const run: Run = JSON.parse(r.stdout);
    assert.equal(run.status, 'failed');
    assert.equal(run.exitCode, 3);
  });

  it('exits 127 with a clear message when the command is not found', async () => {
    const home = tmpHome();
    const r = await cli(['run', '--region', 'FR', '--', 'no-such-command-xyz'], home);
    assert.equal(r.code, 127);
    assert.match(r.stderr, /command not found: no-such-command-xyz/);
  });

  it('rejects an unknown region with close matches and exit code 2', async () => {
    const home = tmpHome();
    const r = await cli(['run', '--region', 'aws:eu-west3', '--', 'true'], home);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /aws:eu-west-3/);
  });

  it('forwards SIGTERM to the command and records it', async () => {
    const home = tmpHome();
    const child = spawn(
      process.execPath,
      [CLI, 'run', '--json', '--region', 'FR', '--', PYTHON, '-c', 'import time\nwhile True: time.sleep(0.05)'],
      {
        env: { ...process.env, CARBON_METER_HOME: home },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    await waitFor(
      () =>
        fs.existsSync(path.join(home, 'running')) &&
        fs.readdirSync(path.join(home, 'running')).some((f) => f.endsWith('.json')),
    );
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.on('close', r));
    assert.equal(code, 143);
    const run: Run = JSON.parse(stdout);
    assert.equal(run.status, 'failed');
    assert.equal(run.exitCode, 143);
  });

  it('recovers a run whose meter was killed with SIGKILL as interrupted, with its checkpointed energy', async () => {
    const home = tmpHome();
    const child = spawn(
      process.execPath,
      [CLI, 'run', '--region', 'FR', '--interval', '0.5', '--checkpoint', '1', '--', PYTHON, '-c', 'while True: pass'],
      { env: { ...process.env, CARBON_METER_HOME: home }, stdio: 'ignore' },
    );
    const runningDir = path.join(home, 'running');
    let victim: Run | undefined;
    await waitFor(() => {
      const files = fs.existsSync(runningDir) ? fs.readdirSync(runningDir).filter((f) => f.endsWith('.json')) : [];
      if (!files.length) return false;
      const cp = JSON.parse(fs.readFileSync(path.join(runningDir, files[0]), 'utf8'));
      victim = cp.run;
      return cp.run.energyKWh.total > 0;
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    try {
      process.kill(victim!.pid!, 'SIGKILL'); // the orphaned workload
    } catch {
      /* already gone */
    }
    const runs = history(home);
    assert.equal(runs.length, 1);
    assert.equal(runs[0].id, victim!.id);
    assert.equal(runs[0].status, 'interrupted');
    assert.ok(runs[0].energyKWh.total > 0);
    assert.ok(runs[0].cpuSeconds > 0);
  });

  it('keeps every run when several CLIs write at once', async () => {
    const home = tmpHome();
    const results = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        cli(
          ['run', '--json', '--region', 'FR', '--name', `job-${i}`, '--', PYTHON, '-c', 'sum(range(2_000_000))'],
          home,
        ),
      ),
    );
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const names = history(home)
      .map((r) => r.name)
      .sort();
    assert.deepEqual(names, ['job-1', 'job-2', 'job-3', 'job-4']);
  });

  it('exports CodeCarbon CSV and JSON, and imports the CSV into another history', async () => {
    const home = tmpHome();
    assert.equal((await cli(['run', '--region', 'DE', '--name', 'a,b "quoted"', '--', 'true'], home)).code, 0);
    const csv = await cli(['export', '--format', 'codecarbon-csv'], home);
    assert.equal(csv.code, 0, csv.stderr);
    const [header, row] = csv.stdout.trim().split('\n');
    assert.ok(
      header.startsWith('timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power'),
    );
    assert.ok(row.includes('"a,b ""quoted"""'));
    const out = path.join(home, 'export.json');
    assert.equal((await cli(['export', '--format', 'json', '--out', out], home)).code, 0);
    assert.equal(JSON.parse(fs.readFileSync(out, 'utf8')).length, 1);
    const other = tmpHome();
    const file = path.join(other, 'emissions.csv');
    fs.writeFileSync(file, csv.stdout);
    const imp = await cli(['import', file], other);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, /Imported 1 run/);
    const again = await cli(['import', file], other);
    assert.match(again.stdout, /Imported 0 run.*1 already/);
    const runs = history(other);
    assert.equal(runs.length, 1);
    assert.equal(runs[0].source, 'codecarbon-import');
    assert.equal(runs[0].name, 'a,b "quoted"');
  });

  it('imports its own JSON export whole: status, exit code, notes and the start to the millisecond', async () => {
    const home = tmpHome();
    assert.equal((await cli(['run', '--region', 'DE', '--name', 'ok', '--', 'true'], home)).code, 0);
    assert.equal((await cli(['run', '--region', 'FR', '--name', 'broke', '--', 'sh', '-c', 'exit 3'], home)).code, 3);
    const out = path.join(home, 'export.json');
    assert.equal((await cli(['export', '--format', 'json', '--out', out], home)).code, 0);
    const exported = JSON.parse(fs.readFileSync(out, 'utf8')) as Run[];
    assert.equal(exported.length, 2);
    const other = tmpHome();
    const imp = await cli(['import', out], other);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, /Imported 2 run/);
    const byId = (runs: Run[]) => [...runs].sort((a, b) => a.id.localeCompare(b.id));
    assert.deepEqual(byId(history(other)), byId(exported), 'every field of every record, as exported');
    const broke = history(other).find((r) => r.name === 'broke')!;
    assert.equal(broke.status, 'failed');
    assert.equal(broke.exitCode, 3);
    assert.match(broke.startedAt, /\.\d{3}Z$/);
    assert.match((await cli(['import', out], other)).stdout, /Imported 0 run.*2 already in the history/);

    // records that cannot be used are skipped and counted by kind, the others are taken
    const bad: unknown[] = [
      { ...exported[0], id: 'neg-1', energyKWh: { ...exported[0].energyKWh, total: -1 } },
      { ...exported[0], id: 'no-status', status: undefined },
      { ...exported[0], id: 'still-running', status: 'running' },
      'not a record',
      { ...exported[1], id: 'good-1' },
    ];
    const mixed = path.join(other, 'mixed.json');
    fs.writeFileSync(mixed, JSON.stringify(bad));
    const r = await cli(['import', mixed], other);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Imported 1 run\(s\) from .*mixed\.json \(4 record\(s\) skipped\)/);
    assert.match(r.stderr, /4 record\(s\) skipped: .*negative energyKWh\.total \(record 1;/);
    assert.match(r.stderr, /still running \(record 3;/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(history(other).some((x) => x.id === 'good-1'));

    // a JSON object, not an array: one line, exit 1
    fs.writeFileSync(mixed, '{"runs": []}');
    const object = await cli(['import', mixed], other);
    assert.equal(object.code, 1);
    assert.match(
      object.stderr,
      /is not a JSON array of run records \(carbon-meter export --format json writes one\)\n$/,
    );
    // not JSON after all: one line, exit 1, nothing imported
    fs.writeFileSync(mixed, '[{"id": ');
    const broken = await cli(['import', mixed], other);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /^carbon-meter: .*mixed\.json is not a JSON array of run records \(.*\)\n$/);
  });

  it("does not count the CPU of its own GPU tool calls as the command's (a failing nvidia-smi, 0.3 s of CPU each)", async () => {
    const home = tmpHome();
    const log = path.join(home, 'calls.log');
    const r = await runCli(CLI, ['run', '--json', '--region', 'FR', '--', 'sleep', '2'], {
      CARBON_METER_HOME: home,
      CARBON_METER_NVIDIA_SMI: path.join(ROOT, 'test', 'fixtures', 'nvidia-smi', 'slow-fail'),
      FAKE_NVIDIA_SMI_LOG: log,
    });
    assert.equal(r.code, 0, r.stderr);
    const calls = fs.readFileSync(log, 'utf8').trim().split('\n').length;
    assert.ok(calls >= 2, `the fake tool was called ${calls} time(s)`);
    const run = JSON.parse(r.stdout.trim().split('\n').pop()!) as Run;
    // sleep uses next to nothing; each call of the tool used 0.3 s of CPU, reaped by the CLI
    assert.ok(run.cpuSeconds < 0.1, `the run's CPU time is ${run.cpuSeconds} s after ${calls} tool calls of 0.3 s`);
    // and a busy command next to the same tool keeps its own CPU time
    const busy = await runCli(CLI, ['run', '--json', '--region', 'FR', '--', PYTHON, '-c', BURN_ONE_CPU_S], {
      CARBON_METER_HOME: home,
      CARBON_METER_NVIDIA_SMI: path.join(ROOT, 'test', 'fixtures', 'nvidia-smi', 'slow-fail'),
    });
    assert.equal(busy.code, 0, busy.stderr);
    const burned = JSON.parse(busy.stdout.trim().split('\n').pop()!) as Run;
    assert.ok(burned.cpuSeconds >= 0.95, `a command that used 1 s of CPU: ${burned.cpuSeconds} s`);
  });

  it('lists regions greenest first for a given energy', async () => {
    const r = await cli(['regions', '--energy-kwh', '10', '--json'], tmpHome());
    assert.equal(r.code, 0, r.stderr);
    const list: { code: string; emissionsKg: number }[] = JSON.parse(r.stdout);
    assert.ok(list.length > 100);
    for (let i = 1; i < list.length; i++) assert.ok(list[i - 1].emissionsKg <= list[i].emissionsKg);
    const fr = list.find((x) => x.code === 'FR')!;
    assert.ok(fr.emissionsKg > 0.1 && fr.emissionsKg < 1, `FR ${fr.emissionsKg}`);
  });

  it('doctor lines up its report: every text in one column, whatever its label', async () => {
    const r = await cli(['doctor'], tmpHome());
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n').slice(1);
    assert.ok(lines.some((l) => /^ {2}✗ nvidia-smi /.test(l)) && lines.some((l) => /^ {2}Region /.test(l)), r.stdout);
    // two spaces, the label padded to 12 characters (or nothing, on a further line of an item), a space, the text
    for (const l of lines) assert.ok(l[14] === ' ' && l[15] !== ' ', `not in the text column: ${JSON.stringify(l)}`);
  });

  it('doctor reports RAPL, nvidia-smi and the CPU model', async () => {
    const r = await cli(['doctor', '--json'], tmpHome());
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    assert.equal(typeof rep.rapl.readable, 'boolean');
    if (!rep.rapl.readable) assert.ok(rep.rapl.reason);
    assert.equal(rep.gpu.available, false);
    assert.match(rep.gpu.reason, /not found/);
    assert.equal(rep.hardware.logicalCpus, os.cpus().length);
    assert.ok(rep.cpuPower.detail);
  });

  it('answers --help for every command', async () => {
    for (const c of ['run', 'history', 'export', 'import', 'regions', 'doctor']) {
      const r = await cli([c, '--help'], tmpHome());
      assert.equal(r.code, 0, c);
      assert.match(r.stdout, /Usage: carbon-meter/);
    }
  });
});

async function waitFor(cond: () => boolean, boundMs = 60_000): Promise<void> {
  const until = Date.now() + boundMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}
