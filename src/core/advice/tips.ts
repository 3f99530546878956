/**
 * Greener-region and greener-time advice: what the same energy would have emitted elsewhere.
 *
 * The comparison keeps the energy the hardware drew (before PUE) and applies the other place's figures:
 * emissions = energy × PUE × intensity. Cloud regions use their provider's PUE (core/intensity, Cloud Carbon
 * Footprint's figures); countries stand for a machine like the one the run used, so they keep the run's own PUE.
 * Every intensity here is an annual average (CO2.js/Ember for countries, Google and Cloud Carbon Footprint for
 * cloud regions), not the intensity at the hour of the run: the UI says so next to the tips.
 */
import {
  greenerRegions,
  listRegions,
  resolveRegion,
  UnknownRegionError,
  WORLD_CODE,
  type RegionInfo,
} from '../intensity/regions';
import type { Run, RunIntensity } from '../types';
import type { GreenerTimeForRun } from './greenerTime';
import { energyBeforePueKWh } from './energy';
import { usableRegions, type UsableContext } from './usable';

/** The setting that lists the regions a user can run in. */
export const ADVICE_REGIONS_SETTING = 'carbonMeter.advice.regions';
/** The setting of the live intensity provider (greener-hour tips need one). */
export const INTENSITY_PROVIDER_SETTING = 'carbonMeter.intensity.provider';

/** 'near': grids near the user's; 'providers': regions of the cloud providers they use (core/advice/usable.ts) */
export type TipGroupKey = 'countries' | 'cloud' | 'yours' | 'near' | 'providers';

export interface RegionTip {
  code: string;
  name: string;
  kind: 'country' | 'cloud';
  /** what the same energy would have emitted there, kg CO₂eq */
  emissionsKg: number;
  /** (emissionsKg − actual) ÷ actual; undefined when the actual emissions are 0 */
  change?: number;
  intensityGPerKWh: number;
  pue: number;
  /** where the PUE comes from */
  pueSource: string;
  /** where the intensity comes from */
  source: string;
  year?: number;
}

export interface TipGroup {
  key: TipGroupKey;
  tips: RegionTip[];
  /** how many regions were compared to pick these */
  compared: number;
}

export interface RegionAdvice {
  /** energy before PUE the comparison keeps, kWh */
  energyKWh: number;
  /** the actual emissions, kg CO₂eq */
  actualKg: number;
  /** the PUE applied to countries (the runs' own) */
  ownPue: number;
  /** region code of the run (undefined for several runs in several regions) */
  region?: string;
  groups: TipGroup[];
  /** the user's regions setting, as given */
  configured: string[];
  /** entries of the setting that name no known region, with why */
  problems: string[];
  /** always 'annual-average': the UI says these are not the hour of the run */
  basis: 'annual-average';
  /** your region against the best region you can use (near grids, your providers' regions, your setting) */
  best?: { regionGPerKWh: number; tip: RegionTip };
}

export type TimeAdvice =
  /** the provider is static (annual averages): point at the setting */
  | { kind: 'needs-live-source'; settingKey: string }
  /** the run was time-resolved, but no forecast is at hand: the range it saw */
  | { kind: 'no-forecast'; settingKey: string; minGPerKWh: number; maxGPerKWh: number }
  /** a live provider is asked for its forecast */
  | { kind: 'pending'; settingKey: string }
  /** the live provider gave no usable forecast, and why */
  | { kind: 'unavailable'; settingKey: string; reason: string }
  /** the best start for a run like this one, from now, in the provider's forecast (and pausing, for long runs) */
  | {
      kind: 'forecast';
      settingKey: string;
      startMs: number;
      startsNow: boolean;
      savingFraction: number;
      savingKg: number;
      horizonH: number;
      pause?: { thresholdGPerKWh: number; savingFraction: number; finishMs: number };
      factorType: 'average' | 'marginal';
      source: string;
    };

export interface AdviceOptions {
  /** carbonMeter.advice.regions: codes and groups ("gcp:*", "aws:eu-west-3", "FR", "country:*", "cloud:*", "*") */
  userRegions?: readonly string[];
  /** tips per group for the greenest countries and cloud regions (default 3) */
  perGroup?: number;
  /** tips for the user's regions (default 5) */
  perUserGroup?: number;
  /**
   * Where the user can run: their country and cloud providers. When it names any region, the greenest grids near
   * theirs and their providers' greenest regions replace the world's greenest countries and cloud regions.
   */
  usable?: UsableContext;
}

interface Candidate {
  region: RegionInfo;
}

let candidateCache: { countries: RegionInfo[]; cloud: RegionInfo[] } | undefined;

/**
 * Regions worth suggesting: every country and cloud region with an intensity above 0. A lifecycle grid intensity of
 * 0 (CO2.js gives one for a country whose data is missing) is a data gap, not a green grid.
 */
function candidates(): { countries: RegionInfo[]; cloud: RegionInfo[] } {
  if (!candidateCache) {
    const all = listRegions().filter((r) => r.code !== WORLD_CODE && r.intensityGPerKWh > 0);
    candidateCache = {
      countries: all.filter((r) => r.kind === 'country'),
      cloud: all.filter((r) => r.kind === 'cloud'),
    };
  }
  return candidateCache;
}

/** The user's regions setting, resolved: regions (deduplicated, in order) and the entries that name nothing known. */
export function resolveAdviceRegions(entries: readonly unknown[] | undefined): {
  regions: RegionInfo[];
  problems: string[];
  configured: string[];
} {
  const regions = new Map<string, RegionInfo>();
  const problems: string[] = [];
  const configured: string[] = [];
  for (const entry of entries ?? []) {
    if (typeof entry !== 'string' || !entry.trim()) {
      problems.push(`${JSON.stringify(entry)} is not a region code`);
      continue;
    }
    configured.push(entry);
    try {
      for (const { region } of greenerRegions(1, { include: [entry] })) {
        if (region.code !== WORLD_CODE && region.intensityGPerKWh > 0) regions.set(region.code, region);
      }
    } catch (err) {
      if (err instanceof UnknownRegionError) problems.push(err.message);
      else throw err;
    }
  }
  return { regions: [...regions.values()], problems, configured };
}

function tipsFrom(
  list: readonly RegionInfo[],
  energyKWh: number,
  actualKg: number,
  ownPue: number,
  exclude: string | undefined,
  limit: number,
): TipGroup['tips'] {
  const rows: { c: Candidate; kg: number; pue: number }[] = [];
  for (const region of list) {
    if (exclude && region.code.toLowerCase() === exclude) continue;
    const pue = region.kind === 'cloud' ? (region.pue ?? 1) : ownPue;
    rows.push({ c: { region }, kg: (energyKWh * pue * region.intensityGPerKWh) / 1000, pue });
  }
  rows.sort(
    (a, b) =>
      a.kg - b.kg ||
      a.c.region.intensityGPerKWh - b.c.region.intensityGPerKWh ||
      (a.c.region.code < b.c.region.code ? -1 : 1),
  );
  return rows.slice(0, limit).map(({ c: { region }, kg, pue }) => ({
    code: region.code,
    name: region.name,
    kind: region.kind,
    emissionsKg: kg,
    change: actualKg > 0 ? (kg - actualKg) / actualKg : undefined,
    intensityGPerKWh: region.intensityGPerKWh,
    pue,
    pueSource: region.kind === 'cloud' ? (region.pueSource ?? `PUE ${pue}`) : 'the PUE of the run itself',
    source: region.source,
    year: region.year,
  }));
}

/**
 * What `energyKWh` (before PUE) that emitted `actualKg` would have emitted in the greenest countries, the greenest
 * cloud regions and the user's own regions (annual averages). `region` (the run's) is left out of the lists.
 */
export function regionAdvice(
  energyKWh: number,
  actualKg: number,
  ownPue: number,
  region: string | undefined,
  opts: AdviceOptions = {},
): RegionAdvice {
  const e = Number.isFinite(energyKWh) && energyKWh > 0 ? energyKWh : 0;
  const actual = Number.isFinite(actualKg) && actualKg > 0 ? actualKg : 0;
  const pue = Number.isFinite(ownPue) && ownPue >= 1 ? ownPue : 1;
  const perGroup = Math.max(0, Math.floor(opts.perGroup ?? 3));
  const perUser = Math.max(0, Math.floor(opts.perUserGroup ?? 5));
  const user = resolveAdviceRegions(opts.userRegions);
  const exclude = region?.trim().toLowerCase() || undefined;
  const groups: TipGroup[] = [];
  let best: RegionAdvice['best'];
  if (e > 0) {
    const { countries, cloud } = candidates();
    const can = opts.usable ? usableRegions(opts.usable) : { near: [], providers: [] };
    if (can.near.length)
      groups.push({
        key: 'near',
        tips: tipsFrom(can.near, e, actual, pue, exclude, perGroup),
        compared: can.near.length,
      });
    else
      groups.push({
        key: 'countries',
        tips: tipsFrom(countries, e, actual, pue, exclude, perGroup),
        compared: countries.length,
      });
    if (can.providers.length)
      groups.push({
        key: 'providers',
        tips: tipsFrom(can.providers, e, actual, pue, exclude, perGroup),
        compared: can.providers.length,
      });
    else
      groups.push({ key: 'cloud', tips: tipsFrom(cloud, e, actual, pue, exclude, perGroup), compared: cloud.length });
    if (user.regions.length) {
      groups.push({
        key: 'yours',
        tips: tipsFrom(user.regions, e, actual, pue, exclude, perUser),
        compared: user.regions.length,
      });
    }
    const reachable = [...can.near, ...can.providers, ...user.regions];
    const own = ownIntensity(region);
    const top = reachable.length ? tipsFrom(reachable, e, actual, pue, exclude, 1)[0] : undefined;
    if (top && own !== undefined) best = { regionGPerKWh: own, tip: top };
  }
  return {
    energyKWh: e,
    actualKg: actual,
    ownPue: pue,
    region,
    groups,
    configured: user.configured,
    problems: user.problems,
    basis: 'annual-average',
    ...(best ? { best } : {}),
  };
}

function ownIntensity(code: string | undefined): number | undefined {
  if (!code) return undefined;
  try {
    const r = resolveRegion(code);
    return r.intensityGPerKWh > 0 ? r.intensityGPerKWh : undefined;
  } catch {
    return undefined;
  }
}

/** Advice for one run. */
export function runRegionAdvice(run: Run, opts: AdviceOptions = {}): RegionAdvice {
  return regionAdvice(energyBeforePueKWh(run), run.emissionsKg, run.pue, run.intensity.region, opts);
}

/**
 * Advice for many runs at once (the totals): their summed energy before PUE and emissions; countries get the
 * runs' energy-weighted PUE. The own region is left out only when every run used the same one.
 */
export function totalsRegionAdvice(runs: readonly Run[], opts: AdviceOptions = {}): RegionAdvice {
  let before = 0;
  let total = 0;
  let kg = 0;
  let region: string | undefined;
  let mixed = false;
  for (const run of runs) {
    const b = energyBeforePueKWh(run);
    before += b;
    total += Number.isFinite(run.energyKWh.total) && run.energyKWh.total > 0 ? run.energyKWh.total : b;
    kg += Number.isFinite(run.emissionsKg) && run.emissionsKg > 0 ? run.emissionsKg : 0;
    const r = run.intensity.region;
    if (region === undefined) region = r;
    else if (r !== region) mixed = true;
  }
  const pue = before > 0 ? total / before : 1;
  return regionAdvice(before, kg, pue, mixed ? undefined : region, opts);
}

/**
 * The greener-time line. Until a live provider offers a forecast, it points at the provider setting; for a run
 * metered with a time-resolved source it also gives the range of intensities the run saw.
 */
export function timeAdvice(intensity: Pick<RunIntensity, 'method'>, seenGPerKWh: readonly number[] = []): TimeAdvice {
  const finite = seenGPerKWh.filter((g) => Number.isFinite(g));
  if (intensity.method === 'time-resolved' && finite.length) {
    let min = Infinity;
    let max = -Infinity;
    for (const g of finite) {
      if (g < min) min = g;
      if (g > max) max = g;
    }
    return { kind: 'no-forecast', settingKey: INTENSITY_PROVIDER_SETTING, minGPerKWh: min, maxGPerKWh: max };
  }
  return { kind: 'needs-live-source', settingKey: INTENSITY_PROVIDER_SETTING };
}

/** The greener-time line from a live provider's answer (core/advice/greenerTime.ts `greenerTimeForRun`). */
export function timeAdviceFromForecast(r: GreenerTimeForRun): TimeAdvice {
  if (r.kind === 'unavailable')
    return { kind: 'unavailable', settingKey: INTENSITY_PROVIDER_SETTING, reason: r.reason };
  const a: TimeAdvice = {
    kind: 'forecast',
    settingKey: INTENSITY_PROVIDER_SETTING,
    startMs: r.start.startMs,
    startsNow: r.start.startsNow || r.start.savingFraction <= 0,
    savingFraction: Math.max(0, r.start.savingFraction),
    savingKg: Math.max(0, r.start.savingKg),
    horizonH: r.start.horizonH,
    factorType: r.factorType,
    source: r.source,
  };
  if (r.pause && r.pause.savingFraction > 0)
    a.pause = {
      thresholdGPerKWh: r.pause.thresholdGPerKWh,
      savingFraction: r.pause.savingFraction,
      finishMs: r.pause.finishMs,
    };
  return a;
}
