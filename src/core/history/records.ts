/**
 * The line formats of the history store, and their validation.
 *
 * history.jsonl, one JSON object per line:
 *   {"v":1,"kind":"run","at":"<ISO write time>","run":{...Run}}   a final or imported record; the latest line per id wins
 *   {"v":1,"kind":"delete","id":"...","at":"<ISO>"}                  hides every earlier record of that id
 * Other kinds are ignored, so a newer Carbon Meter can add some without breaking an older one.
 *
 * samples/<id>.jsonl, one sample per line: [t, cpuW, gpuW, ramW] or [t, cpuW, gpuW, ramW, gPerKWh]
 * (t in ms since epoch, powers before PUE). Objects {t, cpuW, gpuW, ramW, gPerKWh?} are read too.
 */
import type { CheckpointOwner, Run, RunStatus, Sample } from '../types';
import { isObject as isObj } from '../util/isObject';
import { errorMessage } from '../errors';

export const HISTORY_FORMAT_VERSION = 1;

export interface RunRecord {
  kind: 'run';
  run: Run;
  /** when the line was written */
  at?: string;
}

export interface DeleteRecord {
  kind: 'delete';
  id: string;
  at: string;
}

export type HistoryRecord = RunRecord | DeleteRecord;

/** A line (or a file) that could not be read, and why. `line` is 1-based; 0 for whole-file problems. */
export interface CorruptEntry {
  line: number;
  reason: string;
  /** relative to the store folder; absent for history.jsonl */
  file?: string;
  /** where a damaged file was moved, relative to the store folder, so that it is reported only once */
  setAsideAs?: string;
}

export interface CheckpointFile {
  v: number;
  run: Run;
  owner: CheckpointOwner;
}

const STATUSES: ReadonlySet<string> = new Set<RunStatus>(['running', 'completed', 'failed', 'interrupted', 'stopped']);
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Ids become file names (running/<id>.json, samples/<id>.jsonl): letters, digits, '.', '_', '-', no leading dot. */
export function isSafeRunId(id: unknown): id is string {
  return typeof id === 'string' && SAFE_ID.test(id);
}

function num(x: unknown): boolean {
  return typeof x === 'number' && Number.isFinite(x);
}

function str(x: unknown): boolean {
  return typeof x === 'string';
}

/**
 * Checks that a value has every required field of a `Run` with the right type. Returns the first problem, or
 * undefined when the record is usable. Optional fields are not checked beyond what the UI relies on.
 */
export function runProblem(r: unknown): string | undefined {
  if (!isObj(r)) return 'run is not an object';
  if (!str(r.id)) return "missing field 'id'";
  if (!isSafeRunId(r.id)) return `invalid id ${JSON.stringify(String(r.id).slice(0, 60))}`;
  for (const f of ['name', 'command', 'cwd', 'source', 'startedAt'] as const) {
    if (!str(r[f])) return `missing field '${f}'`;
  }
  if (!Number.isFinite(Date.parse(r.startedAt as string))) return "invalid 'startedAt'";
  if (r.endedAt !== undefined && !str(r.endedAt)) return "invalid 'endedAt'";
  if (!STATUSES.has(r.status as string)) return "missing or unknown 'status'";
  for (const f of ['durationS', 'cpuSeconds', 'emissionsKg', 'pue'] as const) {
    if (!num(r[f])) return `missing or non-numeric field '${f}'`;
  }
  const e = r.energyKWh;
  if (!isObj(e)) return "missing field 'energyKWh'";
  for (const f of ['cpu', 'gpu', 'ram', 'total'] as const) {
    if (!num(e[f])) return `missing or non-numeric field 'energyKWh.${f}'`;
  }
  const i = r.intensity;
  if (!isObj(i)) return "missing field 'intensity'";
  if (!num(i.gPerKWh)) return "missing or non-numeric field 'intensity.gPerKWh'";
  for (const f of ['region', 'source', 'method'] as const) {
    if (!str(i[f])) return `missing field 'intensity.${f}'`;
  }
  const p = r.power;
  if (!isObj(p)) return "missing field 'power'";
  for (const c of ['cpu', 'gpu', 'ram'] as const) {
    const pc = p[c];
    if (!isObj(pc)) return `missing field 'power.${c}'`;
    if (!str(pc.method) || !str(pc.detail)) return `missing field 'power.${c}.method' or 'power.${c}.detail'`;
    if (!num(pc.meanW) || !num(pc.lastW))
      return `missing or non-numeric field 'power.${c}.meanW' or 'power.${c}.lastW'`;
  }
  const h = r.hardware;
  if (!isObj(h)) return "missing field 'hardware'";
  if (!str(h.cpuModel)) return "missing field 'hardware.cpuModel'";
  if (!num(h.logicalCpus) || !num(h.ramGB))
    return "missing or non-numeric field 'hardware.logicalCpus' or 'hardware.ramGB'";
  if (!Array.isArray(h.gpus)) return "missing field 'hardware.gpus'";
  if (r.notes !== undefined && !(Array.isArray(r.notes) && r.notes.every(str))) return "invalid 'notes'";
  return undefined;
}

/**
 * Parses one history line. Returns a record, `null` for a line to ignore silently (blank, or a kind this version
 * does not know), or a string: why the line is corrupt.
 */
export function parseHistoryLine(line: string): HistoryRecord | null | string {
  if (line.length === 0 || line.trim().length === 0) return null;
  let x: unknown;
  try {
    x = JSON.parse(line);
  } catch (err) {
    return `not JSON (${errorMessage(err)})`;
  }
  if (!isObj(x)) return 'not a JSON object';
  if (typeof x.kind !== 'string') return "missing field 'kind'";
  if (x.v !== undefined && typeof x.v !== 'number') return "invalid field 'v'";
  if (x.kind === 'run') {
    const problem = runProblem(x.run);
    if (problem) return `run record: ${problem}`;
    return { kind: 'run', run: x.run as Run, at: typeof x.at === 'string' ? x.at : undefined };
  }
  if (x.kind === 'delete') {
    if (!isSafeRunId(x.id)) return "delete record: missing or invalid 'id'";
    return { kind: 'delete', id: x.id, at: typeof x.at === 'string' ? x.at : '' };
  }
  return null; // a kind from a newer version
}

export function runLine(run: Run, at = new Date().toISOString()): string {
  return JSON.stringify({ v: HISTORY_FORMAT_VERSION, kind: 'run', at, run }) + '\n';
}

export function deleteLine(id: string, at = new Date().toISOString()): string {
  return JSON.stringify({ v: HISTORY_FORMAT_VERSION, kind: 'delete', id, at }) + '\n';
}

/** Why a checkpoint file is unusable, or undefined. */
export function checkpointProblem(x: unknown): string | undefined {
  if (!isObj(x)) return 'not a JSON object';
  const problem = runProblem(x.run);
  if (problem) return `run: ${problem}`;
  const o = x.owner;
  if (!isObj(o)) return "missing field 'owner'";
  if (!num(o.pid) || !str(o.host) || !str(o.heartbeatAt))
    return "missing field 'owner.pid', 'owner.host' or 'owner.heartbeatAt'";
  return undefined;
}

function r4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

export function sampleLine(s: Sample): string {
  const a: number[] = [Math.round(s.t), r4(s.cpuW), r4(s.gpuW), r4(s.ramW)];
  if (s.gPerKWh !== undefined && Number.isFinite(s.gPerKWh)) a.push(Math.round(s.gPerKWh * 1000) / 1000);
  return JSON.stringify(a) + '\n';
}

export function sampleLines(samples: Sample[]): string {
  let out = '';
  for (const s of samples) {
    if (Number.isFinite(s.t) && Number.isFinite(s.cpuW) && Number.isFinite(s.gpuW) && Number.isFinite(s.ramW)) {
      out += sampleLine(s);
    }
  }
  return out;
}

/** Parses a sample file; unreadable lines (a torn last line) are skipped. */
export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.length < 2) continue;
    let x: unknown;
    try {
      x = JSON.parse(line);
    } catch {
      continue;
    }
    if (Array.isArray(x)) {
      if (x.length >= 4 && num(x[0]) && num(x[1]) && num(x[2]) && num(x[3])) {
        const s: Sample = { t: x[0], cpuW: x[1], gpuW: x[2], ramW: x[3] };
        if (num(x[4])) s.gPerKWh = x[4];
        out.push(s);
      }
    } else if (isObj(x) && num(x.t) && num(x.cpuW) && num(x.gpuW) && num(x.ramW)) {
      const s: Sample = { t: x.t as number, cpuW: x.cpuW as number, gpuW: x.gpuW as number, ramW: x.ramW as number };
      if (num(x.gPerKWh)) s.gPerKWh = x.gPerKWh as number;
      out.push(s);
    }
  }
  return out;
}
