/**
 * The region tables, built once on first use: countries with their CO2.js annual average (Ember), the world average,
 * cloud regions from data/cloud-regions.csv, and time zones to countries. The data are generated modules
 * (countries.generated.ts, cloudRegions.generated.ts, timezones.generated.ts); regions.ts resolves codes over them.
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

/** Codes outside ISO 3166-1 alpha-2 that people write for a country. */
export const COUNTRY_ALIASES: Readonly<Record<string, string>> = {
  UK: 'GB', // ISO 3166 "exceptionally reserved" for the United Kingdom
};

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

export interface Tables {
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

/** The tables, built on first use. */
export function getTables(): Tables {
  tables ??= buildTables();
  return tables;
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
