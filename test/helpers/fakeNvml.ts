/**
 * The stand-in libnvidia-ml.so.1 (test/fixtures/nvml/fake_nvml.c), compiled with gcc into a temp folder, and its
 * scenario file. The reader finds the library through LD_LIBRARY_PATH, as it finds the real one.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..', '..');
export const FAKE_NVML_SOURCE = path.join(ROOT, 'test', 'fixtures', 'nvml', 'fake_nvml.c');

export const H100_0 = 'GPU-4b8f1c2e-9a7d-4c39-8e0f-3d1b6a5c7e21';
export const H100_1 = 'GPU-5c9a2d3f-0b8e-4d4a-9f10-4e2c7b6d8f32';

export interface FakeNvml {
  dir: string;
  libDir: string;
  scenario: string;
  env: NodeJS.ProcessEnv;
  /** Replaces the scenario at once (write + rename: the library sees the old or the new one, never half). */
  write(lines: string[]): void;
}

/** Compiles the stand-in; undefined (with the reason) when gcc is not installed. */
export function buildFakeNvml(): FakeNvml | { skip: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-nvml-'));
  const libDir = path.join(dir, 'lib');
  fs.mkdirSync(libDir);
  const r = spawnSync(
    'gcc',
    ['-shared', '-fPIC', '-O2', '-o', path.join(libDir, 'libnvidia-ml.so.1'), FAKE_NVML_SOURCE],
    { encoding: 'utf8' },
  );
  if (r.error) return { skip: `gcc is not installed (${r.error.message}): the NVML stand-in cannot be built` };
  if (r.status !== 0) throw new Error(`gcc failed to build the NVML stand-in:\n${r.stderr}`);
  const scenario = path.join(dir, 'scenario.txt');
  let n = 0;
  const write = (lines: string[]): void => {
    const tmp = `${scenario}.${n++}`;
    fs.writeFileSync(tmp, lines.join('\n') + '\n');
    fs.renameSync(tmp, scenario);
  };
  const env = { ...process.env, LD_LIBRARY_PATH: libDir, FAKE_NVML_SCENARIO: scenario };
  return { dir, libDir, scenario, env, write };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond` holds, checking every 20 ms; fails clearly after `deadlineMs` (a safety net, not a timing). */
export async function until(cond: () => boolean, what: string, deadlineMs = 60_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}`);
    await sleep(20);
  }
}
