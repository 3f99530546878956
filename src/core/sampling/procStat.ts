/**
 * Reading /proc files (Linux): a process's stat line, the machine's CPU ticks and boot time, a process's children
 * and command line. The tree sampler (procfs.ts) and the notebook, history and schedule modules share them.
 *
 * Fields: proc(5). Parse after the last ')' because the command name may contain spaces and parentheses.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  utimeTicks: number;
  stimeTicks: number;
  cutimeTicks: number;
  cstimeTicks: number;
  /** field 20 */
  numThreads: number;
  /** field 22: start time after boot, in clock ticks */
  startTicks: number;
  /** field 24: resident set size, pages */
  rssPages: number;
}

/** Parses the text of /proc/PID/stat. Throws on text that is not a stat line. */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${text.slice(0, 60)}`);
  const pid = Number(text.slice(0, open).trim());
  // fields after the command name, read in place (this runs for every tracked process at every tick): field N
  // starts after the (N - 2)th space following ')'
  let i = close + 2;
  const state = text.slice(i, text.indexOf(' ', i));
  const f: number[] = FIELD_BUF;
  for (let n = 3; n <= 24 && i < text.length; n++) {
    let end = text.indexOf(' ', i);
    if (end < 0) end = text.length;
    if (WANTED[n]) f[n] = Number(text.slice(i, end));
    i = end + 1;
  }
  const stat: ProcStat = {
    pid,
    comm: text.slice(open + 1, close),
    state,
    ppid: f[4],
    utimeTicks: f[14],
    stimeTicks: f[15],
    cutimeTicks: f[16],
    cstimeTicks: f[17],
    numThreads: f[20],
    startTicks: f[22],
    rssPages: f[24],
  };
  f.fill(NaN);
  if (!Number.isFinite(stat.pid) || !Number.isFinite(stat.utimeTicks) || !Number.isFinite(stat.rssPages)) {
    throw new Error(`not a /proc stat line: ${text.slice(0, 60)}`);
  }
  return stat;
}

/** The stat fields parseProcStat reads, by field number (proc(5)). */
const WANTED: boolean[] = [];
for (const n of [4, 14, 15, 16, 17, 20, 22, 24]) WANTED[n] = true;
const FIELD_BUF: number[] = new Array<number>(25).fill(NaN);

/** Machine-wide CPU ticks from the `cpu` line of /proc/stat. */
export interface MachineCpuTicks {
  busy: number;
  total: number;
}

export function parseMachineCpu(text: string): MachineCpuTicks {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('no cpu line in /proc/stat');
  // user nice system idle iowait irq softirq steal guest guest_nice (guest is already counted in user)
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

export function readMachineCpu(procRoot = '/proc'): MachineCpuTicks {
  return parseMachineCpu(fs.readFileSync(path.join(procRoot, 'stat'), 'latin1'));
}

/** Boot time (seconds since epoch) from /proc/stat, cached per procRoot: it does not change. */
const bootTimeCache = new Map<string, number>();
export function bootTimeS(procRoot = '/proc'): number {
  let v = bootTimeCache.get(procRoot);
  if (v === undefined) {
    const m = /^btime (\d+)$/m.exec(fs.readFileSync(path.join(procRoot, 'stat'), 'latin1'));
    v = m ? Number(m[1]) : 0;
    bootTimeCache.set(procRoot, v);
  }
  return v;
}

/** Seconds since boot from /proc/uptime (the clock of /proc/PID/stat's start time, to 1/100 s); undefined if unreadable. */
export function uptimeS(procRoot = '/proc'): number | undefined {
  try {
    const v = Number.parseFloat(fs.readFileSync(path.join(procRoot, 'uptime'), 'latin1'));
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A process's direct children: /proc/PID/task/TID/children for each of its threads (CONFIG_PROC_CHILDREN). */
export function readChildPids(pid: number, procRoot = '/proc'): number[] {
  const out: number[] = [];
  let tids: string[];
  try {
    tids = fs.readdirSync(`${procRoot}/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let text: string;
    try {
      text = fs.readFileSync(`${procRoot}/${pid}/task/${tid}/children`, 'latin1');
    } catch {
      continue;
    }
    for (const p of text.split(' ')) {
      const n = Number(p);
      if (p.trim() !== '' && Number.isInteger(n)) out.push(n);
    }
  }
  return out;
}

/** The command line of a process (NUL-separated in /proc/PID/cmdline). */
export function readCmdline(pid: number, procRoot = '/proc'): string | undefined {
  try {
    const raw = fs.readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8');
    const parts = raw.split('\0').filter((p) => p !== '');
    return parts.length ? parts.join(' ') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The CPU time of `pid`'s children that it has waited for (cutime + cstime, ticks): what a reaper accounted, read
 * when a run's root is seen alive, so that a root reaped before its sampler exists still counts. Undefined when the
 * process cannot be read.
 */
export function reapedChildTicks(pid: number, procRoot = '/proc'): number | undefined {
  try {
    const s = parseProcStat(fs.readFileSync(path.join(procRoot, String(pid), 'stat'), 'latin1'));
    return s.cutimeTicks + s.cstimeTicks;
  } catch {
    return undefined;
  }
}
