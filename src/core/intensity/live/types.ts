/**
 * Shared vocabulary of the live (time-resolved) intensity providers.
 *
 * A provider turns an API answer into `IntensityPoint`s: a carbon intensity in gCO₂eq/kWh that holds over
 * [fromMs, toMs). Points are kept in a cache on disk shared by every window and CLI, so the meter reads them
 * synchronously at every tick and the network is asked at most once per provider, region and granularity period.
 */

export type LiveProviderId = 'electricitymaps' | 'uk-carbon-intensity' | 'watttime';
export type IntensityProviderId = 'static' | LiveProviderId;

export const INTENSITY_PROVIDER_IDS: readonly IntensityProviderId[] = [
  'static',
  'electricitymaps',
  'uk-carbon-intensity',
  'watttime',
];

/** Names people read. */
export const PROVIDER_LABELS: Readonly<Record<IntensityProviderId, string>> = {
  static: 'static annual averages (CO2.js)',
  electricitymaps: 'Electricity Maps',
  'uk-carbon-intensity': 'Carbon Intensity API (GB)',
  watttime: 'WattTime',
};

/** The documented public endpoints; every one can be overridden (settings, CARBON_METER_<PROVIDER>_URL). */
export const DEFAULT_BASE_URLS: Readonly<Record<LiveProviderId, string>> = {
  electricitymaps: 'https://api.electricitymap.org/v3',
  'uk-carbon-intensity': 'https://api.carbonintensity.org.uk',
  watttime: 'https://api.watttime.org',
};

/** One value of a time series: gCO₂eq/kWh in force over [fromMs, toMs). */
export interface IntensityPoint {
  fromMs: number;
  toMs: number;
  gPerKWh: number;
  /** The provider's own band, when it gives one (GB: "very low" … "very high"). */
  index?: string;
  /** true when the figure is a forecast rather than a measured or estimated value */
  forecast?: boolean;
}

/** Why a live figure could not be used. */
export type FailureKind =
  | 'no-credentials'
  | 'unauthorized'
  | 'forbidden'
  | 'rate-limited'
  | 'server'
  | 'timeout'
  | 'network'
  | 'malformed'
  | 'no-data'
  | 'unknown-zone';

export class LiveIntensityError extends Error {
  override name = 'LiveIntensityError';
  constructor(
    readonly kind: FailureKind,
    message: string,
    /** 429: how long the server asked us to wait, ms */
    readonly retryAfterMs?: number,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Told once per provider instance and kind: the UI shows it once, the CLI prints it once. */
export interface IntensityProblem {
  providerId: LiveProviderId;
  kind: FailureKind;
  /** One sentence that says what happened and what to do; never contains a credential. */
  message: string;
}

export type LogFn = (level: 'info' | 'warn' | 'error', message: string) => void;

/** A forecast for greener-time advice. */
export type ForecastResult =
  | {
      ok: true;
      points: IntensityPoint[];
      factorType: 'average' | 'marginal';
      source: string;
      /** the last time the forecast covers, ms */
      coveredUntilMs: number;
      /** WattTime's signal index (0–100 percentile of the next day), when that is all the plan gives */
      signalIndex?: number;
    }
  | { ok: false; reason: string; signalIndex?: number };
