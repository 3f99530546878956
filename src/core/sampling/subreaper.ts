/**
 * Keeping the processes that leave the tree (setsid, nohup, `( cmd & )`, double forks, Ray workers) in the run.
 *
 * When a process dies, Linux hands its children to the nearest ancestor marked "child subreaper"
 * (prctl(PR_SET_CHILD_SUBREAPER), Linux 3.4+), or to init. The CLI marks itself so: every process descended from
 * the run stays its descendant until it exits, whatever its session or process group, and when an orphan exits it
 * stays a zombie of the CLI, whose /proc/PID/stat keeps the final utime/stime (and the cutime/cstime of what it
 * reaped) until the CLI reaps it with waitpid(pid, WNOHANG): nothing it used is lost.
 *
 * Why not a cgroup v2 per run: it needs a delegated, writable cgroup subtree (systemd `Delegate=` or root), which an
 * SSH session, a container or a CI job usually lacks (cgroup v1 and hybrid hosts are still common); the subreaper
 * works for any unprivileged process on every Linux since 3.4 and needs no set-up. Its limit: a process that a
 * descendant hands to another subreaper or moves out with ptrace tricks is lost, as is time used by a process that
 * left before the CLI started (none can: the CLI starts the command).
 *
 * Node's libuv reaps only the pids it spawned (waitpid(pid) per child, never waitpid(-1)), so reparented orphans
 * are left to us. We must never reap one of libuv's own children (Node would then wait for its exit forever), so
 * every child spawned through `child_process` (the command, nvidia-smi, any helper) is recorded as it starts, by
 * wrapping `ChildProcess.prototype.spawn`, the one path of spawn/exec/execFile/fork; those are never adopted or
 * reaped. The tree sampler also adopts only children that started after the command.
 *
 * Linux only, through koffi (libc's prctl and waitpid). Elsewhere, or where koffi or libc cannot be loaded, the CLI
 * falls back to following the tree from the command down, and says so in the run's notes.
 */

import { errorMessage } from '../errors';
import { loadKoffi } from '../util/ffi';
import { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { reapedChildTicks } from './procStat';

/** The process that adopts the run's orphans, as the tree sampler sees it. */
export interface Adopter {
  pid: number;
  /** Reaps a zombie child by pid (waitpid WNOHANG); true when it was reaped now. */
  reap(pid: number): boolean;
  /** true for children this process spawned itself (the command, helper processes): never adopted or reaped. */
  isOwnChild(pid: number): boolean;
  /**
   * Calls `listener` when a child of this process exits (SIGCHLD: an adopted orphan, the command, a helper), so that
   * the end of a run is seen when its last process exits rather than at the next tick; returns the unsubscribe.
   * Nothing runs while no child exits. Optional: without it the ticks alone see the end.
   */
  onChildExit?(listener: () => void): () => void;
  /**
   * CPU ticks (cutime + cstime) that this process's helper children (nvidia-smi, amd-smi, the NVML reader: every
   * child it spawned but the commands marked with markCommand) added to its own cutime and cstime when they were
   * reaped, so far. The sampler takes them out of the reaper accounting, which closes the command with the increase
   * of this process's cutime: a GPU tool's CPU is the meter's, not the run's. Optional: 0 without it.
   */
  helperTicks?(): number;
  /** The command of a run (or its wrapper): its CPU, reaped here, is the run's. Call it right after spawning it. */
  markCommand?(pid: number): void;
}

export type SubreaperStatus = { ok: true; adopter: Adopter } | { ok: false; reason: string };

const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;

/** What the run record says when orphans cannot be kept. */
export function notAdoptedNote(reason: string): string {
  return `processes that leave the command's process tree (setsid, nohup, double fork) are not metered after they leave it: ${reason}`;
}

/** pids of the children this process spawned through child_process and that have not exited yet */
const ownChildren = new Set<number>();
let spawnWrapped = false;

/**
 * The ledger of this process's cutime + cstime: `accounted` is its value when last settled; each growth since is
 * settled when one of its own children's exit is seen (Node reaps a child just before its 'exit' event) and when
 * an orphan is reaped here. Growth at a command's exit is the run's; at a helper's exit, the helper's.
 */
const commands = new Set<number>();
let accounted: number | undefined;
let helpers = 0;

/** This process's cutime + cstime (ticks); undefined when /proc cannot be read. */
function ownChildTicks(): number | undefined {
  return reapedChildTicks(process.pid);
}

/**
 * Settles the growth since the last settlement: the helper's when `helperPid` is given, else nobody's (it stays in
 * the reaper accounting, the run's). Node reaps every exited child before it emits their 'exit' events, so the
 * growth seen at a helper's exit holds every child reaped with it: when a command is among them (gone from /proc,
 * its own event still to come), nothing is the helper's, so that the run's CPU is never taken out of the run. The
 * other way round (the command's event first, a helper reaped with it) the helper's CPU stays the run's: a helper
 * and the command exiting in one turn of the event loop, rare, errs on the side of the run.
 */
function settle(helperPid?: number): void {
  const now = ownChildTicks();
  if (now === undefined) return;
  if (
    helperPid !== undefined &&
    accounted !== undefined &&
    !commands.has(helperPid) &&
    ![...commands].some((c) => c !== helperPid && !fs.existsSync(`/proc/${c}`))
  )
    helpers += Math.max(0, now - accounted);
  accounted = now;
}

/**
 * Records every child this process spawns from now on (spawn, exec, execFile, fork all go through
 * ChildProcess.prototype.spawn), so that none is ever adopted or reaped as an orphan, and the CPU that each adds to
 * this process's cutime when Node reaps it is settled (the ledger above). `carbon-meter run` calls it first, before
 * any GPU tool is started; becomeSubreaper calls it too.
 */
export function recordOwnChildren(): void {
  if (spawnWrapped) return;
  spawnWrapped = true;
  accounted = ownChildTicks();
  const proto = ChildProcess.prototype as unknown as { spawn: (this: ChildProcess, ...args: unknown[]) => unknown };
  const spawn = proto.spawn;
  proto.spawn = function (this: ChildProcess, ...args: unknown[]) {
    const result = spawn.apply(this, args);
    const pid = this.pid;
    if (pid !== undefined) {
      ownChildren.add(pid);
      this.once('exit', () => {
        ownChildren.delete(pid);
        // what Node's reaping of it added to our cutime (two children reaped in one go are settled at the first
        // exit seen: the first's, unless it is the command)
        settle(pid);
        commands.delete(pid);
      });
    }
    return result;
  };
}

/** listeners of onChildExit; the SIGCHLD listener is installed while there is one */
const childExitListeners = new Set<() => void>();

function onSigchld(): void {
  for (const l of [...childExitListeners]) l();
}

/**
 * SIGCHLD through Node's signal handling (libuv lets its own child watcher and ours share the signal: Node still
 * reaps the children it spawned). The kernel sends it to the subreaper when an orphan it adopted exits.
 */
function onChildExit(listener: () => void): () => void {
  if (childExitListeners.size === 0) process.on('SIGCHLD', onSigchld);
  childExitListeners.add(listener);
  return () => {
    if (!childExitListeners.delete(listener) || childExitListeners.size) return;
    process.removeListener('SIGCHLD', onSigchld);
  };
}

/** Whether `pid` is a live child this process spawned itself (Node reaps it). */
export function isOwnChild(pid: number): boolean {
  return ownChildren.has(pid);
}

/**
 * Marks this process as the child subreaper of everything it starts from now on. Call it before spawning the
 * command (and any helper), so that each spawned child is known as this process's own.
 */
export function becomeSubreaper(platform = process.platform): SubreaperStatus {
  if (platform !== 'linux') return { ok: false, reason: `child subreapers exist on Linux only (this is ${platform})` };
  let libc: { func(signature: string): (...args: unknown[]) => number };
  try {
    libc = loadKoffi().load('libc.so.6') as typeof libc;
  } catch (err) {
    return { ok: false, reason: `the koffi FFI module or libc.so.6 could not be loaded (${firstLine(err)})` };
  }
  let waitpid: (pid: number, status: null, options: number) => number;
  try {
    const prctl = libc.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)');
    waitpid = libc.func('int waitpid(int, int *, int)') as typeof waitpid;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) !== 0)
      return { ok: false, reason: 'prctl(PR_SET_CHILD_SUBREAPER) was refused' };
  } catch (err) {
    return { ok: false, reason: `prctl(PR_SET_CHILD_SUBREAPER) failed (${firstLine(err)})` };
  }
  recordOwnChildren();
  return {
    ok: true,
    adopter: {
      pid: process.pid,
      isOwnChild,
      onChildExit,
      reap: (pid) => {
        if (pid <= 0 || isOwnChild(pid)) return false;
        settle(); // growth until now is someone else's; the orphan's own (its zombie's final times) is the sampler's
        const reaped = waitpid(pid, null, WNOHANG) === pid;
        settle();
        return reaped;
      },
      helperTicks: () => helpers,
      markCommand: (pid) => void commands.add(pid),
    },
  };
}

function firstLine(err: unknown): string {
  return errorMessage(err).split('\n')[0];
}
