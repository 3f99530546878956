/**
 * Which kernel process runs a notebook: the decision, from the kernels in /proc (kernels.ts) and what the editor
 * knows of the notebook. Pure functions; the adapter (src/extension/notebookWatcher.ts) feeds them.
 *
 * Rules, in order:
 *  1. a kernel of a Jupyter server whose `JPY_SESSION_NAME` is the notebook's path (JupyterLab, Notebook 7);
 *  2. a kernel that descends from this window's extension host and runs in one of the notebook's kernel folders
 *     (`jupyter.notebookFileRoot` resolved, else the notebook's folder), or a server kernel of a session VS Code
 *     created for this notebook (`<root>/<notebook base>-<uuid>.ipynb`);
 *  3. several fit (notebooks of one folder running at once): the one whose CPU time moved while the cell executed,
 *     when exactly one did (`pickBusyKernel`); otherwise the notebook is reported as ambiguous, not guessed.
 * Kernels already linked to another notebook of the window are never candidates.
 */
import * as path from 'node:path';
import type { KernelProcess } from './kernels';

export type KernelOrigin = 'editor' | 'server' | 'other';

export interface NotebookPlace {
  /** absolute path of the notebook file */
  notebookPath: string;
  /** folders the notebook's kernel would run in (resolved `jupyter.notebookFileRoot`, the notebook's folder) */
  kernelDirs: readonly string[];
}

export type KernelMatch =
  | { kind: 'found'; kernel: KernelProcess; origin: KernelOrigin; how: string }
  | { kind: 'ambiguous'; kernels: KernelProcess[]; reason: string }
  | {
      kind: 'none';
      reason: string;
      /** no kernel process is visible here at all: it runs elsewhere */ remote: boolean;
    };

/** Who started the kernel: this window's extension host (or a descendant), a Jupyter server, or someone else. */
export function kernelOrigin(k: KernelProcess, hostPid: number): KernelOrigin {
  if (k.ppid === hostPid || k.ancestors.includes(hostPid)) return 'editor';
  if (k.sessionName !== undefined || (k.jupyterParentPid !== undefined && k.jupyterParentPid === k.ppid))
    return 'server';
  return 'other';
}

function samePath(a: string | undefined, b: string): boolean {
  return a !== undefined && path.resolve(a) === path.resolve(b);
}

/** A session VS Code's Jupyter extension created on a server: `<root>/<base>-<uuid>.ipynb` (or `-jvsc-<uuid>`). */
function isVsCodeSessionOf(sessionName: string, notebookPath: string): boolean {
  const base = path.basename(notebookPath).replace(/\.ipynb$/i, '');
  const name = path.basename(sessionName);
  if (!name.startsWith(`${base}-`) || !/\.ipynb$/i.test(name)) return false;
  return /^-(jvsc-)?[0-9a-f-]{8,}\.ipynb$/i.test(name.slice(base.length));
}

/** The kernel of one notebook among `kernels`, or why none can be named. */
export function matchKernel(
  kernels: readonly KernelProcess[],
  place: NotebookPlace,
  hostPid: number,
  taken: ReadonlySet<number> = new Set(),
): KernelMatch {
  const free = kernels.filter((k) => !taken.has(k.pid));
  const bySession = free.filter((k) => k.sessionName !== undefined && samePath(k.sessionName, place.notebookPath));
  if (bySession.length === 1)
    return {
      kind: 'found',
      kernel: bySession[0],
      origin: kernelOrigin(bySession[0], hostPid),
      how: 'JPY_SESSION_NAME names the notebook',
    };
  if (bySession.length > 1)
    return {
      kind: 'ambiguous',
      kernels: bySession,
      reason: `${bySession.length} kernels of Jupyter servers name this notebook (JPY_SESSION_NAME)`,
    };

  const inDir = (k: KernelProcess) => place.kernelDirs.some((d) => samePath(k.cwd, d));
  const candidates = free.filter((k) => {
    // a session VS Code created on a server (also one the Jupyter extension started itself, without ZeroMQ)
    if (k.sessionName !== undefined && isVsCodeSessionOf(k.sessionName, place.notebookPath))
      return kernelOrigin(k, hostPid) !== 'other';
    return kernelOrigin(k, hostPid) === 'editor' && inDir(k);
  });
  if (candidates.length === 1) {
    const k = candidates[0];
    const origin = kernelOrigin(k, hostPid);
    return {
      kind: 'found',
      kernel: k,
      origin,
      how: origin === 'editor' ? `started by this window in ${k.cwd}` : `server session ${k.sessionName}`,
    };
  }
  if (candidates.length > 1) {
    return {
      kind: 'ambiguous',
      kernels: candidates,
      reason: `${candidates.length} kernels of this window run in ${place.kernelDirs[0] ?? 'the folder'} (pids ${candidates.map((k) => k.pid).join(', ')})`,
    };
  }
  if (kernels.length === 0)
    return { kind: 'none', reason: 'no Jupyter kernel process runs on this machine', remote: true };
  const others = free.filter((k) => inDir(k));
  if (others.length) {
    return {
      kind: 'none',
      reason: `kernel(s) in ${place.kernelDirs[0]} (pid ${others.map((k) => k.pid).join(', ')}) were not started by this window (another window or program): not linked`,
      remote: false,
    };
  }
  const mine = kernels.some((k) => kernelOrigin(k, hostPid) !== 'other');
  return {
    kind: 'none',
    reason: `none of the ${kernels.length} local kernel(s) runs in ${place.kernelDirs.join(' or ')} for this window`,
    remote: !mine,
  };
}

/**
 * The kernel whose CPU time moved between two readings while a cell executed, when exactly one moved: it moved by at
 * least `minTicks` and every other by less than a quarter of that. Otherwise undefined.
 */
export function pickBusyKernel(
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
  minTicks = 2,
): number | undefined {
  const moved = [...after].filter(([pid]) => before.has(pid)).map(([pid, t]) => ({ pid, d: t - before.get(pid)! }));
  moved.sort((a, b) => b.d - a.d);
  const [top, next] = moved;
  if (!top || top.d < minTicks) return undefined;
  if (next && next.d * 4 >= top.d) return undefined;
  return top.pid;
}

/**
 * `jupyter.notebookFileRoot` resolved for a notebook: `${fileDirname}` (the default), `${workspaceFolder}`,
 * `${workspaceFolderBasename}`, `${userHome}`, `~`; a relative path is taken from the workspace folder. The
 * notebook's own folder is always a candidate too (the Jupyter extension falls back to it when the root is missing).
 */
export function kernelDirs(
  setting: unknown,
  notebookPath: string,
  workspaceFolder: string | undefined,
  home: string,
): string[] {
  const fileDir = path.dirname(notebookPath);
  const dirs: string[] = [];
  if (typeof setting === 'string' && setting.trim()) {
    let v = setting.trim();
    v = v.replace(/\$\{fileDirname\}/g, fileDir).replace(/\$\{userHome\}/g, home);
    if (workspaceFolder)
      v = v
        .replace(/\$\{workspaceFolder\}/g, workspaceFolder)
        .replace(/\$\{workspaceFolderBasename\}/g, path.basename(workspaceFolder));
    if (v === '~' || v.startsWith('~/')) v = path.join(home, v.slice(1));
    if (!v.includes('${'))
      dirs.push(path.isAbsolute(v) ? path.normalize(v) : path.resolve(workspaceFolder ?? fileDir, v));
  }
  if (!dirs.includes(fileDir)) dirs.push(fileDir);
  return dirs;
}
