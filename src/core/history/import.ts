/**
 * Imports a CodeCarbon emissions.csv into the store as a stream: the file is read in 64 KiB chunks (the parsed
 * records of a chunk die young, so the garbage collector never copies them), parsed as it comes (`CsvReader`),
 * each row becomes a checked record and at once its history line (`codeCarbonRow`, `importedRunLineBytes`), and the
 * lines are appended in batches (whole lines in 64 KiB writes, one fsync per batch of up to 5000 runs or 8 MB; a run
 * is held back one row, so that a cumulative flush row followed by a later one of the same run is never written), so
 * a file of any size is imported in bounded memory: what is held is one chunk, one batch of bytes, and one small
 * entry (id → duration) per distinct run, which decides between CodeCarbon's cumulative flush rows of the same
 * run_id.
 *
 * Rows that cannot be read are skipped and counted by kind (with their first line numbers), never abort the import;
 * a failing write (full disk, read-only folder) stops it and says how far it got.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Run } from '../types';
import {
  codeCarbonHeader,
  codeCarbonRow,
  supersededNote,
  type CodeCarbonHeader,
  type CodeCarbonImportOptions,
} from './codecarbonRow';
import { importedRunLineBytes } from './codecarbonLine';
import { CsvReader, type CsvRecord } from './csv';
import type { AppendBatch, HistoryStore } from './store';
import { errorMessage } from '../errors';

const CHUNK_BYTES = 1 << 16;
/** Runs per append (one fsync each), or fewer when their lines reach BATCH_BYTES: a few MB held at most. */
const BATCH_RUNS = 5000;
const BATCH_BYTES = 8 * 2 ** 20;
/** Line numbers kept per kind of problem, for the summary. */
const LINES_PER_KIND = 5;

export interface ImportProblem {
  kind: string;
  count: number;
  /** the first few lines with this problem */
  lines: number[];
  /** the reason given for the first of them */
  example: string;
}

export interface CodeCarbonFileImport {
  /** data rows read (the header excluded) */
  rows: number;
  /** runs new to the history */
  added: number;
  /** runs already in the history with a longer or equal duration: left alone */
  known: number;
  /** runs already in the history that this file extends (a later flush): appended, the newer record wins */
  updated: number;
  /** rows that were earlier flushes of a run whose later row was kept */
  superseded: number;
  /** rows skipped, by kind */
  problems: ImportProblem[];
  skipped: number;
  /** why the import stopped before the end of the file (unreadable file, not a CodeCarbon file, a failed write) */
  fatal?: string;
}

export interface CodeCarbonFileImportOptions extends CodeCarbonImportOptions {
  chunkBytes?: number;
  batchRuns?: number;
}

export type ProblemCounter = (line: number, kind: string, reason: string) => void;

/**
 * Counts a skipped row (or record) into `out`: `skipped`, and by kind in `problems`, with the first few line (or
 * record) numbers of each kind and the reason given for the first.
 */
export function problemCounter(out: CodeCarbonFileImport): ProblemCounter {
  const byKind = new Map<string, ImportProblem>();
  return (line, kind, reason) => {
    out.skipped++;
    let p = byKind.get(kind);
    if (!p) {
      p = { kind, count: 0, lines: [], example: reason };
      byKind.set(kind, p);
      out.problems.push(p);
    }
    p.count++;
    if (p.lines.length < LINES_PER_KIND) p.lines.push(line);
  };
}

/** An import that has read nothing yet. */
export function emptyImport(): CodeCarbonFileImport {
  return { rows: 0, added: 0, known: 0, updated: 0, superseded: 0, problems: [], skipped: 0 };
}

/** Streams `file` into `store`. Never throws for bad rows; a failed read or write ends it with `fatal`. */
export function importCodeCarbonFile(
  store: HistoryStore,
  file: string,
  opts: CodeCarbonFileImportOptions = {},
): CodeCarbonFileImport {
  const out = emptyImport();
  const importer = new Importer(store, { fileName: path.basename(file), ...opts }, out);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    out.fatal = `cannot read ${file}: ${errorMessage(err)}`;
    return out;
  }
  const reader = new CsvReader();
  const decoder = new StringDecoder('utf8');
  const buf = Buffer.allocUnsafe(Math.max(4096, opts.chunkBytes ?? CHUNK_BYTES));
  try {
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        out.fatal = `cannot read ${file}: ${errorMessage(err)}`;
        break;
      }
      const records =
        n > 0 ? reader.push(decoder.write(buf.subarray(0, n))) : [...reader.push(decoder.end()), ...reader.end()];
      if (!importer.take(records)) break;
      if (n === 0) break;
    }
    if (!out.fatal) {
      for (const e of reader.errors) importer.problem(e.line, e.reason.split(':')[0], e.reason);
      importer.flush();
      if (!importer.sawHeader && !out.fatal) out.fatal = `${file} is empty`;
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

class Importer {
  sawHeader = false;
  private header?: CodeCarbonHeader;
  private readonly batch: AppendBatch;
  /**
   * The slot of each id: its longest row kept has the duration `durations[slot]`, and `rows[slot]` rows of the id
   * were seen. (Numbers in two arrays, not an object per id: the garbage collector has nothing to trace there.)
   */
  private readonly seen = new Map<string, number>();
  private readonly durations: number[] = [];
  private readonly rows: number[] = [];
  /**
   * The last run taken, not yet in the batch: CodeCarbon writes the cumulative flush rows of a run one after the
   * other, so the next row is often a later flush of the same run, which replaces it before it is ever encoded.
   */
  private held?: Run;
  private heldSlot = -1;
  private pendingAdded = 0;
  private pendingUpdated = 0;
  private readonly countProblem: ProblemCounter;

  constructor(
    private readonly store: HistoryStore,
    private readonly opts: CodeCarbonFileImportOptions,
    private readonly out: CodeCarbonFileImport,
  ) {
    this.countProblem = problemCounter(out);
    for (const r of store.load().runs) this.slot(r.id, r.durationS, 0);
    // rows are encoded as they come (codeCarbonRow checked them): only their lines wait for the batch's append
    this.batch = store.batch({ checked: true, encodeBytes: importedRunLineBytes });
  }

  /** Handles parsed records; false once the import must stop. */
  take(records: CsvRecord[]): boolean {
    for (const rec of records) {
      if (!this.header) {
        this.sawHeader = true;
        const h = codeCarbonHeader(rec);
        if ('reason' in h) {
          this.out.fatal = h.reason;
          return false;
        }
        this.header = h;
        continue;
      }
      this.out.rows++;
      const run = codeCarbonRow(this.header, rec, this.opts);
      if ('reason' in run) {
        this.problem(run.line, run.kind, run.reason);
        continue;
      }
      this.consider(run);
      if ((this.batch.size >= (this.opts.batchRuns ?? BATCH_RUNS) || this.batch.bytes >= BATCH_BYTES) && !this.flush())
        return false;
    }
    return true;
  }

  private slot(id: string, durationS: number, rows: number): void {
    const slot = this.durations.length;
    this.seen.set(id, slot);
    this.durations.push(durationS);
    this.rows.push(rows);
  }

  private consider(run: Run): void {
    const slot = this.seen.get(run.id);
    if (slot === undefined) {
      this.hold(run, this.durations.length);
      this.slot(run.id, run.durationS, 1);
      this.pendingAdded++;
      return;
    }
    const rows = ++this.rows[slot];
    const firstInFile = rows === 1; // an id the history held before
    if (run.durationS <= this.durations[slot]) {
      // a run the history already holds in full, or an earlier flush of a run
      if (firstInFile) this.out.known++;
      else this.out.superseded++;
      return;
    }
    if (firstInFile) this.pendingUpdated++;
    else this.out.superseded++;
    if (rows > 1) run.notes?.push(supersededNote(rows - 1));
    this.durations[slot] = run.durationS;
    if (slot === this.heldSlot)
      this.held = run; // the held run was an earlier flush of this one: never written
    else this.hold(run, slot);
  }

  /** Holds `run` back (one row), putting the run held before it into the batch. */
  private hold(run: Run, slot: number): void {
    if (this.held) this.batch.add(this.held);
    this.held = run;
    this.heldSlot = slot;
  }

  problem(line: number, kind: string, reason: string): void {
    this.countProblem(line, kind, reason);
  }

  /** Appends the batch; false (and `fatal`) when the write failed. */
  flush(): boolean {
    if (this.held) {
      this.batch.add(this.held);
      this.held = undefined;
      this.heldSlot = -1;
    }
    if (!this.batch.size) return true;
    try {
      this.batch.commit();
    } catch (err) {
      this.out.fatal = `could not write the history in ${this.store.dir}: ${errorMessage(err)}`;
      return false;
    }
    this.out.added += this.pendingAdded;
    this.out.updated += this.pendingUpdated;
    this.pendingAdded = this.pendingUpdated = 0;
    return true;
  }
}

/**
 * "12 rows skipped: 10 × invalid duration (lines 4, 9, …), 2 × negative cpu_energy (lines 7, 8)"; for a JSON
 * import (`unit` 'record') the numbers are those of the records in the array.
 */
export function summariseImportProblems(problems: ImportProblem[], unit: 'row' | 'record' = 'row'): string {
  if (!problems.length) return '';
  const where = unit === 'row' ? 'line' : 'record';
  const total = problems.reduce((a, p) => a + p.count, 0);
  const parts = problems
    .slice()
    .sort((a, b) => b.count - a.count)
    .map(
      (p) =>
        `${p.count} × ${p.kind} (${where}${p.lines.length > 1 ? 's' : ''} ${p.lines.join(', ')}${p.count > p.lines.length ? ', …' : ''}; e.g. ${p.example})`,
    );
  return `${total} ${unit}(s) skipped: ${parts.join('; ')}`;
}
