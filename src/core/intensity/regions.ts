/**
 * Regions and their annual-average grid carbon intensity (gCO₂eq/kWh).
 *
 * - Countries: CO2.js (`@tgwf/co2`) `averageIntensity.data`, Ember's yearly data, keyed by ISO 3166
 *   alpha-3 (plus `WORLD`). Users may write alpha-2 or alpha-3; the normalised code is alpha-2.
 * - Cloud regions: data/cloud-regions.csv (Google's region carbon info 2024, Cloud Carbon Footprint),
 *   compiled into cloudRegions.generated.ts by scripts/gen-regions.mjs. Codes are `provider:region`.
 * - Time zones: tzdata's zone.tab (timezones.generated.ts, scripts/gen-timezones.mjs), for a first guess.
 *
 * No file is read at runtime: every table is a module the bundler includes.
 */
import { COUNTRIES, type CountryRow } from './countries.generated';
import { CLOUD_REGION_ROWS, type CloudProvider, type CloudRegionRow } from './cloudRegions.generated';
import { ZONE_COUNTRY } from './timezones.generated';
import { averageIntensity } from '@tgwf/co2';

export type { CloudProvider } from './cloudRegions.generated';

export interface RegionInfo {
  /** Normalised code: 'FR', 'WORLD', 'aws:eu-west-3'. */
  code: string;
  /** `WORLD` is a 'country' row without a country code. */
  kind: 'country' | 'cloud';
  /** 'France', 'World', 'AWS eu-west-3 (Paris)'. */
  name: string;
  /** Annual average grid carbon intensity, gCO₂eq/kWh. */
  intensityGPerKWh: number;
  /** Where the intensity comes from, in words: 'CO2.js 0.19.0 averageIntensity (Ember)'. */
  source: string;
  /** Reference year of the intensity, when the source gives it (cloud rows). */
  year?: number;
  /** Cloud rows: the provider's PUE. */
  pue?: number;
  /** Cloud rows: where the PUE comes from. */
  pueSource?: string;
  provider?: CloudProvider;
  /** Google rows: the region's hourly carbon-free-energy share, 0–1. */
  cfe?: number;
  /** ISO 3166-1 alpha-3 of the country (of the cloud region's location for cloud rows). */
  countryAlpha3?: string;
  /** ISO 3166-1 alpha-2 of the country (of the cloud region's location for cloud rows). */
  countryAlpha2?: string;
  /** Cloud rows: city or area of the region. */
  location?: string;
}

// ---------------------------------------------------------------------------------------------
// CO2.js (src/types/tgwf-co2.d.ts declares the module)

/**
 * Version of `@tgwf/co2` the country figures come from. The package's exports map hides its
 * package.json, so the version is written here; a unit test checks it against the installed one.
 */
export const CO2JS_VERSION = '0.19.0';

/** Version of the static intensity data (the CO2.js release). */
export const STATIC_DATA_VERSION = CO2JS_VERSION;

/** Source of every country figure. */
export const COUNTRY_INTENSITY_SOURCE = `CO2.js ${CO2JS_VERSION} averageIntensity (Ember)`;

export const WORLD_CODE = 'WORLD';

/** CO2.js averageIntensity.data: alpha-3 (and aggregates such as WORLD, EU, ASIA) → gCO₂eq/kWh. */
export function co2jsAverageIntensities(): Readonly<Record<string, number>> {
  return averageIntensity.data;
}

// ---------------------------------------------------------------------------------------------
// Cloud sources, in words

const PROVIDER_LABEL: Record<CloudProvider, string> = { aws: 'AWS', gcp: 'GCP', azure: 'Azure' };

/** The `source` ids of data/cloud-regions.csv, in words (see data/README.md). */
export const CLOUD_SOURCES: Readonly<
  Record<string, { intensity: string; pue: (provider: CloudProvider, pue: number) => string }>
> = {
  'google-region-carbon-info-2024': {
    intensity:
      'Google Cloud, "Carbon free energy for Google Cloud regions" 2024 (GoogleCloudPlatform/region-carbon-info, data/yearly/2024.csv)',
    pue: (_provider, pue) => `Google fleet-wide trailing PUE ${pue}, as used by Cloud Carbon Footprint`,
  },
  'cloud-carbon-footprint': {
    intensity:
      'Cloud Carbon Footprint emission factors (US regions: EPA eGRID2020 NERC subregions; elsewhere carbonfootprint.com 2022 country factors and the EEA)',
    pue: (provider, pue) => `${PROVIDER_LABEL[provider]} PUE ${pue}, as used by Cloud Carbon Footprint`,
  },
};

// ---------------------------------------------------------------------------------------------
// Tables, built once

interface Tables {
  countryByAlpha2: Map<string, CountryRow>;
  countryByAlpha3: Map<string, CountryRow>;
  /** alpha-2 → region, only countries with CO2.js data */
  countryRegions: Map<string, RegionInfo>;
  world: RegionInfo;
  /** 'aws:eu-west-3' → region */
  cloudRegions: Map<string, RegionInfo>;
  all: readonly RegionInfo[];
  zoneCountry: Map<string, string>;
  zoneCountryLower: Map<string, string>;
}

let tables: Tables | undefined;

function buildTables(): Tables {
  const data = co2jsAverageIntensities();
  const countryByAlpha2 = new Map<string, CountryRow>();
  const countryByAlpha3 = new Map<string, CountryRow>();
  for (const row of COUNTRIES) {
    countryByAlpha2.set(row[0], row);
    countryByAlpha3.set(row[1], row);
  }

  const countryRegions = new Map<string, RegionInfo>();
  for (const [alpha2, alpha3, name] of COUNTRIES) {
    const g = data[alpha3];
    if (typeof g !== 'number' || !Number.isFinite(g)) continue;
    countryRegions.set(
      alpha2,
      Object.freeze<RegionInfo>({
        code: alpha2,
        kind: 'country',
        name,
        intensityGPerKWh: g,
        source: COUNTRY_INTENSITY_SOURCE,
        countryAlpha3: alpha3,
        countryAlpha2: alpha2,
      }),
    );
  }
  const worldG = data[WORLD_CODE];
  if (typeof worldG !== 'number') throw new Error(`CO2.js ${CO2JS_VERSION} averageIntensity has no WORLD value`);
  const world = Object.freeze<RegionInfo>({
    code: WORLD_CODE,
    kind: 'country',
    name: 'World',
    intensityGPerKWh: worldG,
    source: COUNTRY_INTENSITY_SOURCE,
  });

  const cloudRegions = new Map<string, RegionInfo>();
  for (const row of CLOUD_REGION_ROWS) {
    const info = cloudRegionInfo(row, countryByAlpha2.get(row.country));
    cloudRegions.set(info.code, info);
  }

  const countriesSorted = [...countryRegions.values()].sort((a, b) => compareStrings(a.code, b.code));
  const all = Object.freeze([...countriesSorted, world, ...cloudRegions.values()]);

  const zoneCountry = new Map(Object.entries(ZONE_COUNTRY));
  const zoneCountryLower = new Map([...zoneCountry].map(([z, c]) => [z.toLowerCase(), c]));
  return { countryByAlpha2, countryByAlpha3, countryRegions, world, cloudRegions, all, zoneCountry, zoneCountryLower };
}

function cloudRegionInfo(row: CloudRegionRow, country: CountryRow | undefined): RegionInfo {
  const described = CLOUD_SOURCES[row.source];
  const info: RegionInfo = {
    code: `${row.provider}:${row.region}`,
    kind: 'cloud',
    name: `${PROVIDER_LABEL[row.provider]} ${row.region} (${row.location})`,
    intensityGPerKWh: row.gridGCO2ePerKWh,
    source: described ? described.intensity : row.source,
    year: row.year,
    pue: row.pue,
    pueSource: described ? described.pue(row.provider, row.pue) : `${row.source} (PUE ${row.pue})`,
    provider: row.provider,
    countryAlpha2: row.country,
    location: row.location,
  };
  if (row.providerCfe !== undefined) info.cfe = row.providerCfe;
  if (country) info.countryAlpha3 = country[1];
  return Object.freeze(info);
}

function getTables(): Tables {
  tables ??= buildTables();
  return tables;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

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

/** Codes outside ISO 3166-1 alpha-2 that people write for a country. */
const COUNTRY_ALIASES: Readonly<Record<string, string>> = {
  UK: 'GB', // ISO 3166 "exceptionally reserved" for the United Kingdom
};

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
// Suggestions

/** Optimal string alignment distance (Levenshtein with adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  if (m === 0) return n;
  if (n === 0) return m;
  let prev2: number[] = new Array<number>(n + 1).fill(0);
  let prev: number[] = Array.from({ length: n + 1 }, (_, j) => j);
  let cur: number[] = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n];
}

/** Words of place names too common to point at one place. */
const GENERIC_WORDS = new Set([
  'and',
  'of',
  'the',
  'st',
  'saint',
  'new',
  'north',
  'south',
  'east',
  'west',
  'central',
  'northern',
  'southern',
  'eastern',
  'western',
  'island',
  'islands',
  'is',
  'republic',
  'rep',
  'dem',
  'united',
  'city',
  'us',
  'uk',
]);

function words(text: string): string[] {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

/**
 * Region codes close to what the user wrote: by edit distance to a code, a code or prefix typed
 * inside the input ('fr-paris' → FR), or a word of a name or location ('paris' → gcp:europe-west9).
 * Best first; ties keep the order of `listRegions()`.
 */
export function suggestRegions(input: string, limit = 3): string[] {
  const q = String(input ?? '')
    .trim()
    .toLowerCase();
  if (q === '' || limit <= 0) return [];
  const t = getTables();
  const tokens = words(q);
  const cloudForm = q.includes(':');
  const threshold = Math.max(1, Math.floor(q.length / 4));
  const scored: { code: string; score: number; index: number }[] = [];
  t.all.forEach((region, index) => {
    const codes =
      region.kind === 'cloud'
        ? [region.code.toLowerCase(), region.code.slice(region.code.indexOf(':') + 1).toLowerCase()]
        : region.code === WORLD_CODE
          ? ['world']
          : [region.code.toLowerCase(), (region.countryAlpha3 ?? '').toLowerCase()];
    let score = Number.POSITIVE_INFINITY;
    for (const key of codes) {
      if (key === '') continue;
      let d = editDistance(q, key);
      // The input is the start of a code ('gcp:europe-west' → gcp:europe-west9), or a code with one
      // character too many or followed by more words ('frr' → FR, 'fr-paris' → FR).
      if (Math.min(q.length, key.length) >= 2) {
        const rest = q.startsWith(key) ? q.slice(key.length) : undefined;
        if (key.startsWith(q) || (rest !== undefined && (rest.length <= 1 || /^[^a-z0-9]/.test(rest)))) {
          d = Math.min(d, 1) - 0.25;
        }
      }
      score = Math.min(score, d);
    }
    // Just a provider ('aws') lists that provider's regions.
    if (region.provider === q) score = Math.min(score, 0.5);
    const nameWords = words(region.kind === 'cloud' ? (region.location ?? '') : region.name).filter(
      (w) => !GENERIC_WORDS.has(w),
    );
    // Country codes inside free text ('fr-paris'), not inside a provider:region ('aws:us-east').
    const countryCodes = region.kind === 'country' && !cloudForm ? codes : [];
    for (const token of tokens) {
      const code = (COUNTRY_ALIASES[token.toUpperCase()] ?? token).toLowerCase();
      if (token.length >= 2 && countryCodes.includes(code)) score = Math.min(score, 0.5);
      // In a provider:region input, the provider's regions come before a country of the same name.
      const wordScore = cloudForm && region.kind === 'country' ? 1 : 0.5;
      if (token.length >= 3 && nameWords.includes(token)) score = Math.min(score, wordScore);
      else if (token.length >= 4 && nameWords.some((w) => w.startsWith(token))) score = Math.min(score, 1.5);
    }
    if (score <= Math.max(threshold, 1.5)) scored.push({ code: region.code, score, index });
  });
  scored.sort((a, b) => a.score - b.score || a.index - b.index);
  const out: string[] = [];
  for (const s of scored) {
    if (!out.includes(s.code)) out.push(s.code);
    if (out.length >= limit) break;
  }
  return out;
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
 * an intensity figure, so the code returned always resolves with `resolveRegion`.
 */
export function guessRegionFromTimeZone(tz?: string): { code: string; reason: string } | undefined {
  const zone = (tz ?? systemTimeZone())?.trim();
  if (!zone) return undefined;
  const t = getTables();
  const country = t.zoneCountry.get(zone) ?? t.zoneCountryLower.get(zone.toLowerCase());
  if (!country || !t.countryRegions.has(country)) return undefined;
  return { code: country, reason: `guessed from the time zone ${zone}` };
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
