/**
 * One CodeCarbon emissions.csv row as a Carbon Meter `Run` (the import side of codecarbon.ts), and that run as a
 * history line.
 *
 * Built for files of hundreds of thousands of rows (issue 9: ≥ 50,000 rows/s): the header is resolved once into
 * column indices, a cell is only trimmed or unescaped when its ends call for it, the record is built in its final
 * shape (no `delete`, which would turn it into a slow dictionary object), and `importedRunLine` writes the line
 * without the generic walk of JSON.stringify over the whole record, byte for byte what `runLine` writes (a unit test
 * holds them equal).
 */
import * as crypto from 'node:crypto';
import type { GpuInfo, Run, RunIntensity } from '../types';
import { J_PER_KWH } from '../types';
import { findRegion, type RegionInfo } from '../intensity/regions';
import { HISTORY_FORMAT_VERSION, runProblem } from './records';
import { unescapeCsvCell, type CsvRecord } from './csv';
import { errorMessage } from '../errors';

/** The intensity of an imported run: CodeCarbon's own figure, its emissions ÷ its energy (method `imported`). */
export const CODECARBON_IMPORT_SOURCE = "CodeCarbon's emissions.csv (its emissions ÷ its energy)";
const IMPORT_DETAIL = 'imported from CodeCarbon';

export interface CodeCarbonImportOptions {
  /** Named in the notes of imported runs. */
  fileName?: string;
  /** ISO 3166 alpha-3 → the region code Carbon Meter uses ("FRA" → "FR"); default: the intensity tables. */
  fromAlpha3?: (alpha3: string) => string | undefined;
}

/** The longest duration an imported row may claim (ten years); anything longer is a broken row. */
export const MAX_IMPORT_DURATION_S = 10 * 366 * 24 * 3600;

/** A row (or the header) that could not be imported: its 1-based line, a short kind for summaries, and why. */
export interface CodeCarbonRowError {
  line: number;
  /** what went wrong, without the row's values ("invalid duration"), to group errors in a summary */
  kind: string;
  reason: string;
}

/** Columns that must hold a finite number ≥ 0 when not empty, in the order they are checked. */
const NON_NEGATIVE = [
  'duration',
  'emissions',
  'cpu_energy',
  'gpu_energy',
  'ram_energy',
  'energy_consumed',
  'cpu_power',
  'gpu_power',
  'ram_power',
  'cpu_count',
  'gpu_count',
  'ram_total_size',
  'cpu_utilization_percent',
] as const;

/** The columns the import reads: the numeric ones above and these. */
const READ_COLUMNS = [
  'timestamp',
  'project_name',
  'run_id',
  ...NON_NEGATIVE,
  'pue',
  'codecarbon_version',
  'tracking_mode',
  'cloud_provider',
  'cloud_region',
  'country_iso_code',
  'country_name',
  'region',
  'cpu_model',
  'gpu_model',
  'os',
] as const;
type ReadColumn = (typeof READ_COLUMNS)[number];

const REQUIRED = ['timestamp', 'duration', 'emissions'];

/** The columns of a CodeCarbon header, or why it is not one. */
export interface CodeCarbonHeader {
  width: number;
  col: Map<string, number>;
  /** index of each column the import reads; -1 when the file lacks it */
  ix: Record<ReadColumn, number>;
}

export function codeCarbonHeader(rec: CsvRecord): CodeCarbonHeader | CodeCarbonRowError {
  const header = rec.fields.map((h) => h.trim().toLowerCase());
  const col = new Map<string, number>();
  header.forEach((h, i) => {
    if (h && !col.has(h)) col.set(h, i);
  });
  const missing = REQUIRED.filter((c) => !col.has(c));
  if (!col.has('energy_consumed') && !['cpu_energy', 'gpu_energy', 'ram_energy'].some((c) => col.has(c))) {
    missing.push('energy_consumed');
  }
  if (missing.length) {
    return {
      line: rec.line,
      kind: 'not a CodeCarbon emissions.csv',
      reason: `not a CodeCarbon emissions.csv: no column ${missing.join(', ')}`,
    };
  }
  const ix = {} as Record<ReadColumn, number>;
  for (const c of READ_COLUMNS) ix[c] = col.get(c) ?? -1;
  return { width: header.length, col, ix };
}

/** One data row as a Run, or why it cannot be one. Never throws. The run passed `runProblem`. */
export function codeCarbonRow(
  header: CodeCarbonHeader,
  rec: CsvRecord,
  opts: CodeCarbonImportOptions = {},
): Run | CodeCarbonRowError {
  if (rec.fields.length !== header.width) {
    return {
      line: rec.line,
      kind: 'wrong number of fields',
      reason: `${rec.fields.length} fields where the header has ${header.width} (a row appended with columns dropped?)`,
    };
  }
  try {
    const result = rowToRun(new Row(header.ix, rec.fields), rec.line, opts);
    if (typeof result !== 'string') {
      // rowToRun builds every field with its type; only a computed figure can overflow (1e308 + 1e308): the full
      // check, with its message, runs only then
      const problem = allFinite(result) ? undefined : runProblem(result);
      return problem ? { line: rec.line, kind: 'not storable', reason: `not storable: ${problem}` } : result;
    }
    const colon = result.indexOf(':');
    return { line: rec.line, kind: colon > 0 ? result.slice(0, colon) : result, reason: result };
  } catch (err) {
    return { line: rec.line, kind: 'unreadable row', reason: `unreadable row: ${errorMessage(err)}` };
  }
}

/** Whether every number of a run built by rowToRun is finite (then `runProblem` has nothing to say about it). */
function allFinite(r: Run): boolean {
  const e = r.energyKWh;
  const p = r.power;
  const f = Number.isFinite;
  return (
    f(r.durationS) &&
    f(r.cpuSeconds) &&
    f(r.emissionsKg) &&
    f(r.pue) &&
    f(e.cpu) &&
    f(e.gpu) &&
    f(e.ram) &&
    f(e.total) &&
    f(r.intensity.gPerKWh) &&
    f(p.cpu.meanW) &&
    f(p.cpu.lastW) &&
    f(p.gpu.meanW) &&
    f(p.gpu.lastW) &&
    f(p.ram.meanW) &&
    f(p.ram.lastW) &&
    f(r.hardware.logicalCpus) &&
    f(r.hardware.ramGB)
  );
}

export function supersededNote(rows: number): string {
  return `${rows} earlier row(s) of this run_id (cumulative flushes) were superseded by this one`;
}

/** The cells of one row by column name: trimmed and formula-unescaped, '' for a column the file lacks. */
class Row {
  constructor(
    private readonly ix: Record<ReadColumn, number>,
    private readonly fields: string[],
  ) {}

  get(c: ReadColumn): string {
    const i = this.ix[c];
    if (i < 0) return '';
    const v = this.fields[i];
    if (!v.length) return v;
    // most cells need neither trimming nor unescaping: test the ends before allocating
    const a = v.charCodeAt(0);
    return a === 0x27 || a <= 0x20 || v.charCodeAt(v.length - 1) <= 0x20 ? unescapeCsvCell(v.trim()) : v;
  }
}

/** A number from a CodeCarbon cell: empty, "nan" and the like are undefined. */
function numberCell(v: string): number | undefined {
  if (!v) return undefined;
  const x = Number(v); // the cell is trimmed; Number('') would be 0, hence the test above
  return Number.isFinite(x) ? x : undefined;
}

const NAN_WORDS = /^[-+]?(nan|none|null)$/i;

/** Columns of NON_NEGATIVE, read: a number, undefined when empty, or (as a string) why not. */
function readNonNegative(row: Row, out: (number | undefined)[]): string | undefined {
  for (let k = 0; k < NON_NEGATIVE.length; k++) {
    const column = NON_NEGATIVE[k];
    const raw = row.get(column);
    let x: number | undefined;
    if (raw) {
      x = numberCell(raw);
      if (x === undefined) {
        // CodeCarbon writes "nan" for unknown values; treat it as empty
        if (!NAN_WORDS.test(raw)) return `invalid ${column}: ${JSON.stringify(raw.slice(0, 40))} is not a number`;
      } else if (x < 0) {
        return `negative ${column}: ${raw.slice(0, 40)}`;
      }
    }
    out[k] = x;
  }
  return undefined;
}

/** GPU lists by gpu_model and gpu_count (rows repeat the same few): parsed once, copied for each run. */
const gpuLists = new Map<string, GpuInfo[]>();

function parseGpus(model: string, count: number | undefined): GpuInfo[] {
  const key = `${count ?? ''}|${model}`;
  let list = gpuLists.get(key);
  if (!list) {
    list = parseGpuModel(model, count);
    if (gpuLists.size > 1000) gpuLists.clear();
    gpuLists.set(key, list);
  }
  const out: GpuInfo[] = new Array<GpuInfo>(list.length);
  for (let k = 0; k < list.length; k++) out[k] = { index: list[k].index, name: list[k].name };
  return out;
}

function parseGpuModel(model: string, count: number | undefined): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  if (model) {
    // "2 x Tesla V100S-PCIE-32GB" or "1 x NVIDIA A100, 1 x NVIDIA T4"
    const parts = model.split(/,\s*(?=\d+\s*x\s)/);
    for (const part of parts) {
      const pm = /^(\d+)\s*x\s+(.+)$/.exec(part.trim());
      const n = pm ? Number(pm[1]) : (count ?? 1);
      const name = pm ? pm[2].trim() : part.trim();
      for (let k = 0; k < n && gpus.length < 1024; k++) gpus.push({ index: gpus.length, name });
    }
  } else if (count) {
    for (let k = 0; k < count && k < 1024; k++) gpus.push({ index: k, name: 'unknown GPU' });
  }
  return gpus;
}

/** crypto.hash (Node ≥ 20.12) is a single call; createHash builds a Hash object per row. Same digest. */
const sha256Hex: (s: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (s) => (crypto as unknown as { hash(alg: string, data: string, enc: 'hex'): string }).hash('sha256', s, 'hex')
    : (s) => crypto.createHash('sha256').update(s).digest('hex');

/** The id of the previous row's key: the cumulative flush rows of one run_id usually follow each other. */
let lastKey = '';
let lastId = '';

function importId(runId: string, project: string, timestamp: string): string {
  const key = runId ? `codecarbon\0${runId}` : `codecarbon\0${project}\0${timestamp}`;
  if (key !== lastKey) {
    lastId = 'cc-' + sha256Hex(key).slice(0, 24);
    lastKey = key;
  }
  return lastId;
}

const COMPONENT_POWER_COLUMN = { cpu: 'cpu_power', gpu: 'gpu_power', ram: 'ram_power' } as const;

/** What an imported run's notes say: where it came from, and what the file could not tell. */
function importNotes(
  row: Row,
  line: number,
  opts: CodeCarbonImportOptions,
  runId: string,
  haveParts: boolean,
  haveUtilization: boolean,
): string[] {
  const version = row.get('codecarbon_version');
  const notes: string[] = [
    `imported from CodeCarbon${version ? ' ' + version : ''} ${opts.fileName ? `(${opts.fileName}, line ${line})` : `(line ${line})`}`,
  ];
  if (runId) notes.push(`CodeCarbon run_id ${runId}`);
  if (row.get('tracking_mode') === 'machine')
    notes.push('CodeCarbon measured the whole machine (tracking_mode machine), not one process tree');
  if (!haveParts) notes.push('the file has no per-component energy');
  if (!haveUtilization) notes.push('CPU time not in the file');
  return notes;
}

function rowToRun(row: Row, line: number, opts: CodeCarbonImportOptions): Run | string {
  const timestamp = row.get('timestamp');
  const endMs = Date.parse(timestamp); // no zone: local time, as CodeCarbon wrote it
  if (!Number.isFinite(endMs)) return `invalid timestamp: ${JSON.stringify(timestamp.slice(0, 40))}`;
  const n: (number | undefined)[] = new Array<number | undefined>(NON_NEGATIVE.length);
  const bad = readNonNegative(row, n);
  if (bad) return bad;
  const [durationS, emissionsKg, cpuE, gpuE, ramE, consumed, , , , cpuCount, gpuCount, ramTotal, utilization] = n;
  if (durationS === undefined) return `invalid duration: ${JSON.stringify(row.get('duration').slice(0, 40))}`;
  if (durationS > MAX_IMPORT_DURATION_S)
    return `invalid duration: ${row.get('duration').slice(0, 40)} s is more than ten years`;
  const startMs = endMs - durationS * 1000;
  if (!(startMs >= 0))
    return `invalid timestamp: ${JSON.stringify(timestamp.slice(0, 40))} minus the duration is before 1970`;
  if (emissionsKg === undefined) return `invalid emissions: ${JSON.stringify(row.get('emissions').slice(0, 40))}`;

  const pueCell = numberCell(row.get('pue'));
  const pue = pueCell !== undefined && pueCell > 0 ? pueCell : 1;
  const haveParts = cpuE !== undefined || gpuE !== undefined || ramE !== undefined;
  if (consumed === undefined && !haveParts) return 'no energy: energy_consumed and the component energies are empty';
  const total = consumed ?? (cpuE ?? 0) + (gpuE ?? 0) + (ramE ?? 0);
  // CodeCarbon's component energies include PUE; ours do not
  const energyKWh = { cpu: (cpuE ?? 0) / pue, gpu: (gpuE ?? 0) / pue, ram: (ramE ?? 0) / pue, total };

  const runId = row.get('run_id');
  const project = row.get('project_name');
  const notes = importNotes(row, line, opts, runId, haveParts, utilization !== undefined);
  const cpuSeconds = utilization !== undefined && cpuCount ? (utilization / 100) * durationS * cpuCount : 0;

  const component = (energy: number, c: keyof typeof COMPONENT_POWER_COLUMN) => {
    const meanW = durationS > 0 ? (energy * J_PER_KWH) / durationS : 0;
    return {
      method: 'default' as const,
      detail: IMPORT_DETAIL,
      meanW,
      lastW: numberCell(row.get(COMPONENT_POWER_COLUMN[c])) ?? meanW,
    };
  };
  const os = row.get('os');
  return {
    id: importId(runId, project, timestamp),
    name: project || 'codecarbon',
    command: '',
    cwd: '',
    source: 'codecarbon-import',
    startedAt: new Date(startMs).toISOString(),
    endedAt: new Date(endMs).toISOString(),
    durationS,
    status: 'completed',
    cpuSeconds,
    energyKWh,
    emissionsKg,
    pue,
    pueSource: pueCell !== undefined ? 'CodeCarbon pue column' : 'CodeCarbon default (1.0)',
    intensity: intensityOf(row, opts, total > 0 ? (emissionsKg * 1000) / total : 0),
    power: {
      cpu: component(energyKWh.cpu, 'cpu'),
      gpu: component(energyKWh.gpu, 'gpu'),
      ram: component(energyKWh.ram, 'ram'),
    },
    hardware: os
      ? {
          cpuModel: row.get('cpu_model') || 'unknown',
          logicalCpus: cpuCount ?? 0,
          ramGB: ramTotal ?? 0,
          gpus: parseGpus(row.get('gpu_model'), gpuCount),
          os,
        }
      : {
          cpuModel: row.get('cpu_model') || 'unknown',
          logicalCpus: cpuCount ?? 0,
          ramGB: ramTotal ?? 0,
          gpus: parseGpus(row.get('gpu_model'), gpuCount),
        },
    notes,
  };
}

/** Regions by the code a CodeCarbon file gives (rows repeat the same few places): found once each. */
const knownRegions = new Map<string, RegionInfo | null>();

function knownRegion(code: string): RegionInfo | undefined {
  let r = knownRegions.get(code);
  if (r === undefined) {
    r = findRegion(code) ?? null;
    if (knownRegions.size > 10_000) knownRegions.clear();
    knownRegions.set(code, r);
  }
  return r ?? undefined;
}

/**
 * Where the run ran, named as native runs name it: a cloud region ("aws:eu-west-3") or a country ("FR", "France")
 * from the intensity tables, else CodeCarbon's own code and name; `regionReason` says which columns said so. The
 * figure is CodeCarbon's (method `imported`).
 */
function intensityOf(row: Row, opts: CodeCarbonImportOptions, gPerKWh: number): RunIntensity {
  const provider = row.get('cloud_provider').toLowerCase();
  const cloudRegion = row.get('cloud_region');
  const iso3 = row.get('country_iso_code').toUpperCase();
  const countryName = row.get('country_name');
  let region = '';
  let regionName: string | undefined;
  let regionReason: string | undefined;
  if (provider && cloudRegion) {
    const known = knownRegion(`${provider}:${cloudRegion}`);
    region = known?.code ?? `${provider}:${cloudRegion}`;
    regionName = known?.name ?? `${provider.toUpperCase()} ${cloudRegion}${countryName ? ` (${countryName})` : ''}`;
    regionReason = `CodeCarbon's cloud_provider and cloud_region (${provider} ${cloudRegion})`;
  } else if (iso3) {
    const code = opts.fromAlpha3 ? opts.fromAlpha3(iso3) : knownRegion(iso3)?.code;
    const known = code ? knownRegion(code) : undefined;
    const subRegion = row.get('region');
    region = code ?? iso3;
    regionName = known?.name ?? (countryName || undefined);
    regionReason = `CodeCarbon's country_iso_code ${iso3}${subRegion ? ` (region ${subRegion})` : ''}`;
  }
  const source = CODECARBON_IMPORT_SOURCE;
  const method = 'imported';
  return regionName === undefined
    ? { gPerKWh, region, source, method, factorType: 'average', regionReason }
    : { gPerKWh, region, regionName, source, method, factorType: 'average', regionReason };
}

// -----------------------------------------------------------------------------------------------------------------
// the history line of an imported run

/** JSON strings of the values that repeat from line to line (methods, details, models, regions), kept. */
const quoted = new Map<string, string>();

/** A string as JSON.stringify writes it; strings of up to 200 characters are kept for the next lines. */
function q(v: string): string {
  let out = quoted.get(v);
  if (out === undefined) {
    out = JSON.stringify(v);
    if (v.length <= 200) {
      if (quoted.size >= 4096) quoted.clear();
      quoted.set(v, out);
    }
  }
  return out;
}

/** A string that is new on every line (ids, times, notes): not kept. */
const qOnce = JSON.stringify;

/** A number as JSON.stringify writes it (non-finite numbers become null). */
function num(x: number): string {
  return Number.isFinite(x) ? String(x) : 'null';
}

/** An optional string member: `,"key":"value"`, nothing when undefined (as JSON.stringify leaves it out). */
function optStr(key: string, v: string | undefined, quote: (v: string) => string = q): string {
  return v === undefined ? '' : `,"${key}":${quote(v)}`;
}

function componentJson(c: Run['power']['cpu']): string {
  return `{"method":${q(c.method)},"detail":${q(c.detail)},"meanW":${num(c.meanW)},"lastW":${num(c.lastW)}}`;
}

/**
 * The history line of a run built by `codeCarbonRow` (after any superseded note and redaction): exactly
 * `runLine(run, at)`, without JSON.stringify's generic walk (about 3× faster). Only for records of that shape; any
 * other run goes through `runLine`.
 */
export function importedRunLine(run: Run, at: string): string {
  const e = run.energyKWh;
  const i = run.intensity;
  const h = run.hardware;
  let gpus = '';
  for (const g of h.gpus) gpus += `${gpus ? ',' : ''}{"index":${num(g.index)},"name":${q(g.name)}}`;
  let notes = '';
  for (const note of run.notes ?? []) notes += `${notes ? ',' : ''}${qOnce(note)}`;
  return (
    `{"v":${HISTORY_FORMAT_VERSION},"kind":"run","at":${q(at)},"run":{"id":${qOnce(run.id)},"name":${q(run.name)},` +
    `"command":${q(run.command)},"cwd":${q(run.cwd)},"source":${q(run.source)},"startedAt":${qOnce(run.startedAt)}` +
    `${optStr('endedAt', run.endedAt, qOnce)},"durationS":${num(run.durationS)},"status":${q(run.status)},"cpuSeconds":${num(run.cpuSeconds)},` +
    `"energyKWh":{"cpu":${num(e.cpu)},"gpu":${num(e.gpu)},"ram":${num(e.ram)},"total":${num(e.total)}},` +
    `"emissionsKg":${num(run.emissionsKg)},"pue":${num(run.pue)}${optStr('pueSource', run.pueSource)},` +
    `"intensity":{"gPerKWh":${num(i.gPerKWh)},"region":${q(i.region)}${optStr('regionName', i.regionName)},"source":${q(i.source)},` +
    `"method":${q(i.method)}${optStr('factorType', i.factorType)}${optStr('regionReason', i.regionReason)}},` +
    `"power":{"cpu":${componentJson(run.power.cpu)},"gpu":${componentJson(run.power.gpu)},"ram":${componentJson(run.power.ram)}},` +
    `"hardware":{"cpuModel":${q(h.cpuModel)},"logicalCpus":${num(h.logicalCpus)},"ramGB":${num(h.ramGB)},"gpus":[${gpus}]${optStr('os', h.os)}}` +
    `${run.notes ? `,"notes":[${notes}]` : ''}}}\n`
  );
}
