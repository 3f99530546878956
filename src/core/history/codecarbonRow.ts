/**
 * One CodeCarbon emissions.csv row as a Carbon Meter `Run` (the import side of codecarbon.ts); its history line is
 * codecarbonLine.ts.
 *
 * Built for files of hundreds of thousands of rows (issue 9: ≥ 50,000 rows/s): the header is resolved once into
 * column indices, a cell is only trimmed or unescaped when its ends call for it, each number is parsed once, times
 * are formatted without a Date per row (`isoTime`), and the record is built in its final shape (no `delete`, which
 * would turn it into a slow dictionary object).
 */
import type { ComponentPower, GpuInfo, Run, RunIntensity } from '../types';
import { J_PER_KWH } from '../types';
import { findRegion, type RegionInfo } from '../intensity/regions';
import { runProblem } from './records';
import { unescapeCsvCell, type CsvRecord } from './csv';
import { errorMessage } from '../errors';
import { isoTime } from './isoTime';
import { isPlain } from './utf8Text';
import { sha256Hex } from '../util/hash';

/** The intensity of an imported run: CodeCarbon's own figure, its emissions ÷ its energy (method `imported`). */
export const CODECARBON_IMPORT_SOURCE = "CodeCarbon's emissions.csv (its emissions ÷ its energy)";
/** The `detail` of an imported run's power figures, and its `source`. */
export const IMPORT_DETAIL = 'imported from CodeCarbon';
export const IMPORT_SOURCE = 'codecarbon-import';

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
  /** the indices of the NON_NEGATIVE columns, in their order */
  numeric: number[];
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
  return { width: header.length, col, ix, numeric: NON_NEGATIVE.map((c) => ix[c]) };
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
    const result = rowToRun(new Row(header, rec.fields), rec.line, opts);
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
  readonly numeric: number[];
  private readonly ix: Record<ReadColumn, number>;

  constructor(
    header: CodeCarbonHeader,
    private readonly fields: string[],
  ) {
    this.ix = header.ix;
    this.numeric = header.numeric;
  }

  get(c: ReadColumn): string {
    return this.cell(this.ix[c]);
  }

  /** The cell of column `i` (-1: a column the file lacks). */
  cell(i: number): string {
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

/**
 * The last valid cell of each NON_NEGATIVE column and its number: many columns hold the same text from row to row
 * (the counts, the RAM size, a power that CodeCarbon models as a constant), and a string comparison is cheaper than
 * parsing the number again.
 */
const lastCells: string[] = NON_NEGATIVE.map(() => '');
const lastNumbers: (number | undefined)[] = NON_NEGATIVE.map(() => undefined);

/** Columns of NON_NEGATIVE, read: a number, undefined when empty, or (as a string) why not. */
function readNonNegative(row: Row, out: (number | undefined)[]): string | undefined {
  const numeric = row.numeric;
  for (let k = 0; k < NON_NEGATIVE.length; k++) {
    const raw = row.cell(numeric[k]);
    let x: number | undefined;
    if (raw === lastCells[k]) x = lastNumbers[k];
    else if (raw) {
      x = numberCell(raw);
      if (x === undefined) {
        // CodeCarbon writes "nan" for unknown values; treat it as empty
        if (!NAN_WORDS.test(raw))
          return `invalid ${NON_NEGATIVE[k]}: ${JSON.stringify(raw.slice(0, 40))} is not a number`;
      } else if (x < 0) {
        return `negative ${NON_NEGATIVE[k]}: ${raw.slice(0, 40)}`;
      }
      lastCells[k] = raw;
      lastNumbers[k] = x;
    }
    out[k] = x;
  }
  return undefined;
}

/** GPU lists by gpu_model and gpu_count (rows repeat the same few): parsed once, copied for each run. */
const gpuLists = new Map<string, GpuInfo[]>();

/** The last row's gpu_model and gpu_count, and their list: most files name one machine throughout. */
let lastGpus: { model: string; count: number | undefined; list: GpuInfo[] } | undefined;

function parseGpus(model: string, count: number | undefined): GpuInfo[] {
  let list: GpuInfo[] | undefined;
  if (lastGpus && lastGpus.model === model && lastGpus.count === count) list = lastGpus.list;
  else {
    const key = `${count ?? ''}|${model}`;
    list = gpuLists.get(key);
    if (!list) {
      list = parseGpuModel(model, count);
      if (gpuLists.size > 1000) gpuLists.clear();
      gpuLists.set(key, list);
    }
    lastGpus = { model, count, list };
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

/**
 * "cc-" and the first 24 hex digits of the key's SHA-256, put together here and read out as one flat string: the
 * id is a key of the import's map of runs (one entry per run of the file), which hashes and compares it, and a
 * string made by `+` and `slice` is a tree of pieces that holds the whole 64-digit hex digest.
 */
const idBytes = Buffer.from('cc-' + '0'.repeat(24), 'latin1');

/** The id of the previous row's key: the cumulative flush rows of one run_id usually follow each other. */
let lastKey = '';
let lastId = '';

/**
 * A run id that Carbon Meter made (a metered run, an import, a SLURM job; CodeCarbon's own run_id is a UUID): a
 * row of Carbon Meter's export read back keeps its run's id, so importing an export into the history it came from
 * adds nothing, and into another history keeps the run one run. Plain (utf8Text.ts isPlain) by construction.
 */
const OWN_RUN_ID = /^(?:\d{8}T\d{6}Z-[0-9a-z]{1,13}-[0-9a-z]{6}|cc-[0-9a-f]{24}|slurm-[A-Za-z0-9._-]{1,180})$/;

function importId(runId: string, ownId: boolean, project: string, timestamp: string): string {
  if (ownId) return runId;
  const key = runId ? `codecarbon\0${runId}` : `codecarbon\0${project}\0${timestamp}`;
  if (key !== lastKey) {
    const hex = sha256Hex(key);
    for (let k = 0; k < 24; k++) idBytes[3 + k] = hex.charCodeAt(k);
    lastId = idBytes.toString('latin1');
    lastKey = key;
  }
  return lastId;
}

/** A component's power: its mean from its energy, its last from CodeCarbon's power column (else the mean). */
function component(energyKWh: number, durationS: number, powerW: number | undefined): ComponentPower {
  const meanW = durationS > 0 ? (energyKWh * J_PER_KWH) / durationS : 0;
  return { method: 'default', detail: IMPORT_DETAIL, meanW, lastW: powerW ?? meanW };
}

/** The last "imported from CodeCarbon 3.0.1 (emissions.csv, line " and what it was made of. */
let lastImportedFrom = { version: '', fileName: undefined as string | undefined, text: '', plain: true };

/** The first note of an imported run, up to its line number. */
function importedFrom(version: string, fileName: string | undefined): string {
  const l = lastImportedFrom;
  if (!l.text || l.version !== version || l.fileName !== fileName) {
    const text = `imported from CodeCarbon${version ? ' ' + version : ''} ${fileName ? `(${fileName}, line ` : '(line '}`;
    lastImportedFrom = { version, fileName, text, plain: isPlain(text) };
  }
  return lastImportedFrom.text;
}

/**
 * Strings of the last run built here that are plain (printable ASCII, no quote or backslash: utf8Text.ts `isPlain`)
 * by construction: its id (hex digits), its times (isoTime's digits and signs) and, when the file's name and version
 * are plain, its first note (they and the line number); `previousPlain`, the same of the run built before it. The
 * history line of a run (codecarbonLine.ts) is written right after it is built, or after the next one (the import
 * holds one run back, import.ts), and puts a string equal to one of these in as it is, without testing it again
 * (an equal string is as plain); any other string is tested.
 */
export const lastPlain = { id: '', startedAt: '', endedAt: '', firstNote: '' };
export const previousPlain = { id: '', startedAt: '', endedAt: '', firstNote: '' };

/** What an imported run's notes say: where it came from, and what the file could not tell. */
function importNotes(
  row: Row,
  line: number,
  opts: CodeCarbonImportOptions,
  runId: string,
  ownId: boolean,
  haveParts: boolean,
  haveUtilization: boolean,
): string[] {
  const notes: string[] = [importedFrom(row.get('codecarbon_version'), opts.fileName) + line + ')'];
  if (runId && !ownId) notes.push(`CodeCarbon run_id ${runId}`);
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
  const [
    durationS,
    emissionsKg,
    cpuE,
    gpuE,
    ramE,
    consumed,
    cpuW,
    gpuW,
    ramW,
    cpuCount,
    gpuCount,
    ramTotal,
    utilization,
  ] = n;
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
  const ownId = OWN_RUN_ID.test(runId);
  const notes = importNotes(row, line, opts, runId, ownId, haveParts, utilization !== undefined);
  const cpuSeconds = utilization !== undefined && cpuCount ? (utilization / 100) * durationS * cpuCount : 0;
  const id = importId(runId, ownId, project, timestamp);
  const startedAt = isoTime(startMs);
  const endedAt = isoTime(endMs);
  previousPlain.id = lastPlain.id;
  previousPlain.startedAt = lastPlain.startedAt;
  previousPlain.endedAt = lastPlain.endedAt;
  previousPlain.firstNote = lastPlain.firstNote;
  lastPlain.id = id;
  lastPlain.startedAt = startedAt;
  lastPlain.endedAt = endedAt;
  // a note that is not plain is never equal to a plain id
  lastPlain.firstNote = lastImportedFrom.plain ? notes[0] : id;

  return {
    id,
    name: project || 'codecarbon',
    command: '',
    cwd: '',
    source: IMPORT_SOURCE,
    startedAt,
    endedAt,
    durationS,
    status: 'completed',
    cpuSeconds,
    energyKWh,
    emissionsKg,
    pue,
    pueSource: pueCell !== undefined ? 'CodeCarbon pue column' : 'CodeCarbon default (1.0)',
    intensity: intensityOf(row, opts, total > 0 ? (emissionsKg * 1000) / total : 0),
    power: {
      cpu: component(energyKWh.cpu, durationS, cpuW),
      gpu: component(energyKWh.gpu, durationS, gpuW),
      ram: component(energyKWh.ram, durationS, ramW),
    },
    hardware: importedHardware(row, cpuCount, gpuCount, ramTotal),
    notes,
  };
}

/** The machine a CodeCarbon row names (`os` only when the file has it: the record keeps one shape per case). */
function importedHardware(
  row: Row,
  cpuCount: number | undefined,
  gpuCount: number | undefined,
  ramTotal: number | undefined,
): Run['hardware'] {
  const os = row.get('os');
  const cpuModel = row.get('cpu_model') || 'unknown';
  const gpus = parseGpus(row.get('gpu_model'), gpuCount);
  return os
    ? { cpuModel, logicalCpus: cpuCount ?? 0, ramGB: ramTotal ?? 0, gpus, os }
    : { cpuModel, logicalCpus: cpuCount ?? 0, ramGB: ramTotal ?? 0, gpus };
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

/** Where a run ran: the region code, its name and which columns said so. */
interface Place {
  region: string;
  regionName?: string;
  regionReason?: string;
}

/** The place columns of the last row, and the place they gave: the rows of a file repeat the same place. */
let lastPlace: { opts: CodeCarbonImportOptions; cells: readonly string[]; place: Place } | undefined;

/**
 * Where the run ran, named as native runs name it: a cloud region ("aws:eu-west-3") or a country ("FR", "France")
 * from the intensity tables, else CodeCarbon's own code and name; `regionReason` says which columns said so. The
 * figure is CodeCarbon's (method `imported`).
 */
function intensityOf(row: Row, opts: CodeCarbonImportOptions, gPerKWh: number): RunIntensity {
  const provider = row.get('cloud_provider');
  const cloudRegion = row.get('cloud_region');
  const iso = row.get('country_iso_code');
  const country = row.get('country_name');
  const subRegion = row.get('region');
  const l = lastPlace;
  let place: Place;
  if (
    l &&
    l.opts === opts &&
    l.cells[0] === provider &&
    l.cells[1] === cloudRegion &&
    l.cells[2] === iso &&
    l.cells[3] === country &&
    l.cells[4] === subRegion
  )
    place = l.place;
  else {
    place = placeOf(opts, provider, cloudRegion, iso, country, subRegion);
    lastPlace = { opts, cells: [provider, cloudRegion, iso, country, subRegion], place };
  }
  const { region, regionName, regionReason } = place;
  const source = CODECARBON_IMPORT_SOURCE;
  const method = 'imported';
  return regionName === undefined
    ? { gPerKWh, region, source, method, factorType: 'average', regionReason }
    : { gPerKWh, region, regionName, source, method, factorType: 'average', regionReason };
}

function placeOf(
  opts: CodeCarbonImportOptions,
  cloudProvider: string,
  cloudRegion: string,
  countryIso: string,
  countryName: string,
  subRegion: string,
): Place {
  const provider = cloudProvider.toLowerCase();
  const iso3 = countryIso.toUpperCase();
  if (provider && cloudRegion) {
    const known = knownRegion(`${provider}:${cloudRegion}`);
    return {
      region: known?.code ?? `${provider}:${cloudRegion}`,
      regionName: known?.name ?? `${provider.toUpperCase()} ${cloudRegion}${countryName ? ` (${countryName})` : ''}`,
      regionReason: `CodeCarbon's cloud_provider and cloud_region (${provider} ${cloudRegion})`,
    };
  }
  if (iso3) {
    const code = opts.fromAlpha3 ? opts.fromAlpha3(iso3) : knownRegion(iso3)?.code;
    const known = code ? knownRegion(code) : undefined;
    return {
      region: code ?? iso3,
      regionName: known?.name ?? (countryName || undefined),
      regionReason: `CodeCarbon's country_iso_code ${iso3}${subRegion ? ` (region ${subRegion})` : ''}`,
    };
  }
  return { region: '' };
}
