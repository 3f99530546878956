/**
 * Memory power, modelled from the resident memory of the tracked process tree.
 *
 * RAM_W_PER_GB = 0.375 W/GB is CodeCarbon v2's figure (3 W per 8 GB, codecarbon/external/hardware.py, RAM class
 * before v3). Two other published models agree within 5 %: Green Algorithms (Lannelongue et al. 2021) 0.3725 W/GB,
 * Cloud Carbon Footprint 0.392 W/GB. CodeCarbon v3 counts 5 W per DIMM for the whole machine instead; a per-GB
 * figure is what lets the power follow the run's own memory rather than the machine's.
 * GB here is 2^30 bytes, as the figures above are quoted against memory sizes reported in GiB.
 */

export const RAM_W_PER_GB = 0.375;

export const RAM_MODEL_SOURCE =
  'CodeCarbon v2: 3 W per 8 GB (Green Algorithms 0.3725 W/GB and Cloud Carbon Footprint 0.392 W/GB agree within 5 %)';

const BYTES_PER_GB = 1024 ** 3;

/** Power of `rssBytes` of resident memory, W. Negative, NaN or infinite inputs give 0. */
export function ramPowerW(rssBytes: number, wPerGB = RAM_W_PER_GB): number {
  if (!Number.isFinite(rssBytes) || rssBytes <= 0) return 0;
  if (!Number.isFinite(wPerGB) || wPerGB <= 0) return 0;
  return (rssBytes / BYTES_PER_GB) * wPerGB;
}

/** One line for `ComponentPower.detail`: "0.375 W/GB × resident memory of the run (CodeCarbon v2: ...)". */
export function ramPowerDetail(wPerGB = RAM_W_PER_GB, rssBytes?: number): string {
  const rate = `${trimNumber(wPerGB)} W/GB × resident memory of the run`;
  const now =
    rssBytes !== undefined && Number.isFinite(rssBytes) && rssBytes > 0
      ? `, now ${trimNumber(rssBytes / BYTES_PER_GB, 2)} GB = ${trimNumber(ramPowerW(rssBytes, wPerGB), 2)} W`
      : '';
  const source = wPerGB === RAM_W_PER_GB ? RAM_MODEL_SOURCE : 'set by the user';
  return `${rate}${now} (${source})`;
}

function trimNumber(n: number, digits = 4): string {
  return String(Number(n.toFixed(digits)));
}
