/**
 * `node out/bench/forecast.js`: the forecast's goal on a real run through the built CLI. A workload with a one-second
 * set-up and ten equal epochs (equal in CPU time, so a loaded machine does not make them unequal) prints its
 * progress in three formats; the first forecast made between 20 % and 40 % of the progress must be within 10 % of
 * the final energy. Energy ÷ progress at the same moment is printed next to it (from the run's samples).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HistoryStore } from '../src/core/history/store';
import type { Run } from '../src/core/types';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const EPOCHS = path.join(ROOT, 'test', 'fixtures', 'workloads', 'epochs.js');

/** Energy (PUE included) of the run up to time t, from its samples. */
function energyUntil(store: HistoryStore, run: Run, t: number): number {
  let prev = Date.parse(run.startedAt);
  let j = 0;
  for (const s of store.samples(run.id)) {
    if (s.t > t) {
      j += ((s.cpuW + s.gpuW + s.ramW) * Math.max(0, t - prev)) / 1000;
      break;
    }
    j += ((s.cpuW + s.gpuW + s.ramW) * (s.t - prev)) / 1000;
    prev = s.t;
  }
  return (j * run.pue) / 3.6e6;
}

let met = 0;
let total = 0;
for (const format of ['plain', 'keras', 'tqdm']) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-bench-fc-'));
  const r = spawnSync(
    process.execPath,
    [CLI, 'run', '--json', '--quiet', '--region', 'DE', '--', process.execPath, EPOCHS, '1', '10', '1', format],
    {
      env: { ...process.env, CARBON_METER_HOME: home, CARBON_METER_NVIDIA_SMI: '/nonexistent/nvidia-smi' },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const run: Run = JSON.parse(r.stdout.trim().split('\n').pop()!);
  const store = new HistoryStore(home);
  const first = run.forecasts?.find((f) => f.progress >= 0.2 && f.progress <= 0.4);
  total++;
  if (!first) {
    console.log(`MISS  forecast (${format}): no forecast between 20 and 40 % (${JSON.stringify(run.forecasts)})`);
    continue;
  }
  const err = (first.predictedKWh - run.energyKWh.total) / run.energyKWh.total;
  const naive = energyUntil(store, run, first.t) / first.progress;
  const naiveErr = (naive - run.energyKWh.total) / run.energyKWh.total;
  const ok = Math.abs(err) <= 0.1;
  if (ok) met++;
  console.log(
    `${ok ? 'PASS' : 'MISS'}  forecast at ${(first.progress * 100).toFixed(0)} % (${format}): ${(err * 100).toFixed(1)} % off the final energy; energy ÷ progress: ${(naiveErr * 100).toFixed(1)} % off   (goal: within 10 %)`,
  );
}
console.log(`\n${met} of ${total} goals met`);
process.exit(0);
