/**
 * Electricity Maps API v3 (`auth-token` header).
 *
 *   GET {base}/carbon-intensity/latest?zone=FR
 *     → { zone, carbonIntensity, datetime, updatedAt, emissionFactorType, isEstimated, estimationMethod }
 *   GET {base}/carbon-intensity/forecast?zone=FR          (paid plans; 403 otherwise)
 *     → { zone, forecast: [{ carbonIntensity, datetime }], updatedAt }
 * Cloud regions are asked with `dataCenterProvider` and `dataCenterRegion` instead of `zone`.
 * Values are gCO₂eq/kWh, hourly (`datetime` is the start of the hour), average (lifecycle by default) factors.
 */
import type { RegionInfo } from '../regions';
import {
  FORECAST_DENIED_BACKOFF_MS,
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

const HOUR_MS = 3_600_000;

export interface ElectricityMapsOptions extends LiveProviderOptions {
  token?: string;
  /** a zone key that wins over the region's country: "US-CAL-CISO", "DK-DK1" */
  zone?: string;
}

export interface ElectricityMapsLatest {
  zone?: string;
  point: IntensityPoint;
  emissionFactorType?: string;
  isEstimated?: boolean;
  estimationMethod?: string | null;
}

function intensityValue(x: unknown, what: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) {
    throw new LiveIntensityError(
      'malformed',
      `${what}: carbonIntensity is ${JSON.stringify(x)}, not a number of gCO₂eq/kWh`,
    );
  }
  return x;
}

function timeValue(x: unknown, what: string): number {
  const t = typeof x === 'string' ? Date.parse(x) : NaN;
  if (!Number.isFinite(t))
    throw new LiveIntensityError('malformed', `${what}: datetime is ${JSON.stringify(x)}, not an ISO time`);
  return t;
}

export function parseElectricityMapsLatest(body: unknown): ElectricityMapsLatest {
  const what = 'Electricity Maps carbon-intensity/latest';
  if (!isObject(body)) throw new LiveIntensityError('malformed', `${what}: the answer is not an object`);
  const from = timeValue(body.datetime, what);
  const out: ElectricityMapsLatest = {
    point: { fromMs: from, toMs: from + HOUR_MS, gPerKWh: intensityValue(body.carbonIntensity, what) },
  };
  if (typeof body.zone === 'string') out.zone = body.zone;
  if (typeof body.emissionFactorType === 'string') out.emissionFactorType = body.emissionFactorType;
  if (typeof body.isEstimated === 'boolean') out.isEstimated = body.isEstimated;
  if (typeof body.estimationMethod === 'string' || body.estimationMethod === null)
    out.estimationMethod = body.estimationMethod as string | null;
  return out;
}

export function parseElectricityMapsForecast(body: unknown): IntensityPoint[] {
  const what = 'Electricity Maps carbon-intensity/forecast';
  if (!isObject(body) || !Array.isArray(body.forecast))
    throw new LiveIntensityError('malformed', `${what}: no "forecast" list`);
  const points: IntensityPoint[] = [];
  for (const item of body.forecast) {
    if (!isObject(item)) throw new LiveIntensityError('malformed', `${what}: a forecast item is not an object`);
    if (item.carbonIntensity === null) continue; // a gap in the forecast
    const from = timeValue(item.datetime, what);
    points.push({
      fromMs: from,
      toMs: from + HOUR_MS,
      gPerKWh: intensityValue(item.carbonIntensity, what),
      forecast: true,
    });
  }
  points.sort((a, b) => a.fromMs - b.fromMs);
  return points;
}

export class ElectricityMapsProvider extends LiveIntensityProvider {
  readonly id = 'electricitymaps' as const;
  /** the API's resolution is one hour */
  readonly granularityMs = HOUR_MS;
  readonly forecastHorizonH = 24;
  /** the latest value is often an hour or two behind */
  protected readonly holdMs = 3 * HOUR_MS;
  protected override readonly separateForecast = true;
  private readonly token: string;
  private readonly zone: string;

  constructor(opts: ElectricityMapsOptions) {
    super(opts, DEFAULT_BASE_URLS.electricitymaps);
    this.token = opts.token?.trim() ?? '';
    this.zone = opts.zone?.trim() ?? '';
  }

  protected secrets(): string[] {
    return [this.token];
  }

  protected credentialsProblem(): string | undefined {
    return this.token
      ? undefined
      : "Electricity Maps needs an API token: run 'Carbon Meter: Set API Key' (CLI: CARBON_METER_ELECTRICITYMAPS_TOKEN); using the static annual average meanwhile";
  }

  protected resolveTarget(region: RegionInfo): Target | { unknown: string } {
    if (this.zone) return { key: `zone-${this.zone}`, describe: `zone ${this.zone}`, params: { zone: this.zone } };
    if (region.kind === 'cloud' && region.provider) {
      const dcRegion = region.code.slice(region.code.indexOf(':') + 1).toLowerCase();
      return {
        key: `dc-${region.provider}-${dcRegion}`,
        describe: `data centre ${region.provider}:${dcRegion}`,
        params: { dataCenterProvider: region.provider, dataCenterRegion: dcRegion },
      };
    }
    if (region.countryAlpha2)
      return {
        key: `zone-${region.countryAlpha2}`,
        describe: `zone ${region.countryAlpha2}`,
        params: { zone: region.countryAlpha2 },
      };
    return {
      unknown: `Electricity Maps has no zone for ${region.name} (${region.code}): set the region to a country (carbonMeter.region; CLI: --region), or the zone (carbonMeter.intensity.electricitymaps.zone; CLI: CARBON_METER_ELECTRICITYMAPS_ZONE) to one such as FR or US-CAL-CISO; using the static annual average`,
    };
  }

  private url(endpoint: string, target: Target): string {
    return `${this.baseUrl}/carbon-intensity/${endpoint}?${new URLSearchParams(target.params).toString()}`;
  }

  protected async fetch(
    channel: Channel,
    target: Target,
    _t: number,
    _before: CacheEntry | undefined,
  ): Promise<FetchOutcome> {
    const headers = { 'auth-token': this.token };
    const common = { headers, timeoutMs: this.timeoutMs, secrets: this.secrets(), unknownZoneStatuses: [400, 404] };
    if (channel === 'forecast') {
      try {
        const { body } = await getJson(this.url('forecast', target), {
          ...common,
          what: `Electricity Maps forecast for ${target.describe}`,
        });
        const points = parseElectricityMapsForecast(body);
        return {
          patch: {
            points,
            source: `Electricity Maps API v3 carbon-intensity/forecast, ${target.describe}`,
            factorType: 'average',
          },
        };
      } catch (err) {
        if (err instanceof LiveIntensityError && err.kind === 'forbidden') {
          return { patch: { forecastDeniedUntilMs: Date.now() + FORECAST_DENIED_BACKOFF_MS }, error: err };
        }
        throw err;
      }
    }
    const { body } = await getJson(this.url('latest', target), {
      ...common,
      what: `Electricity Maps latest for ${target.describe}`,
    });
    const latest = parseElectricityMapsLatest(body);
    const factors = latest.emissionFactorType ?? 'lifecycle';
    const estimated = latest.isEstimated
      ? `, estimated${latest.estimationMethod ? ` (${latest.estimationMethod})` : ''}`
      : '';
    return {
      patch: {
        points: [latest.point],
        source: `Electricity Maps API v3, ${target.describe}: hourly, ${factors} emission factors${estimated}`,
        factorType: 'average',
      },
    };
  }
}
