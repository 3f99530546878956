/**
 * What every live provider shares: `at` answered synchronously from the cache (memory, reloaded from disk when
 * another process rewrote it), `refresh` coordinated across processes (at most one request per zone and
 * granularity period), failures turned into the static annual average with a `fallback` reason that is reported
 * once and logged.
 */
import type { IntensityProvider, IntensityReading } from '../provider';
import type { RegionInfo } from '../regions';
import { IntensityCache, type CacheEntry } from './cache';
import { redact } from './http';
import {
  LiveIntensityError,
  PROVIDER_LABELS,
  type FailureKind,
  type ForecastResult,
  type IntensityPoint,
  type IntensityProblem,
  type LiveProviderId,
  type LogFn,
} from './types';
import { errorMessage } from '../../errors';
import { sha256Hex } from '../../util/hash';

export interface LiveProviderOptions {
  /** `<history folder>/intensity-cache` */
  cacheDir: string;
  /** API root; default: the documented public endpoint */
  baseUrl?: string;
  /** per request, ms (default 10 000) */
  timeoutMs?: number;
  log?: LogFn;
  /** told once per kind of failure */
  onProblem?: (problem: IntensityProblem) => void;
  /**
   * When the credentials were last set (ms). A failed-credentials entry older than this (written with the old key,
   * maybe by another window) does not stop a new request in the same period.
   */
  credentialsSetAtMs?: number;
  /** how often a process waiting for another one's request looks at the cache, ms (default 100) */
  pollMs?: number;
}

export interface Target {
  /** stable key of what is asked (part of the cache file name): "zone-FR", "postcode-RG10" */
  key: string;
  /** in words: "zone FR" */
  describe: string;
  /** provider-specific parameters */
  params: Record<string, string>;
}

export type Channel = 'current' | 'forecast';

/** What one request produced: fields to store, and the error when it failed. */
export interface FetchOutcome {
  patch: Partial<CacheEntry>;
  error?: LiveIntensityError;
}

const HOUR_MS = 3_600_000;
/** keep this much of the past in the cache (a run's stop tick may read a little back) */
const KEEP_PAST_MS = 48 * HOUR_MS;
/** an unknown zone is not asked about again for this long (a new setting is a new cache entry) */
const UNKNOWN_ZONE_BACKOFF_MS = 6 * HOUR_MS;
export const FORECAST_DENIED_BACKOFF_MS = 24 * HOUR_MS;

interface Loaded {
  entry?: CacheEntry;
  stamp?: string;
  checkedAtMs: number;
}

export abstract class LiveIntensityProvider implements IntensityProvider {
  abstract readonly id: LiveProviderId;
  abstract readonly granularityMs: number;
  /** how long the last value stays in force after its period when nothing newer came (sources publish late) */
  protected abstract readonly holdMs: number;
  /** true when forecasts are a separate request (Electricity Maps); else the current answer includes them */
  protected readonly separateForecast: boolean = false;
  /** the longest forecast the provider gives, hours */
  abstract readonly forecastHorizonH: number;

  protected readonly cache: IntensityCache;
  readonly baseUrl: string;
  protected readonly timeoutMs: number;
  private readonly mem = new Map<string, Loaded>();
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly targets = new Map<string, Target | { unknown: string }>();
  private readonly reported = new Set<string>();

  constructor(
    protected readonly opts: LiveProviderOptions,
    defaultBaseUrl: string,
  ) {
    this.cache = new IntensityCache(opts.cacheDir);
    this.baseUrl = (opts.baseUrl || defaultBaseUrl).replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  get label(): string {
    return PROVIDER_LABELS[this.id];
  }

  /** The zone/region the provider is asked about for a Carbon Meter region, or why there is none. */
  protected abstract resolveTarget(region: RegionInfo): Target | { unknown: string };
  /** Why no request can be made at all (missing credentials), or undefined. */
  protected abstract credentialsProblem(): string | undefined;
  /**
   * One request (plus a login where the API needs one). Failures are thrown as `LiveIntensityError`s, or returned
   * in `error` together with what is still worth storing (a 403 remembered, WattTime's signal index).
   */
  protected abstract fetch(
    channel: Channel,
    target: Target,
    t: number,
    before: CacheEntry | undefined,
  ): Promise<FetchOutcome>;
  /** strings to keep out of every message */
  protected abstract secrets(): string[];

  // ------------------------------------------------------------------------------------------------
  // IntensityProvider

  at(region: RegionInfo, t: number): IntensityReading {
    const target = this.target(region);
    if ('unknown' in target) return this.fallback(region, this.report('unknown-zone', target.unknown));
    const creds = this.credentialsProblem();
    if (creds) return this.fallback(region, this.report('no-credentials', creds));
    const entry = this.load(this.entryName(target, 'current'));
    const point = entry ? pointAt(entry.points, t, this.holdMs) : undefined;
    if (entry && point) {
      const reading: IntensityReading = {
        gPerKWh: point.gPerKWh,
        method: 'time-resolved',
        source: entry.source ?? `${this.label}, ${target.describe}`,
        factorType: entry.factorType ?? 'average',
        validFrom: point.fromMs,
        validTo: point.toMs,
      };
      return reading;
    }
    const period = this.period(t);
    const failure = this.currentFailure(entry, period);
    if (failure) return this.fallback(region, this.report(failure.kind, failure.message));
    if (entry && entry.fetchedPeriod !== undefined && entry.fetchedPeriod >= period) {
      // asked in this period, and still nothing covers t
      const last = entry.points[entry.points.length - 1];
      const why = last
        ? `${this.label} has no value for ${iso(t)} (its latest covers ${iso(last.fromMs)}–${iso(last.toMs)}, ${target.describe})`
        : `${this.label} returned no value for ${target.describe}`;
      return this.fallback(region, this.report('no-data', why));
    }
    // not asked yet in this period: the meter's refresh is under way; the static figure holds meanwhile
    return this.staticReading(region, ` (no ${this.label} value had arrived yet)`);
  }

  async refresh(region: RegionInfo, t: number): Promise<void> {
    const target = this.target(region);
    if ('unknown' in target) {
      this.report('unknown-zone', target.unknown);
      return;
    }
    const creds = this.credentialsProblem();
    if (creds) {
      this.report('no-credentials', creds);
      return;
    }
    await this.coordinate('current', target, t, this.period(t));
  }

  /** The forecast from `t` over the next `horizonH` hours (greener-time advice). May ask the network. */
  async forecast(region: RegionInfo, t: number, horizonH = this.forecastHorizonH): Promise<ForecastResult> {
    const target = this.target(region);
    if ('unknown' in target) return { ok: false, reason: target.unknown };
    const creds = this.credentialsProblem();
    if (creds) return { ok: false, reason: creds };
    const channel: Channel = this.separateForecast ? 'forecast' : 'current';
    const name = this.entryName(target, channel);
    const before = this.load(name, true);
    if (before?.forecastDeniedUntilMs !== undefined && before.forecastDeniedUntilMs > Date.now()) {
      return {
        ok: false,
        reason: before.failure?.message ?? `${this.label}: forecasts are not in this account's plan`,
        signalIndex: before.signalIndex?.value,
      };
    }
    await this.coordinate(channel, target, t, this.period(t));
    const entry = this.load(name, true);
    const end = t + horizonH * HOUR_MS;
    const points = (entry?.points ?? []).filter((p) => p.toMs > t && p.fromMs < end);
    if (!entry || !points.length) {
      const failure = this.liveFailure(entry);
      return {
        ok: false,
        reason: failure?.message ?? `${this.label} gave no forecast for ${target.describe}`,
        signalIndex: entry?.signalIndex?.value,
      };
    }
    return {
      ok: true,
      points,
      factorType: entry.factorType ?? 'average',
      source: entry.source ?? this.label,
      coveredUntilMs: Math.max(...points.map((p) => p.toMs)),
      signalIndex: entry.signalIndex?.value,
    };
  }

  // ------------------------------------------------------------------------------------------------
  // internals

  period(t: number): number {
    return Math.floor(t / this.granularityMs);
  }

  private target(region: RegionInfo): Target | { unknown: string } {
    let t = this.targets.get(region.code);
    if (!t) {
      t = this.resolveTarget(region);
      this.targets.set(region.code, t);
    }
    return t;
  }

  /** Cache file name: provider, a hash of the API root and the target (two servers never share an entry), target. */
  entryName(target: Target, channel: Channel): string {
    const h = sha256Hex(`${this.baseUrl}\n${target.key}`).slice(0, 10);
    const safe = target.key.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60);
    return `${this.id}-${safe}-${h}${channel === 'forecast' ? '-forecast' : ''}`;
  }

  /** The entry from memory, reloaded from disk when the file changed (looked at most once a second unless forced). */
  protected load(name: string, force = false): CacheEntry | undefined {
    const now = Date.now();
    const m = this.mem.get(name);
    if (m && !force && now - m.checkedAtMs < 1000) return m.entry;
    const stamp = this.cache.stamp(name);
    if (m && stamp !== undefined && stamp === m.stamp) {
      m.checkedAtMs = now;
      return m.entry;
    }
    if (stamp === undefined) {
      // nothing on disk (or the folder is not writable): keep what this process knows
      if (m) m.checkedAtMs = now;
      else this.mem.set(name, { checkedAtMs: now });
      return m?.entry;
    }
    const entry = this.cache.read(name) ?? m?.entry;
    this.mem.set(name, { entry, stamp, checkedAtMs: now });
    return entry;
  }

  /** A failure that still stands: not voided by credentials set after it. */
  private liveFailure(entry: CacheEntry | undefined): CacheEntry['failure'] {
    const f = entry?.failure;
    if (!f) return undefined;
    if (
      (f.kind === 'unauthorized' || f.kind === 'forbidden') &&
      this.opts.credentialsSetAtMs !== undefined &&
      f.atMs < this.opts.credentialsSetAtMs
    ) {
      return undefined;
    }
    return f;
  }

  /**
   * The failure that explains why there is no live value at a time in `period`: the last request failed, and it was
   * in this period or the one before, or the server told us to wait. An older failure says nothing about now: the
   * meter's refresh for this period is under way.
   */
  private currentFailure(entry: CacheEntry | undefined, period: number): CacheEntry['failure'] {
    const f = this.liveFailure(entry);
    if (!f || !entry) return undefined;
    const now = Date.now();
    const waiting = (entry.retryAfterUntilMs ?? 0) > now || (entry.backoffUntilMs ?? 0) > now;
    return f.period >= period - 1 || waiting ? f : undefined;
  }

  private isFresh(entry: CacheEntry | undefined, period: number): boolean {
    if (!entry) return false;
    const now = Date.now();
    if (entry.fetchedPeriod !== undefined && entry.fetchedPeriod >= period) return true;
    if (entry.retryAfterUntilMs !== undefined && entry.retryAfterUntilMs > now) return true;
    if (entry.backoffUntilMs !== undefined && entry.backoffUntilMs > now) return true;
    const f = this.liveFailure(entry);
    return !!f && f.period >= period;
  }

  private coordinate(channel: Channel, target: Target, t: number, period: number): Promise<void> {
    const name = this.entryName(target, channel);
    const key = `${name}#${period}`;
    const running = this.inflight.get(key);
    if (running) return running;
    const staleMs = this.timeoutMs * 3 + 5000;
    const p = this.cache
      .runOnce(
        name,
        period,
        (e) => this.isFresh(e, period),
        () => this.request(channel, name, target, t, period),
        {
          staleMs,
          pollMs: this.opts.pollMs ?? 100,
        },
      )
      .then((outcome) => {
        if (outcome === 'gave-up')
          this.opts.log?.(
            'warn',
            `${this.label}: another process claimed the ${target.describe} request and never answered`,
          );
        this.load(name, true);
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /** The one request of this period, by the process that holds the claim. */
  private async request(channel: Channel, name: string, target: Target, t: number, period: number): Promise<void> {
    const before = this.cache.read(name) ?? this.mem.get(name)?.entry;
    let outcome: FetchOutcome;
    try {
      outcome = await this.fetch(channel, target, t, before);
    } catch (err) {
      outcome = {
        patch: {},
        error:
          err instanceof LiveIntensityError
            ? err
            : new LiveIntensityError('malformed', `${this.label}: ${errorMessage(err)}`),
      };
    }
    const now = Date.now();
    const entry: CacheEntry = {
      version: 1,
      provider: this.id,
      target: target.describe,
      granularityMs: this.granularityMs,
      ...before,
      ...outcome.patch,
      points: mergePoints(before?.points ?? [], outcome.patch.points ?? [], t - KEEP_PAST_MS),
    };
    const err = outcome.error;
    if (err) {
      const message = `${redact(err.message, this.secrets())}; using the static annual average instead`;
      entry.failure = { kind: err.kind, message, period, atMs: now };
      if (err.kind === 'rate-limited') entry.retryAfterUntilMs = now + (err.retryAfterMs ?? this.granularityMs);
      if (err.kind === 'unknown-zone') entry.backoffUntilMs = now + UNKNOWN_ZONE_BACKOFF_MS;
      this.opts.log?.('warn', `${this.label} (${target.describe}): ${message}`);
      this.report(err.kind, message);
    } else {
      const wasFailing = !!before?.failure;
      delete entry.failure;
      delete entry.retryAfterUntilMs;
      delete entry.backoffUntilMs;
      entry.fetchedPeriod = period;
      entry.fetchedAtMs = now;
      if (wasFailing) this.opts.log?.('info', `${this.label} (${target.describe}): live values again`);
    }
    if (!this.cache.write(name, entry)) {
      this.opts.log?.(
        'warn',
        `${this.label}: cannot write the intensity cache in ${this.cache.dir}; this process keeps its values in memory`,
      );
    }
    this.mem.set(name, { entry, stamp: this.cache.stamp(name), checkedAtMs: now });
  }

  private report(kind: FailureKind, message: string): string {
    if (!this.reported.has(kind)) {
      this.reported.add(kind);
      this.opts.onProblem?.({ providerId: this.id, kind, message });
    }
    return message;
  }

  private staticReading(region: RegionInfo, note = ''): IntensityReading {
    const r: IntensityReading = {
      gPerKWh: region.intensityGPerKWh,
      method: 'annual-average',
      source: `${region.source}${note}`,
      factorType: 'average',
    };
    if (region.year !== undefined) r.year = region.year;
    return r;
  }

  private fallback(region: RegionInfo, reason: string): IntensityReading {
    return { ...this.staticReading(region), fallback: reason };
  }
}

/** The point in force at t: the one whose period holds t, else the latest one ended less than `holdMs` ago. */
export function pointAt(points: readonly IntensityPoint[], t: number, holdMs: number): IntensityPoint | undefined {
  let lo = 0;
  let hi = points.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].fromMs <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return undefined;
  const p = points[found];
  if (t < p.toMs) return p;
  if (found === points.length - 1 && t - p.toMs < holdMs) return p;
  return undefined;
}

/** New points replace old ones with the same start; sorted by time; older than `keepFromMs` dropped. */
export function mergePoints(
  old: readonly IntensityPoint[],
  fresh: readonly IntensityPoint[],
  keepFromMs: number,
): IntensityPoint[] {
  const byStart = new Map<number, IntensityPoint>();
  if (fresh.length) {
    const first = Math.min(...fresh.map((p) => p.fromMs));
    // a newer answer supersedes older forecasts from its start on
    for (const p of old) if (p.fromMs < first) byStart.set(p.fromMs, p);
  } else {
    for (const p of old) byStart.set(p.fromMs, p);
  }
  for (const p of fresh) byStart.set(p.fromMs, p);
  return [...byStart.values()].filter((p) => p.toMs > keepFromMs).sort((a, b) => a.fromMs - b.fromMs);
}

export function iso(t: number): string {
  return new Date(t).toISOString().replace(/:\d\d\.\d{3}Z$/, 'Z');
}
