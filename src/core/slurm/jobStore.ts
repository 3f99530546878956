/**
 * What Carbon Meter keeps about SLURM jobs in the history home (`<history>/slurm/`):
 *   tracked/<cluster>-<job>.json   a job submitted from a terminal (or the CLI) and not recorded yet: any window or
 *                                  CLI that starts later reconciles it, even if the one that saw it was closed
 *   recorded/<run id>              a claim taken (O_EXCL) just before a job's run is appended, so that two windows or
 *                                  a window and the CLI never record the same job twice
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HistoryStore } from '../history/store';
import type { Run } from '../types';
import { errorMessage } from '../errors';
import { makeDirs } from '../util/fs';

export interface TrackedJob {
  /** as SLURM printed it at submission: "123" (an array job's id covers all its tasks) */
  jobId: string;
  /** the cluster, when known at submission (sbatch -M) */
  cluster?: string;
  /** the command line that submitted it */
  command?: string;
  cwd?: string;
  /** ms since epoch */
  submittedAt: number;
  /** who saw it: "terminal", "cli" */
  via: string;
}

/** A claim older than this is left over by a writer that died between claiming and appending. */
const STALE_CLAIM_MS = 60_000;

function safe(x: string): string {
  return x.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '') || 'x';
}

export class SlurmJobStore {
  readonly dir: string;
  private readonly trackedDir: string;
  private readonly claimsDir: string;

  constructor(historyDir: string) {
    this.dir = path.join(historyDir, 'slurm');
    this.trackedDir = path.join(this.dir, 'tracked');
    this.claimsDir = path.join(this.dir, 'recorded');
  }

  private trackedPath(jobId: string, cluster?: string): string {
    return path.join(this.trackedDir, `${safe(cluster ?? 'default')}-${safe(jobId)}.json`);
  }

  /** Persists a tracked job (atomically: tmp + rename). */
  track(job: TrackedJob): void {
    makeDirs(this.trackedDir, 0o700);
    const p = this.trackedPath(job.jobId, job.cluster);
    const tmp = `${p}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(job) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, p);
  }

  untrack(job: Pick<TrackedJob, 'jobId' | 'cluster'>): void {
    try {
      fs.unlinkSync(this.trackedPath(job.jobId, job.cluster));
    } catch {
      /* already gone (another window recorded it) */
    }
  }

  /** Every tracked job; unreadable files are skipped (and reported through `problems`). */
  tracked(problems: string[] = []): TrackedJob[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.trackedDir);
    } catch {
      return [];
    }
    const out: TrackedJob[] = [];
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      try {
        const j = JSON.parse(fs.readFileSync(path.join(this.trackedDir, n), 'utf8')) as TrackedJob;
        if (typeof j.jobId === 'string' && /^\d/.test(j.jobId) && typeof j.submittedAt === 'number') out.push(j);
        else problems.push(`${n}: not a tracked SLURM job`);
      } catch (err) {
        problems.push(`${n}: ${errorMessage(err)}`);
      }
    }
    return out.sort((a, b) => a.submittedAt - b.submittedAt);
  }

  /**
   * Appends the run of a finished job unless it is already in the history (or being appended by another process
   * right now). Returns what happened.
   */
  record(history: HistoryStore, run: Run): 'recorded' | 'already' {
    if (history.get(run.id)) return 'already';
    makeDirs(this.claimsDir, 0o700);
    const claim = path.join(this.claimsDir, safe(run.id));
    if (!this.claim(claim)) {
      if (history.get(run.id)) return 'already';
      let age = 0;
      try {
        age = Date.now() - fs.statSync(claim).mtimeMs;
      } catch {
        /* removed meanwhile */
      }
      if (age < STALE_CLAIM_MS) return 'already';
      fs.rmSync(claim, { force: true });
      if (!this.claim(claim)) return 'already';
    }
    history.append(run);
    return 'recorded';
  }

  private claim(p: string): boolean {
    try {
      fs.closeSync(fs.openSync(p, 'wx', 0o600));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  }
}
