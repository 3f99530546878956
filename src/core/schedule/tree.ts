/**
 * Signalling a whole process tree, as a terminal's Ctrl-C reaches the whole foreground job: to stop a run on its
 * budget (SIGINT, so the script can save a checkpoint, then SIGTERM), and to pause and resume it (SIGSTOP/SIGCONT).
 *
 * Linux reads the tree from /proc (children of every thread); elsewhere only the root is signalled.
 */
import * as fs from 'node:fs';
import { readChildPids } from '../sampling/procfs';

/** The root and every descendant, parents before children. */
export function processTree(rootPid: number, procRoot = '/proc'): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  const queue = [rootPid];
  while (queue.length && out.length < 100_000) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    out.push(pid);
    if (process.platform === 'linux' || procRoot !== '/proc') queue.push(...readChildPids(pid, procRoot));
  }
  return out;
}

/** The real uid of a process (from /proc/PID/status), or undefined when it cannot be read. */
export function processUid(pid: number, procRoot = '/proc'): number | undefined {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`${procRoot}/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Pids of the tree that do not belong to this user (pausing them is refused). */
export function foreignProcesses(pids: readonly number[], uid = process.getuid?.(), procRoot = '/proc'): number[] {
  if (uid === undefined) return [];
  return pids.filter((p) => {
    const u = processUid(p, procRoot);
    return u !== undefined && u !== uid;
  });
}

/** Sends `signal` to every process of the tree but those in `except`; returns the pids signalled. */
export function signalTree(rootPid: number, signal: NodeJS.Signals, except: ReadonlySet<number> = new Set()): number[] {
  const done: number[] = [];
  const tryKill = (pid: number) => {
    if (except.has(pid) || done.includes(pid)) return;
    try {
      process.kill(pid, signal);
      done.push(pid);
    } catch {
      // gone already
    }
  };
  for (const pid of processTree(rootPid)) tryKill(pid);
  if (signal === 'SIGSTOP') {
    // a process may have forked between the listing and its stop: a second pass stops its new children
    for (const pid of processTree(rootPid)) tryKill(pid);
  }
  return done;
}

/** The state letter of a process (R, S, T, Z…), or undefined when it is gone. */
export function processState(pid: number, procRoot = '/proc'): string | undefined {
  try {
    const text = fs.readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
    return text.slice(text.lastIndexOf(')') + 2).charAt(0) || undefined;
  } catch {
    return undefined;
  }
}
