/**
 * Is a process already inside a metered tree? A source may ask to meter a process whose ancestor is the root of a run
 * metered already (a task's shell, seen again by the terminal watcher through shell integration, before the run's
 * first sample lists the child). Read once when a run starts (a few /proc/<pid>/stat reads), never per tick.
 */
import * as fs from 'node:fs';
import { parseProcStat } from './procfs';

/** How far up the tree to look: a shell, its wrappers and an interpreter are a few levels; init is never reached. */
export const LINEAGE_MAX_HOPS = 32;

/**
 * The first of `roots` that is `pid` itself or one of its ancestors (parent, grandparent, … below init), or undefined.
 * Linux reads /proc (a `procRoot` fixture elsewhere); on other systems only `pid` itself is compared.
 */
export function meteredAncestor(
  pid: number,
  roots: ReadonlySet<number>,
  procRoot = '/proc',
  maxHops = LINEAGE_MAX_HOPS,
): number | undefined {
  if (roots.has(pid)) return pid;
  if (roots.size === 0 || (process.platform !== 'linux' && procRoot === '/proc')) return undefined;
  const seen = new Set<number>([pid]);
  let current = pid;
  for (let hops = 0; hops < maxHops; hops++) {
    let ppid: number;
    try {
      ppid = parseProcStat(fs.readFileSync(`${procRoot}/${current}/stat`, 'latin1')).ppid;
    } catch {
      return undefined; // gone meanwhile, or not readable
    }
    if (ppid <= 1 || seen.has(ppid)) return undefined;
    if (roots.has(ppid)) return ppid;
    seen.add(ppid);
    current = ppid;
  }
  return undefined;
}
