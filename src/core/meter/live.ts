/**
 * The runs metered now, as their events tell them: a run starts, each reading carries its run and its watts, the run
 * finishes. The status bar and the panel keep one each and never ask the meter again.
 */
import type { Run } from '../types';
import type { Reading } from './meter';

interface LiveRun {
  run: Run;
  powerW: number;
}

export class LiveRuns {
  private readonly runs = new Map<string, LiveRun>();

  /** `initial`: the runs already metered when the consumer starts listening (read once). */
  constructor(initial: readonly { run: Run; power: { total: number } }[] = []) {
    for (const m of initial) this.runs.set(m.run.id, { run: m.run, powerW: m.power.total });
  }

  started(run: Run): void {
    if (!this.runs.has(run.id)) this.runs.set(run.id, { run, powerW: 0 });
  }

  reading(r: Reading): void {
    if (r.run.status !== 'running') return; // a reading of a tick that was under way when the run was stopped
    this.runs.set(r.runId, { run: r.run, powerW: r.powerW.total });
  }

  finished(run: Run): void {
    this.runs.delete(run.id);
  }

  get size(): number {
    return this.runs.size;
  }

  list(): Run[] {
    return [...this.runs.values()].map((l) => l.run);
  }

  get(id: string): Run | undefined {
    return this.runs.get(id)?.run;
  }

  /** The sum over the runs: emissions so far and the latest power. */
  totals(): { emissionsKg: number; powerW: number } {
    let emissionsKg = 0;
    let powerW = 0;
    for (const l of this.runs.values()) {
      emissionsKg += l.run.emissionsKg;
      powerW += l.powerW;
    }
    return { emissionsKg, powerW };
  }
}
