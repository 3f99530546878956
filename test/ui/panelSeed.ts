/**
 * A realistic history for the History panel's UI test and screenshots, written with HistoryStore: about 80 runs over
 * six weeks from every source, with power samples consistent with each run's figures; a run in progress for 10 h at
 * 1 Hz (checkpointed by this process, so it shows as running while the test runs); a time-resolved run; imports;
 * failures; and a run whose name is an HTML injection attempt.
 */
import * as path from 'node:path';
import { HistoryStore } from '../../src/core/history/store';
import { J_PER_KWH, type Run, type RunSource, type Sample } from '../../src/core/types';
import { makeRun } from '../helpers/history-runs';
import { rng } from '../helpers/random';

export const INJECTION_NAME = '<img src=x onerror=alert(1)>';

export interface Seeded {
  dir: string;
  runs: Run[];
  /** the run in progress (10 h at 1 Hz so far) */
  longRunId: string;
  injectionRunId: string;
  timeResolvedRunId: string;
}

const PROJECTS = [
  {
    name: 'resnet50-imagenet',
    command: 'python train.py --config configs/resnet50.yaml --epochs 12',
    cwd: '/home/ada/projects/vision',
    gpuW: 265,
  },
  {
    name: 'bert-base-finetune',
    command: 'torchrun --nproc_per_node 2 finetune.py --model bert-base-uncased --task mnli',
    cwd: '/home/ada/projects/nlp',
    gpuW: 210,
  },
  {
    name: 'llama-7b-lora',
    command: 'accelerate launch train_lora.py --model llama-7b --rank 16 --bf16',
    cwd: '/home/ada/projects/llm',
    gpuW: 290,
  },
  {
    name: 'vit-small-cifar10',
    command: 'python -m vit.train --dataset cifar10 --batch-size 256',
    cwd: '/home/ada/projects/vision',
    gpuW: 180,
  },
  {
    name: 'whisper-tiny-asr',
    command: 'python finetune_whisper.py --size tiny --lang fr',
    cwd: '/home/ada/projects/speech',
    gpuW: 150,
  },
  {
    name: 'xgboost-tabular',
    command: 'python tabular/xgb_search.py --trials 40',
    cwd: '/home/ada/projects/tabular',
    gpuW: 0,
  },
];

const REGIONS = [
  { code: 'DE', name: 'Germany', g: 380.95, pue: 1 },
  { code: 'DE', name: 'Germany', g: 380.95, pue: 1 },
  { code: 'gcp:europe-west4', name: 'GCP europe-west4 (Eemshaven)', g: 208.81, pue: 1.1 },
  { code: 'aws:us-east-1', name: 'AWS us-east-1 (N. Virginia)', g: 379.069, pue: 1.135 },
];

/** Samples of a run: warm-up, epochs with evaluation dips, noise. */
function samplesFor(
  t0: number,
  durationS: number,
  intervalS: number,
  gpuW: number,
  r: () => number,
  intensity: (t: number) => number,
): Sample[] {
  const out: Sample[] = [];
  const n = Math.max(2, Math.floor(durationS / intervalS));
  for (let i = 1; i <= n; i++) {
    const s = i * intervalS;
    const epoch = (s % 1800) / 1800;
    const evaluating = epoch > 0.88;
    const warm = Math.min(1, s / 240);
    const t = t0 + Math.round(s * 1000);
    out.push({
      t,
      cpuW: 28 + 18 * r() + (evaluating ? 22 : 0),
      gpuW: gpuW ? (evaluating ? 0.45 : 1) * gpuW * warm + 15 * r() : 0,
      ramW: 3.2 + 1.2 * warm + 0.3 * Math.sin(s / 400),
      gPerKWh: intensity(t),
    });
  }
  return out;
}

/** Sets a run's energy, power and emissions from its samples (so the record and the charts agree). */
function applySamples(run: Run, t0: number, samples: Sample[]): void {
  let cpuJ = 0;
  let gpuJ = 0;
  let ramJ = 0;
  let g = 0;
  let prev = t0;
  for (const s of samples) {
    const dt = (s.t - prev) / 1000;
    prev = s.t;
    cpuJ += s.cpuW * dt;
    gpuJ += s.gpuW * dt;
    ramJ += s.ramW * dt;
    g += (((s.cpuW + s.gpuW + s.ramW) * dt * run.pue) / J_PER_KWH) * (s.gPerKWh ?? run.intensity.gPerKWh);
  }
  const d = Math.max(1e-9, (prev - t0) / 1000);
  const cpu = cpuJ / J_PER_KWH;
  const gpu = gpuJ / J_PER_KWH;
  const ram = ramJ / J_PER_KWH;
  run.energyKWh = { cpu, gpu, ram, total: (cpu + gpu + ram) * run.pue };
  run.emissionsKg = g / 1000;
  run.intensity.gPerKWh = run.energyKWh.total > 0 ? g / run.energyKWh.total : run.intensity.gPerKWh;
  run.power.cpu.meanW = cpuJ / d;
  run.power.gpu.meanW = gpuJ / d;
  run.power.ram.meanW = ramJ / d;
  const last = samples[samples.length - 1];
  run.power.cpu.lastW = last.cpuW;
  run.power.gpu.lastW = last.gpuW;
  run.power.ram.lastW = last.ramW;
  run.cpuSeconds = (cpuJ / 105) * 24;
}

function newId(at: number, i: number): string {
  const stamp = new Date(at).toISOString().slice(0, 19).replace(/[-:]/g, '') + 'Z';
  return `${stamp}-seed-${i.toString(36).padStart(6, '0')}`;
}

export function seedHistory(dir: string, now: number = Date.now()): Seeded {
  const store = new HistoryStore(dir, { durable: false });
  const r = rng(2026);
  const runs: Run[] = [];
  const sources: RunSource[] = [
    'terminal',
    'terminal',
    'terminal',
    'cli',
    'cli',
    'debug',
    'task',
    'terminal',
    'codecarbon-import',
  ];
  const DAY = 86400_000;
  let i = 0;
  for (; i < 78; i++) {
    const p = PROJECTS[i % PROJECTS.length];
    const reg = REGIONS[Math.floor(r() * REGIONS.length)];
    const source = sources[Math.floor(r() * sources.length)];
    // more runs recently: today, this week, this month, and a few older
    const ageDays = i < 4 ? r() * 0.4 : i < 14 ? 0.5 + r() * 5 : 6 + r() ** 1.5 * 36;
    const started = now - ageDays * DAY - 3600_000;
    const durationS = Math.round(120 + r() ** 2 * 4 * 3600);
    const status = i % 11 === 5 ? 'failed' : i % 17 === 8 ? 'interrupted' : 'completed';
    const run = makeRun(
      {
        id: newId(started, i),
        name: p.name,
        command: source === 'codecarbon-import' ? '' : p.command,
        cwd: source === 'codecarbon-import' ? '' : p.cwd,
        source,
        status,
        exitCode: status === 'failed' ? 1 : status === 'interrupted' ? null : 0,
      },
      {
        startedAt: new Date(started),
        durationS,
        gpuW: p.gpuW,
        pue: reg.pue,
        gPerKWh: reg.g,
        region: reg.code,
        regionName: reg.name,
      },
    );
    if (!p.gpuW) run.hardware = { ...run.hardware, gpus: [] };
    if (source === 'codecarbon-import') {
      run.notes = ['imported from CodeCarbon 2.8.3 (emissions.csv, line ' + (i + 2) + ')'];
      run.intensity.source = 'CodeCarbon import';
      for (const c of ['cpu', 'gpu', 'ram'] as const)
        run.power[c] = {
          method: 'default',
          detail: 'imported from CodeCarbon',
          meanW: run.power[c].meanW,
          lastW: run.power[c].lastW,
        };
      store.append(run);
    } else {
      const samples = samplesFor(started, durationS, Math.max(1, durationS / 1500), p.gpuW, r, () => reg.g);
      applySamples(run, started, samples);
      store.checkpoint({ ...run, status: 'running' }, samples);
      store.finish(run);
    }
    runs.push(run);
  }

  // a time-resolved run (a live intensity source), yesterday
  const trStart = now - DAY - 5 * 3600_000;
  const tr = makeRun(
    {
      id: newId(trStart, i++),
      name: 'gpt2-medium-pretrain',
      command: 'python pretrain.py --model gpt2-medium --steps 20000',
      cwd: '/home/ada/projects/llm',
      source: 'terminal',
    },
    { startedAt: new Date(trStart), durationS: 4 * 3600, gpuW: 280, region: 'FR', regionName: 'France', gPerKWh: 45 },
  );
  tr.intensity = {
    ...tr.intensity,
    method: 'time-resolved',
    source: 'Electricity Maps (live, hourly)',
    regionReason: 'setting carbonMeter.region',
  };
  const trSamples = samplesFor(
    trStart,
    4 * 3600,
    5,
    280,
    r,
    (t) => 45 + 25 * Math.sin((2 * Math.PI * (t - trStart)) / (6 * 3600000)) + ((t / 3600000) % 1 < 0.5 ? 3 : 0),
  );
  applySamples(tr, trStart, trSamples);
  store.checkpoint({ ...tr, status: 'running' }, trSamples);
  store.finish(tr);
  runs.push(tr);

  // the injection attempt
  const injStart = now - 2 * DAY;
  const inj = makeRun(
    {
      id: newId(injStart, i++),
      name: INJECTION_NAME,
      command: 'python "<script>alert(2)</script>.py" --name \'"><svg onload=alert(3)>\'',
      cwd: '/tmp/<b>bold</b>',
      source: 'cli',
    },
    { startedAt: new Date(injStart), durationS: 300, gpuW: 0, region: 'DE', regionName: 'Germany', gPerKWh: 380.95 },
  );
  inj.notes = ['<a href="javascript:alert(4)">click me</a>'];
  inj.hardware = { ...inj.hardware, gpus: [{ index: 0, name: '<iframe src="javascript:alert(5)">' }] };
  store.append(inj);
  runs.push(inj);

  // a run in progress: 10 h at 1 Hz so far, checkpointed by this process (alive while the test runs)
  const longStart = now - 10 * 3600_000 - 60_000;
  const long = makeRun(
    {
      id: newId(longStart, i++),
      name: 'llama-7b-full-finetune',
      command: 'torchrun --nproc_per_node 1 train_full.py --model llama-7b --epochs 3',
      cwd: '/home/ada/projects/llm',
      source: 'terminal',
      status: 'running',
      exitCode: null,
      endedAt: undefined,
    },
    {
      startedAt: new Date(longStart),
      durationS: 36000,
      gpuW: 300,
      region: 'DE',
      regionName: 'Germany',
      gPerKWh: 380.95,
    },
  );
  const longSamples = samplesFor(longStart, 36000, 1, 300, r, () => 380.95);
  applySamples(long, longStart, longSamples);
  for (let k = 0; k < longSamples.length; k += 3600) store.checkpoint(long, longSamples.slice(k, k + 3600));
  runs.push(long);

  return { dir: path.resolve(dir), runs, longRunId: long.id, injectionRunId: inj.id, timeResolvedRunId: tr.id };
}
