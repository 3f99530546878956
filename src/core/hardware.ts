/**
 * Hardware inventory, read once per process and cached: it does not change while we run.
 * CPU model and counts come from systeminformation and Node's `os` (the raw model string is what the TDP table
 * is matched against); GPUs from a one-shot nvidia-smi probe when asked.
 */
import * as os from 'node:os';
import type { GpuInfo, Hardware } from './types';

let cached: Promise<Hardware> | undefined;

export function getHardware(opts: { gpus?: () => Promise<GpuInfo[]> } = {}): Promise<Hardware> {
  if (!cached) cached = readHardware(opts.gpus);
  return cached;
}

async function readHardware(gpus?: () => Promise<GpuInfo[]>): Promise<Hardware> {
  const cpus = os.cpus();
  let cpuModel = cpus[0]?.model?.trim() ?? '';
  let logicalCpus = cpus.length || 1;
  let ramGB = os.totalmem() / 1024 ** 3;
  let osName = `${os.type()} ${os.release()}`;
  let sockets: number | undefined;
  try {
    // systeminformation is a dependency the CLI and the extension both carry; a failure here is not fatal
    const si = await import('systeminformation');
    const [cpu, mem, osInfo] = await Promise.all([si.cpu(), si.mem(), si.osInfo()]);
    if (!cpuModel) cpuModel = `${cpu.manufacturer} ${cpu.brand}`.trim();
    if (cpu.cores) logicalCpus = cpu.cores;
    if (cpu.processors && cpu.processors > 0) sockets = cpu.processors;
    if (mem.total) ramGB = mem.total / 1024 ** 3;
    if (osInfo.distro) osName = `${osInfo.distro} ${osInfo.release}`.trim();
  } catch {
    // keep what `os` said
  }
  let gpuList: GpuInfo[] = [];
  if (gpus) {
    try {
      gpuList = await gpus();
    } catch {
      gpuList = [];
    }
  }
  return {
    cpuModel: cpuModel || 'unknown CPU',
    logicalCpus,
    sockets,
    ramGB: Math.round(ramGB * 100) / 100,
    gpus: gpuList,
    os: osName,
    hostname: os.hostname(),
  };
}
