/**
 * Change notifications for the history store: fs.watch on the store folder (history.jsonl) and on running/
 * (checkpoints; temporary files ignored), debounced; polling (1 s) where fs.watch is unavailable (some network and
 * container file systems).
 */
import * as fs from 'node:fs';
import type { Disposable } from '../util/events';

/** See HistoryStore.watch. */
export function watchStore(store: { dir: string; historyPath: string; runningDir: string }, onChange: () => void, debounceMs: number): Disposable {
  let disposed = false;
  let timer: NodeJS.Timeout | undefined;
  const closers: (() => void)[] = [];
  const fire = () => {
    if (disposed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!disposed) onChange();
    }, debounceMs);
  };
  const poll = (target: string) => {
    if (disposed) return;
    const listener = (cur: fs.Stats, prev: fs.Stats) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) fire();
    };
    fs.watchFile(target, { interval: 1000, persistent: false }, listener);
    closers.push(() => fs.unwatchFile(target, listener));
  };
  const watchDir = (dir: string, relevant: (name: string | null) => boolean, pollTarget: string) => {
    try {
      const w = fs.watch(dir, { persistent: false }, (_event, name) => {
        if (relevant(name === null || name === undefined ? null : String(name))) fire();
      });
      w.on('error', () => {
        w.close();
        poll(pollTarget);
      });
      closers.push(() => w.close());
    } catch {
      poll(pollTarget);
    }
  };
  try {
    fs.mkdirSync(store.runningDir, { recursive: true, mode: 0o700 });
  } catch {
    /* read-only location: watch what exists, poll the rest */
  }
  watchDir(store.dir, (n) => n === null || n === 'history.jsonl', store.historyPath);
  watchDir(store.runningDir, (n) => n === null || !n.includes('.tmp-'), store.runningDir);
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
