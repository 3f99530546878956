/**
 * Hardware inventory, read once per process and cached: it does not change while we run.
 * CPU model and counts come from systeminformation and Node's `os` (the raw model string is what the TDP table
 * is matched against); GPUs from a one-shot nvidia-smi probe when asked.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { GpuInfo, Hardware } from './types';

let machine: Promise<Omit<Hardware, 'gpus'>> | undefined;
let gpuList: Promise<GpuInfo[]> | undefined;

/**
 * The machine (CPU, RAM, OS), read once; and its GPUs, listed once by the first caller that gives a way to list them
 * (a caller without one, such as SLURM accounting, gets the GPUs listed so far, or none, and never fixes the list).
 */
export async function getHardware(opts: { gpus?: () => Promise<GpuInfo[]> } = {}): Promise<Hardware> {
  machine ??= readMachine();
  if (opts.gpus) gpuList ??= opts.gpus().catch(() => []);
  const [base, gpus] = await Promise.all([machine, gpuList ?? Promise.resolve([])]);
  return { ...base, gpus };
}

async function readMachine(): Promise<Omit<Hardware, 'gpus'>> {
  const cpus = os.cpus();
  let cpuModel = cpus[0]?.model?.trim() ?? '';
  let logicalCpus = cpus.length || 1;
  let ramGB = os.totalmem() / 1024 ** 3;
  let osName = `${os.type()} ${os.release()}`;
  let sockets: number | undefined;
  const linux = process.platform === 'linux' ? readLinux() : undefined;
  if (linux) {
    // what systeminformation would say on Linux, from files: it shells out a dozen times (lscpu twice, cat, hostname,
    // dmesg, ip, dmidecode) for cpu() and osInfo(), about 0.1 s of the CLI's CPU at every start
    sockets = linux.sockets;
    if (linux.distro) osName = linux.distro;
  } else {
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
  }
  return {
    cpuModel: cpuModel || 'unknown CPU',
    logicalCpus,
    sockets,
    ramGB: Math.round(ramGB * 100) / 100,
    os: osName,
    hostname: os.hostname(),
  };
}

/**
 * Sockets (distinct `physical id` in /proc/cpuinfo; 1 when it names none, as lscpu does on most ARM machines) and
 * the distribution as systeminformation's osInfo() names it: DISTRIB_ID or NAME, and the version from PRETTY_NAME,
 * VERSION, DISTRIB_RELEASE or VERSION_ID, read from /etc/*-release and /usr/lib/os-release.
 */
export function readLinux(
  etc = '/etc',
  cpuinfo = '/proc/cpuinfo',
  usrLib = '/usr/lib/os-release',
): { sockets: number; distro?: string } {
  const ids = new Set<string>();
  try {
    for (const m of fs.readFileSync(cpuinfo, 'latin1').matchAll(/^physical id\s*:\s*(\d+)/gm)) ids.add(m[1]);
  } catch {
    /* no /proc: one socket */
  }
  const release: Record<string, string> = {};
  let files: string[] = [];
  try {
    files = fs
      .readdirSync(etc)
      .filter((n) => n.endsWith('-release'))
      .sort()
      .map((n) => path.join(etc, n));
  } catch {
    /* no /etc */
  }
  for (const file of [...files, usrLib]) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0)
        release[line.slice(0, eq).trim().toUpperCase()] = line
          .slice(eq + 1)
          .split('=')[0]
          .trim()
          .replace(/"/g, '');
    }
  }
  return { sockets: ids.size || 1, distro: distroName(release) };
}

function distroName(r: Record<string, string>): string | undefined {
  const distro = r.DISTRIB_ID || r.NAME;
  if (!distro) return undefined;
  let version = r.VERSION || '';
  const pretty = r.PRETTY_NAME || '';
  if (pretty.startsWith(distro + ' ')) version = pretty.slice(distro.length + 1).trim();
  if (version.includes('(')) version = version.split('(')[0].trim();
  return `${distro} ${version || r.DISTRIB_RELEASE || r.VERSION_ID || 'unknown'}`.trim();
}
