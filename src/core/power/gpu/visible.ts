/**
 * Which GPUs a run may use, from its environment: CUDA_VISIBLE_DEVICES for NVIDIA; ROCR_VISIBLE_DEVICES, then
 * HIP_VISIBLE_DEVICES (or CUDA_VISIBLE_DEVICES, which HIP also reads) for AMD.
 */
import * as fs from 'node:fs';
import type { GpuDeviceReading } from './types';

/** One entry of CUDA_VISIBLE_DEVICES. */
export type VisibleEntry = { index: number } | { uuidPrefix: string } | { mig: string };

/**
 * CUDA_VISIBLE_DEVICES as CUDA reads it: indices or UUIDs (`GPU-…`, a unique prefix is enough; `MIG-…`), separated
 * by commas; the list stops at the first invalid entry (so "-1" hides every GPU). undefined when not set (every
 * device visible).
 */
export function parseCudaVisibleDevices(value: string | undefined): VisibleEntry[] | undefined {
  if (value === undefined) return undefined;
  const out: VisibleEntry[] = [];
  for (const raw of value.split(',')) {
    const s = raw.trim();
    if (/^\d+$/.test(s)) out.push({ index: Number(s) });
    else if (/^GPU-[0-9a-fA-F-]+$/.test(s)) out.push({ uuidPrefix: s.toLowerCase() });
    else if (/^MIG-[0-9A-Za-z/-]+$/.test(s)) out.push({ mig: s });
    else break;
  }
  return out;
}

/** The device-selection variables of a process. */
export interface GpuEnv {
  /** CUDA_VISIBLE_DEVICES */
  visible?: string;
  /** CUDA_DEVICE_ORDER */
  order?: string;
  /** HIP_VISIBLE_DEVICES */
  hip?: string;
  /** ROCR_VISIBLE_DEVICES */
  rocr?: string;
}

const ENV_KEYS: [string, keyof GpuEnv][] = [
  ['CUDA_VISIBLE_DEVICES=', 'visible'],
  ['CUDA_DEVICE_ORDER=', 'order'],
  ['HIP_VISIBLE_DEVICES=', 'hip'],
  ['ROCR_VISIBLE_DEVICES=', 'rocr'],
];

/** Reads CUDA_VISIBLE_DEVICES, CUDA_DEVICE_ORDER, HIP_VISIBLE_DEVICES and ROCR_VISIBLE_DEVICES of a process from
 * /proc/<pid>/environ (Linux); undefined elsewhere. */
export function readProcessCudaEnv(pid: number, procRoot = '/proc'): GpuEnv | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`${procRoot}/${pid}/environ`, 'latin1');
  } catch {
    return undefined;
  }
  const env: GpuEnv = {};
  for (const kv of text.split('\0')) {
    for (const [prefix, key] of ENV_KEYS) if (kv.startsWith(prefix)) env[key] = kv.slice(prefix.length);
  }
  return env;
}

/**
 * Does CUDA_VISIBLE_DEVICES name this device? A MIG entry names the GPU that holds that MIG device (NVML lists the
 * MIG devices of a GPU in MIG mode). undefined when the list cannot say (MIG entries of no known GPU only).
 */
export function isVisible(
  entries: VisibleEntry[],
  d: Pick<GpuDeviceReading, 'index' | 'uuid' | 'migDevices'>,
): boolean | undefined {
  let unknownMigOnly = entries.length > 0;
  for (const e of entries) {
    if ('index' in e && e.index === d.index) return true;
    if ('uuidPrefix' in e && d.uuid.toLowerCase().startsWith(e.uuidPrefix)) return true;
    if ('mig' in e && d.migDevices?.some((m) => m.uuid.toLowerCase() === e.mig.toLowerCase())) return true;
    if (!('mig' in e)) unknownMigOnly = false;
  }
  // MIG entries only, none of this GPU's: known when NVML listed MIG devices here (then another GPU holds them)
  return unknownMigOnly && !d.migDevices?.length ? undefined : false;
}

/** One entry list of ROCR_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES: indices, or UUIDs ("GPU-…"); invalid ends it. */
function parseAmdList(value: string): (number | string)[] {
  const out: (number | string)[] = [];
  for (const raw of value.split(',')) {
    const s = raw.trim();
    if (/^\d+$/.test(s)) out.push(Number(s));
    else if (/^GPU-[0-9a-zA-Z-]+$/.test(s)) out.push(s);
    else break;
  }
  return out;
}

/**
 * The AMD devices (amd-smi indices) a run may use, as ROCm composes them: ROCR_VISIBLE_DEVICES selects among all
 * devices, then HIP_VISIBLE_DEVICES (else CUDA_VISIBLE_DEVICES) indexes into what ROCR left. undefined when nothing is
 * set, or when a list names a device by UUID: ROCm's UUIDs ("GPU-<serial>") are not the ones amd-smi lists, so such
 * a list cannot be mapped and every device counts as visible. `count`: AMD devices on the machine.
 */
export function amdVisibleDevices(env: GpuEnv | undefined, count: number): VisibleEntry[] | undefined {
  if (!env || (env.rocr === undefined && env.hip === undefined && env.visible === undefined)) return undefined;
  let devices = Array.from({ length: count }, (_, i) => i);
  for (const value of [env.rocr, env.hip ?? env.visible]) {
    if (value === undefined) continue;
    const list = parseAmdList(value);
    if (list.some((e) => typeof e === 'string')) return undefined;
    devices = (list as number[]).filter((i) => i < devices.length).map((i) => devices[i]!);
  }
  return devices.map((index) => ({ index }));
}

/**
 * The GPU device nodes the processes hold open, from /proc/<pid>/fd (Linux): "/dev/nvidia<N>" (not nvidiactl or
 * nvidia-uvm) and "/dev/dri/renderD<N>". Processes that cannot be read (another user's) are skipped; at most
 * `maxPids` processes and 4096 descriptors each are looked at.
 */
export function openGpuNodes(pids: Iterable<number>, procRoot = '/proc', maxPids = 256): Set<string> {
  const out = new Set<string>();
  let n = 0;
  for (const pid of pids) {
    if (++n > maxPids) break;
    let fds: string[];
    try {
      fds = fs.readdirSync(`${procRoot}/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds.slice(0, 4096)) {
      try {
        const target = fs.readlinkSync(`${procRoot}/${pid}/fd/${fd}`);
        if (/^\/dev\/nvidia\d+$/.test(target) || /^\/dev\/dri\/renderD\d+$/.test(target)) out.add(target);
      } catch {
        // closed meanwhile
      }
    }
  }
  return out;
}
