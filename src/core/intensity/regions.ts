/**
 * Regions and their annual-average grid carbon intensity (gCO₂eq/kWh).
 *
 * - Countries: CO2.js (`@tgwf/co2`) `averageIntensity.data`, Ember's yearly data, keyed by ISO 3166
 *   alpha-3 (plus `WORLD`). Users may write alpha-2 or alpha-3; the normalised code is alpha-2.
 * - Cloud regions: data/cloud-regions.csv (Google's region carbon info 2024, Cloud Carbon Footprint),
 *   compiled into cloudRegions.generated.ts by scripts/gen-regions.mjs. Codes are `provider:region`.
 * - Time zones: tzdata's zone.tab (timezones.generated.ts, scripts/gen-timezones.mjs), for a first guess.
 *
 * No file is read at runtime: every table is a module the bundler includes (regionTables.ts builds them once).
 * This module resolves codes, guesses from the time zone and ranks greener regions; it also re-exports the tables'
 * constants and regionSuggest.ts, so callers import regions from one place.
 */
import {
  compareStrings,
  COUNTRY_ALIASES,
  COUNTRY_INTENSITY_SOURCE,
  getTables,
  WORLD_CODE,
  type RegionInfo,
} from './regionTables';
import { suggestRegions } from './regionSuggest';
import type { CountryRow } from './countries.generated';

export {
  CLOUD_SOURCES,
  CO2JS_VERSION,
  co2jsAverageIntensities,
  COUNTRY_INTENSITY_SOURCE,
  STATIC_DATA_VERSION,
  WORLD_CODE,
  type CloudProvider,
  type RegionInfo,
} from './regionTables';
export { editDistance, suggestRegions } from './regionSuggest';

// ---------------------------------------------------------------------------------------------
// Errors

const HOW_TO_WRITE =
  "Use an ISO 3166 country code (FR, FRA) or provider:region (aws:eu-west-3, gcp:europe-west9, azure:francecentral); run 'carbon-meter regions' for the list.";

/** The input names no region we know. `suggestions` are codes `resolveRegion` accepts. */
export class UnknownRegionError extends Error {
  override name = 'UnknownRegionError';
  constructor(
    readonly input: string,
    readonly suggestions: string[],
    message?: string,
  ) {
    super(
      message ??
        `Unknown region "${input}".${suggestions.length > 0 ? ` Did you mean ${suggestions.join(', ')}?` : ''} ${HOW_TO_WRITE}`,
    );
  }
}

/** The input is a valid country code, but CO2.js has no intensity for that country. */
export class RegionDataUnavailableError extends UnknownRegionError {
  override name = 'RegionDataUnavailableError';
  constructor(
    input: string,
    /** alpha-2 of the country */
    readonly country: string,
    readonly countryName: string,
  ) {
    const world = getTables().world;
    super(
      input,
      [WORLD_CODE],
      `No grid carbon-intensity data for ${countryName} (${country}) in ${COUNTRY_INTENSITY_SOURCE}. ` +
        `Use a neighbouring country's code, a cloud region, or WORLD (world average, ${world.intensityGPerKWh} gCO₂eq/kWh); ` +
        "run 'carbon-meter regions' for the list.",
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Resolving

/**
 * The region for a code: ISO 3166 alpha-2 or alpha-3 ('fr', 'FRA'), 'WORLD', or provider:region
 * ('aws:eu-west-3', 'GCP:europe-west9', 'azure:francecentral'), case-insensitive.
 * @throws RegionDataUnavailableError for a country CO2.js has no figure for
 * @throws UnknownRegionError for anything else not known, with suggestions
 */
export function resolveRegion(input: string): RegionInfo {
  const t = getTables();
  const raw = String(input ?? '').trim();
  if (raw === '') {
    throw new UnknownRegionError(input, [], `No region given. ${HOW_TO_WRITE}`);
  }
  const colon = raw.indexOf(':');
  if (colon >= 0) {
    const provider = raw.slice(0, colon).trim().toLowerCase();
    const id = raw
      .slice(colon + 1)
      .trim()
      .toLowerCase();
    const found = t.cloudRegions.get(`${provider}:${id}`);
    if (found) return found;
    throw new UnknownRegionError(raw, suggestRegions(raw));
  }
  const upper = raw.toUpperCase();
  if (upper === WORLD_CODE) return t.world;
  let row: CountryRow | undefined;
  if (/^[A-Z]{2}$/.test(upper)) row = t.countryByAlpha2.get(COUNTRY_ALIASES[upper] ?? upper);
  else if (/^[A-Z]{3}$/.test(upper)) row = t.countryByAlpha3.get(upper);
  if (row) {
    const region = t.countryRegions.get(row[0]);
    if (region) return region;
    throw new RegionDataUnavailableError(raw, row[0], row[2]);
  }
  throw new UnknownRegionError(raw, suggestRegions(raw));
}

/**
 * Whether a region has a figure to meter with: CO2.js writes 0 where it has no data (the Central African Republic in
 * 0.19.0), and such a figure would record 0 g whatever the energy.
 */
export function hasIntensity(region: RegionInfo): boolean {
  return Number.isFinite(region.intensityGPerKWh) && region.intensityGPerKWh > 0;
}

/**
 * The region to meter a run in for a code (`resolveRegion`), or, for a country whose CO2.js figure is missing or 0,
 * which one it is: the caller falls back to the world average and says why.
 * @throws UnknownRegionError for a code nobody knows
 */
export function meteredRegion(input: string): RegionInfo | { noData: { code: string; name: string } } {
  let region: RegionInfo;
  try {
    region = resolveRegion(input);
  } catch (e) {
    if (e instanceof RegionDataUnavailableError) return { noData: { code: e.country, name: e.countryName } };
    throw e;
  }
  return hasIntensity(region) ? region : { noData: { code: region.code, name: region.name } };
}

/** Like `resolveRegion`, but undefined instead of an error. */
export function findRegion(input: string): RegionInfo | undefined {
  try {
    return resolveRegion(input);
  } catch (e) {
    if (e instanceof UnknownRegionError) return undefined;
    throw e;
  }
}

/** ISO alpha-2 (or a region code) → alpha-3, for CodeCarbon's country_iso_code; undefined when unknown. */
export function toAlpha3(code: string): string | undefined {
  return findRegion(code)?.countryAlpha3;
}

/** ISO alpha-3 → the code Carbon Meter uses (alpha-2), when the intensity tables know the country. */
export function fromAlpha3(alpha3: string): string | undefined {
  return findRegion(alpha3)?.code;
}

/** Countries CO2.js has a figure for (by code), then WORLD, then cloud regions (as in the CSV). */
export function listRegions(): RegionInfo[] {
  return [...getTables().all];
}

/** The world average (CO2.js WORLD). */
export function worldRegion(): RegionInfo {
  return getTables().world;
}

// ---------------------------------------------------------------------------------------------
// Time zone guess

function systemTimeZone(): string | undefined {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
  } catch {
    return undefined;
  }
}

/**
 * A country guessed from an IANA time zone (default: this machine's), for when no region is set.
 * Undefined for zones that name no country (UTC, Etc/*), unknown zones, and countries without
 * an intensity figure (missing or 0), so the code returned always resolves with `resolveRegion` to a figure above 0.
 */
export function guessRegionFromTimeZone(tz?: string): { code: string; reason: string } | undefined {
  const named = zoneCountry(tz);
  const region = named?.country ? getTables().countryRegions.get(named.country) : undefined;
  if (!region || !hasIntensity(region)) return undefined;
  return { code: region.code, reason: `guessed from the time zone ${named!.zone}` };
}

/** The country an IANA time zone names when CO2.js has no figure for it (missing or 0): why there is no guess. */
export function timeZoneCountryWithoutIntensity(tz?: string): { zone: string; code: string; name: string } | undefined {
  const named = zoneCountry(tz);
  const t = getTables();
  const row = named?.country ? t.countryByAlpha2.get(named.country) : undefined;
  if (!row) return undefined;
  const region = t.countryRegions.get(row[0]);
  return region && hasIntensity(region) ? undefined : { zone: named!.zone, code: row[0], name: row[2] };
}

/**
 * POSIX-style zones that tzdata links to one city but that many countries use (CET: Brussels, though Germany, Poland
 * and a dozen others keep it too; EST5EDT: New York, though Canada keeps it too): they name no country.
 */
const SHARED_ZONES = new Set(['CET', 'MET', 'EET', 'WET', 'EST', 'MST', 'EST5EDT', 'CST6CDT', 'MST7MDT', 'PST8PDT']);

/** The time zone (default: this machine's) and the country it names, if any. */
function zoneCountry(tz?: string): { zone: string; country?: string } | undefined {
  const zone = (tz ?? systemTimeZone())?.trim();
  if (!zone) return undefined;
  if (SHARED_ZONES.has(zone.toUpperCase())) return { zone };
  const t = getTables();
  return { zone, country: t.zoneCountry.get(zone) ?? t.zoneCountryLower.get(zone.toLowerCase()) };
}

// ---------------------------------------------------------------------------------------------
// Greener regions

/** kg CO₂eq of `energyKWh` (before PUE) run in `region`: energy × (PUE or 1) × intensity / 1000. */
export function emissionsKgIn(region: RegionInfo, energyKWh: number): number {
  return (energyKWh * (region.pue ?? 1) * region.intensityGPerKWh) / 1000;
}

export interface GreenerRegionsOptions {
  /**
   * Regions to compare (default: every region except WORLD). Each entry is a code `resolveRegion`
   * accepts, or a group: `country:*` (countries), `cloud:*` (cloud regions), `aws:*`, `gcp:*`,
   * `azure:*`, or `*` (all). Unknown codes throw UnknownRegionError.
   */
  include?: string[];
  /** Keep only the first `limit` results. */
  limit?: number;
}

/**
 * The same energy (before PUE) in each region: emissions = energyKWh × (region.pue ?? 1) × intensity / 1000,
 * greenest first (ties: lower intensity × PUE, then code).
 */
export function greenerRegions(
  energyKWh: number,
  opts: GreenerRegionsOptions = {},
): { region: RegionInfo; emissionsKg: number }[] {
  if (!Number.isFinite(energyKWh) || energyKWh < 0) {
    throw new RangeError(`energyKWh must be a finite number ≥ 0, got ${energyKWh}`);
  }
  if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 0)) {
    throw new RangeError(`limit must be an integer ≥ 0, got ${opts.limit}`);
  }
  const candidates = opts.include ? selectRegions(opts.include) : getTables().all.filter((r) => r.code !== WORLD_CODE);
  const rows = candidates.map((region) => ({ region, emissionsKg: emissionsKgIn(region, energyKWh) }));
  rows.sort(
    (a, b) =>
      a.emissionsKg - b.emissionsKg ||
      a.region.intensityGPerKWh * (a.region.pue ?? 1) - b.region.intensityGPerKWh * (b.region.pue ?? 1) ||
      compareStrings(a.region.code, b.region.code),
  );
  return opts.limit !== undefined ? rows.slice(0, opts.limit) : rows;
}

function selectRegions(include: string[]): RegionInfo[] {
  const t = getTables();
  const picked = new Map<string, RegionInfo>();
  const add = (regions: Iterable<RegionInfo>) => {
    for (const r of regions) picked.set(r.code, r);
  };
  for (const entry of include) {
    const e = entry.trim().toLowerCase();
    if (e === '*') add(t.all);
    else if (e === 'country:*') add(t.countryRegions.values());
    else if (e === 'cloud:*') add(t.cloudRegions.values());
    else if (e === 'aws:*' || e === 'gcp:*' || e === 'azure:*') {
      const provider = e.slice(0, e.indexOf(':'));
      add([...t.cloudRegions.values()].filter((r) => r.provider === provider));
    } else add([resolveRegion(entry)]);
  }
  return [...picked.values()];
}
