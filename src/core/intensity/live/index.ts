export * from './types';
export { parseRetryAfter } from './http';
export { IntensityCache, type CacheEntry } from './cache';
export { LiveIntensityProvider, pointAt, mergePoints, type LiveProviderOptions } from './base';
export {
  ElectricityMapsProvider,
  parseElectricityMapsLatest,
  parseElectricityMapsForecast,
  type ElectricityMapsOptions,
} from './electricitymaps';
export {
  UkCarbonIntensityProvider,
  parseUkNational,
  parseUkRegional,
  outwardPostcode,
  ukApiTime,
  type UkCarbonIntensityOptions,
} from './ukCarbonIntensity';
export {
  WattTimeProvider,
  parseWattTimeForecast,
  parseWattTimeSignalIndex,
  LBS_PER_MWH_TO_G_PER_KWH,
  type WattTimeOptions,
} from './watttime';
export * from './config';

import * as path from 'node:path';

/** The cache folder inside a history folder. */
export function intensityCacheDir(historyDir: string): string {
  return path.join(historyDir, 'intensity-cache');
}
export { SwitchingIntensityProvider } from './switching';
