/**
 * Per-cluster settings: where a cluster is (region, PUE) and what its nodes are (CPU model or TDP, GPU power),
 * from the `carbonMeter.clusters` setting or CLI flags. Validated here, without `vscode`, so both share it.
 *
 *   "carbonMeter.clusters": {
 *     "jean-zay": { "region": "FR", "pue": 1.2, "cpuModel": "Intel Xeon Gold 6248", "gpuPowerW": 300 },
 *     "*":        { "region": "DE" }          // any other cluster
 *   }
 */
import { chooseRegion, type RegionChoice } from '../meter/environment';
import { errorMessage } from '../errors';

export interface ClusterConfig {
  region?: string;
  pue?: number;
  /** CPU model of the compute nodes ("AMD EPYC 7763"), looked up in CodeCarbon's TDP table */
  cpuModel?: string;
  /** TDP of one CPU package of the compute nodes, W */
  cpuTdpW?: number;
  /** board power of one GPU, W */
  gpuPowerW?: number;
  /** GPU model when SLURM's GRES has no type ("A100 SXM") */
  gpuModel?: string;
  /** false: model energy even when SLURM measured it (default true) */
  useMeasuredEnergy?: boolean;
}

export type ClustersConfig = Record<string, ClusterConfig>;

export type ClusterPlace = RegionChoice;

/** A cluster's configuration with its region resolved and the origin of every value. */
export interface ResolvedCluster {
  name: string;
  place: ClusterPlace;
  cpuModel?: string;
  cpuTdpW?: number;
  gpuPowerW?: number;
  gpuModel?: string;
  useMeasuredEnergy: boolean;
  /** where a value came from: "carbonMeter.clusters.jean-zay.cpuTdpW", "--cpu-tdp" */
  from(key: keyof ClusterConfig): string;
  notes: string[];
}

const KEYS: Record<keyof ClusterConfig, 'string' | 'number' | 'boolean'> = {
  region: 'string',
  pue: 'number',
  cpuModel: 'string',
  cpuTdpW: 'number',
  gpuPowerW: 'number',
  gpuModel: 'string',
  useMeasuredEnergy: 'boolean',
};
const RANGES: Partial<Record<keyof ClusterConfig, [number, number]>> = {
  pue: [1, 3],
  cpuTdpW: [1, 2000],
  gpuPowerW: [1, 3000],
};

/** Checks a `carbonMeter.clusters` value; bad entries are dropped with a one-line problem each. */
export function parseClustersConfig(
  value: unknown,
  settingName = 'carbonMeter.clusters',
): { clusters: ClustersConfig; problems: string[] } {
  const clusters: ClustersConfig = {};
  const problems: string[] = [];
  if (value === undefined || value === null) return { clusters, problems };
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${settingName} must be an object of cluster name → settings; ignored`);
    return { clusters, problems };
  }
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push(`${settingName}.${name} must be an object; ignored`);
      continue;
    }
    const c: ClusterConfig = {};
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      const type = KEYS[k as keyof ClusterConfig];
      if (!type) {
        problems.push(`${settingName}.${name}.${k} is not a known key (${Object.keys(KEYS).join(', ')}); ignored`);
        continue;
      }
      const range = RANGES[k as keyof ClusterConfig];
      if (
        typeof v !== type ||
        (type === 'number' &&
          (!Number.isFinite(v as number) || (range && ((v as number) < range[0] || (v as number) > range[1]))))
      ) {
        problems.push(
          `${settingName}.${name}.${k} is ${JSON.stringify(v)}; expected ${type === 'number' && range ? `a number from ${range[0]} to ${range[1]}` : `a ${type}`}; ignored`,
        );
        continue;
      }
      (c as Record<string, unknown>)[k] = type === 'string' ? (v as string).trim() : v;
    }
    clusters[name] = c;
  }
  return { clusters, problems };
}

/**
 * The configuration of cluster `name`: `overrides` (CLI flags) over the cluster's own entry over "*", over the
 * defaults (CARBON_METER_REGION / carbonMeter.region given as `fallbackRegion`). An unknown region code gives a
 * note and the world average rather than an exception.
 */
export function resolveCluster(
  name: string,
  clusters: ClustersConfig,
  opts: {
    overrides?: ClusterConfig;
    overridesFrom?: Partial<Record<keyof ClusterConfig, string>>;
    settingName?: string;
    fallbackRegion?: string;
    fallbackRegionFrom?: string;
    fallbackPue?: number;
    fallbackPueFrom?: string;
    timeZone?: string;
  } = {},
): ResolvedCluster {
  const setting = opts.settingName ?? 'carbonMeter.clusters';
  const own = clusters[name] ?? {};
  const any = clusters['*'] ?? {};
  const over = opts.overrides ?? {};
  const origin = (k: keyof ClusterConfig): string | undefined =>
    over[k] !== undefined
      ? (opts.overridesFrom?.[k] ?? 'a command-line flag')
      : own[k] !== undefined
        ? `${setting}.${name}.${k}`
        : any[k] !== undefined
          ? `${setting}["*"].${k}`
          : undefined;
  const pick = <K extends keyof ClusterConfig>(k: K): ClusterConfig[K] => over[k] ?? own[k] ?? any[k];
  const notes: string[] = [];
  const region = pick('region') ?? opts.fallbackRegion;
  const regionFrom = origin('region') ?? opts.fallbackRegionFrom ?? 'the user';
  const pue = pick('pue') ?? opts.fallbackPue;
  const pueFrom = origin('pue') ?? opts.fallbackPueFrom;
  let place: ClusterPlace;
  try {
    place = chooseRegion({ region, regionFrom, pue, pueFrom, timeZone: opts.timeZone });
  } catch (err) {
    notes.push(`${errorMessage(err).split('\n')[0]} (${regionFrom}); using the world average`);
    place = chooseRegion({ region: 'WORLD', regionFrom: `fallback for the unknown region "${region}"`, pue, pueFrom });
  }
  if (!region)
    notes.push(`no region set for cluster ${name}: ${place.reason}; set ${setting}.${name}.region or --region`);
  notes.push(...place.warnings);
  const r: ResolvedCluster = {
    name,
    place,
    useMeasuredEnergy: pick('useMeasuredEnergy') ?? true,
    from: (k) => origin(k) ?? 'default',
    notes,
  };
  const cpuModel = pick('cpuModel');
  if (cpuModel) r.cpuModel = cpuModel;
  const cpuTdpW = pick('cpuTdpW');
  if (cpuTdpW !== undefined) r.cpuTdpW = cpuTdpW;
  const gpuPowerW = pick('gpuPowerW');
  if (gpuPowerW !== undefined) r.gpuPowerW = gpuPowerW;
  const gpuModel = pick('gpuModel');
  if (gpuModel) r.gpuModel = gpuModel;
  return r;
}
