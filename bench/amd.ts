/**
 * The AMD path's own cost per reading: parsing `amd-smi metric --power --energy --json` and `amd-smi process --json`
 * for an 8-GPU node (MI300X OAM, ROCm 6.2 layout, built from the test fixtures). amd-smi itself is a Python program
 * that takes about a second per call on a real node; that is why the monitor calls it at most once per interval
 * (2 s) for all devices, never per tick. Goal: parsing ≤ 1 ms per reading of 8 devices.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseAmdMetric, parseAmdProcesses } from '../src/core/power/gpu/amdSmi';

type Report = (name: string, value: string, goal: string, ok: boolean) => void;

const FIX = path.join(__dirname, '..', '..', 'test', 'fixtures', 'amd-smi', 'rocm-6.2');
const GPUS = 8;
const READS = 5000;

function eightOf(file: string): string {
  const one = (JSON.parse(fs.readFileSync(path.join(FIX, file), 'utf8')) as { gpu: number }[])[0]!;
  return JSON.stringify(
    Array.from({ length: GPUS }, (_, gpu) => ({ ...one, gpu })),
    null,
    4,
  ); // amd-smi prints indent=4
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

export function amdParseCost(report: Report): void {
  for (const [what, text, parse] of [
    ['metric (power, energy)', eightOf('metric.1.json'), parseAmdMetric],
    ['process list (2 processes per GPU)', eightOf('process.2.json'), parseAmdProcesses],
  ] as const) {
    const times: number[] = [];
    for (let i = 0; i < READS; i++) {
      const t0 = performance.now();
      const r = parse(text);
      times.push(performance.now() - t0);
      if (!r || r.length < GPUS) throw new Error(`the ${what} document did not parse`);
    }
    const med = median(times.slice(500));
    console.log(
      `      amd-smi ${what}, ${GPUS} GPUs, ${(text.length / 1024).toFixed(1)} KiB: ${med.toFixed(4)} ms median per reading`,
    );
    report(`amd-smi ${what} parse per reading of ${GPUS} GPUs`, `${med.toFixed(4)} ms`, '≤ 1 ms', med <= 1);
  }
}
