/**
 * CodeCarbon interop: export runs as CodeCarbon's `emissions.csv`, import such files (2.x and 3.x) as runs.
 *
 * What CodeCarbon writes (checked against mlco2/codecarbon: codecarbon/output_methods/emissions_data.py, the
 * EmissionsData dataclass whose field order is the CSV column order; codecarbon/emissions_tracker.py,
 * `_do_measurements` and `_prepare_emissions_data`; codecarbon/output_methods/file.py):
 * - units: duration s, emissions kg CO₂eq, emissions_rate kg/s, *_power W, *_energy and energy_consumed kWh,
 *   ram_total_size GB, water_consumed L;
 * - PUE is applied to every component's energy as it is measured (`energy *= self._pue`), so cpu_energy,
 *   gpu_energy and ram_energy include PUE and energy_consumed = their sum; emissions = energy_consumed × intensity.
 *   The *_power columns do not include PUE. Carbon Meter's EnergyKWh keeps components before PUE and
 *   total = (cpu + gpu + ram) × PUE, hence the × / ÷ PUE below;
 * - cpu_power, gpu_power, ram_power are the power of the last measurement interval (`self._cpu_power = power` at
 *   every measure), although the docs call them the mean. On export we write the run's mean power; on import the
 *   mean comes from energy ÷ duration and the column becomes `lastW`;
 * - timestamp is local time without zone, `%Y-%m-%dT%H:%M:%S`, taken when the row is written (the end of the run,
 *   or of the part of it so far: `flush()` appends a row with the cumulative totals under the same run_id);
 * - rows are appended with pandas; a column whose value is missing may be dropped from an appended row (file.py
 *   `dropna(axis=1, how="all")`), which misaligns that row: such rows are reported and skipped.
 */
import type { GpuInfo, Run } from '../types';
import { csvRow, parseCsv } from './csv';
import { codeCarbonHeader, codeCarbonRow, supersededNote, type CodeCarbonImportOptions } from './codecarbonRow';

export {
  CODECARBON_IMPORT_SOURCE,
  MAX_IMPORT_DURATION_S,
  codeCarbonHeader,
  codeCarbonRow,
  supersededNote,
  type CodeCarbonHeader,
  type CodeCarbonImportOptions,
  type CodeCarbonRowError,
} from './codecarbonRow';
export { importedRunLine, importedRunLineBytes } from './codecarbonLine';

/** The emissions.csv header of CodeCarbon 3.x (EmissionsData field order). */
export const CODECARBON_COLUMNS = [
  'timestamp',
  'project_name',
  'run_id',
  'experiment_id',
  'duration',
  'emissions',
  'emissions_rate',
  'cpu_power',
  'gpu_power',
  'ram_power',
  'cpu_energy',
  'gpu_energy',
  'ram_energy',
  'energy_consumed',
  'water_consumed',
  'country_name',
  'country_iso_code',
  'region',
  'cloud_provider',
  'cloud_region',
  'os',
  'python_version',
  'codecarbon_version',
  'cpu_count',
  'cpu_model',
  'gpu_count',
  'gpu_model',
  'longitude',
  'latitude',
  'ram_total_size',
  'tracking_mode',
  'cpu_utilization_percent',
  'gpu_utilization_percent',
  'ram_utilization_percent',
  'ram_used_gb',
  'on_cloud',
  'pue',
  'wue',
] as const;

export type CodeCarbonColumn = (typeof CODECARBON_COLUMNS)[number];

/**
 * The header of CodeCarbon 2.x from about 2.4 to 2.8 (experiment_id, on_cloud and pue, none of water_consumed,
 * the utilisation columns or wue). Earlier 2.x files lack experiment_id as well.
 */
export const CODECARBON_V2_COLUMNS: readonly string[] = CODECARBON_COLUMNS.filter(
  (c) =>
    ![
      'water_consumed',
      'cpu_utilization_percent',
      'gpu_utilization_percent',
      'ram_utilization_percent',
      'ram_used_gb',
      'wue',
    ].includes(c),
);
// 2.x put on_cloud and pue after tracking_mode, exactly where the filter leaves them.

export interface CodeCarbonExportOptions {
  /** ISO 3166 alpha-2 → alpha-3 ("FR" → "FRA"), for the country_iso_code column. */
  toAlpha3?: (alpha2: string) => string | undefined;
}

export interface CodeCarbonImport {
  runs: Run[];
  /** Rows (or the header) that could not be imported; line numbers are 1-based lines of the file. */
  errors: { line: number; reason: string }[];
}

// -----------------------------------------------------------------------------------------------------------------
// export

/** CodeCarbon's timestamp: local time, no zone, no fraction. */
function localTimestamp(ms: number): string {
  const d = new Date(ms);
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** "2 x NVIDIA A100-SXM4-80GB", as CodeCarbon writes gpu_model; several models joined with ", ". */
function gpuModel(gpus: GpuInfo[]): string {
  const counts = new Map<string, number>();
  for (const g of gpus) counts.set(g.name, (counts.get(g.name) ?? 0) + 1);
  return [...counts].map(([name, n]) => `${n} x ${name}`).join(', ');
}

interface RegionColumns {
  country_name: string;
  country_iso_code: string;
  region: string;
  cloud_provider: string;
  cloud_region: string;
  on_cloud: 'Y' | 'N';
}

function regionColumns(run: Run, toAlpha3?: (a2: string) => string | undefined): RegionColumns {
  const code = run.intensity.region.trim();
  const colon = code.indexOf(':');
  if (colon > 0) {
    return {
      country_name: '',
      country_iso_code: '',
      region: '',
      cloud_provider: code.slice(0, colon).toLowerCase(),
      cloud_region: code.slice(colon + 1),
      on_cloud: 'Y',
    };
  }
  // "FR", "FRA", or a sub-national zone such as "US-CAL-CISO" / "GB-SCT"
  const [country, ...rest] = code.split('-');
  let iso3 = '';
  if (/^[A-Za-z]{3}$/.test(country)) iso3 = country.toUpperCase();
  else if (/^[A-Za-z]{2}$/.test(country)) iso3 = toAlpha3?.(country.toUpperCase())?.toUpperCase() ?? '';
  return {
    country_name: iso3 ? (run.intensity.regionName ?? '') : '',
    country_iso_code: iso3,
    region: rest.join('-').toLowerCase(),
    cloud_provider: '',
    cloud_region: '',
    on_cloud: 'N',
  };
}

/**
 * Runs as a CodeCarbon 3.x emissions.csv: the header and one row per run, in CodeCarbon's units. Component
 * energies include PUE, as CodeCarbon's do; powers are the run's mean power per component (before PUE);
 * tracking_mode is `process`; codecarbon_version, python_version and the coordinates are left empty.
 * The second argument is `toAlpha3` (or `{ toAlpha3 }`): country_iso_code is alpha-3 in CodeCarbon.
 */
export function runsToCodeCarbonCsv(
  runs: Run[],
  toAlpha3OrOpts: CodeCarbonExportOptions | CodeCarbonExportOptions['toAlpha3'] = {},
): string {
  const opts: CodeCarbonExportOptions =
    typeof toAlpha3OrOpts === 'function' ? { toAlpha3: toAlpha3OrOpts } : (toAlpha3OrOpts ?? {});
  const lines = [CODECARBON_COLUMNS.join(',')];
  for (const run of runs) {
    const pue = run.pue > 0 ? run.pue : 1;
    const endMs = run.endedAt ? Date.parse(run.endedAt) : Date.parse(run.startedAt) + run.durationS * 1000;
    const where = regionColumns(run, opts.toAlpha3);
    const cpuUtil =
      run.durationS > 0 && run.hardware.logicalCpus > 0
        ? (run.cpuSeconds / (run.durationS * run.hardware.logicalCpus)) * 100
        : undefined;
    const row: Record<CodeCarbonColumn, string | number | undefined> = {
      timestamp: localTimestamp(endMs),
      project_name: run.name,
      run_id: run.id,
      experiment_id: '',
      duration: run.durationS,
      emissions: run.emissionsKg,
      emissions_rate: run.durationS > 0 ? run.emissionsKg / run.durationS : 0,
      cpu_power: run.power.cpu.meanW,
      gpu_power: run.power.gpu.meanW,
      ram_power: run.power.ram.meanW,
      cpu_energy: run.energyKWh.cpu * pue,
      gpu_energy: run.energyKWh.gpu * pue,
      ram_energy: run.energyKWh.ram * pue,
      energy_consumed: run.energyKWh.total,
      water_consumed: 0, // CodeCarbon's default WUE is 0 L/kWh
      ...where,
      os: run.hardware.os ?? '',
      python_version: '',
      codecarbon_version: '',
      cpu_count: run.hardware.logicalCpus,
      cpu_model: run.hardware.cpuModel,
      gpu_count: run.hardware.gpus.length,
      gpu_model: gpuModel(run.hardware.gpus),
      longitude: '',
      latitude: '',
      ram_total_size: run.hardware.ramGB,
      tracking_mode: 'process',
      cpu_utilization_percent: cpuUtil,
      gpu_utilization_percent: '',
      ram_utilization_percent: '',
      ram_used_gb: '',
      pue: run.pue,
      wue: 0,
    };
    lines.push(csvRow(CODECARBON_COLUMNS.map((c) => row[c])));
  }
  return lines.join('\n') + '\n';
}

/** Runs as pretty-printed JSON (an array of `Run` records, the shape of `carbon-meter run --json`). */
export function runsToJson(runs: Run[]): string {
  return JSON.stringify(runs, null, 2) + '\n';
}

// -----------------------------------------------------------------------------------------------------------------
// import

/**
 * Reads a CodeCarbon emissions.csv (any 2.x or 3.x header, columns in any order, optional columns missing).
 * Each run becomes a completed `Run` with source `codecarbon-import`. Rows sharing a run_id are snapshots of the
 * same run (CodeCarbon's `flush()` writes cumulative totals), so only the longest one is kept. The id is derived
 * from run_id (or from project_name and timestamp when there is no run_id), so importing a file twice, or again
 * after more rows were added, does not duplicate runs. Rows that cannot be read are skipped and listed in
 * `errors`; the others are kept. (For large files, `importCodeCarbonFile` streams the file into the store.)
 */
export function parseCodeCarbonCsv(text: string, opts: CodeCarbonImportOptions = {}): CodeCarbonImport {
  const { records, errors } = parseCsv(text);
  const out: CodeCarbonImport = { runs: [], errors: [...errors] };
  if (!records.length) {
    if (!errors.length) out.errors.push({ line: 1, reason: 'empty file' });
    return out;
  }
  const header = codeCarbonHeader(records[0]);
  if ('reason' in header) {
    out.errors.push({ line: header.line, reason: header.reason });
    return out;
  }
  const byKey = new Map<string, { run: Run; line: number; merged: number }>();
  for (let k = 1; k < records.length; k++) {
    const rec = records[k];
    const result = codeCarbonRow(header, rec, opts);
    if ('reason' in result) {
      out.errors.push({ line: result.line, reason: result.reason });
      continue;
    }
    const prev = byKey.get(result.id);
    if (!prev) {
      byKey.set(result.id, { run: result, line: rec.line, merged: 0 });
    } else {
      const keepNew = result.durationS >= prev.run.durationS;
      byKey.set(result.id, {
        run: keepNew ? result : prev.run,
        line: keepNew ? rec.line : prev.line,
        merged: prev.merged + 1,
      });
    }
  }
  for (const { run, merged } of byKey.values()) {
    if (merged) run.notes?.push(supersededNote(merged));
    out.runs.push(run);
  }
  return out;
}
