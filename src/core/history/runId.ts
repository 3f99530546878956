/** Run ids: sortable by start time, unique across processes (the store, the meter and the tests share them). */

const ID_SPACE = 36 ** 6;
// a random start (not a secret: Math.random spares loading node:crypto at every start, util/hash.ts)
let idSeq = Math.floor(Math.random() * ID_SPACE);

/**
 * Sortable by start time, unique across processes: 20261123T215412Z-<pid base 36>-<6 base-36 chars>. The last
 * part is a per-process sequence from a random start, so ids of one process never collide, and the pid (plus the
 * random start, for other hosts) separates processes.
 */
export function newRunId(startedAt: Date = new Date()): string {
  const stamp = startedAt.toISOString().slice(0, 19).replace(/[-:]/g, '') + 'Z';
  idSeq = (idSeq + 1) % ID_SPACE;
  return `${stamp}-${process.pid.toString(36)}-${idSeq.toString(36).padStart(6, '0')}`;
}
