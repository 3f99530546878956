/**
 * The order of the "Meter Process…" quick pick: the process the user most likely wants first. Python and training
 * launchers (python, torchrun, accelerate, deepspeed, Jupyter kernels …) come first; then the busiest (CPU time over
 * its life, when the listing read it), then the most recently started, then the highest pid (the newest, short of a
 * start time). Pure: the listing (core/sampling/processes.ts) reads /proc once, for every process together.
 */

export interface ProcessCandidate {
  pid: number;
  command: string;
  /** ms since the epoch, when known */
  startedAt?: number;
  /** CPU time used so far (user + system), s, when known */
  cpuS?: number;
}

/** Launchers and interpreters of training runs, by program name (after the path). */
const TRAINING_PROGRAMS =
  /^(?:python(?:\d+(?:\.\d+)*)?w?|ipython\d?|pypy\d?|torchrun|accelerate|deepspeed|horovodrun|jupyter(?:-[\w-]+)?|lightning|ray)$/i;
/** Modules and scripts that mark a training process or a notebook kernel wherever they appear in the command line. */
const TRAINING_MARKS =
  /\b(?:ipykernel(?:_launcher)?|torch\.distributed\.(?:run|launch)|deepspeed\.launcher|accelerate\.commands)\b/;

/** Whether a command line looks like Python or a training launcher (the first few words, so `env X=1 python …` too). */
export function looksLikeTraining(command: string): boolean {
  if (TRAINING_MARKS.test(command)) return true;
  const words = command.trim().split(/\s+/).slice(0, 4);
  return words.some((w) => TRAINING_PROGRAMS.test(w.split(/[\\/]/).pop() ?? w));
}

/** Below this age a process's CPU share is taken over this many seconds (a just-started `ps` is not "busy"). */
const MIN_AGE_S = 10;

/** The share of one CPU a process used over its life (0 … cores), or undefined when not known. */
export function cpuShare(p: ProcessCandidate, nowMs: number): number | undefined {
  if (p.cpuS === undefined || !Number.isFinite(p.cpuS) || p.startedAt === undefined) return undefined;
  const ageS = Math.max(MIN_AGE_S, (nowMs - p.startedAt) / 1000);
  return Math.max(0, p.cpuS) / ageS;
}

/** The candidates in pick order (a new array; the input is left as it is). */
export function orderProcesses<T extends ProcessCandidate>(procs: readonly T[], nowMs: number = Date.now()): T[] {
  const keyed = procs.map((p) => {
    const share = cpuShare(p, nowMs);
    return {
      p,
      training: looksLikeTraining(p.command) ? 1 : 0,
      // whole percents of a CPU: idle processes (under 0.5 %) tie and fall to the next key; -1: not known
      cpuPct: share === undefined ? -1 : Math.round(share * 100),
      started: p.startedAt !== undefined && Number.isFinite(p.startedAt) ? p.startedAt : -Infinity,
    };
  });
  keyed.sort(
    (a, b) =>
      b.training - a.training ||
      b.cpuPct - a.cpuPct ||
      (b.started === a.started ? 0 : b.started > a.started ? 1 : -1) ||
      b.p.pid - a.p.pid,
  );
  return keyed.map((k) => k.p);
}
