/**
 * WattTime API v3: marginal operating emissions rate (MOER), a *marginal* factor, labelled as such everywhere.
 *
 *   GET {base}/login                       HTTP Basic → { token }   (valid 30 min; then `Authorization: Bearer`)
 *   GET {base}/v3/region-from-loc?latitude=&longitude=&signal_type=co2_moer → { region, region_full_name, signal_type }
 *   GET {base}/v3/forecast?region=&signal_type=co2_moer&horizon_hours=24
 *     → { data: [{ point_time, value }], meta: { region, signal_type, units: "lbs_co2_per_mwh",
 *                                                 data_point_period_seconds: 300, generated_at, model } }
 *   GET {base}/v3/signal-index?region=&signal_type=co2_moer
 *     → { data: [{ point_time, value }], meta: { units: "percentile", ... } }   (0–100; every plan)
 * lbs CO₂/MWh × 0.45359237 (kg per lb) = g CO₂/kWh. The forecast is subscribers' data (CAISO_NORTH for everyone);
 * an account without it gets a 403, after which only the signal index is asked for (a day), and the meter uses
 * the static average, saying why.
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

/** kg per lb: lbs/MWh × this = kg/MWh = g/kWh */
export const LBS_PER_MWH_TO_G_PER_KWH = 0.45359237;
const FIVE_MIN_MS = 300_000;
/** tokens last 30 minutes; a new one is asked for after 25 */
const TOKEN_TTL_MS = 25 * 60_000;

export interface WattTimeOptions extends LiveProviderOptions {
  username?: string;
  password?: string;
  /** WattTime region ("CAISO_NORTH") */
  region?: string;
  /** or a location, turned into a region with /v3/region-from-loc */
  latitude?: number;
  longitude?: number;
}

export interface WattTimeForecast {
  region?: string;
  points: IntensityPoint[];
}

/** A /v3/forecast answer → points in g/kWh (marginal). */
export function parseWattTimeForecast(body: unknown): WattTimeForecast {
  const what = 'WattTime /v3/forecast';
  if (!isObject(body) || !Array.isArray(body.data))
    throw new LiveIntensityError('malformed', `${what}: no "data" list`);
  const meta = isObject(body.meta) ? body.meta : {};
  const units = meta.units;
  if (units !== undefined && units !== 'lbs_co2_per_mwh') {
    throw new LiveIntensityError(
      'malformed',
      `${what}: units are ${JSON.stringify(units)}, expected "lbs_co2_per_mwh"`,
    );
  }
  const stepS =
    typeof meta.data_point_period_seconds === 'number' && meta.data_point_period_seconds > 0
      ? meta.data_point_period_seconds
      : 300;
  const points: IntensityPoint[] = [];
  for (const item of body.data) {
    if (!isObject(item)) throw new LiveIntensityError('malformed', `${what}: a data point is not an object`);
    const from = typeof item.point_time === 'string' ? Date.parse(item.point_time) : NaN;
    const v = item.value;
    if (!Number.isFinite(from))
      throw new LiveIntensityError('malformed', `${what}: point_time ${JSON.stringify(item.point_time)} is not a time`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new LiveIntensityError('malformed', `${what}: value ${JSON.stringify(v)} is not lbs/MWh`);
    points.push({ fromMs: from, toMs: from + stepS * 1000, gPerKWh: v * LBS_PER_MWH_TO_G_PER_KWH, forecast: true });
  }
  points.sort((a, b) => a.fromMs - b.fromMs);
  const out: WattTimeForecast = { points };
  if (typeof meta.region === 'string') out.region = meta.region;
  return out;
}

/** A /v3/signal-index answer → the latest percentile (0–100). */
export function parseWattTimeSignalIndex(body: unknown): { value: number; atMs: number } {
  const what = 'WattTime /v3/signal-index';
  if (!isObject(body) || !Array.isArray(body.data) || !body.data.length)
    throw new LiveIntensityError('malformed', `${what}: no "data" list`);
  const last = body.data[body.data.length - 1];
  if (!isObject(last) || typeof last.value !== 'number' || last.value < 0 || last.value > 100) {
    throw new LiveIntensityError('malformed', `${what}: value is not a percentile`);
  }
  const atMs = typeof last.point_time === 'string' ? Date.parse(last.point_time) : NaN;
  return { value: last.value, atMs: Number.isFinite(atMs) ? atMs : Date.now() };
}

export class WattTimeProvider extends LiveIntensityProvider {
  readonly id = 'watttime' as const;
  readonly granularityMs = FIVE_MIN_MS;
  readonly forecastHorizonH = 24;
  protected readonly holdMs = 30 * 60_000;
  private readonly username: string;
  private readonly password: string;
  private readonly region: string;
  private readonly latitude?: number;
  private readonly longitude?: number;
  /** in memory only, never written anywhere */
  private token?: { value: string; atMs: number };

  constructor(opts: WattTimeOptions) {
    super(opts, DEFAULT_BASE_URLS.watttime);
    this.username = opts.username ?? '';
    this.password = opts.password ?? '';
    this.region = opts.region?.trim() ?? '';
    this.latitude = opts.latitude;
    this.longitude = opts.longitude;
  }

  protected secrets(): string[] {
    return [
      this.password,
      this.token?.value ?? '',
      Buffer.from(`${this.username}:${this.password}`).toString('base64'),
    ];
  }

  protected credentialsProblem(): string | undefined {
    return this.username && this.password
      ? undefined
      : "WattTime needs a username and password: run 'Carbon Meter: Set API Key' (CLI: CARBON_METER_WATTTIME_USERNAME and CARBON_METER_WATTTIME_PASSWORD); using the static annual average meanwhile";
  }

  protected resolveTarget(_region: RegionInfo): Target | { unknown: string } {
    if (this.region)
      return { key: `region-${this.region}`, describe: `region ${this.region}`, params: { region: this.region } };
    if (
      this.latitude !== undefined &&
      this.longitude !== undefined &&
      Number.isFinite(this.latitude) &&
      Number.isFinite(this.longitude)
    ) {
      const loc = `${this.latitude},${this.longitude}`;
      return {
        key: `loc-${loc}`,
        describe: `location ${loc}`,
        params: { latitude: String(this.latitude), longitude: String(this.longitude) },
      };
    }
    return {
      unknown:
        'WattTime needs a grid region: set carbonMeter.intensity.watttime.region (CLI: CARBON_METER_WATTTIME_REGION), e.g. CAISO_NORTH, or a latitude and longitude; using the static annual average',
    };
  }

  private async bearer(): Promise<Record<string, string>> {
    if (!this.token || Date.now() - this.token.atMs > TOKEN_TTL_MS) {
      const basic = Buffer.from(`${this.username}:${this.password}`).toString('base64');
      let body: unknown;
      try {
        ({ body } = await getJson(`${this.baseUrl}/login`, {
          headers: { authorization: `Basic ${basic}` },
          timeoutMs: this.timeoutMs,
          what: 'WattTime login',
          secrets: this.secrets(),
        }));
      } catch (err) {
        if (err instanceof LiveIntensityError && err.kind === 'unauthorized') {
          throw new LiveIntensityError(
            'unauthorized',
            "WattTime refused the username or password (HTTP 401): set them again with 'Carbon Meter: Set API Key'",
            undefined,
            401,
          );
        }
        throw err;
      }
      if (!isObject(body) || typeof body.token !== 'string' || !body.token)
        throw new LiveIntensityError('malformed', 'WattTime login: no "token" in the answer');
      this.token = { value: body.token, atMs: Date.now() };
    }
    return { authorization: `Bearer ${this.token.value}` };
  }

  private async regionOf(
    target: Target,
    before: CacheEntry | undefined,
  ): Promise<{ region: string; extra?: Record<string, string> }> {
    if (target.params.region) return { region: target.params.region };
    if (before?.extra?.region) return { region: before.extra.region, extra: before.extra };
    const q = new URLSearchParams({
      latitude: target.params.latitude,
      longitude: target.params.longitude,
      signal_type: 'co2_moer',
    });
    const { body } = await getJson(`${this.baseUrl}/v3/region-from-loc?${q}`, {
      headers: await this.bearer(),
      timeoutMs: this.timeoutMs,
      what: `WattTime region for ${target.describe}`,
      secrets: this.secrets(),
      unknownZoneStatuses: [400, 404],
    });
    if (!isObject(body) || typeof body.region !== 'string')
      throw new LiveIntensityError('malformed', 'WattTime region-from-loc: no "region" in the answer');
    const extra: Record<string, string> = { region: body.region };
    if (typeof body.region_full_name === 'string') extra.regionName = body.region_full_name;
    return { region: body.region, extra };
  }

  protected async fetch(
    _channel: Channel,
    target: Target,
    _t: number,
    before: CacheEntry | undefined,
  ): Promise<FetchOutcome> {
    const headers = await this.bearer();
    const { region, extra } = await this.regionOf(target, before);
    const patch: Partial<CacheEntry> = extra ? { extra } : {};
    const common = { headers, timeoutMs: this.timeoutMs, secrets: this.secrets(), unknownZoneStatuses: [400, 404] };
    const deniedUntil = before?.forecastDeniedUntilMs;
    try {
      if (deniedUntil !== undefined && deniedUntil > Date.now()) {
        const q = new URLSearchParams({ region, signal_type: 'co2_moer' });
        const { body } = await getJson(`${this.baseUrl}/v3/signal-index?${q}`, {
          ...common,
          what: `WattTime signal index for ${region}`,
        });
        const index = parseWattTimeSignalIndex(body);
        return {
          patch: { ...patch, signalIndex: index },
          error: new LiveIntensityError(
            'forbidden',
            `WattTime: this account's plan has no MOER forecast for ${region}, only the signal index (now ${index.value}/100)`,
          ),
        };
      }
      const q = new URLSearchParams({ region, signal_type: 'co2_moer', horizon_hours: '24' });
      const { body } = await getJson(`${this.baseUrl}/v3/forecast?${q}`, {
        ...common,
        what: `WattTime MOER forecast for ${region}`,
      });
      const forecast = parseWattTimeForecast(body);
      if (!forecast.points.length)
        throw new LiveIntensityError('no-data', `WattTime gave no MOER points for ${region}`);
      return {
        patch: {
          ...patch,
          points: forecast.points,
          source: `WattTime API v3 co2_moer, region ${region}: marginal operating emissions rate (MOER), not an average; lbs/MWh × ${LBS_PER_MWH_TO_G_PER_KWH} = g/kWh`,
          factorType: 'marginal',
        },
      };
    } catch (err) {
      if (err instanceof LiveIntensityError) {
        if (err.kind === 'unauthorized') this.token = undefined; // expired or revoked: log in again next period
        if (err.kind === 'forbidden')
          return { patch: { ...patch, forecastDeniedUntilMs: Date.now() + FORECAST_DENIED_BACKOFF_MS }, error: err };
        return { patch, error: err };
      }
      throw err;
    }
  }
}
