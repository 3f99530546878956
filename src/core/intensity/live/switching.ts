/**
 * A provider that forwards to another one, swapped when settings or credentials change. The meter keeps the same
 * object for its whole life; each call goes to the provider in force at that moment.
 */
import { StaticIntensityProvider, type IntensityProvider, type IntensityReading } from '../provider';
import type { RegionInfo } from '../regions';
import { isLiveProvider } from './config';
import type { ForecastResult } from './types';

export class SwitchingIntensityProvider implements IntensityProvider {
  private inner: IntensityProvider;

  constructor(initial: IntensityProvider = new StaticIntensityProvider()) {
    this.inner = initial;
  }

  get current(): IntensityProvider {
    return this.inner;
  }

  set(next: IntensityProvider): void {
    this.inner = next;
  }

  get id(): string {
    return this.inner.id;
  }

  get granularityMs(): number {
    return this.inner.granularityMs;
  }

  /** the longest forecast of the provider in force, hours (0 for the static provider) */
  get forecastHorizonH(): number {
    return isLiveProvider(this.inner) ? this.inner.forecastHorizonH : 0;
  }

  at(region: RegionInfo, t: number): IntensityReading {
    return this.inner.at(region, t);
  }

  refresh(region: RegionInfo, t: number): Promise<void> {
    return this.inner.refresh ? this.inner.refresh(region, t) : Promise.resolve();
  }

  forecast(region: RegionInfo, t: number, horizonH?: number): Promise<ForecastResult> {
    const inner = this.inner;
    if (!isLiveProvider(inner))
      return Promise.resolve({ ok: false, reason: 'the intensity provider is static (annual averages): no forecast' });
    return inner.forecast(region, t, horizonH);
  }
}
