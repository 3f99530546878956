/**
 * How a run's region was chosen, from its record: set (by a flag, setting or environment variable), guessed from the
 * time zone, or the world-average default. Records written before the world average stopped being called a guess
 * (`guessed: true` with the region WORLD) read as the default, so the UI never says "guessed" next to "none could be
 * guessed".
 */
import type { RunIntensity } from '../types';

export type RegionBasis = 'set' | 'guessed' | 'default';

export function regionBasis(i: Pick<RunIntensity, 'region' | 'guessed' | 'regionReason'>): RegionBasis {
  if (/^set by\b/i.test(i.regionReason ?? '')) return 'set';
  if (i.region === 'WORLD' && (i.guessed || i.regionReason !== undefined)) return 'default';
  return i.guessed ? 'guessed' : 'set';
}
