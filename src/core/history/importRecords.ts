/**
 * Imports the run records of a Carbon Meter JSON export (`carbon-meter export --format json`, `history --json`, the
 * panel's JSON export): the way to move a history to another machine without loss. CodeCarbon's CSV has no column
 * for a run's status, exit code, notes, forecasts or its start to the millisecond, so a CSV round trip keeps only
 * what CodeCarbon knows; this keeps the records whole.
 *
 * Each record is checked as the store checks its own lines (records.ts runProblem), and figures that cannot be
 * (negative energy, emissions, duration or CPU time) are refused too; a record that cannot be used is skipped and
 * counted by kind, never aborts the import. A run the history already holds is left alone unless the file's record
 * is longer (a later state of the same run), which is appended and then wins, as in the CSV import.
 */
import * as fs from 'node:fs';
import type { Run } from '../types';
import { errorMessage } from '../errors';
import { isObject } from '../util/isObject';
import { emptyImport, problemCounter, type CodeCarbonFileImport } from './import';
import { runProblem } from './records';
import type { HistoryStore } from './store';

/** Runs per append (one fsync each). */
const BATCH_RUNS = 5000;

/**
 * Whether `head` (the first bytes of a file) starts JSON (an array, or an object, which is then refused as not an
 * array): a Carbon Meter JSON export rather than a CSV, which never starts with a bracket.
 */
export function looksLikeJsonRecords(head: Buffer | string): boolean {
  const text = typeof head === 'string' ? head : head.toString('utf8');
  return /^\ufeff?\s*[[{]/.test(text);
}

/** Why a record that passes runProblem still cannot be imported, or undefined. */
function figureProblem(run: Run): { kind: string; reason: string } | undefined {
  if (run.status === 'running')
    return { kind: 'still running', reason: 'it was still running when it was exported (no final figures)' };
  const figures: [string, number][] = [
    ['durationS', run.durationS],
    ['cpuSeconds', run.cpuSeconds],
    ['emissionsKg', run.emissionsKg],
    ['energyKWh.total', run.energyKWh.total],
    ['energyKWh.cpu', run.energyKWh.cpu],
    ['energyKWh.gpu', run.energyKWh.gpu],
    ['energyKWh.ram', run.energyKWh.ram],
  ];
  for (const [name, value] of figures)
    if (value < 0) return { kind: `negative ${name}`, reason: `${name} is ${value}` };
  if (run.pue < 1) return { kind: 'PUE below 1', reason: `pue is ${run.pue}` };
  return undefined;
}

/** Reads `file` (a JSON array of run records) into `store`. Never throws; a failed read or write gives `fatal`. */
export function importRunRecordsFile(store: HistoryStore, file: string): CodeCarbonFileImport {
  const out = emptyImport();
  let records: unknown;
  try {
    records = JSON.parse(fs.readFileSync(file, 'utf8').replace(/^\ufeff/, ''));
  } catch (err) {
    out.fatal =
      err instanceof SyntaxError
        ? `${file} is not a JSON array of run records (${err.message})`
        : `cannot read ${file}: ${errorMessage(err)}`;
    return out;
  }
  if (!Array.isArray(records)) {
    out.fatal = `${file} is not a JSON array of run records (carbon-meter export --format json writes one)`;
    return out;
  }
  const count = problemCounter(out);
  const skip = (index: number, kind: string, reason: string): void => count(index + 1, kind, reason);
  // the duration of each run the history holds, and of each taken from this file (the longer record of an id wins)
  const durations = new Map<string, number>();
  for (const r of store.load().runs) durations.set(r.id, r.durationS);
  const taken = new Map<string, Run>();
  let updated = 0;
  records.forEach((x: unknown, i) => {
    out.rows++;
    const problem = runProblem(x);
    if (problem) {
      const kind = isObject(x) ? problem.replace(/ "[^"]*"$/, '') : 'not a run record';
      return skip(i, kind, problem);
    }
    const run = x as Run;
    const bad = figureProblem(run);
    if (bad) return skip(i, bad.kind, bad.reason);
    const before = durations.get(run.id);
    if (before !== undefined && run.durationS <= before) {
      if (taken.has(run.id)) out.superseded++;
      else out.known++;
      return;
    }
    if (taken.has(run.id))
      out.superseded++; // an earlier state of it, taken from this file, is replaced
    else if (before !== undefined) updated++;
    durations.set(run.id, run.durationS);
    taken.set(run.id, run);
  });
  const batch = store.batch();
  let pending = 0;
  try {
    for (const run of taken.values()) {
      batch.add(run);
      if (++pending >= BATCH_RUNS) {
        batch.commit();
        out.added += pending;
        pending = 0;
      }
    }
    batch.commit();
    out.added += pending;
  } catch (err) {
    out.fatal = `could not write the history in ${store.dir}: ${errorMessage(err)}`;
    return out;
  }
  // runs that were already in the history and are now longer count as updated, not added
  out.added -= updated;
  out.updated = updated;
  return out;
}
