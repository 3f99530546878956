import * as fs from 'node:fs';

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
