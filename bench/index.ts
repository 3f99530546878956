/**
 * `npm run bench`: speed goals, each measured against a baseline in the same run, printed as ratios.
 * No wall-clock limits anywhere; the goals are printed next to the ratios.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import si from 'systeminformation';
import { HistoryStore } from '../src/core/history/store';
import { StaticIntensityProvider } from '../src/core/intensity/provider';
import { resolveRegion } from '../src/core/intensity/regions';
import { MeterHub } from '../src/core/meter/meter';
import { lookupCpuTdp } from '../src/core/power/tdp';
import { ProcfsTreeSampler } from '../src/core/sampling/procfs';
import { getHardware } from '../src/core/hardware';
import { DEFAULT_ROWS, runImportBench } from './importCsv';
import { nvmlReadCost } from './nvml';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const results: { name: string; value: string; goal: string; ok: boolean }[] = [];

function report(name: string, value: string, goal: string, ok: boolean): void {
  results.push({ name, value, goal, ok });
  console.log(`${ok ? 'PASS' : 'MISS'}  ${name}: ${value}   (goal: ${goal})`);
}

async function spawnTree(n: number): Promise<ChildProcess> {
  // a shell with n-1 sleeping children: a 20-process tree
  const child = spawn('sh', ['-c', `for i in $(seq ${n - 1}); do sleep 60 & done; wait`], { stdio: 'ignore', detached: true });
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    const s = new ProcfsTreeSampler(child.pid!).sample();
    if (s.pids.length >= n) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function tickCost(): Promise<void> {
  const tree = await spawnTree(20);
  try {
    const sampler = new ProcfsTreeSampler(tree.pid!);
    const count = sampler.sample().pids.length;
    // sampler alone
    const N = 2000;
    let t0 = performance.now();
    for (let i = 0; i < N; i++) sampler.sample();
    const samplerMs = (performance.now() - t0) / N;
    // a whole meter tick (sampling, power models, intensity, integration)
    const hardware = await getHardware();
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-bench-'));
    const hub = new MeterHub(
      { hardware, cpu: { kind: 'tdp', tdp: lookupCpuTdp(hardware.cpuModel, hardware.logicalCpus) }, gpu: { unavailable: 'bench' }, intensity: new StaticIntensityProvider() },
      new HistoryStore(home),
      { intervalMs: 3_600_000 },
    );
    hub.start({ pid: tree.pid!, command: 'sh', cwd: ROOT, source: 'cli', place: { region: resolveRegion('FR'), reason: 'bench', guessed: false, pue: 1, pueSource: 'bench' } });
    t0 = performance.now();
    for (let i = 0; i < N; i++) await hub.tickAll(Date.now() + i);
    const tickMs = (performance.now() - t0) / N;
    hub.dispose();
    // baseline: one systeminformation.processes() call, as a 1 Hz tick would make it (systeminformation returns
    // its previous answer for calls less than a second apart, so the calls are spaced)
    await si.processes();
    const M = 5;
    let siTotal = 0;
    for (let i = 0; i < M; i++) {
      await new Promise((r) => setTimeout(r, 1100));
      const t = performance.now();
      await si.processes();
      siTotal += performance.now() - t;
    }
    const siMs = siTotal / M;
    console.log(`      tree of ${count} processes: sampler ${samplerMs.toFixed(3)} ms, meter tick ${tickMs.toFixed(3)} ms, systeminformation.processes() ${siMs.toFixed(1)} ms`);
    report('one meter tick of a 20-process tree vs one systeminformation.processes()', `${(siMs / tickMs).toFixed(0)}× cheaper`, '≥ 50× cheaper', siMs / tickMs >= 50);
  } finally {
    try {
      process.kill(-tree.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** The workload measures its own wall time, so the CLI's start-up is not counted against metering. */
const WORKLOAD = `
import time, sys
t = time.perf_counter()
x = 0
for i in range(int(sys.argv[1])):
    x += i * i % 7
print(f"WALL {time.perf_counter() - t:.6f}", file=sys.stderr)
`;

function runWorkload(metered: boolean, iterations: number, home: string): { inner: number; outer: number } {
  const py = ['python3', '-c', WORKLOAD, String(iterations)];
  const t0 = performance.now();
  const r = metered
    ? spawnSync(process.execPath, [CLI, 'run', '--quiet', '--interval', '1', '--region', 'FR', '--', ...py], { encoding: 'utf8', env: { ...process.env, CARBON_METER_HOME: home } })
    : spawnSync(py[0], py.slice(1), { encoding: 'utf8' });
  const outer = (performance.now() - t0) / 1000;
  const m = /WALL ([\d.]+)/.exec(r.stderr);
  if (!m) throw new Error(`workload failed: ${r.stderr}`);
  return { inner: Number(m[1]), outer };
}

function meteringOverhead(): void {
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js missing: npm run build');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-bench-'));
  const iterations = Number(process.env.BENCH_ITERATIONS ?? 30_000_000);
  const bare: number[] = [];
  const metered: number[] = [];
  const bareOuter: number[] = [];
  const meteredOuter: number[] = [];
  runWorkload(false, iterations / 10, home); // warm caches
  for (let i = 0; i < 5; i++) {
    const b = runWorkload(false, iterations, home);
    const m = runWorkload(true, iterations, home);
    bare.push(b.inner);
    metered.push(m.inner);
    bareOuter.push(b.outer);
    meteredOuter.push(m.outer);
  }
  const ratio = median(metered) / median(bare);
  console.log(`      workload wall time, median of 5: bare ${median(bare).toFixed(3)} s, metered ${median(metered).toFixed(3)} s; end to end incl. CLI start-up: ${median(bareOuter).toFixed(3)} s vs ${median(meteredOuter).toFixed(3)} s`);
  report('wall-time overhead of metering a CPU-bound workload at 1 s', `${((ratio - 1) * 100).toFixed(2)} %`, '≤ 1 %', ratio - 1 <= 0.01);
}

/** Issue 9: a 321 k-row CodeCarbon CSV took 4 min 33 s and 1.15 GB (a parse of the whole text, one fsync per row). */
function importSpeed(): void {
  const r = runImportBench(DEFAULT_ROWS);
  console.log(
    `      ${r.rows} rows, ${(r.csvBytes / 2 ** 20).toFixed(0)} MB of CSV (${r.skipped} broken rows skipped), history ${(r.historyBytes / 2 ** 20).toFixed(0)} MB; ` +
      `${Math.round(r.rowsPerS)} rows/s wall, ${Math.round(r.rowsPerCpuS)} rows per CPU second, parsing alone ${Math.round(r.parseRowsPerS)} rows/s; ` +
      `former path (one fsync per row) ${Math.round(r.baselineRowsPerS)} rows/s; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`,
  );
  if (r.fatal) console.log(`      import stopped: ${r.fatal}`);
  report('CodeCarbon import of a 321 k-row emissions.csv', `${Math.round(r.rowsPerS)} rows/s (${(r.rowsPerS / r.baselineRowsPerS).toFixed(1)}× the former path)`, '≥ 50,000 rows/s', r.rowsPerS >= 50_000);
  report('peak RSS growth of that import', `${r.peakGrowthMB.toFixed(0)} MB`, '≤ 256 MB (was 1.15 GB)', r.peakGrowthMB <= 256);
}

async function main(): Promise<void> {
  const only = process.argv[2];
  const all: [string, () => unknown][] = [
    ['tick', tickCost],
    ['overhead', meteringOverhead],
    ['import', importSpeed],
    ['nvml', () => nvmlReadCost(report)],
  ];
  for (const [name, fn] of all) if (!only || only === name) await fn();
  console.log(`\n${results.filter((r) => r.ok).length} of ${results.length} goals met`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
