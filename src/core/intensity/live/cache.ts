/**
 * The intensity cache on disk, shared by every window and CLI (`<history folder>/intensity-cache/`).
 *
 *   <name>.json                      the last answer for one provider + zone: points, source, the last failure
 *   <name>.p<period>.g<n>.claim      "I am asking the network for this period": created with O_EXCL
 *
 * At most one request per provider, zone and granularity period, across processes:
 *  1. an entry already fresh for the period (fetched, failed, or told to wait by a 429) → nothing to do;
 *  2. else create the period's claim with O_CREAT|O_EXCL (`wx`); exactly one process succeeds and fetches;
 *     and removes the claim once the entry answers the period (it never does before: waiters read the entry);
 *  3. the others poll the entry until it is fresh for the period. If the claimer died (pid gone, pid reused, or
 *     the claim is older than `staleMs`), the next generation `.g<n+1>.claim` is created with O_EXCL: again only
 *     one process wins, and a claim that is alive is never replaced.
 * Entries are rewritten atomically (tmp + rename). No credential is ever written here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ownerNow, ownerState, type CheckpointOwner } from '../../history/owner';
import type { FailureKind, IntensityPoint, LiveProviderId } from './types';
import { makeDirs, writeFileAtomic } from '../../util/fs';

export const CACHE_VERSION = 1;

export interface CacheFailure {
  kind: FailureKind;
  message: string;
  /** the granularity period of the failed request */
  period: number;
  atMs: number;
}

export interface CacheEntry {
  version: number;
  provider: LiveProviderId;
  /** what was asked for, in words: "zone FR", "postcode RG10" */
  target: string;
  granularityMs: number;
  points: IntensityPoint[];
  source?: string;
  factorType?: 'average' | 'marginal';
  /** the period of the last successful request */
  fetchedPeriod?: number;
  fetchedAtMs?: number;
  failure?: CacheFailure;
  /** 429 Retry-After: no request before this time */
  retryAfterUntilMs?: number;
  /** unknown zone: no request before this time (the zone is part of the cache name, so a new setting asks at once) */
  backoffUntilMs?: number;
  /** the plan does not include forecasts (403): not asked again before this time */
  forecastDeniedUntilMs?: number;
  /** WattTime signal index, percentile 0–100 */
  signalIndex?: { value: number; atMs: number };
  /** provider-specific, non-secret facts (WattTime region found from a location) */
  extra?: Record<string, string>;
}

export type ClaimResult = { state: 'claimed'; file: string } | { state: 'busy' | 'unavailable' };

export interface RunOnceOptions {
  /** a claim older than this, or whose owner is dead, is taken over */
  staleMs: number;
  /** how often a waiting process looks at the entry again */
  pollMs: number;
}

/** `fresh`: someone (maybe us earlier) already answered this period; `fetched`: we did the request now. */
export type RunOnceOutcome = 'fresh' | 'fetched' | 'gave-up';

export class IntensityCache {
  constructor(readonly dir: string) {}

  entryPath(name: string): string {
    return path.join(this.dir, `${name}.json`);
  }

  read(name: string): CacheEntry | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.entryPath(name), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const e = JSON.parse(text) as CacheEntry;
      if (!e || e.version !== CACHE_VERSION || !Array.isArray(e.points)) return undefined;
      return e;
    } catch {
      return undefined; // a torn or foreign file: treated as absent, rewritten by the next fetch
    }
  }

  /** mtime and size, to see cheaply whether another process rewrote the entry. */
  stamp(name: string): string | undefined {
    try {
      const s = fs.statSync(this.entryPath(name));
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return undefined;
    }
  }

  /** Atomic replace. Returns false when the folder is not writable (the caller keeps the entry in memory). */
  write(name: string, entry: CacheEntry): boolean {
    try {
      makeDirs(this.dir);
      writeFileAtomic(this.entryPath(name), JSON.stringify(entry));
      return true;
    } catch {
      return false;
    }
  }

  /** Tries to become the one process that asks the network for `name` in `period`. */
  tryClaim(name: string, period: number, staleMs: number): ClaimResult {
    const prefix = `${name}.p${period}.g`;
    let files: string[];
    try {
      makeDirs(this.dir);
      files = fs.readdirSync(this.dir);
    } catch {
      return { state: 'unavailable' };
    }
    let gen = -1;
    for (const f of files) {
      if (f.startsWith(prefix) && f.endsWith('.claim')) {
        const n = Number(f.slice(prefix.length, -'.claim'.length));
        if (Number.isInteger(n) && n > gen) gen = n;
      } else if (f.startsWith(`${name}.p`) && f.endsWith('.claim')) {
        // claims of earlier periods are history: remove them (best effort; another process may do it first)
        const m = /\.p(-?\d+)\.g\d+\.claim$/.exec(f);
        if (m && Number(m[1]) < period - 1) fs.rm(path.join(this.dir, f), { force: true }, () => undefined);
      }
    }
    if (gen >= 0 && this.claimAlive(path.join(this.dir, `${prefix}${gen}.claim`), staleMs)) return { state: 'busy' };
    const file = path.join(this.dir, `${prefix}${gen + 1}.claim`);
    try {
      fs.writeFileSync(file, JSON.stringify(ownerNow()), { flag: 'wx' });
      return { state: 'claimed', file };
    } catch (err) {
      return { state: (err as NodeJS.ErrnoException).code === 'EEXIST' ? 'busy' : 'unavailable' };
    }
  }

  private claimAlive(file: string, staleMs: number): boolean {
    let text: string;
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(file).mtimeMs;
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return false;
    }
    const now = Date.now();
    let owner: CheckpointOwner | undefined;
    try {
      owner = JSON.parse(text) as CheckpointOwner;
    } catch {
      owner = undefined; // created, not yet written: alive while young
    }
    if (!owner || typeof owner.pid !== 'number') return now - mtimeMs < staleMs;
    const at = Date.parse(owner.heartbeatAt);
    if (!Number.isFinite(at) || now - at > staleMs) return false;
    return ownerState(owner, staleMs, now) === 'alive';
  }

  /**
   * Runs `work` in exactly one process per (name, period) unless the entry is already fresh; the others wait for
   * the entry to become fresh. `isFresh` says whether an entry answers the period.
   */
  async runOnce(
    name: string,
    period: number,
    isFresh: (e: CacheEntry | undefined) => boolean,
    work: () => Promise<void>,
    opts: RunOnceOptions,
  ): Promise<RunOnceOutcome> {
    const giveUpAt = Date.now() + opts.staleMs * 3;
    for (;;) {
      if (isFresh(this.read(name))) return 'fresh';
      const claim = this.tryClaim(name, period, opts.staleMs);
      if (claim.state !== 'busy') {
        // 'unavailable': the folder is not writable; ask anyway (this process keeps the answer in memory)
        const release = () => claim.state === 'claimed' && fs.rmSync(claim.file, { force: true });
        try {
          // the entry may have been answered between our look and our claim
          if (claim.state === 'claimed' && isFresh(this.read(name))) return 'fresh';
          await work();
          return 'fetched';
        } finally {
          // the entry now answers the period; a finished claim must not hold back a new request (new credentials)
          release();
        }
      }
      if (Date.now() > giveUpAt) return 'gave-up';
      await new Promise((r) => setTimeout(r, opts.pollMs));
    }
  }
}
