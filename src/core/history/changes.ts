/**
 * What changed in the history, and who changed it.
 *
 * A store knows what it wrote itself: it tells its own listeners at once, with the records (`HistoryAppend`), and
 * notes each write in its `OwnWrites` ledger, so that its watcher skips the file events of its own writes. The
 * watcher then reports only what other processes (other windows, CLIs) did, and says which part changed: records
 * appended to history.jsonl (`appended`), or checkpoints of their running runs written, claimed or removed
 * (`checkpoints`). A window's own checkpoint every 10 s is therefore no event at all: its readings carry the run.
 *
 * How a write is recognised as one's own:
 *   history.jsonl   the ledger keeps the file's identity (dev, inode) and the size up to which every byte is
 *                   accounted for (written here, or already reported). An own append moves that size only when the
 *                   file was exactly that size before it and grew by exactly what it wrote (no other writer came in
 *                   between); the watcher stats the file after an event and reports an append only when the file is
 *                   no longer the size the ledger expects.
 *   running/        checkpoints are named after their run; ids checkpointed by this store are its own (run ids are
 *                   unique per process). Where only the folder can be polled (no fs.watch), the folder's mtime after
 *                   the store's last own change is compared instead.
 */
import * as fs from 'node:fs';
import type { Run } from '../types';
import type { Disposable } from '../util/events';
import { makeDirs } from '../util/fs';

/** Records this store appended itself: final runs (a run of this window ended, an import) and deletes. */
export interface HistoryAppend {
  runs: readonly Run[];
  deletedIds: readonly string[];
}

/** What another process changed (the watcher's report; several changes within the debounce come as one). */
export interface ExternalChange {
  /** records were appended to history.jsonl (or the file was replaced): the history must be read again */
  appended: boolean;
  /** a checkpoint of a running run was written, claimed or removed */
  checkpoints: boolean;
}

interface FileKey {
  dev: number;
  ino: number;
  size: number;
}

/** The ledger of one store's own writes (see the file comment). */
export class OwnWrites {
  /** history.jsonl as accounted for; undefined until a watcher starts (nothing to compare with before) */
  private history?: FileKey;
  private readonly checkpointIds = new Set<string>();
  private runningDirMtimeMs?: number;

  /** An own append: the file was `before` bytes and grew by `bytes` to `after` (fstat of the same descriptor). */
  appended(dev: number, ino: number, before: number, bytes: number, after: number): void {
    const h = this.history;
    if (h && h.dev === dev && h.ino === ino && h.size === before && after === before + bytes) h.size = after;
  }

  /** An own checkpoint of `id` was written or removed; `runningDirMtimeMs`: the folder's mtime right after. */
  checkpointed(id: string, runningDirMtimeMs: number | undefined): void {
    this.checkpointIds.add(id);
    if (runningDirMtimeMs !== undefined) this.runningDirMtimeMs = runningDirMtimeMs;
  }

  /** Whether a file event in running/ names a checkpoint of this store (`<id>.json`). */
  isOwnCheckpointName(name: string): boolean {
    return name.endsWith('.json') && this.checkpointIds.has(name.slice(0, -'.json'.length));
  }

  /** Whether the running folder's mtime is the one of the store's own last change (polling only). */
  isOwnRunningDirMtime(mtimeMs: number): boolean {
    return this.runningDirMtimeMs !== undefined && mtimeMs === this.runningDirMtimeMs;
  }

  /**
   * The watcher's check after an event on history.jsonl: true when the file holds bytes the ledger does not account
   * for (another writer appended, or the file was replaced or truncated). Accounts for them from then on.
   */
  historyChanged(st: fs.Stats | undefined): boolean {
    const key = st ? { dev: st.dev, ino: st.ino, size: st.size } : undefined;
    const h = this.history;
    const same =
      h === undefined
        ? key === undefined
        : key !== undefined && h.dev === key.dev && h.ino === key.ino && h.size === key.size;
    this.history = key;
    return !same;
  }

  /** Starts accounting from the file as it is now (a watcher starts). */
  startFrom(st: fs.Stats | undefined): void {
    this.history = st ? { dev: st.dev, ino: st.ino, size: st.size } : undefined;
  }
}

export interface WatchPaths {
  dir: string;
  historyPath: string;
  runningDir: string;
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Calls `onChange` (debounced) when another process appends to the history or changes a checkpoint; the store's own
 * writes (in `own`) are skipped. Falls back to polling (1 s) where fs.watch is unavailable (some network and
 * container file systems).
 */
export function watchHistory(
  paths: WatchPaths,
  own: OwnWrites,
  onChange: (change: ExternalChange) => void,
  debounceMs = 200,
): Disposable {
  let disposed = false;
  let timer: NodeJS.Timeout | undefined;
  let historyTouched = false;
  let checkpointsTouched = false;
  const closers: (() => void)[] = [];
  own.startFrom(statOrUndefined(paths.historyPath));
  const flush = () => {
    timer = undefined;
    if (disposed) return;
    const appended = historyTouched && own.historyChanged(statOrUndefined(paths.historyPath));
    const checkpoints = checkpointsTouched;
    historyTouched = checkpointsTouched = false;
    if (appended || checkpoints) onChange({ appended, checkpoints });
  };
  const touched = (history: boolean) => {
    if (disposed) return;
    if (history) historyTouched = true;
    else checkpointsTouched = true;
    if (timer) clearTimeout(timer);
    timer = setTimeout(flush, debounceMs);
  };
  const poll = (target: string, history: boolean) => {
    if (disposed) return;
    const listener = (cur: fs.Stats, prev: fs.Stats) => {
      if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size && cur.ino === prev.ino) return;
      if (!history && own.isOwnRunningDirMtime(cur.mtimeMs)) return;
      touched(history);
    };
    fs.watchFile(target, { interval: 1000, persistent: false }, listener);
    closers.push(() => fs.unwatchFile(target, listener));
  };
  const watchDir = (dir: string, history: boolean, relevant: (name: string | null) => boolean, pollTarget: string) => {
    try {
      const w = fs.watch(dir, { persistent: false }, (_event, name) => {
        if (relevant(name === null || name === undefined ? null : String(name))) touched(history);
      });
      w.on('error', () => {
        w.close();
        poll(pollTarget, history);
      });
      closers.push(() => w.close());
    } catch {
      poll(pollTarget, history);
    }
  };
  try {
    makeDirs(paths.runningDir, 0o700);
  } catch {
    /* read-only location: watch what exists, poll the rest */
  }
  watchDir(paths.dir, true, (n) => n === null || n === 'history.jsonl', paths.historyPath);
  // temporary files come before a rename (its event follows); an unnamed event may be anyone's
  watchDir(
    paths.runningDir,
    false,
    (n) => n === null || (!n.includes('.tmp-') && !own.isOwnCheckpointName(n)),
    paths.runningDir,
  );
  return {
    dispose: () => {
      disposed = true;
      if (timer) clearTimeout(timer);
      for (const close of closers.splice(0)) {
        try {
          close();
        } catch {
          /* already closed */
        }
      }
    },
  };
}
