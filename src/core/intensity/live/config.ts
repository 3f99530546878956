/**
 * Which intensity provider a process uses, from settings (the extension) or the environment (the CLI), and the
 * provider built from it. Credentials come in here and go nowhere else: not into the cache, logs or messages.
 */
import { SettingsReader, type SettingGetter, type SettingProblem } from '../../config/validate';
import { StaticIntensityProvider, type IntensityProvider } from '../provider';
import type { LiveIntensityProvider, LiveProviderOptions } from './base';
import { ElectricityMapsProvider } from './electricitymaps';
import { UkCarbonIntensityProvider } from './ukCarbonIntensity';
import { DEFAULT_BASE_URLS, INTENSITY_PROVIDER_IDS, type IntensityProviderId, type LiveProviderId } from './types';
import { WattTimeProvider } from './watttime';

export interface IntensityConfig {
  provider: IntensityProviderId;
  /** API root of the chosen provider (default: the public one) */
  baseUrl?: string;
  timeoutMs?: number;
  electricityMapsToken?: string;
  electricityMapsZone?: string;
  ukPostcode?: string;
  wattTimeUsername?: string;
  wattTimePassword?: string;
  wattTimeRegion?: string;
  wattTimeLatitude?: number;
  wattTimeLongitude?: number;
}

export type BuildOptions = Omit<LiveProviderOptions, 'baseUrl' | 'timeoutMs'>;

export function isIntensityProviderId(x: unknown): x is IntensityProviderId {
  return typeof x === 'string' && (INTENSITY_PROVIDER_IDS as readonly string[]).includes(x);
}

export function isLiveProvider(p: IntensityProvider): p is LiveIntensityProvider {
  return p.id !== 'static' && typeof (p as Partial<LiveIntensityProvider>).forecast === 'function';
}

export function createIntensityProvider(config: IntensityConfig, opts: BuildOptions): IntensityProvider {
  const common: LiveProviderOptions = { ...opts, baseUrl: config.baseUrl || undefined, timeoutMs: config.timeoutMs };
  switch (config.provider) {
    case 'electricitymaps':
      return new ElectricityMapsProvider({
        ...common,
        token: config.electricityMapsToken,
        zone: config.electricityMapsZone,
      });
    case 'uk-carbon-intensity':
      return new UkCarbonIntensityProvider({ ...common, postcode: config.ukPostcode });
    case 'watttime':
      return new WattTimeProvider({
        ...common,
        username: config.wattTimeUsername,
        password: config.wattTimePassword,
        region: config.wattTimeRegion,
        latitude: config.wattTimeLatitude,
        longitude: config.wattTimeLongitude,
      });
    default:
      return new StaticIntensityProvider();
  }
}

/** `CARBON_METER_UK_CARBON_INTENSITY_URL`, `CARBON_METER_ELECTRICITYMAPS_URL`, `CARBON_METER_WATTTIME_URL`. */
export function baseUrlEnvName(id: LiveProviderId): string {
  return `CARBON_METER_${id.toUpperCase().replace(/-/g, '_')}_URL`;
}

export class IntensityConfigError extends Error {
  override name = 'IntensityConfigError';
}

/**
 * The CLI's configuration: `--provider` (else CARBON_METER_PROVIDER, else static) and the environment:
 * CARBON_METER_<PROVIDER>_URL, CARBON_METER_ELECTRICITYMAPS_TOKEN / _ZONE, CARBON_METER_UK_POSTCODE,
 * CARBON_METER_WATTTIME_USERNAME / _PASSWORD / _REGION / _LATITUDE / _LONGITUDE, CARBON_METER_INTENSITY_TIMEOUT (s).
 */
export function intensityConfigFromEnv(env: NodeJS.ProcessEnv, providerFlag?: string): IntensityConfig {
  const raw = (providerFlag ?? env.CARBON_METER_PROVIDER ?? '').trim() || 'static';
  if (!isIntensityProviderId(raw)) {
    throw new IntensityConfigError(
      `${providerFlag !== undefined ? '--provider' : 'CARBON_METER_PROVIDER'} must be one of ${INTENSITY_PROVIDER_IDS.join(', ')}, not "${raw}"`,
    );
  }
  const num = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v.trim() === '') return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new IntensityConfigError(`${name} must be a number, not "${v}"`);
    return n;
  };
  const config: IntensityConfig = { provider: raw };
  if (raw !== 'static') {
    const url = env[baseUrlEnvName(raw)];
    if (url) {
      try {
        const u = new URL(url);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
      } catch {
        throw new IntensityConfigError(`${baseUrlEnvName(raw)} must be an http(s) URL, not "${url}"`);
      }
      config.baseUrl = url;
    }
  }
  const timeoutS = num('CARBON_METER_INTENSITY_TIMEOUT');
  if (timeoutS !== undefined) {
    if (timeoutS <= 0 || timeoutS > 120)
      throw new IntensityConfigError(`CARBON_METER_INTENSITY_TIMEOUT must be from 0 to 120 seconds, not ${timeoutS}`);
    config.timeoutMs = timeoutS * 1000;
  }
  if (env.CARBON_METER_ELECTRICITYMAPS_TOKEN) config.electricityMapsToken = env.CARBON_METER_ELECTRICITYMAPS_TOKEN;
  if (env.CARBON_METER_ELECTRICITYMAPS_ZONE) config.electricityMapsZone = env.CARBON_METER_ELECTRICITYMAPS_ZONE;
  if (env.CARBON_METER_UK_POSTCODE) config.ukPostcode = env.CARBON_METER_UK_POSTCODE;
  if (env.CARBON_METER_WATTTIME_USERNAME) config.wattTimeUsername = env.CARBON_METER_WATTTIME_USERNAME;
  if (env.CARBON_METER_WATTTIME_PASSWORD) config.wattTimePassword = env.CARBON_METER_WATTTIME_PASSWORD;
  if (env.CARBON_METER_WATTTIME_REGION) config.wattTimeRegion = env.CARBON_METER_WATTTIME_REGION;
  const lat = num('CARBON_METER_WATTTIME_LATITUDE');
  const lon = num('CARBON_METER_WATTTIME_LONGITUDE');
  if (lat !== undefined) config.wattTimeLatitude = lat;
  if (lon !== undefined) config.wattTimeLongitude = lon;
  return config;
}

// ---------------------------------------------------------------------------------------------------------------
// Settings (the extension): `carbonMeter.intensity.*`, read through a getter with the shared checks
// (core/config/validate.ts), so this is tested in plain Node.

export interface IntensitySettings {
  provider: IntensityProviderId;
  baseUrls: Record<LiveProviderId, string>;
  electricityMapsZone: string;
  ukPostcode: string;
  wattTimeRegion: string;
  wattTimeLatitude?: number;
  wattTimeLongitude?: number;
  timeoutS: number;
  notifyHighIntensity: boolean;
}

/** The credentials, from SecretStorage only. */
export interface IntensitySecrets {
  electricityMapsToken?: string;
  wattTimeUsername?: string;
  wattTimePassword?: string;
}

/** Setting keys under `carbonMeter.`. */
export const INTENSITY_SETTING_KEYS = {
  provider: 'intensity.provider',
  electricityMapsBaseUrl: 'intensity.electricitymaps.baseUrl',
  electricityMapsZone: 'intensity.electricitymaps.zone',
  ukBaseUrl: 'intensity.ukCarbonIntensity.baseUrl',
  ukPostcode: 'intensity.ukPostcode',
  wattTimeBaseUrl: 'intensity.watttime.baseUrl',
  wattTimeRegion: 'intensity.watttime.region',
  wattTimeLatitude: 'intensity.watttime.latitude',
  wattTimeLongitude: 'intensity.watttime.longitude',
  timeoutSeconds: 'intensity.timeoutSeconds',
  notifyHighIntensity: 'intensity.notifyHighIntensity',
} as const;

export function readIntensitySettings(get: SettingGetter): { settings: IntensitySettings; problems: SettingProblem[] } {
  const r = new SettingsReader(get);
  const k = INTENSITY_SETTING_KEYS;
  let provider = r.raw(k.provider) ?? 'static';
  if (!isIntensityProviderId(provider)) {
    r.bad(k.provider, provider, `one of ${INTENSITY_PROVIDER_IDS.map((p) => `"${p}"`).join(', ')}`, 'static');
    provider = 'static';
  }
  const settings: IntensitySettings = {
    provider: provider as IntensityProviderId,
    baseUrls: {
      electricitymaps: r.url(k.electricityMapsBaseUrl, DEFAULT_BASE_URLS.electricitymaps),
      'uk-carbon-intensity': r.url(k.ukBaseUrl, DEFAULT_BASE_URLS['uk-carbon-intensity']),
      watttime: r.url(k.wattTimeBaseUrl, DEFAULT_BASE_URLS.watttime),
    },
    electricityMapsZone: r.str(k.electricityMapsZone),
    ukPostcode: r.str(k.ukPostcode),
    wattTimeRegion: r.str(k.wattTimeRegion),
    timeoutS: r.num(k.timeoutSeconds, undefined, 1, 120) ?? 10,
    notifyHighIntensity: r.bool(k.notifyHighIntensity, false),
  };
  const lat = r.num(k.wattTimeLatitude, undefined, -90, 90);
  const lon = r.num(k.wattTimeLongitude, undefined, -180, 180);
  if (lat !== undefined) settings.wattTimeLatitude = lat;
  if (lon !== undefined) settings.wattTimeLongitude = lon;
  return { settings, problems: r.problems };
}

export function intensityConfigFromSettings(s: IntensitySettings, secrets: IntensitySecrets): IntensityConfig {
  const config: IntensityConfig = {
    provider: s.provider,
    timeoutMs: s.timeoutS * 1000,
    electricityMapsZone: s.electricityMapsZone || undefined,
    ukPostcode: s.ukPostcode || undefined,
    wattTimeRegion: s.wattTimeRegion || undefined,
    wattTimeLatitude: s.wattTimeLatitude,
    wattTimeLongitude: s.wattTimeLongitude,
    ...secrets,
  };
  if (s.provider !== 'static') config.baseUrl = s.baseUrls[s.provider];
  return config;
}
