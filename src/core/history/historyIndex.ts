/**
 * The history's in-memory index: history.jsonl read incrementally from a byte offset (only what was appended since
 * the last read), the latest record per id with deletes applied, and runs sorted newest first.
 */
import * as fs from 'node:fs';
import type { Run } from '../types';
import { isNoEnt } from './files';
import { parseHistoryLine, type CorruptEntry, type HistoryRecord } from './records';

const READ_CHUNK = 8 * 1024 * 1024;

/** Records read from history.jsonl after a byte offset (`loadSince`). */
export interface HistoryChunk {
  records: { line: number; record: HistoryRecord }[];
  corrupt: CorruptEntry[];
  /** A trailing line without its newline: a writer was killed mid-line, or is still writing. Not consumed. */
  partial?: CorruptEntry;
  /** Where the next read should start (the end of the last complete line). */
  nextOffset: number;
  /** The line number of the line at nextOffset. */
  nextLine: number;
}

export interface Entry {
  run: Run;
  at?: string;
}

export interface Index {
  dev: number;
  ino: number;
  offset: number;
  /** number of lines consumed */
  line: number;
  entries: Map<string, Entry>;
  /** ids whose latest record is a delete */
  deleted: Map<string, string>;
  corrupt: CorruptEntry[];
  partial?: CorruptEntry;
  sorted?: Run[];
}

export function emptyIndex(dev = 0, ino = 0): Index {
  return { dev, ino, offset: 0, line: 0, entries: new Map(), deleted: new Map(), corrupt: [] };
}

/** Every record of history.jsonl from `offset` to `size` (whole lines only), with unreadable lines reported. */
export function readHistoryFrom(fd: number, size: number, offset: number, firstLine: number): HistoryChunk {
  const records: HistoryChunk['records'] = [];
  const corrupt: CorruptEntry[] = [];
  let line = firstLine;
  let consumed = offset;
  let pos = offset;
  let carry: Buffer = Buffer.alloc(0);
  while (pos < size) {
    const want = Math.min(READ_CHUNK, size - pos);
    const b = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const n = fs.readSync(fd, b, got, want - got, pos + got);
      if (n === 0) break;
      got += n;
    }
    if (got === 0) break;
    pos += got;
    const buf = carry.length ? Buffer.concat([carry, b.subarray(0, got)]) : b.subarray(0, got);
    const lastNl = buf.lastIndexOf(0x0a);
    if (lastNl < 0) {
      carry = buf;
      continue;
    }
    const text = buf.toString('utf8', 0, lastNl + 1);
    let start = 0;
    while (start < text.length) {
      const end = text.indexOf('\n', start);
      let l = text.slice(start, end);
      start = end + 1;
      if (l.endsWith('\r')) l = l.slice(0, -1);
      const parsed = parseHistoryLine(l);
      if (typeof parsed === 'string') corrupt.push({ line, reason: parsed });
      else if (parsed) records.push({ line, record: parsed });
      line++;
    }
    consumed += lastNl + 1;
    carry = buf.subarray(lastNl + 1);
  }
  let partial: CorruptEntry | undefined;
  if (carry.length && carry.toString('utf8').trim().length) {
    partial = {
      line,
      reason: `incomplete last line (${carry.length} bytes without a newline): a writer was stopped mid-line, or is still writing`,
    };
  }
  return { records, corrupt, partial, nextOffset: consumed, nextLine: line };
}

/** The index's runs, newest first (cached in the index until it changes). */
export function sortedRuns(idx: Index): Run[] {
  if (!idx.sorted) {
    const dec = [...idx.entries.values()].map((e) => ({ run: e.run, k: startKey(e.run) }));
    dec.sort((a, b) => b.k - a.k || cmpIdDesc(a.run, b.run));
    idx.sorted = dec.map((d) => d.run);
  }
  return idx.sorted;
}

function startKey(run: Run): number {
  const k = Date.parse(run.startedAt);
  return Number.isFinite(k) ? k : 0;
}

function cmpIdDesc(a: Run, b: Run): number {
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Inserts into a newest-first array. */
export function insertSorted(runs: Run[], run: Run): void {
  const k = startKey(run);
  let lo = 0;
  let hi = runs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const m = runs[mid];
    const mk = startKey(m);
    if (mk > k || (mk === k && cmpIdDesc(m, run) < 0)) lo = mid + 1;
    else hi = mid;
  }
  runs.splice(lo, 0, run);
}

/**
 * The index brought up to date with history.jsonl: only what was appended since `idx` was read is parsed (the same
 * index object, updated); a file replaced or truncated by hand is read again from its start, a missing file gives
 * an empty index. `view` turns each stored run into what the store shows (secrets redacted).
 */
export function refreshIndex(idx: Index, historyPath: string, view: (run: Run) => Run): Index {
  let fd: number;
  try {
    fd = fs.openSync(historyPath, 'r');
  } catch (err) {
    if (isNoEnt(err)) return idx.offset > 0 || idx.entries.size || idx.partial ? emptyIndex() : idx;
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.ino !== idx.ino || st.dev !== idx.dev || st.size < idx.offset) idx = emptyIndex(st.dev, st.ino);
    if (st.size === idx.offset) {
      idx.partial = undefined;
      return idx;
    }
    const chunk = readHistoryFrom(fd, st.size, idx.offset, idx.line + 1);
    for (const { record } of chunk.records) {
      if (record.kind === 'run') {
        idx.entries.set(record.run.id, { run: view(record.run), at: record.at });
        idx.deleted.delete(record.run.id);
      } else {
        idx.entries.delete(record.id);
        idx.deleted.set(record.id, record.at);
      }
    }
    if (chunk.records.length) idx.sorted = undefined;
    idx.corrupt.push(...chunk.corrupt);
    idx.partial = chunk.partial;
    idx.offset = chunk.nextOffset;
    idx.line = chunk.nextLine - 1;
    return idx;
  } finally {
    fs.closeSync(fd);
  }
}
