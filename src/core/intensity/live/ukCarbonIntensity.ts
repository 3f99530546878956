/**
 * The GB Carbon Intensity API (National Energy System Operator; no key; CC BY 4.0), half-hour periods, times in
 * UTC written `YYYY-MM-DDThh:mmZ`.
 *
 *   national:  GET {base}/intensity/{from}/fw48h
 *     → { data: [{ from, to, intensity: { forecast, actual, index } }] }           (actual is null ahead of time)
 *   regional:  GET {base}/regional/intensity/{from}/fw48h/postcode/{outward}
 *     → { data: { regionid, dnoregion, shortname, postcode,
 *                 data: [{ from, to, intensity: { forecast, index }, generationmix: [{ fuel, perc }] }] } }
 *   (`/regional/postcode/{outward}` wraps the same object in a list; both are read.)
 * One request gives the current half hour and 48 h of forecast: the meter and the greener-time advice share it.
 */
import type { RegionInfo } from '../regions';
import {
  iso,
  LiveIntensityProvider,
  type Channel,
  type FetchOutcome,
  type LiveProviderOptions,
  type Target,
} from './base';
import type { CacheEntry } from './cache';
import { getJson } from './http';
import { DEFAULT_BASE_URLS, LiveIntensityError, type IntensityPoint } from './types';
import { isObject } from '../../util/isObject';

const HALF_HOUR_MS = 1_800_000;
export const UK_SOURCE = 'Carbon Intensity API (National Energy System Operator, CC BY 4.0)';

export interface UkCarbonIntensityOptions extends LiveProviderOptions {
  /** outward code (RG10, SW1) or a full postcode (only the outward part is sent) */
  postcode?: string;
}

export interface UkSeries {
  points: IntensityPoint[];
  /** regional answers: who the postcode belongs to */
  region?: { regionid?: number; dnoregion?: string; shortname?: string; postcode?: string };
}

/** "RG10 1AB" → "RG10"; "rg101ab" → "RG10"; "SW1" → "SW1"; anything else → undefined. */
export function outwardPostcode(input: string): string | undefined {
  const s = input.trim().toUpperCase();
  const outward = /^[A-Z]{1,2}\d[A-Z\d]?$/;
  const first = s.split(/\s+/)[0];
  if (outward.test(first)) return first;
  const full = /^([A-Z]{1,2}\d[A-Z\d]?)(\d[A-Z]{2})$/.exec(s.replace(/\s+/g, ''));
  return full ? full[1] : undefined;
}

/** The API's time format: minutes, UTC, `Z`. */
export function ukApiTime(t: number): string {
  return new Date(t).toISOString().slice(0, 16) + 'Z';
}

function parsePeriods(list: unknown[], what: string): IntensityPoint[] {
  const points: IntensityPoint[] = [];
  for (const item of list) {
    if (!isObject(item) || !isObject(item.intensity))
      throw new LiveIntensityError('malformed', `${what}: a period has no "intensity" object`);
    const from = typeof item.from === 'string' ? Date.parse(item.from) : NaN;
    const to = typeof item.to === 'string' ? Date.parse(item.to) : NaN;
    if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) {
      throw new LiveIntensityError(
        'malformed',
        `${what}: a period has no valid "from"/"to" (${JSON.stringify(item.from)}, ${JSON.stringify(item.to)})`,
      );
    }
    const { actual, forecast, index } = item.intensity;
    const value =
      typeof actual === 'number' && Number.isFinite(actual)
        ? actual
        : typeof forecast === 'number' && Number.isFinite(forecast)
          ? forecast
          : undefined;
    if (value === undefined) {
      if (actual === null && forecast === null) continue; // not published yet
      throw new LiveIntensityError('malformed', `${what}: intensity ${JSON.stringify(item.intensity)} has no number`);
    }
    if (value < 0) throw new LiveIntensityError('malformed', `${what}: negative intensity ${value}`);
    const p: IntensityPoint = { fromMs: from, toMs: to, gPerKWh: value };
    if (typeof index === 'string') p.index = index;
    if (!(typeof actual === 'number')) p.forecast = true;
    points.push(p);
  }
  points.sort((a, b) => a.fromMs - b.fromMs);
  return points;
}

export function parseUkNational(body: unknown): UkSeries {
  const what = 'Carbon Intensity API /intensity';
  if (!isObject(body) || !Array.isArray(body.data))
    throw new LiveIntensityError('malformed', `${what}: no "data" list`);
  return { points: parsePeriods(body.data, what) };
}

export function parseUkRegional(body: unknown): UkSeries {
  const what = 'Carbon Intensity API /regional';
  if (!isObject(body)) throw new LiveIntensityError('malformed', `${what}: the answer is not an object`);
  const d = Array.isArray(body.data) ? body.data[0] : body.data;
  if (d === undefined && Array.isArray(body.data))
    throw new LiveIntensityError('unknown-zone', `${what}: no region for this postcode`);
  if (!isObject(d) || !Array.isArray(d.data))
    throw new LiveIntensityError('malformed', `${what}: no region object with a "data" list`);
  const region: UkSeries['region'] = {};
  if (typeof d.regionid === 'number') region.regionid = d.regionid;
  if (typeof d.dnoregion === 'string') region.dnoregion = d.dnoregion;
  if (typeof d.shortname === 'string') region.shortname = d.shortname;
  if (typeof d.postcode === 'string') region.postcode = d.postcode;
  return { points: parsePeriods(d.data, what), region };
}

export class UkCarbonIntensityProvider extends LiveIntensityProvider {
  readonly id = 'uk-carbon-intensity' as const;
  readonly granularityMs = HALF_HOUR_MS;
  readonly forecastHorizonH = 48;
  protected readonly holdMs = 2 * HALF_HOUR_MS;
  private readonly postcodeInput: string;

  constructor(opts: UkCarbonIntensityOptions) {
    super(opts, DEFAULT_BASE_URLS['uk-carbon-intensity']);
    this.postcodeInput = opts.postcode?.trim() ?? '';
  }

  protected secrets(): string[] {
    return [];
  }

  protected credentialsProblem(): string | undefined {
    return undefined;
  }

  protected resolveTarget(region: RegionInfo): Target | { unknown: string } {
    if (region.countryAlpha2 !== 'GB') {
      return {
        unknown: `the Carbon Intensity API covers Great Britain only, and the region is ${region.name} (${region.code}): set the region to GB (carbonMeter.region; CLI: --region GB) or choose another intensity provider; using the static annual average`,
      };
    }
    if (!this.postcodeInput) return { key: 'national', describe: 'Great Britain (national)', params: {} };
    const outward = outwardPostcode(this.postcodeInput);
    if (!outward) {
      return {
        unknown: `"${this.postcodeInput}" is not a UK postcode: set carbonMeter.intensity.ukPostcode (CLI: CARBON_METER_UK_POSTCODE) to an outward code such as RG10 or SW1; using the static annual average`,
      };
    }
    return { key: `postcode-${outward}`, describe: `postcode ${outward}`, params: { postcode: outward } };
  }

  protected async fetch(
    _channel: Channel,
    target: Target,
    t: number,
    _before: CacheEntry | undefined,
  ): Promise<FetchOutcome> {
    // from the half hour before t, so the period in force at t is certainly in the answer
    const from = ukApiTime(Math.floor(t / HALF_HOUR_MS) * HALF_HOUR_MS - HALF_HOUR_MS);
    const common = { timeoutMs: this.timeoutMs };
    if (target.params.postcode) {
      const pc = target.params.postcode;
      const { body } = await getJson(
        `${this.baseUrl}/regional/intensity/${from}/fw48h/postcode/${encodeURIComponent(pc)}`,
        {
          ...common,
          what: `Carbon Intensity API for postcode ${pc}`,
          unknownZoneStatuses: [400, 404],
        },
      );
      const series = parseUkRegional(body);
      if (!series.points.length)
        throw new LiveIntensityError(
          'no-data',
          `Carbon Intensity API gave no periods for postcode ${pc} from ${iso(t)}`,
        );
      const name = series.region?.shortname ?? series.region?.dnoregion;
      return {
        patch: {
          points: series.points,
          source: `${UK_SOURCE}, ${name ? `${name} (postcode ${pc})` : `postcode ${pc}`}: half-hourly regional forecast`,
          factorType: 'average',
        },
      };
    }
    const { body } = await getJson(`${this.baseUrl}/intensity/${from}/fw48h`, {
      ...common,
      what: 'Carbon Intensity API for Great Britain',
    });
    const series = parseUkNational(body);
    if (!series.points.length)
      throw new LiveIntensityError('no-data', `Carbon Intensity API gave no periods from ${iso(t)}`);
    return {
      patch: {
        points: series.points,
        source: `${UK_SOURCE}, Great Britain national: half-hourly, actual where published, else forecast`,
        factorType: 'average',
      },
    };
  }
}
