/**
 * Realistic `Run` records for the history and CodeCarbon tests (and the helper processes they spawn).
 * Figures are consistent: energy = mean power × duration, total = (cpu + gpu + ram) × PUE, emissions = total × intensity.
 */
import * as os from 'node:os';
import { newRunId } from '../../src/core/history/store';
import { J_PER_KWH, type Run } from '../../src/core/types';

export interface RunShape {
  startedAt?: Date;
  durationS?: number;
  cpuW?: number;
  gpuW?: number;
  ramW?: number;
  pue?: number;
  gPerKWh?: number;
  region?: string;
  regionName?: string;
}

export function makeRun(over: Partial<Run> = {}, shape: RunShape = {}): Run {
  const startedAt = shape.startedAt ?? new Date();
  const durationS = shape.durationS ?? 1843.2;
  const cpuW = shape.cpuW ?? 38.4;
  const gpuW = shape.gpuW ?? 212.7;
  const ramW = shape.ramW ?? 4.1;
  const pue = shape.pue ?? 1;
  const gPerKWh = shape.gPerKWh ?? 56;
  const cpu = (cpuW * durationS) / J_PER_KWH;
  const gpu = (gpuW * durationS) / J_PER_KWH;
  const ram = (ramW * durationS) / J_PER_KWH;
  const total = (cpu + gpu + ram) * pue;
  const run: Run = {
    id: newRunId(startedAt),
    name: 'train.py',
    command: 'python train.py --epochs 3 --lr 3e-4',
    cwd: '/home/ada/projects/resnet',
    source: 'cli',
    startedAt: startedAt.toISOString(),
    endedAt: new Date(startedAt.getTime() + durationS * 1000).toISOString(),
    durationS,
    status: 'completed',
    exitCode: 0,
    cpuSeconds: round((cpuW / 65) * 24 * durationS, 3),
    peakRamGB: 6.2,
    energyKWh: { cpu, gpu, ram, total },
    emissionsKg: (total * gPerKWh) / 1000,
    pue,
    pueSource: 'default (local machine)',
    intensity: {
      gPerKWh,
      region: shape.region ?? 'FR',
      regionName: shape.regionName ?? 'France',
      source: 'CO2.js 0.19.0 (Ember 2023)',
      year: 2023,
      method: 'annual-average',
      regionReason: 'setting carbonMeter.region',
      factorType: 'average',
    },
    power: {
      cpu: {
        method: 'modelled',
        detail: 'TDP 105 W (AMD Ryzen 9 5900X, codecarbon cpu_power.csv) × utilisation',
        meanW: cpuW,
        lastW: cpuW + 1.5,
        tdpW: 105,
      },
      gpu: {
        method: 'measured',
        detail: 'nvidia-smi power.draw, split by GPU memory share',
        meanW: gpuW,
        lastW: gpuW - 3.2,
      },
      ram: { method: 'modelled', detail: '0.375 W/GB × resident memory', meanW: ramW, lastW: ramW, wPerGB: 0.375 },
    },
    hardware: {
      cpuModel: 'AMD Ryzen 9 5900X 12-Core Processor',
      logicalCpus: 24,
      ramGB: 62.7,
      gpus: [
        {
          index: 0,
          name: 'NVIDIA GeForce RTX 3090',
          uuid: 'GPU-5d1f9a4c-0b1e-4c35-a6a3-1f0c9d2b7e11',
          memoryMB: 24576,
        },
      ],
      os: 'Linux 6.8.0-48-generic',
      hostname: 'gpu-box',
    },
    pid: 41237,
    meterVersion: '0.1.0',
    notes: [],
    host: os.hostname(),
  };
  return { ...run, ...over };
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
