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
