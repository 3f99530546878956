/**
 * Finding processes to meter: the children of a shell, a process's command line, the processes of this user.
 * /proc on Linux; systeminformation elsewhere.
 */
import * as fs from 'node:fs';
import { bootTimeS, parseProcStat, readChildPids, readCmdline } from './procfs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  command: string;
  /** ms since epoch, when known */
  startedAt?: number;
}

export async function childProcesses(pid: number, procRoot = '/proc'): Promise<ProcessInfo[]> {
  if (process.platform === 'linux' || procRoot !== '/proc') {
    return readChildPids(pid, procRoot).map((c) => ({ pid: c, ppid: pid, command: readCmdline(c, procRoot) ?? '' }));
  }
  const si = await import('systeminformation');
  const { list } = await si.processes();
  return list
    .filter((p) => p.parentPid === pid)
    .map((p) => ({
      pid: p.pid,
      ppid: p.parentPid,
      command: `${p.path ? `${p.path}/` : ''}${p.command} ${p.params}`.trim(),
    }));
}

/**
 * The parent, grandparent, … of a process up to (not including) init, read from /proc (Linux; [] elsewhere or when
 * the process is gone). Bounded, so a pid reused into a loop while reading cannot spin.
 */
export function ancestorPids(pid: number, procRoot = '/proc'): number[] {
  const out: number[] = [];
  if (process.platform !== 'linux' && procRoot === '/proc') return out;
  let current = pid;
  for (let hops = 0; hops < 256; hops++) {
    let ppid: number;
    try {
      ppid = parseProcStat(fs.readFileSync(`${procRoot}/${current}/stat`, 'latin1')).ppid;
    } catch {
      break;
    }
    if (ppid <= 1 || out.includes(ppid)) break;
    out.push(ppid);
    current = ppid;
  }
  return out;
}

/** Clock ticks per second of /proc/PID/stat's times (`getconf CLK_TCK`: 100 on every mainstream Linux). */
const CLK_TCK = 100;

/**
 * Every process we could meter (for a quick pick), newest first; on Linux with its start time (ms) and the CPU time
 * it used (`cpuS`), from the stat file read for its parent pid anyway (one read per process, no process spawned).
 */
export async function listProcesses(procRoot = '/proc'): Promise<(ProcessInfo & { cpuS?: number })[]> {
  if (process.platform === 'linux' || procRoot !== '/proc') {
    const out: (ProcessInfo & { cpuS?: number })[] = [];
    let bootS = 0;
    try {
      bootS = bootTimeS(procRoot);
    } catch {
      /* no /proc/stat: start times stay relative to boot, still ordered */
    }
    for (const name of fs.readdirSync(procRoot)) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      try {
        const stat = parseProcStat(fs.readFileSync(`${procRoot}/${pid}/stat`, 'latin1'));
        const command = readCmdline(pid, procRoot);
        if (!command) continue; // kernel threads have no command line
        out.push({
          pid,
          ppid: stat.ppid,
          command,
          startedAt: (bootS + stat.startTicks / CLK_TCK) * 1000,
          cpuS: (stat.utimeTicks + stat.stimeTicks) / CLK_TCK,
        });
      } catch {
        /* gone meanwhile */
      }
    }
    return out.sort((a, b) => (b.startedAt ?? 0) - (a.startedAt ?? 0));
  }
  const si = await import('systeminformation');
  const { list } = await si.processes();
  return list
    .map((p) => ({
      pid: p.pid,
      ppid: p.parentPid,
      command: `${p.command} ${p.params}`.trim(),
      startedAt: Date.parse(p.started) || undefined,
    }))
    .sort((a, b) => (b.startedAt ?? 0) - (a.startedAt ?? 0));
}

/** The basename of the program a command line runs, after env assignments and wrappers. */
export function programName(commandLine: string): string {
  const first = commandLine.trim().split(/\s+/)[0] ?? '';
  return first.split(/[\\/]/).pop() ?? first;
}
