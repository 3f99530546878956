/**
 * Tuning for a process whose job is metering (the CLI's `run`), never for a shared one (the extension host).
 *
 * V8's memory reducer shrinks a heap that grew and then went quiet: a few seconds after start-up it runs up to three
 * full mark-compact collections, about 10–40 ms of CPU each on this ~8 MB heap, to give back a megabyte or two. A meter
 * allocates almost nothing per tick, so those collections were most of its CPU time in its first half minute
 * (`npm run bench`: 2 of 2.6 ms per metered second). `--no-memory-reducer-for-small-heaps` stops V8 from starting
 * the reducer for a heap this small. V8 reads the flag each time the old generation grows, and the first growth
 * after start-up arms the reducer, so the flag must be set before the rest of the CLI's modules are evaluated:
 * src/cli/tuneFirst.ts, main.ts's first import, does it. Set at the end of main.ts's start-up, as it first was, it
 * came too late: the collections still ran 8 s into every run (17–24 ms of CPU). Collections on allocation limits
 * are unchanged.
 *
 * A meter's work is a few dozen small functions run once a second (and once every 10 s for a checkpoint). V8 moves a
 * function out of its bytecode interpreter only after it has run many times, so at one call a second the meter ran
 * interpreted for minutes: 61 % of its samples under `perf` were in the interpreter's entry. `--always-sparkplug`
 * compiles each function to Sparkplug's baseline machine code on its first call (a fast, non-optimising compiler),
 * which cut the CPU per metered second by about a quarter (`run -- sleep 40`, 1.5–26.5 s, four alternated runs:
 * 1.16 and 1.22 ms/s without, 0.87 and 0.88 with) for about 5 ms more at start-up. The flags are set before the CLI's
 * bundle is compiled (src/cli/launch.ts): V8 ties its code cache to them.
 */
import * as v8 from 'node:v8';

let tuned = false;

/** Called once by the CLI before it starts metering. */
export function tuneForMetering(): void {
  if (tuned) return;
  tuned = true;
  try {
    v8.setFlagsFromString('--no-memory-reducer-for-small-heaps');
    v8.setFlagsFromString('--always-sparkplug');
  } catch {
    // an engine without the flag: the collections stay, nothing else changes
  }
}
