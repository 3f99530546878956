/**
 * `sacct --json` → the same `SlurmRecord`s as the table parser. The data_parser plugins changed shape between
 * releases (v0.0.38 in 22.05: plain numbers, `state.current` a string; v0.0.39+: `{number, set, infinite}` numbers,
 * `state.current` a list, step ids as objects), so every field is read tolerantly. Job-level `time.total` is 0 for
 * batch jobs: CPU time lives in the steps, which become records of their own.
 */
import { baseState, type SlurmRecord } from './parse';

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** 5, "5", {number: 5, set: true} → 5; {set: false} or anything else → undefined */
function n(x: unknown): number | undefined {
  if (typeof x === 'number') return Number.isFinite(x) ? x : undefined;
  if (typeof x === 'string' && x.trim() !== '' && Number.isFinite(Number(x))) return Number(x);
  if (isObj(x)) {
    if (x.set === false || x.infinite === true) return undefined;
    return n(x.number);
  }
  return undefined;
}

function s(x: unknown): string | undefined {
  return typeof x === 'string' ? x : undefined;
}

function dig(x: unknown, ...path: string[]): unknown {
  let cur = x;
  for (const p of path) {
    if (!isObj(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** {seconds, microseconds} → seconds */
function secs(x: unknown): number | undefined {
  if (!isObj(x)) return n(x);
  const sec = n(x.seconds);
  if (sec === undefined) return undefined;
  return sec + (n(x.microseconds) ?? 0) / 1e6;
}

/** The state text: "COMPLETED"; v0.0.39+ lists the state and its flags (["CANCELLED", "REQUEUED"]): joined by ",". */
function state(x: unknown): string {
  const cur = dig(x, 'current') ?? x;
  if (Array.isArray(cur)) return cur.filter((c) => typeof c === 'string').join(',');
  return s(cur) ?? '';
}

function exitCode(x: unknown): string | undefined {
  if (!isObj(x)) return undefined;
  const rc = n(x.return_code);
  const sig = n(dig(x, 'signal', 'id')) ?? n(dig(x, 'signal', 'signal_id'));
  if (rc === undefined && sig === undefined) return undefined;
  return `${rc ?? 0}:${sig ?? 0}`;
}

/** A TRES list [{type, name, count}] → map; mem (MB in the JSON) → bytes. */
function tresList(x: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (!Array.isArray(x)) return out;
  for (const t of x) {
    if (!isObj(t)) continue;
    const type = s(t.type);
    const count = n(t.count);
    if (!type || count === undefined || count < 0) continue;
    const key = s(t.name) ? `${type}/${t.name}` : type;
    out[key] = type === 'mem' ? count * 1024 * 1024 : count;
  }
  return out;
}

function ms(epochS: number | undefined): number | undefined {
  return epochS !== undefined && epochS > 0 ? epochS * 1000 : undefined;
}

function jobIdOf(job: Obj): { jobId: string; jobIdRaw?: string } {
  const raw = n(job.job_id);
  const arrayJob = n(dig(job, 'array', 'job_id'));
  const task = n(dig(job, 'array', 'task_id'));
  const hetJob = n(dig(job, 'het', 'job_id'));
  const hetOffset = n(dig(job, 'het', 'job_offset'));
  let jobId = raw !== undefined ? String(raw) : '';
  if (arrayJob && task !== undefined) jobId = `${arrayJob}_${task}`;
  else if (hetJob && hetOffset !== undefined) jobId = `${hetJob}+${hetOffset}`;
  return raw !== undefined ? { jobId, jobIdRaw: String(raw) } : { jobId };
}

function stepIdOf(step: Obj): string | undefined {
  const id = dig(step, 'step', 'id');
  if (typeof id === 'number') return String(id); // v0.0.38: 0, 1, ... or "batch"
  if (typeof id === 'string') {
    const dot = id.lastIndexOf('.');
    return dot >= 0 ? id.slice(dot + 1) : id;
  }
  if (isObj(id)) {
    const sid = id.step_id;
    if (typeof sid === 'string') return sid.toLowerCase().replace(/^(batch|extern|interactive)$/, '$1');
    const num = n(sid);
    if (num !== undefined) return String(num);
  }
  const name = s(dig(step, 'step', 'name'));
  return name === 'batch' || name === 'extern' ? name : undefined;
}

function common(rec: SlurmRecord, src: Obj): void {
  const energy = tresList(dig(src, 'tres', 'consumed', 'total')).energy;
  if (energy !== undefined) rec.energyJ = energy;
  const code = exitCode(src.exit_code);
  if (code) rec.exitCode = code;
}

/** Parses `sacct --json` text (or the REST API's slurmdbd jobs response). Throws on text that is not JSON. */
export function parseSacctJson(text: string): SlurmRecord[] {
  const doc: unknown = JSON.parse(text);
  const jobs = dig(doc, 'jobs');
  if (!Array.isArray(jobs)) return [];
  const out: SlurmRecord[] = [];
  for (const job of jobs) {
    if (!isObj(job)) continue;
    const { jobId, jobIdRaw } = jobIdOf(job);
    if (!jobId) continue;
    const stateText = state(job.state);
    const time = isObj(job.time) ? job.time : {};
    const alloc = tresList(dig(job, 'tres', 'allocated'));
    const rec: SlurmRecord = {
      jobId,
      name: s(job.name) ?? '',
      state: baseState(stateText),
      stateText,
      allocTres: alloc,
    };
    if (jobIdRaw) rec.jobIdRaw = jobIdRaw;
    const set = <K extends keyof SlurmRecord>(k: K, v: SlurmRecord[K] | undefined) => {
      if (v !== undefined && v !== '') rec[k] = v;
    };
    set('cluster', s(job.cluster));
    set('user', s(job.user));
    set('workDir', s(job.working_directory));
    set('submitLine', s(job.submit_line));
    set('submitMs', ms(n(time.submission)));
    set('startMs', ms(n(time.start)));
    set('endMs', ms(n(time.end)));
    set('elapsedS', n(time.elapsed));
    set('totalCpuS', secs(time.total));
    set('allocCpus', alloc.cpu ?? n(dig(job, 'required', 'CPUs')));
    set('nNodes', n(job.allocation_nodes) ?? alloc.node);
    set('nodeList', s(job.nodes));
    common(rec, job);
    out.push(rec);
    for (const step of Array.isArray(job.steps) ? job.steps : []) {
      if (!isObj(step)) continue;
      const stepId = stepIdOf(step);
      if (stepId === undefined) continue;
      const st = isObj(step.time) ? step.time : {};
      const sState = state(step.state);
      const r: SlurmRecord = {
        jobId,
        stepId,
        name: s(dig(step, 'step', 'name')) ?? '',
        state: baseState(sState),
        stateText: sState,
        allocTres: tresList(dig(step, 'tres', 'allocated')),
      };
      const t = secs(st.total);
      if (t !== undefined) r.totalCpuS = t;
      const el = n(st.elapsed);
      if (el !== undefined) r.elapsedS = el;
      const start = ms(n(st.start));
      if (start !== undefined) r.startMs = start;
      const end = ms(n(st.end));
      if (end !== undefined) r.endMs = end;
      const nodes = n(dig(step, 'nodes', 'count'));
      if (nodes !== undefined) r.nNodes = nodes;
      const range = s(dig(step, 'nodes', 'range'));
      if (range) r.nodeList = range;
      common(r, step);
      out.push(r);
    }
  }
  return out;
}
