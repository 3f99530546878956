/**
 * Who owns a running run's checkpoint, and whether that owner is still alive.
 *
 * A checkpoint names the meter process that writes it (pid, host, and on Linux the process start time, the boot id
 * and the pid namespace). A later start decides from this whether the meter died (kill -9, crash, power loss), so
 * its run can be recovered as `interrupted`:
 *
 * - another host (a home folder shared over NFS): alive until its heartbeat is older than `staleMs` (24 h);
 * - same host, another boot or pid namespace (a reboot; a container sharing the folder): like another host, except
 *   that a different boot id means dead;
 * - same host: dead when `kill(pid, 0)` says ESRCH, when the pid is a zombie, or when the pid was reused by a
 *   process that started at another time (`/proc/<pid>/stat` field 22).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { parseProcStat, type ProcStat } from '../sampling/procfs';
import type { CheckpointOwner } from '../types';
import { sha256Hex } from '../util/hash';

// The type lives in core/types.ts so that records.ts (bundled by the webview) does not pull this Node module's types.
export type { CheckpointOwner } from '../types';

export type OwnerState = 'alive' | 'dead';

export interface ProcessIdentity {
  pid: number;
  host: string;
  startTicks?: number;
  bootId?: string;
  pidNs?: string;
}

let self: ProcessIdentity | undefined;

/** The identity of this process, computed once. */
export function selfIdentity(): ProcessIdentity {
  if (!self || self.pid !== process.pid) {
    self = {
      pid: process.pid,
      host: os.hostname(),
      startTicks: readStartTicks(process.pid),
      bootId: readBootId(),
      pidNs: readPidNs('self'),
    };
  }
  return self;
}

/** The owner record for a checkpoint written now by this process. */
export function ownerNow(now = Date.now()): CheckpointOwner {
  const id = selfIdentity();
  const owner: CheckpointOwner = { pid: id.pid, host: id.host, heartbeatAt: new Date(now).toISOString() };
  if (id.startTicks !== undefined) owner.startTicks = id.startTicks;
  if (id.bootId) owner.bootId = id.bootId;
  if (id.pidNs) owner.pidNs = id.pidNs;
  return owner;
}

/** /proc/<pid>/stat, parsed, or undefined off Linux and for a process that is gone. */
function readStat(pid: number, procRoot = '/proc'): ProcStat | undefined {
  if (process.platform !== 'linux' && procRoot === '/proc') return undefined;
  try {
    return parseProcStat(fs.readFileSync(`${procRoot}/${pid}/stat`, 'latin1'));
  } catch {
    return undefined;
  }
}

/** /proc/<pid>/stat field 22 (starttime, clock ticks since boot), or undefined off Linux. */
export function readStartTicks(pid: number, procRoot = '/proc'): number | undefined {
  return readStat(pid, procRoot)?.startTicks;
}

/** /proc/<pid>/stat field 3 (state: R, S, D, Z, X...). */
export function readProcState(pid: number, procRoot = '/proc'): string | undefined {
  return readStat(pid, procRoot)?.state;
}

export function readBootId(procRoot = '/proc'): string | undefined {
  if (process.platform !== 'linux' && procRoot === '/proc') return undefined;
  try {
    return fs.readFileSync(`${procRoot}/sys/kernel/random/boot_id`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function readPidNs(pid: number | 'self'): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** `kill(pid, 0)`: ESRCH means no such process; EPERM means it exists but belongs to someone else. */
export function pidExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false; // kill(0 or -n) would address process groups
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Whether a checkpoint's owner is alive, seen from this process. */
export function ownerState(owner: CheckpointOwner, staleMs: number, now = Date.now()): OwnerState {
  const me = selfIdentity();
  const heartbeat = Date.parse(owner.heartbeatAt);
  const stale = !Number.isFinite(heartbeat) || now - heartbeat > staleMs;
  if (owner.host !== me.host) return stale ? 'dead' : 'alive';
  if (owner.bootId && me.bootId && owner.bootId !== me.bootId) return 'dead';
  if (owner.pidNs && me.pidNs && owner.pidNs !== me.pidNs) return stale ? 'dead' : 'alive';
  if (owner.pid === me.pid) {
    // this very process (or a pid reused by this process after a reboot, caught by the boot id above)
    return owner.startTicks === undefined || me.startTicks === undefined || owner.startTicks === me.startTicks
      ? 'alive'
      : 'dead';
  }
  if (!pidExists(owner.pid)) return 'dead';
  const state = readProcState(owner.pid);
  if (state === 'Z' || state === 'X') return 'dead';
  if (owner.startTicks !== undefined) {
    const now22 = readStartTicks(owner.pid);
    if (now22 !== undefined && now22 !== owner.startTicks) return 'dead';
  }
  return 'alive';
}

/** A short, file-name-safe tag for a host name. */
export function hostTag(host = selfIdentity().host): string {
  return sha256Hex(host).slice(0, 8);
}
