/**
 * Whole-line appends to the store's JSON-lines files (history.jsonl, samples/<id>.jsonl), safe with any number of
 * concurrent writers and no lock: the file is opened with O_APPEND and every line goes out whole inside one write(2)
 * (with other whole lines, up to WRITE_GROUP bytes), so appenders never interleave inside a line.
 *
 * Lines are encoded into one growing byte buffer as they are added (`LineBuffer`): an import of a million records
 * holds a few MB of bytes outside the JavaScript heap, not a million strings for the garbage collector to copy.
 */
import * as fs from 'node:fs';
import type { Run } from '../types';

export interface AppendBatchOptions {
  /** every run added already passed `runProblem` (records.ts) */
  checked?: boolean;
  /** the line of one record, exactly as `runLine` would write it */
  encode?: (run: Run, at: string) => string;
  /** the same as the UTF-8 bytes of that line, one per character (utf8Text.ts); used instead of `encode` */
  encodeBytes?: (run: Run, at: string) => string;
}

/** Records to append together (see `HistoryStore.batch`). */
export interface AppendBatch {
  /** Checks, redacts and encodes a record; throws for a record that cannot be stored. */
  add(run: Run): void;
  /** records added since the last commit */
  readonly size: number;
  /** bytes of their lines */
  readonly bytes: number;
  /** Appends the records added so far (one fsync) and starts over; throws when the write fails. */
  commit(): void;
}

/** Appends group whole lines into writes of at most this many bytes (one line may be longer). */
export const WRITE_GROUP = 64 * 1024;

/** Lines given as bytes are copied into the buffer in strings of about this many. */
const PENDING_BYTES = 16 * 1024;

/** UTF-8 lines packed into one buffer, with the ends of the groups that are written in one call each. */
export class LineBuffer {
  /** byte 0 is kept free for the newline that ends another writer's torn line, sent in the same write */
  private buf = Buffer.allocUnsafe(1 << 16);
  /** bytes of the lines added, byte 0 included; the last `pending.length` of them are still in `pending` */
  private len = 1;
  /** lines given as bytes (`addBytes`) and not yet copied into `buf`: joined, then copied in one call */
  private pending = '';
  private groupStart = 1;
  private readonly groupEnds: number[] = [];
  /** lines added */
  lines = 0;

  /** Adds one line (with its '\n'). */
  add(line: string): void {
    this.copyPending();
    const room = line.length * 3; // a UTF-16 code unit is at most 3 bytes of UTF-8
    if (this.len + room > this.buf.length) this.grow(this.len + room);
    this.added(this.buf.write(line, this.len, 'utf8'));
  }

  /**
   * Adds one line (with its '\n') given as its UTF-8 bytes, one per character (utf8Text.ts): copied, not encoded,
   * and with the next lines (up to PENDING_BYTES), so that a line made of many pieces is put together in one pass.
   */
  addBytes(bytes: string): void {
    this.pending += bytes;
    this.added(bytes.length);
    if (this.pending.length >= PENDING_BYTES) this.copyPending();
  }

  private copyPending(): void {
    const p = this.pending;
    if (!p.length) return;
    const at = this.len - p.length;
    if (this.len > this.buf.length) this.grow(this.len);
    this.buf.write(p, at, 'latin1');
    this.pending = '';
  }

  /** Counts a line of `n` bytes starting at `len`, closing the write group before it when it would overflow. */
  private added(n: number): void {
    if (this.len > this.groupStart && this.len + n - this.groupStart > WRITE_GROUP) {
      this.groupEnds.push(this.len);
      this.groupStart = this.len;
    }
    this.len += n;
    this.lines++;
  }

  /** bytes of the lines added */
  get bytes(): number {
    return this.len - 1;
  }

  /** The writes: [start, end) byte ranges, the first starting at 1 (or 0 to carry a newline first). */
  groups(): [number, number][] {
    this.copyPending();
    const out: [number, number][] = [];
    let start = 1;
    for (const end of this.groupEnds) {
      out.push([start, end]);
      start = end;
    }
    if (this.len > start) out.push([start, this.len]);
    return out;
  }

  /** The buffer the groups refer to (byte 0 is '\n'). */
  bytesView(): Buffer {
    this.copyPending();
    this.buf[0] = 0x0a;
    return this.buf;
  }

  clear(): void {
    this.pending = '';
    this.len = this.groupStart = 1;
    this.groupEnds.length = 0;
    this.lines = 0;
  }

  private grow(need: number): void {
    const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.len - this.pending.length);
    this.buf = next;
  }
}

/**
 * Opens `file` with O_APPEND (creating it), starts on a fresh line if the file ends in a torn line, and writes the
 * buffer's lines in groups of whole lines, one write call each, so that concurrent appenders never interleave; then
 * one fdatasync when `durable`. (The end-of-file check can see another writer's line half-copied, as Linux grows
 * the size page by page; the cost of that race is a blank line, which readers skip.)
 */
export function appendLineBuffer(file: string, lines: LineBuffer, durable: boolean, written?: AppendWritten): void {
  if (!lines.lines) return;
  const fd = fs.openSync(file, 'a+', 0o600);
  try {
    const st = fs.fstatSync(fd);
    const size = st.size;
    let bytes = 0;
    let tornBefore = false;
    if (size > 0) {
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, size - 1);
      tornBefore = last[0] !== 0x0a;
    }
    const buf = lines.bytesView();
    for (const [start, end] of lines.groups()) {
      const from = tornBefore ? start - 1 : start;
      writeAll(fd, buf, from, end);
      bytes += end - from;
      tornBefore = false;
    }
    if (durable) fs.fdatasyncSync(fd);
    written?.(st.dev, st.ino, size, bytes, fs.fstatSync(fd).size);
  } finally {
    fs.closeSync(fd);
  }
}

/** `appendLineBuffer` for a few lines. */
export function appendWholeLines(file: string, lines: string[], durable: boolean, written?: AppendWritten): void {
  const buf = new LineBuffer();
  for (const line of lines) buf.add(line);
  appendLineBuffer(file, buf, durable, written);
}

/** Told what an append wrote: the file's device and inode, its size before, the bytes written, its size after. */
export type AppendWritten = (dev: number, ino: number, before: number, bytes: number, after: number) => void;

/** write(2) until done. A regular file only writes short on a full disk or a signal; one call is the normal case. */
export function writeAll(fd: number, buf: Buffer, start = 0, end = buf.length): void {
  let off = start;
  while (off < end) off += fs.writeSync(fd, buf, off, end - off);
}
