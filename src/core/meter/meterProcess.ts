/**
 * Tuning for a process whose job is metering (the CLI's `run`), never for a shared one (the extension host).
 *
 * V8's memory reducer shrinks a heap that grew and then went quiet: a few seconds after start-up it runs up to three
 * full mark-compact collections, about 10–40 ms of CPU each on this ~8 MB heap, to give back a megabyte or two. A meter
 * allocates almost nothing per tick, so those collections were most of its CPU time in its first half minute
 * (`npm run bench`: 2 of 2.6 ms per metered second). `--no-memory-reducer-for-small-heaps` stops V8 from starting
 * the reducer for a heap this small; V8 reads the flag each time the old generation grows, so setting it now, before
 * the run's allocations, is enough. Collections on allocation limits are unchanged.
 */
import * as v8 from 'node:v8';

let tuned = false;

/** Called once by the CLI before it starts metering. */
export function tuneForMetering(): void {
  if (tuned) return;
  tuned = true;
  try {
    v8.setFlagsFromString('--no-memory-reducer-for-small-heaps');
  } catch {
    // an engine without the flag: the collections stay, nothing else changes
  }
}
