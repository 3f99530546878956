/**
 * Where the meter gets the carbon intensity in force at each sample.
 *
 * The meter calls `at(region, t)` on every sampling tick (synchronous, cheap) and, for providers
 * that have one, `refresh(region, t)` at most once per `granularityMs`. A live (time-resolved)
 * provider keeps its last fetched values in memory, answers `at` from them, and says in
 * `fallback` when it had to use the static figure instead; the meter does not change.
 */
import type { IntensityMethod } from '../types';
import type { RegionInfo } from './regions';

export interface IntensityReading {
  /** gCO₂eq/kWh in force at the time asked for. */
  gPerKWh: number;
  method: IntensityMethod;
  /** Where the figure comes from, in words. */
  source: string;
  /** Reference year, for annual figures. */
  year?: number;
  factorType: 'average' | 'marginal';
  /** Period the figure holds for, ms since epoch (time-resolved figures). */
  validFrom?: number;
  validTo?: number;
  /** Set when the provider could not give its own figure and another was used: why. */
  fallback?: string;
}

export interface IntensityProvider {
  readonly id: string;
  /** Synchronous, cheap: the value in force at time t for the region (a cached value for live providers). Called every sampling tick. */
  at(region: RegionInfo, t: number): IntensityReading;
  /** Optional async refresh for live providers; the meter calls it at most at the provider's granularity. */
  refresh?(region: RegionInfo, t: number): Promise<void>;
  /** The provider's granularity in ms (static: Infinity). */
  readonly granularityMs: number;
}

/** The region's annual average from the static tables (CO2.js for countries, the cloud-region table). */
export class StaticIntensityProvider implements IntensityProvider {
  readonly id = 'static';
  readonly granularityMs = Number.POSITIVE_INFINITY;

  at(region: RegionInfo, _t: number): IntensityReading {
    const reading: IntensityReading = {
      gPerKWh: region.intensityGPerKWh,
      method: 'annual-average',
      source: region.source,
      factorType: 'average',
    };
    if (region.year !== undefined) reading.year = region.year;
    return reading;
  }
}
