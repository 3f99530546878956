import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * `rename`, retried briefly where Windows refuses to replace a file another process has open (without
 * FILE_SHARE_DELETE); everywhere else an error is final and thrown at once.
 */
export function renameWithRetry(from: string, to: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      fs.renameSync(from, to);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (process.platform === 'win32' && (code === 'EPERM' || code === 'EACCES' || code === 'EBUSY') && attempt < 20) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 * (attempt + 1));
        continue;
      }
      throw err;
    }
  }
}

/**
 * `mkdir -p`: creates `dir` and the folders missing above it (each with `mode`), or throws the first error; a folder
 * that is already there is fine. Node's own `mkdirSync(dir, { recursive: true })` loops forever where a folder
 * exists but refuses new entries with ENOENT: under /proc, mkdir("/proc/x") fails with ENOENT while "/proc" exists,
 * and Node 20 then tries the parent (EEXIST) and the child again without end, at 100 % CPU and deaf to signals
 * (`CARBON_METER_HOME=/proc/x carbon-meter run …` hung so).
 */
export function makeDirs(dir: string, mode?: number): void {
  if (mkdirOnce(dir, mode) !== 'ENOENT') return;
  const parent = path.dirname(dir);
  if (parent !== dir) makeDirs(parent, mode);
  // the parent is there now: a second ENOENT (a file system that takes no new folders) is thrown as it is
  if (mkdirOnce(dir, mode) === 'ENOENT') fs.mkdirSync(dir, { mode });
}

/**
 * Runs `write`, a write into `dir`, making `dir` first only when the write finds it missing (ENOENT), then once more.
 * For the writes a running meter repeats every few seconds (checkpoints, samples): a mkdir of a folder that is there
 * fails with EEXIST, and Node builds an Error with its stack for it, then a stat: the most of a checkpoint's cost
 * apart from the write itself, for a folder that is nearly always there. A folder removed or replaced meanwhile is
 * still made again, or gives the error it gave before.
 */
export function inDir<T>(dir: string, mode: number | undefined, write: () => T): T {
  try {
    return write();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    makeDirs(dir, mode);
    return write();
  }
}

/** One mkdir: done (or already a folder), or 'ENOENT' when a parent is missing; any other error is thrown. */
function mkdirOnce(dir: string, mode: number | undefined): 'ENOENT' | undefined {
  try {
    fs.mkdirSync(dir, { mode });
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'ENOENT';
    // another writer made it first, or it was there: fine if it is a folder
    if (code === 'EEXIST' && isDirectory(dir)) return undefined;
    throw err;
  }
}

/** Whether `p` is a folder (a link to one included); false when it cannot be read. */
export function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

let tmpSeq = 0;

/**
 * A temporary name beside `file` (`<file>.tmp-<pid>-<hex>`, which the history's recovery knows): unique in this
 * process through a counter, and across hosts sharing the folder through a random part (not a secret).
 */
export function tmpNameFor(file: string): string {
  tmpSeq = (tmpSeq + 1) % 0x10000;
  return `${file}.tmp-${process.pid}-${tmpSeq.toString(16)}${Math.floor(Math.random() * 0x100000000).toString(16)}`;
}

/**
 * Replaces `file` whole or not at all: writes a temporary file beside it (created with `mode`), fsyncs it when
 * `durable`, and renames it over `file`. The temporary file is removed when any step fails, and the error thrown.
 */
export function writeFileAtomic(
  file: string,
  data: string | Buffer,
  opts: { durable?: boolean; mode?: number } = {},
): void {
  const tmp = tmpNameFor(file);
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  try {
    const fd = fs.openSync(tmp, 'w', opts.mode ?? 0o666);
    try {
      for (let off = 0; off < buf.length;) off += fs.writeSync(fd, buf, off, buf.length - off);
      if (opts.durable) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    renameWithRetry(tmp, file);
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing more to clean
    }
    throw err;
  }
}

/**
 * Writes a file the user named (`export --out`, `run --json-out`) as a shell's `>` would reach it, never half-written
 * where that can be kept: a regular file is replaced whole (`writeFileAtomic`, with `mode`), and a symbolic link to
 * one keeps being a link (its target is replaced); a FIFO, a device or a socket, and a link to one (`/dev/stdout`),
 * is written through, since replacing it would take it away (as root, `/dev/full` itself); a dangling link has its
 * target created through it.
 */
export function writeUserFile(file: string, data: string | Buffer, opts: { mode?: number } = {}): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (st?.isDirectory()) throw Object.assign(new Error(`EISDIR: ${file} is a folder`), { code: 'EISDIR' });
  if ((st && !st.isFile()) || (!st && isSymlink(file))) {
    fs.writeFileSync(file, data, { mode: opts.mode });
    return;
  }
  writeFileAtomic(st ? fs.realpathSync(file) : file, data, opts);
}

function isSymlink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}
