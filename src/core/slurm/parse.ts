/**
 * Reading what SLURM prints: durations, TRES strings, job ids, `sacct --parsable2` (and `-p`, and the default
 * fixed-width table), `sacct --json`, `squeue`, `sstat` and `scontrol show node`. Pure functions; nothing here runs
 * a command. Every record is normalised to `SlurmRecord` whatever the format it came from.
 */

/** One line of sacct: a job allocation (stepId undefined) or one of its steps ("batch", "extern", "0", ...). */
export interface SlurmRecord {
  /** The job's id as SLURM prints it without the step: "123", "123_4" (array task), "123+1" (het component). */
  jobId: string;
  /** The step: "batch", "extern", "interactive", "0", "1", ...; undefined for the job allocation line. */
  stepId?: string;
  /** The numeric id of the job (JobIDRaw), when known: an array task has its own. */
  jobIdRaw?: string;
  name: string;
  /** "COMPLETED", "FAILED", "CANCELLED", "RUNNING", "PENDING", ... ("CANCELLED by 0" is cut to "CANCELLED") */
  state: string;
  /** The full State text ("CANCELLED by 0") */
  stateText: string;
  /** "exit:signal" as sacct prints it */
  exitCode?: string;
  cluster?: string;
  user?: string;
  workDir?: string;
  submitLine?: string;
  /** ms since epoch; undefined when SLURM says "Unknown"/"None" (not started, not ended) */
  submitMs?: number;
  startMs?: number;
  endMs?: number;
  elapsedS?: number;
  /** user + system CPU seconds of the processes (TotalCPU), exact (from rusage) */
  totalCpuS?: number;
  allocCpus?: number;
  nNodes?: number;
  nodeList?: string;
  /** AllocTRES as a map: cpu, mem (bytes), node, billing, gres/gpu, gres/gpu:a100, energy (J) ... */
  allocTres: Record<string, number>;
  /** ConsumedEnergyRaw, J; undefined when blank */
  energyJ?: number;
}

const UNITS: Record<string, number> = { '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };
const BIN_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };

/**
 * `[DD-[HH:]]MM:SS[.mmm]` and `HH:MM:SS` → seconds. sacct prints TotalCPU as `MM:SS.mmm` under an hour and
 * `HH:MM:SS` above; squeue prints `M:SS`, `H:MM:SS`, `D-HH:MM:SS`. Undefined for "", "INVALID", "UNLIMITED".
 */
export function parseSlurmDuration(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$/.exec(text.trim());
  if (!m) {
    const d = /^(\d+)-(\d+)$/.exec(text.trim()); // "D-HH" (squeue's shortest day form)
    return d ? Number(d[1]) * 86400 + Number(d[2]) * 3600 : undefined;
  }
  const [, days, hours, minutes, seconds] = m;
  return Number(days ?? 0) * 86400 + Number(hours ?? 0) * 3600 + Number(minutes) * 60 + Number(seconds);
}

/** "4.58M" (ConsumedEnergy), "20543125" (ConsumedEnergyRaw) → joules; undefined for blank or unreadable. */
export function parseEnergyJ(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const m = /^(\d+(?:\.\d+)?)([KMGTP]?)$/.exec(text.trim());
  return m ? Number(m[1]) * UNITS[m[2]] : undefined;
}

/** A memory figure as SLURM prints it ("1G", "1840000M", "628748K", "14852K", "24105") → bytes (SLURM's units are MiB by default). */
export function parseMemBytes(text: string, defaultUnit = 'M'): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMGTP]?)[nc]?$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * BIN_UNITS[m[2] || defaultUnit];
}

/**
 * A TRES string, "billing=1152,cpu=1152,energy=20543125,mem=1840000M,node=4,gres/gpu:a100=4" → a map. mem (and
 * gres/gpumem, vmem) become bytes; cpu in usage strings ("cpu=00:00:11") becomes seconds; other values numbers.
 */
export function parseTres(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!text) return out;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    let v: number | undefined;
    if (key === 'cpu' && raw.includes(':')) v = parseSlurmDuration(raw);
    else if (key === 'mem' || key === 'vmem' || key.endsWith('mem')) v = parseMemBytes(raw);
    else if (key === 'energy') v = parseEnergyJ(raw);
    else v = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : parseEnergyJ(raw);
    if (v !== undefined && Number.isFinite(v)) out[key] = v;
  }
  return out;
}

/** GPUs in a TRES map: "gres/gpu" when present, else the sum of the typed "gres/gpu:<type>" entries. */
export function gpusInTres(tres: Record<string, number>): { count: number; types: { type: string; count: number }[] } {
  const types: { type: string; count: number }[] = [];
  for (const [k, v] of Object.entries(tres)) {
    const m = /^gres\/gpu:([^=:]+)$/.exec(k);
    if (m && !/^(mem|util)/.test(m[1])) types.push({ type: m[1], count: v });
  }
  const typed = types.reduce((s, t) => s + t.count, 0);
  return { count: tres['gres/gpu'] ?? typed, types };
}

/**
 * "123" → {jobId 123}; "123.batch" → step batch; "123_4.0" → array task 4, step 0; "123_[1-5]" (pending array) →
 * jobId "123_[1-5]"; "123+1.0" → het component 1, step 0.
 */
export function splitJobId(text: string): { jobId: string; stepId?: string } {
  const t = text.trim();
  const dot = t.indexOf('.', t.lastIndexOf(']') + 1);
  return dot > 0 ? { jobId: t.slice(0, dot), stepId: t.slice(dot + 1) } : { jobId: t };
}

/** The base state: "CANCELLED by 0" → "CANCELLED"; "RUNNING" stays. */
export function baseState(state: string): string {
  return (state.trim().split(/[\s,]+/)[0] ?? '').toUpperCase();
}

/** SLURM's timestamps ("2024-03-15T20:24:16", "2024-03-15-20:24:16", "Unknown", "None") → ms since epoch (local time, as SLURM prints). */
export function parseSlurmTime(text: string | undefined): number | undefined {
  if (!text) return undefined;
  if (/^\d{9,11}$/.test(text.trim())) return Number(text.trim()) * 1000; // SLURM_TIME_FORMAT=%s
  const m = /^(\d{4})-(\d{2})-(\d{2})[T-](\d{2}):(\d{2}):(\d{2})$/.exec(text.trim());
  if (!m) return undefined;
  const t = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]).getTime();
  return Number.isFinite(t) ? t : undefined;
}

/** The fields Carbon Meter asks sacct for, in this order. */
export const SACCT_FIELDS = [
  'JobID',
  'JobIDRaw',
  'JobName',
  'State',
  'ExitCode',
  'Cluster',
  'User',
  'WorkDir',
  'Submit',
  'Start',
  'End',
  'ElapsedRaw',
  'TotalCPU',
  'AllocCPUS',
  'NNodes',
  'NodeList',
  'AllocTRES',
  'ConsumedEnergyRaw',
] as const;

/**
 * sacct's tabular outputs → rows of named fields: `--parsable2` ("a|b"), `--parsable`/`-p` ("a|b|") and the default
 * fixed-width table (a header, a line of dashes giving the column widths). A header line is required (no -n).
 */
export function parseSacctTable(text: string): Record<string, string>[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (!lines.length) return [];
  if (lines[0].includes('|')) {
    const cut = (l: string) => (l.endsWith('|') ? l.slice(0, -1) : l).split('|');
    const head = cut(lines[0]).map((h) => h.trim());
    return lines.slice(1).map((l) => {
      const cells = cut(l);
      const row: Record<string, string> = {};
      head.forEach((h, i) => (row[h] = (cells[i] ?? '').trim()));
      return row;
    });
  }
  // fixed width: column i spans the i-th run of dashes
  if (lines.length < 2 || !/^[-\s]+$/.test(lines[1])) return [];
  const spans: [number, number][] = [];
  const re = /-+/g;
  for (let m = re.exec(lines[1]); m; m = re.exec(lines[1])) spans.push([m.index, m.index + m[0].length]);
  const head = spans.map(([a, b]) => lines[0].slice(a, b).trim());
  return lines.slice(2).map((l) => {
    const row: Record<string, string> = {};
    head.forEach((h, i) => (row[h] = l.slice(spans[i][0], spans[i][1]).trim()));
    return row;
  });
}

/** Case-insensitive field access: sacct prints the names as asked ("jobid" or "JobID"). */
function field(row: Record<string, string>, name: string): string | undefined {
  if (name in row) return row[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(row)) if (k.toLowerCase() === lower) return row[k];
  return undefined;
}

function num(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Rows of a sacct table → records. Rows without a JobID are skipped; truncated ids ("2658300.bat+") are mended. */
export function sacctRowsToRecords(rows: Record<string, string>[]): SlurmRecord[] {
  const out: SlurmRecord[] = [];
  for (const row of rows) {
    const id = field(row, 'JobID');
    // a job id starts with a digit; anything else is a continuation of a multi-line field (a --wrap script)
    if (!id || !/^\d/.test(id)) continue;
    const { jobId, stepId } = splitJobId(id);
    const step =
      stepId === 'bat+' ? 'batch' : stepId === 'ext+' ? 'extern' : stepId === 'int+' ? 'interactive' : stepId;
    const stateText = field(row, 'State') ?? '';
    const elapsed = num(field(row, 'ElapsedRaw')) ?? parseSlurmDuration(field(row, 'Elapsed'));
    const energy = parseEnergyJ(field(row, 'ConsumedEnergyRaw')) ?? parseEnergyJ(field(row, 'ConsumedEnergy'));
    const rec: SlurmRecord = {
      jobId,
      name: field(row, 'JobName') ?? '',
      state: baseState(stateText),
      stateText,
      allocTres: parseTres(field(row, 'AllocTRES')),
    };
    if (step !== undefined) rec.stepId = step;
    const set = <K extends keyof SlurmRecord>(k: K, v: SlurmRecord[K] | undefined) => {
      if (v !== undefined && v !== '') rec[k] = v;
    };
    set('jobIdRaw', field(row, 'JobIDRaw'));
    set('exitCode', field(row, 'ExitCode'));
    set('cluster', field(row, 'Cluster'));
    set('user', field(row, 'User'));
    set('workDir', field(row, 'WorkDir'));
    set('submitLine', field(row, 'SubmitLine'));
    set('submitMs', parseSlurmTime(field(row, 'Submit')));
    set('startMs', parseSlurmTime(field(row, 'Start')));
    set('endMs', parseSlurmTime(field(row, 'End')));
    set('elapsedS', elapsed);
    set('totalCpuS', parseSlurmDuration(field(row, 'TotalCPU')));
    set('allocCpus', num(field(row, 'AllocCPUS')) ?? num(field(row, 'NCPUS')));
    set('nNodes', num(field(row, 'NNodes')) ?? num(field(row, 'AllocNodes')));
    set('nodeList', field(row, 'NodeList'));
    set('energyJ', energy);
    out.push(rec);
  }
  return out;
}

/** `sacct --parsable2` (or -p, or the default table) text → records. */
export function parseSacct(text: string): SlurmRecord[] {
  return sacctRowsToRecords(parseSacctTable(text));
}
