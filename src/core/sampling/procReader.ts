/**
 * Cheap, repeated reads of the /proc files the tree sampler needs every tick.
 *
 * Opening, reading and closing /proc/PID/stat costs about 25 µs in Node; reading an fd that is kept open, with
 * pread at offset 0, about 5 µs. A kept fd also stays bound to the process it was opened for: once that process
 * is reaped the read fails with ESRCH, so a recycled pid can never be mistaken for the old process.
 *
 * Kept open: the stat file of each tracked pid, the `children` file of each of their threads (listed again only
 * when the thread count changes, or every few discoveries), and /proc/loadavg, whose last field is the most
 * recently allocated pid of this pid namespace: while it does not move, no process (or thread) was created
 * anywhere, so there is nothing to discover. At most `maxFds` fds are kept; past that, files are opened per read.
 */
import * as fs from 'node:fs';

const BUF_SIZE = 4096;

/** `children(pid, MAIN_THREAD)`: the main thread's children only (see mainThreadChildren). */
export const MAIN_THREAD = -1;

/** How often (in discoveries) a process's thread list is listed again even though its thread count is unchanged. */
const RELIST_THREADS_EVERY = 10;

interface Held {
  statFd?: number;
  /** tid → fd of /proc/PID/task/TID/children (or -1: opened per read) */
  children?: Map<string, number>;
  threadsListedAt?: number;
  /** the thread count when the threads were last listed */
  listedThreads?: number;
}

export class ProcReader {
  private readonly buf = Buffer.allocUnsafe(BUF_SIZE);
  private readonly held = new Map<number, Held>();
  private fdCount = 0;
  private loadavgFd?: number;
  private discoveries = 0;

  constructor(
    private readonly procRoot = '/proc',
    private readonly maxFds = 256,
  ) {}

  /** The text of /proc/PID/stat, or undefined once the process is gone (reaped). A zombie still answers. */
  statText(pid: number): string | undefined {
    const h = this.entry(pid);
    if (h.statFd === undefined && this.fdCount < this.maxFds) {
      try {
        h.statFd = fs.openSync(`${this.procRoot}/${pid}/stat`, 'r');
        this.fdCount++;
      } catch {
        this.forget(pid);
        return undefined;
      }
    }
    try {
      const text =
        h.statFd !== undefined ? this.pread(h.statFd) : fs.readFileSync(`${this.procRoot}/${pid}/stat`, 'latin1');
      if (text === '') throw new Error('empty');
      return text;
    } catch {
      this.forget(pid);
      return undefined;
    }
  }

  /**
   * The direct children of a process, from the `children` file of each of its threads (a child is listed under the
   * thread that forked it). The thread list is read again when `numThreads` (field 20 of its stat) differs from
   * the last listing, and every few discoveries in case a thread ended and another began.
   */
  children(pid: number, numThreads?: number): number[] {
    const h = this.entry(pid);
    this.discoveries++;
    if (numThreads === MAIN_THREAD) return this.mainThreadChildren(pid, h);
    const stale =
      h.children === undefined ||
      (numThreads !== undefined && numThreads !== h.listedThreads) ||
      this.discoveries - (h.threadsListedAt ?? 0) >= RELIST_THREADS_EVERY * Math.max(1, this.held.size);
    if (stale && !this.listThreads(pid, h, numThreads)) return [];
    const out: number[] = [];
    for (const [tid, fd] of h.children!) {
      let text: string;
      try {
        text = fd >= 0 ? this.pread(fd) : fs.readFileSync(`${this.procRoot}/${pid}/task/${tid}/children`, 'latin1');
      } catch {
        continue; // the thread ended
      }
      for (const p of text.split(' ')) {
        if (p === '' || p === '\n') continue;
        const n = Number(p);
        if (Number.isInteger(n)) out.push(n);
      }
    }
    return out;
  }

  /**
   * The children of a process's main thread only (its /proc/PID/task/PID/children, kept open). Enough for a child
   * subreaper that forks from its main thread (Node does): the kernel hands orphans to the subreaper's first live
   * thread, its main thread (find_new_reaper, find_alive_thread in kernel/exit.c).
   */
  private mainThreadChildren(pid: number, h: Held): number[] {
    const tid = String(pid);
    let fd = h.children?.get(tid);
    if (fd === undefined) {
      fd = -1;
      if (this.fdCount < this.maxFds) {
        try {
          fd = fs.openSync(`${this.procRoot}/${pid}/task/${tid}/children`, 'r');
          this.fdCount++;
        } catch {
          return [];
        }
      }
      (h.children ??= new Map()).set(tid, fd);
    }
    let text: string;
    try {
      text = fd >= 0 ? this.pread(fd) : fs.readFileSync(`${this.procRoot}/${pid}/task/${tid}/children`, 'latin1');
    } catch {
      return [];
    }
    const out: number[] = [];
    for (const p of text.split(' ')) {
      if (p === '' || p === '\n') continue;
      const n = Number(p);
      if (Number.isInteger(n)) out.push(n);
    }
    return out;
  }

  /** The most recently allocated pid (last field of /proc/loadavg), or undefined where it cannot be read. */
  lastPid(): number | undefined {
    try {
      if (this.loadavgFd === undefined) this.loadavgFd = fs.openSync(`${this.procRoot}/loadavg`, 'r');
      const text = this.pread(this.loadavgFd);
      const n = Number(text.slice(text.lastIndexOf(' ') + 1));
      return Number.isInteger(n) && n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  }

  /** Closes what is kept for a pid (it is no longer tracked). */
  forget(pid: number): void {
    const h = this.held.get(pid);
    if (!h) return;
    this.held.delete(pid);
    if (h.statFd !== undefined) this.close(h.statFd);
    for (const fd of h.children?.values() ?? []) if (fd >= 0) this.close(fd);
  }

  /** Closes every kept fd. The reader can still be used afterwards (it opens again). */
  dispose(): void {
    for (const pid of [...this.held.keys()]) this.forget(pid);
    if (this.loadavgFd !== undefined) {
      try {
        fs.closeSync(this.loadavgFd);
      } catch {
        /* already closed */
      }
      this.loadavgFd = undefined;
    }
  }

  /** fds kept open now (tests) */
  get openFds(): number {
    return this.fdCount + (this.loadavgFd !== undefined ? 1 : 0);
  }

  private entry(pid: number): Held {
    let h = this.held.get(pid);
    if (!h) this.held.set(pid, (h = {}));
    return h;
  }

  private listThreads(pid: number, h: Held, numThreads: number | undefined): boolean {
    let tids: string[];
    try {
      tids = fs.readdirSync(`${this.procRoot}/${pid}/task`);
    } catch {
      return false;
    }
    const next = new Map<string, number>();
    for (const tid of tids) {
      const old = h.children?.get(tid);
      if (old !== undefined) {
        next.set(tid, old);
        h.children!.delete(tid);
        continue;
      }
      let fd = -1;
      if (this.fdCount < this.maxFds) {
        try {
          fd = fs.openSync(`${this.procRoot}/${pid}/task/${tid}/children`, 'r');
          this.fdCount++;
        } catch {
          continue; // no such thread any more, or no CONFIG_PROC_CHILDREN
        }
      }
      next.set(tid, fd);
    }
    for (const fd of h.children?.values() ?? []) if (fd >= 0) this.close(fd);
    h.children = next;
    h.threadsListedAt = this.discoveries;
    h.listedThreads = numThreads ?? tids.length;
    return true;
  }

  private pread(fd: number): string {
    const n = fs.readSync(fd, this.buf, 0, BUF_SIZE, 0);
    return this.buf.toString('latin1', 0, n);
  }

  private close(fd: number): void {
    this.fdCount--;
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
  }
}
