/**
 * A meter that checkpoints N running runs into a store every 100 ms, forever, until it is killed.
 *   node history-checkpointer.js <dir> <runs>
 * Prints "ids <json array>" once, then "round <k>" after each round of checkpoints.
 */
import { HistoryStore } from '../../src/core/history/store';
import { J_PER_KWH, type Sample } from '../../src/core/types';
import { makeRun } from './history-runs';

const [dir, nArg] = process.argv.slice(2);
const store = new HistoryStore(dir, { durable: false });
const started = Date.now();
const runs = Array.from({ length: Number(nArg ?? 1) }, (_, i) =>
  makeRun(
    { name: `killed-${i}`, status: 'running', endedAt: undefined, exitCode: undefined, pid: process.pid },
    {
      startedAt: new Date(started),
      durationS: 0,
    },
  ),
);
process.stdout.write(`ids ${JSON.stringify(runs.map((r) => r.id))}\n`);

let round = 0;
let lastT = started;
const timer = setInterval(() => {
  const t = Date.now();
  const dtS = Math.max(0.001, (t - lastT) / 1000);
  lastT = t;
  round++;
  runs.forEach((run, i) => {
    const cpuW = 30 + i + (round % 7);
    const gpuW = 180 + 10 * Math.sin(round / 5);
    const ramW = 4;
    run.durationS = (t - started) / 1000;
    run.energyKWh.cpu += (cpuW * dtS) / J_PER_KWH;
    run.energyKWh.gpu += (gpuW * dtS) / J_PER_KWH;
    run.energyKWh.ram += (ramW * dtS) / J_PER_KWH;
    run.energyKWh.total = run.energyKWh.cpu + run.energyKWh.gpu + run.energyKWh.ram;
    run.emissionsKg = (run.energyKWh.total * run.intensity.gPerKWh) / 1000;
    run.power.cpu.lastW = cpuW;
    const sample: Sample = { t, cpuW, gpuW, ramW, gPerKWh: run.intensity.gPerKWh };
    store.checkpoint(run, [sample]);
  });
  process.stdout.write(`round ${round}\n`);
}, 100);
timer.ref();
