/**
 * What metering costs the CLI on a machine without a GPU (nvidia-smi absent): the CPU time of a real
 * `carbon-meter run`, read from /proc/<cli-pid>/task/<tid>/schedstat (every thread, in ns: clock ticks of 10 ms are
 * too coarse for 1 ms/s), once a second. Runs one after the other:
 * - the issue's own measure: `run -- sleep 22`, from 1.5 s to 21.5 s;
 * - a 20-process tree for a minute: the same 20-s window, and the steady cost from 31.5 s to 61.5 s. The difference
 *   is one-off work in the first half minute (V8 compiling the hot functions, the first checkpoint creating the
 *   samples file), which a run pays once, like its start-up, however long it is;
 * - the same tree with `--no-gpu` for 20 s, to show what the absent GPU tools still cost;
 * - the same tree with `--interval 2` (the default when a GPU is metered; without one, `run` samples every 10 s).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ProcfsTreeSampler } from '../src/core/sampling/procfs';

export interface MeterCost {
  /** CPU of the CLI at 1.5 s, ms */
  startMs: number;
  /** ms of CPU in each second from 1.5 s on */
  seconds: number[];
  /** processes metered (the command's tree) */
  tracked: number;
}

/** CPU time of every live thread of a process, ms, from /proc/PID/task/TID/schedstat (ns): finer than the ticks */
export function schedCpuMs(pid: number): number {
  let ns = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
    } catch {
      /* the thread ended */
    }
  }
  return ns / 1e6;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `carbon-meter run [args] -- command…` for 1.5 s + `seconds` and reads its CPU every second. `awaitExit`: then
 * lets the run end by itself (up to 30 s more), as a user's run does, instead of killing it: the CLI takes its code
 * cache at exit (src/cli/launch.ts).
 */
export async function meterCost(
  cli: string,
  args: string[],
  command: string[],
  seconds: number,
  opts: { awaitExit?: boolean } = {},
): Promise<MeterCost> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-bench-'));
  const child = spawn(process.execPath, [cli, 'run', '--quiet', '--region', 'FR', ...args, '--', ...command], {
    stdio: 'ignore',
    detached: true, // its own process group, so the CLI and the command's tree go together at the end
    env: { ...process.env, CARBON_METER_HOME: home, CARBON_METER_NVIDIA_SMI: '/nonexistent/nvidia-smi' },
  });
  const pid = child.pid!;
  try {
    await sleep(1500);
    const startMs = schedCpuMs(pid);
    const out: number[] = [];
    let prev = startMs;
    for (let i = 0; i < seconds; i++) {
      await sleep(1000);
      const now = schedCpuMs(pid);
      out.push(now - prev);
      prev = now;
    }
    const probe = new ProcfsTreeSampler(pid);
    const tracked = probe.sample().pids.length - 1;
    probe.dispose();
    if (opts.awaitExit && child.exitCode === null && child.signalCode === null)
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(30_000)]);
    return { startMs, seconds: out, tracked };
  } finally {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    fs.rmSync(home, { recursive: true, force: true });
  }
}

/** Mean ms per second over seconds [from, to) of a measurement (second 0 is 1.5 s → 2.5 s). */
export function meanPerS(c: MeterCost, from: number, to: number): number {
  const xs = c.seconds.slice(from, to);
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** A shell with 19 sleeping children: 20 processes, for `s` seconds. */
export function sleepingTree(s: number): string[] {
  return ['sh', '-c', `for i in $(seq 19); do sleep ${s} & done; wait`];
}
