/**
 * Recovery of runs whose meter died (kill -9, crash, reboot): each checkpoint whose owner is dead is claimed with an
 * atomic rename to <id>.json.recovering-<pid>-<host tag> (one recoverer wins), appended as `interrupted` with the
 * energy of its last checkpoint, and the claim removed. A recoverer that dies holding a claim is taken over by the
 * next one; an append that already happened is not repeated (the store checks its history first).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Run } from '../types';
import { olderThan, readCheckpointFile, rmQuiet, isNoEnt } from './files';
import { hostTag, ownerState, pidExists } from './owner';
import { isSafeRunId, type CheckpointFile } from './records';

/** Leftover temporary files of killed writers are removed once this old. */
export const TMP_MAX_AGE_MS = 3600 * 1000;

/** What recovery needs of the store. */
export interface RecoveryHost {
  runningDir: string;
  samplesDir: string;
  /** a checkpoint from another host (or pid namespace) is only recovered once its heartbeat is this old */
  staleMs: number;
  /** appends the checkpoint as an interrupted run and returns it; undefined when the history already closed it */
  recordInterrupted(id: string, cp: CheckpointFile): Run | undefined;
}

/**
 * Appends every run whose meter died as `interrupted` (energy up to its last checkpoint, `endedAt` = its last
 * heartbeat) and returns them. Safe to call from several processes at once: each run is recovered exactly once.
 * Also takes over claims of recoverers that died, and removes stale temporary files.
 */
export function recoverInterrupted(host: RecoveryHost): Run[] {
  let names: string[];
  try {
    names = fs.readdirSync(host.runningDir);
  } catch (err) {
    if (isNoEnt(err)) return [];
    throw err;
  }
  const recovered: Run[] = [];
  // made when first needed: the host's tag is a hash, and most calls (every `carbon-meter run`) find nothing to claim
  let suffix: string | undefined;
  const myClaimSuffix = (): string => (suffix ??= `.recovering-${process.pid}-${hostTag()}`);
  for (const name of names) {
    const file = path.join(host.runningDir, name);
    let claimFrom: string | undefined;
    let id: string | undefined;
    if (name.endsWith('.json')) {
      id = name.slice(0, -'.json'.length);
      if (!isSafeRunId(id)) continue;
      const cp = readCheckpointFile(file);
      if (!cp || typeof cp === 'string') continue; // gone, or corrupt (load() reports it)
      if (ownerState(cp.owner, host.staleMs) !== 'dead') continue;
      claimFrom = file;
    } else {
      const m = /^(.+)\.json\.recovering-(\d+)-([0-9a-f]{8})$/.exec(name);
      if (m) {
        id = m[1];
        if (!isSafeRunId(id) || name.endsWith(myClaimSuffix())) continue;
        const sameHost = m[3] === hostTag();
        const claimantDead = sameHost ? !pidExists(Number(m[2])) : olderThan(file, host.staleMs);
        if (claimantDead || olderThan(file, host.staleMs)) claimFrom = file;
      } else if (name.includes('.tmp-') && olderThan(file, TMP_MAX_AGE_MS)) {
        rmQuiet(file);
      }
    }
    if (!claimFrom || !id) continue;
    const claim = path.join(host.runningDir, `${id}.json${myClaimSuffix()}`);
    try {
      fs.renameSync(claimFrom, claim); // only one recoverer gets past this
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue; // another recoverer won
      if (code === 'EPERM' || code === 'EACCES' || code === 'EBUSY') continue; // held open (Windows): next time
      throw err;
    }
    const run = completeRecovery(host, claim, id);
    if (run) recovered.push(run);
  }
  removeStaleTmp(host.samplesDir);
  return recovered;
}

function completeRecovery(host: RecoveryHost, claim: string, id: string): Run | undefined {
  const cp = readCheckpointFile(claim);
  if (!cp) return undefined;
  if (typeof cp === 'string') {
    // damaged after it was claimed: set it aside rather than retrying forever
    try {
      fs.renameSync(claim, path.join(host.runningDir, `${id}.json.corrupt-${Date.now()}`));
    } catch {
      /* another recoverer moved it */
    }
    return undefined;
  }
  const run = host.recordInterrupted(id, cp);
  rmQuiet(claim);
  return run;
}

function removeStaleTmp(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.includes('.tmp-')) {
      const file = path.join(dir, name);
      if (olderThan(file, TMP_MAX_AGE_MS)) rmQuiet(file);
    }
  }
}
