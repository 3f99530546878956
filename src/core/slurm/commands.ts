/**
 * Running SLURM's own commands (sacct, squeue, sstat, scontrol): one process per call, a timeout, and a clear
 * message when a command is missing, fails or hangs. Never a retry loop: callers decide when to ask again.
 * SLURM_TIME_FORMAT=%s makes every timestamp an epoch second (no time-zone guessing).
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { parseSacct, SACCT_FIELDS, type SlurmRecord } from './parse';
import {
  parseConfig,
  parseJobs,
  parseNodes,
  parseSqueue,
  parseSstat,
  SQUEUE_FORMAT,
  type ControllerJob,
  type NodeInfo,
  type QueueEntry,
} from './scontrol';

export const DEFAULT_SLURM_TIMEOUT_MS = 20_000;

export type SlurmErrorKind = 'missing' | 'failed' | 'timeout';

export class SlurmCommandError extends Error {
  constructor(
    readonly kind: SlurmErrorKind,
    readonly command: string,
    message: string,
  ) {
    super(message);
  }
}

export interface SlurmCommandOptions {
  /** folder of the SLURM commands; default: found on PATH */
  binDir?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** called before each command with its name and arguments (logs, and tests that count calls) */
  onCall?: (command: string, args: string[]) => void;
}

export class SlurmCommands {
  private readonly timeoutMs: number;
  constructor(private readonly opts: SlurmCommandOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_SLURM_TIMEOUT_MS;
  }

  /** Runs a SLURM command; resolves with its stdout or rejects with a SlurmCommandError that says what to do. */
  run(command: string, args: string[]): Promise<string> {
    const exe = this.opts.binDir ? path.join(this.opts.binDir, command) : command;
    this.opts.onCall?.(command, args);
    // epoch seconds in the tables (note: sacct --json of 22.05 fails with this set)
    const env = { ...(this.opts.env ?? process.env), SLURM_TIME_FORMAT: '%s' };
    return new Promise((resolve, reject) => {
      execFile(
        exe,
        args,
        { env, timeout: this.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, windowsHide: true },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number; signal?: string };
          if (e.code === 'ENOENT') {
            reject(
              new SlurmCommandError(
                'missing',
                command,
                `${command} not found${this.opts.binDir ? ` in ${this.opts.binDir}` : ' on PATH'}: SLURM's client commands are needed (run this on a cluster login node)`,
              ),
            );
          } else if (e.killed || e.signal === 'SIGKILL') {
            reject(
              new SlurmCommandError(
                'timeout',
                command,
                `${command} did not answer within ${this.timeoutMs / 1000} s (slurmctld or slurmdbd busy or down?)`,
              ),
            );
          } else {
            const why =
              String(stderr || e.message)
                .trim()
                .split(/\r?\n/)
                .filter(Boolean)
                .slice(-1)[0] ?? `exit code ${e.code}`;
            reject(new SlurmCommandError('failed', command, `${command} failed: ${why}`));
          }
        },
      );
    });
  }

  /** Accounting records of these jobs (and their steps), from the SLURM database. */
  async sacct(jobIds: string[], opts: { allClusters?: boolean } = {}): Promise<SlurmRecord[]> {
    const args = ['--parsable2', '--duplicates', '-j', jobIds.join(','), `--format=${SACCT_FIELDS.join(',')}`];
    // jobs submitted with -M: every cluster of the federation/database, told apart by the Cluster field
    if (opts.allClusters) args.push('--clusters=all');
    const out = await this.run('sacct', args);
    return latestOnly(parseSacct(out));
  }

  /** This user's jobs that started or ended since `sinceMs` (sacct -S), every user's with `allUsers`. */
  async sacctSince(sinceMs: number, opts: { allUsers?: boolean; endMs?: number } = {}): Promise<SlurmRecord[]> {
    const args = ['--parsable2', '-S', isoLocal(sinceMs), `--format=${SACCT_FIELDS.join(',')}`];
    if (opts.endMs !== undefined) args.push('-E', isoLocal(opts.endMs));
    if (opts.allUsers) args.push('--allusers');
    return parseSacct(await this.run('sacct', args));
  }

  /** Queue state of these jobs; jobs no longer in the queue are absent. */
  async squeue(jobIds: string[]): Promise<QueueEntry[]> {
    try {
      return parseSqueue(await this.run('squeue', ['-h', '-j', jobIds.join(','), '-o', SQUEUE_FORMAT]));
    } catch (err) {
      // squeue fails when none of the ids is known any more: that is an answer, not an error
      if (err instanceof SlurmCommandError && err.kind === 'failed' && /invalid job id/i.test(err.message)) return [];
      throw err;
    }
  }

  /** CPU time and energy of a running job's steps so far. */
  async sstat(jobId: string): Promise<ReturnType<typeof parseSstat>> {
    return parseSstat(
      await this.run('sstat', ['-a', '-P', '-j', jobId, '-o', 'JobID,TRESUsageInTot,ConsumedEnergyRaw']),
    );
  }

  /**
   * The controller's record of a job (kept for MinJobAge, 300 s by default, after it ends); empty once it has been
   * purged.
   */
  async job(jobId: string): Promise<ControllerJob | undefined> {
    try {
      return parseJobs(await this.run('scontrol', ['show', 'job', jobId]))[0];
    } catch (err) {
      if (err instanceof SlurmCommandError && err.kind === 'failed' && /invalid job id/i.test(err.message))
        return undefined;
      throw err;
    }
  }

  async nodes(nodeList: string): Promise<NodeInfo[]> {
    return parseNodes(await this.run('scontrol', ['show', 'node', nodeList]));
  }

  async config(): Promise<Record<string, string>> {
    return parseConfig(await this.run('scontrol', ['show', 'config']));
  }
}

/** With --duplicates sacct lists every record of a reused job id; the latest submission wins. */
function latestOnly(records: SlurmRecord[]): SlurmRecord[] {
  const latest = new Map<string, number>();
  for (const r of records)
    if (r.stepId === undefined) latest.set(r.jobId, Math.max(latest.get(r.jobId) ?? -Infinity, r.submitMs ?? 0));
  const seen = new Set<string>();
  const out: SlurmRecord[] = [];
  let keep = true;
  for (const r of records) {
    if (r.stepId === undefined) {
      keep = (r.submitMs ?? 0) === latest.get(r.jobId) && !seen.has(r.jobId);
      if (keep) seen.add(r.jobId);
    }
    if (keep) out.push(r);
  }
  return out;
}

/** sacct's -S/-E take local time "YYYY-MM-DDTHH:MM:SS". */
export function isoLocal(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
