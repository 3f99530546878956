/**
 * The NVML reader's cost per device per reading, against the stand-in libnvidia-ml.so.1 (test/fixtures/nvml): the
 * time spent in NVML calls as the reader measures it, and the round trip seen by the meter. Goal: a full reading
 * (energy, power, processes, SM utilisation) ≤ 0.2 ms per device in the reader.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import { buildFakeNvml, type FakeNvml } from '../test/helpers/fakeNvml';

type Report = (name: string, value: string, goal: string, ok: boolean) => void;

const DEVICES = 4;
const READS = 2000;

function pctile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? NaN;
}

export async function nvmlReadCost(report: Report): Promise<void> {
  const f = buildFakeNvml();
  if ('skip' in f) {
    console.log(`      NVML reader: skipped (${f.skip})`);
    return;
  }
  const fake = f as FakeNvml;
  const lines = ['driver 550.54.15'];
  for (let i = 0; i < DEVICES; i++) {
    lines.push(
      `device ${i} GPU-${String(i).repeat(8)}-9a7d-4c39-8e0f-3d1b6a5c7e21 ${1_000_000 + i} 350000 1000 NVIDIA H100 80GB HBM3`,
    );
    lines.push(`proc ${i} ${4000 + i} 1073741824`, `proc ${i} ${5000 + i} 2147483648`);
    lines.push(`util ${i} ${4000 + i} 60 10 ${2000 + i}`, `util ${i} ${5000 + i} 30 5 ${2000 + i}`);
  }
  fake.write(lines);
  const reader = path.join(__dirname, '..', 'src', 'core', 'power', 'nvml', 'reader.js');
  const child = spawn(process.execPath, [reader], { env: fake.env, stdio: ['pipe', 'pipe', 'inherit'] });
  const rl = readline.createInterface({ input: child.stdout! });
  const answers: ((line: string) => void)[] = [];
  rl.on('line', (l) => answers.shift()?.(l));
  const ask = (req: object): Promise<{ readUs?: number; ok: boolean }> =>
    new Promise((resolve) => {
      answers.push((l) => resolve(JSON.parse(l)));
      child.stdin!.write(`${JSON.stringify(req)}\n`);
    });
  const init = await ask({ id: 1, op: 'init' });
  if (!init.ok) throw new Error(`the stand-in did not initialise: ${JSON.stringify(init)}`);
  for (const full of [true, false]) {
    const inReader: number[] = [];
    const roundTrip: number[] = [];
    for (let i = 0; i < READS; i++) {
      const t0 = performance.now();
      const a = await ask({ id: i + 2, op: 'read', full });
      roundTrip.push(performance.now() - t0);
      if (i >= 100) inReader.push((a.readUs ?? NaN) / DEVICES); // after warm-up
    }
    const med = pctile(inReader, 0.5) / 1000;
    const kind = full ? 'full reading (energy, power, processes, utilisation)' : 'energy-only reading';
    console.log(
      `      NVML reader, ${kind}: per device ${med.toFixed(4)} ms median, ${(pctile(inReader, 0.9) / 1000).toFixed(4)} ms p90; round trip for ${DEVICES} devices ${pctile(roundTrip, 0.5).toFixed(3)} ms median`,
    );
    report(
      `NVML ${full ? 'full' : 'energy-only'} reading per device, in the reader (stand-in library)`,
      `${med.toFixed(4)} ms`,
      '≤ 0.2 ms',
      med <= 0.2,
    );
  }
  child.stdin!.end(`${JSON.stringify({ id: 0, op: 'quit' })}\n`);
  await new Promise((r) => child.once('exit', r));
}
