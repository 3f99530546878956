/**
 * Regions a user can actually run in, for greener-region tips that can be acted on (not "Lesotho, Nepal and
 * Ethiopia" for a user in Germany):
 * - grids near theirs: countries with a time-zone location within NEAR_KM of one of the home country's (tz database
 *   coordinates, scripts/gen-country-points.mjs; no border data, so "near" is a distance, said as such);
 * - every region of the cloud providers they use (from their runs' regions and their regions setting);
 * - the regions of `carbonMeter.advice.regions`.
 * Regions with a zero or missing intensity (a data gap, not a green grid) are never offered.
 */
import { listRegions, resolveRegion, WORLD_CODE, type RegionInfo } from '../intensity/regions';
import { COUNTRY_POINTS } from './countryPoints.generated';

/** Grids whose locations are within this distance of the user's count as near. */
export const NEAR_KM = 1000;

function haversineKm(a: readonly [number, number], b: readonly [number, number]): number {
  const rad = Math.PI / 180;
  const dLat = (b[0] - a[0]) * rad;
  const dLon = (b[1] - a[1]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[0] * rad) * Math.cos(b[0] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Nearest distance between two countries' locations, km (undefined when one is unknown). */
export function countryDistanceKm(a: string, b: string): number | undefined {
  const pa = COUNTRY_POINTS[a.toUpperCase()];
  const pb = COUNTRY_POINTS[b.toUpperCase()];
  if (!pa || !pb) return undefined;
  let best = Infinity;
  for (const x of pa) for (const y of pb) best = Math.min(best, haversineKm(x, y));
  return best;
}

/** Countries (alpha-2) near `home`, nearest first, `home` excluded. */
export function nearbyCountries(home: string, km = NEAR_KM): string[] {
  const out: { cc: string; d: number }[] = [];
  for (const cc of Object.keys(COUNTRY_POINTS)) {
    if (cc === home.toUpperCase()) continue;
    const d = countryDistanceKm(home, cc);
    if (d !== undefined && d <= km) out.push({ cc, d });
  }
  return out.sort((x, y) => x.d - y.d).map((x) => x.cc);
}

/** Cloud providers named by region codes ("aws:eu-west-3", "gcp:*"). */
export function providersOf(codes: readonly string[]): string[] {
  const out = new Set<string>();
  for (const c of codes) {
    const m = /^(aws|gcp|azure):/i.exec(c.trim());
    if (m) out.add(m[1].toLowerCase());
  }
  return [...out].sort();
}

/** The country (alpha-2) of a region code, or undefined. */
export function countryOf(code: string | undefined): string | undefined {
  if (!code) return undefined;
  try {
    return resolveRegion(code).countryAlpha2;
  } catch {
    return undefined;
  }
}

export interface UsableContext {
  /** the user's country (alpha-2): the run's region's, or the time zone's */
  homeCountry?: string;
  /** cloud providers they use: "aws", "gcp", "azure" */
  providers: readonly string[];
}

export interface UsableRegions {
  near: RegionInfo[];
  providers: RegionInfo[];
}

function usable(r: RegionInfo | undefined): r is RegionInfo {
  return !!r && r.code !== WORLD_CODE && Number.isFinite(r.intensityGPerKWh) && r.intensityGPerKWh > 0;
}

export function usableRegions(ctx: UsableContext): UsableRegions {
  const near: RegionInfo[] = [];
  if (ctx.homeCountry) {
    for (const cc of nearbyCountries(ctx.homeCountry)) {
      let r: RegionInfo | undefined;
      try {
        r = resolveRegion(cc);
      } catch {
        r = undefined;
      }
      if (usable(r) && r.kind === 'country') near.push(r);
    }
  }
  const wanted = new Set(ctx.providers.map((p) => p.toLowerCase()));
  const providers = wanted.size
    ? listRegions().filter(
        (r) =>
          r.kind === 'cloud' && r.provider !== undefined && wanted.has(String(r.provider).toLowerCase()) && usable(r),
      )
    : [];
  return { near, providers };
}
