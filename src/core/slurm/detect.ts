/**
 * Recognising SLURM submissions typed in a terminal, and the job id in what they print:
 *   sbatch              "Submitted batch job 123" (or "Submitted batch job 123 on cluster c1"); "123" or "123;c1" with --parsable
 *   salloc              "salloc: Granted job allocation 123", "salloc: Pending job allocation 123"
 *   srun                "srun: job 123 queued and waiting for resources", "srun: job 123 has been allocated resources"
 *                       (srun prints nothing when it starts at once: the caller then asks sacct for the job)
 */
import { stripCommandPrefixes } from '../classify';

export type SlurmSubmitter = 'sbatch' | 'srun' | 'salloc';

/** The SLURM command a command line starts with ("sbatch", "srun", "salloc"), after env/sudo/time prefixes; else undefined. */
export function slurmSubmitter(commandLine: string): SlurmSubmitter | undefined {
  const stripped = stripCommandPrefixes(commandLine.trim());
  const first = stripped.split(/\s+/)[0] ?? '';
  const base = first.replace(/^.*\//, '');
  return base === 'sbatch' || base === 'srun' || base === 'salloc' ? base : undefined;
}

/** The cluster named by -M/--clusters on the command line, when exactly one. */
export function clusterOption(commandLine: string): string | undefined {
  const m = /(?:^|\s)(?:-M\s*|--clusters?[=\s])([A-Za-z0-9_.-]+)(?=\s|$)/.exec(commandLine);
  return m?.[1];
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]/g;

/** Removes terminal escape sequences (colours, shell-integration OSC 633 marks) from terminal output. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

const PATTERNS: RegExp[] = [
  /Submitted batch job (\d+)(?: on cluster (\S+))?/,
  /salloc: (?:Granted|Pending) job allocation (\d+)/,
  /srun: job (\d+) (?:queued and waiting for resources|has been allocated resources)/,
  /(?:srun|salloc): jobid (\d+)/,
];

/**
 * Reads a submission's output as it arrives (chunks may split a line) and returns the job id the first time it can;
 * `--parsable` output ("123" or "123;cluster" alone on a line) counts for sbatch.
 */
export class JobIdReader {
  private buf = '';
  private found: { jobId: string; cluster?: string } | undefined;
  constructor(private readonly submitter: SlurmSubmitter) {}

  push(chunk: string): { jobId: string; cluster?: string } | undefined {
    if (this.found) return undefined;
    this.buf = (this.buf + stripAnsi(chunk)).slice(-8192);
    const hit = jobIdInOutput(this.buf, this.submitter);
    if (hit) this.found = hit;
    return hit;
  }

  /** At the end of the output: reads the last line too. */
  end(): { jobId: string; cluster?: string } | undefined {
    this.found ??= jobIdInOutput(this.buf, this.submitter, true);
    return this.found;
  }
}

/**
 * The job id in a submission's output, or undefined. Only complete lines are read (a number still being printed
 * could grow), unless `ended` says the output is all there.
 */
export function jobIdInOutput(
  text: string,
  submitter: SlurmSubmitter,
  ended = false,
): { jobId: string; cluster?: string } | undefined {
  const all = stripAnsi(text).replace(/\r/g, '');
  const clean = ended ? `${all}\n` : all.slice(0, all.lastIndexOf('\n') + 1);
  for (const re of PATTERNS) {
    const m = re.exec(clean);
    if (m) return m[2] ? { jobId: m[1], cluster: m[2] } : { jobId: m[1] };
  }
  if (submitter === 'sbatch') {
    // complete lines only (the last piece may be a number still being printed)
    const lines = clean.split('\n');
    for (const l of lines) {
      const m = /^\s*(\d+)(?:;([A-Za-z0-9_.-]+))?\s*$/.exec(l);
      if (m) return m[2] ? { jobId: m[1], cluster: m[2] } : { jobId: m[1] };
    }
  }
  return undefined;
}

/**
 * The job an sbatch typed in a terminal submitted, from SLURM's records, when its output could not be read (VS Code's
 * read() gives only what is written after its first call, which a loaded extension host can make too late): this
 * user's jobs submitted since `sinceMs` from the terminal's folder. One job: its id; none: undefined; several (two
 * submissions from one folder at once): `ambiguous`, never a guess.
 */
export function submittedJobFromRecords(
  records: { jobId: string; workDir?: string; submitMs?: number }[],
  where: { sinceMs: number; cwd: string },
): { jobId: string } | { ambiguous: string[] } | undefined {
  const ids = new Set<string>();
  const cwd = where.cwd.replace(/\/+$/, '');
  for (const r of records) {
    if (r.jobId.includes('.') || r.submitMs === undefined || r.submitMs < where.sinceMs) continue;
    if ((r.workDir ?? '').replace(/\/+$/, '') === cwd) ids.add(r.jobId.replace(/_.*$/, ''));
  }
  if (ids.size === 1) return { jobId: [...ids][0] };
  return ids.size > 1 ? { ambiguous: [...ids] } : undefined;
}
