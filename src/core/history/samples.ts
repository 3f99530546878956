/**
 * samples/<id>.jsonl, a run's power samples: appended at each checkpoint, decimated to at most `maxSamples` points
 * when the run ends (and along the way for long runs, so the file stays small). A failing write never costs the
 * run: it becomes a warning, reported once per run and reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Sample } from '../types';
import { appendWholeLines } from './append';
import { decimateSamples } from './decimate';
import { countLines, countNewlines, isNoEnt, writeAtomic } from './files';
import { isSafeRunId, parseSamples, sampleLines } from './records';
import { errorMessage } from '../errors';
import { inDir } from '../util/fs';

/** A running run's sample file is decimated again once it holds this many times `maxSamples` points. */
const COMPACT_FACTOR = 4;

export class SampleFiles {
  /** the last sample-file failure reported per run, so that a broken samples folder is reported once */
  private readonly problems = new Map<string, string>();
  /** lines in the sample files of runs checkpointed by this process */
  private readonly counts = new Map<string, number>();

  constructor(
    readonly dir: string,
    readonly maxSamples: number,
    private readonly durable: boolean,
  ) {}

  path(id: string): string {
    if (!isSafeRunId(id)) throw new Error(`invalid run id ${JSON.stringify(id)}`);
    return path.join(this.dir, `${id}.jsonl`);
  }

  /** The run's power samples (decimated to `max` points when given and exceeded). */
  read(id: string, max?: number): Sample[] {
    if (!isSafeRunId(id)) return [];
    let text: string;
    try {
      text = fs.readFileSync(this.path(id), 'utf8');
    } catch (err) {
      if (isNoEnt(err)) return [];
      throw err;
    }
    const s = parseSamples(text);
    return max !== undefined && s.length > max ? decimateSamples(s, max) : s;
  }

  /** Runs a sample-file write; a failure becomes a warning (reported once per run and reason), never an exception. */
  tryWrite(id: string, warnings: string[], write: () => void): void {
    try {
      write();
    } catch (err) {
      const msg = `could not write the samples of run ${id} in ${this.dir}: ${errorMessage(err)}`;
      if (this.problems.get(id) !== msg) warnings.push(msg);
      this.problems.set(id, msg);
    }
  }

  /** The last failure of the run's sample file, if any. */
  problem(id: string): string | undefined {
    return this.problems.get(id);
  }

  /** Forgets what was known of a run that ended. */
  forget(id: string): void {
    this.counts.delete(id);
    this.problems.delete(id);
  }

  append(id: string, samples: Sample[]): void {
    const text = sampleLines(samples);
    if (!text) return;
    const file = this.path(id);
    inDir(this.dir, 0o700, () => appendWholeLines(file, [text], false));
    let count = this.counts.get(id);
    count = count === undefined ? countLines(file) : count + samples.length;
    if (count > this.maxSamples * COMPACT_FACTOR) count = this.compact(id, false);
    this.counts.set(id, count);
  }

  /** Rewrites a sample file decimated to `maxSamples` points (and without torn lines); returns its sample count. */
  compact(id: string, final: boolean): number {
    const file = this.path(id);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if (isNoEnt(err)) return 0;
      throw err;
    }
    const all = parseSamples(text);
    const lines = countNewlines(text) + (text.length && !text.endsWith('\n') ? 1 : 0);
    if (all.length <= this.maxSamples && all.length === lines) return all.length;
    const kept = decimateSamples(all, this.maxSamples);
    writeAtomic(file, sampleLines(kept), final && this.durable);
    return kept.length;
  }
}
