/**
 * Which file did a run run? Runs are matched to files through their command lines, the script path resolved against
 * the run's cwd, so terminal, task, debug and CLI runs all count:
 *
 *   python train.py · python3.11 -u ./train.py · /abs/venv/bin/python /abs/train.py · ./train.py · py -3 train.py
 *   python -m pkg.train                  → <cwd>/pkg/train.py (or <cwd>/pkg/train/__main__.py, or …/src/pkg/train.py)
 *   torchrun --nproc_per_node 4 train.py · python -m torch.distributed.run … train.py · deepspeed train.py
 *   accelerate launch --config_file c.yaml train.py · composer -n 8 train.py · lightning run model train.py
 *   cd src && CUDA_VISIBLE_DEVICES=0 nohup uv run python train.py > log.txt · conda run -n env python train.py
 *   mpirun -np 4 python train.py · srun --gres=gpu:1 python train.py · carbon-meter run -- python train.py
 *   python -m jupyter nbconvert --execute nb.ipynb · papermill nb.ipynb out.ipynb
 *   debug runs: "/abs/train.py --epochs 3" (the program) or "pkg.train" (the module)
 *
 * Pure string work (no file system access): a path that does not exist simply matches no open file.
 */
import * as nodePath from 'node:path';
import type { Run } from '../types';

export interface RunTarget {
  kind: 'script' | 'module' | 'notebook';
  /** Absolute, normalised path of the script or notebook; for a module, `<cwd>/pkg/train.py`. */
  path: string;
  /** Modules: other files the module may be (`<cwd>/pkg/train/__main__.py`). */
  alternatives?: string[];
  /** Modules: `pkg/train.py`, matched as a suffix of files under `cwd` (src layouts, editable installs). */
  moduleFile?: string;
  /** The folder the path was resolved against (after any `cd`). */
  cwd: string;
}

export interface ResolveOptions {
  /** The run was a debug session: its command is the program (or the module) and its arguments. */
  debug?: boolean;
  /** For `~/train.py` (default: none, such paths do not match). */
  home?: string;
}

const PYTHON = /^(?:python(?:[23](?:\.\d+)?)?|pythonw|py|pypy3?|ipython3?)(?:\.exe)?$/i;
const LAUNCHERS = new Set([
  'torchrun',
  'deepspeed',
  'composer',
  'accelerate',
  'lightning',
  'fabric',
  'horovodrun',
  'colossalai',
]);
/** Programs that run the command that follows them, possibly after options of their own. */
const WRAPPERS = new Set([
  'time',
  'nohup',
  'nice',
  'ionice',
  'taskset',
  'numactl',
  'stdbuf',
  'timeout',
  'xvfb-run',
  'caffeinate',
  'exec',
  'command',
  'sudo',
  'env',
  'chrt',
  'unbuffer',
  'srun',
  'mpirun',
  'mpiexec',
  'prun',
  'aprun',
  'jsrun',
  'ray',
  'sbatch',
  'flock',
  'uv',
  'poetry',
  'pipenv',
  'pdm',
  'hatch',
  'rye',
  'pixi',
  'conda',
  'mamba',
  'micromamba',
  'carbon-meter',
  'npx',
  'codecarbon',
  'call',
  'start',
]);
const LAUNCHER_MODULES = new Set([
  'torch.distributed.run',
  'torch.distributed.launch',
  'accelerate.commands.launch',
  'deepspeed.launcher.runner',
  'torch.distributed.elastic.multiprocessing',
]);
const NOTEBOOK_MODULES = new Set([
  'jupyter',
  'nbconvert',
  'papermill',
  'nbclient',
  'jupyter_client',
  'ipython',
  'IPython',
]);
const DOTTED_MODULE = /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$/;
const SCRIPT_FILE = /\.(?:py|pyw)$/i;
const NOTEBOOK_FILE = /\.ipynb$/i;
const ENV_ASSIGN = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** Is this a Windows path (`C:\…`, `\\server\…`)? Paths are then compared without regard to case. */
export function isWindowsPath(p: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');
}

function pathApi(cwd: string): typeof nodePath.posix {
  return isWindowsPath(cwd) ? nodePath.win32 : nodePath.posix;
}

/** A path in the form files are compared in: normalised, and lower-case for Windows paths. */
export function normaliseFilePath(p: string): string {
  if (isWindowsPath(p)) return nodePath.win32.normalize(p).toLowerCase();
  return nodePath.posix.normalize(p);
}

/** Shell words of one command line, split into `&&`/`||`/`;`/`|` segments. Backslashes escape on POSIX only. */
export function shellSegments(command: string, windows = false): string[][] {
  const segments: string[][] = [[]];
  let word = '';
  let inWord = false;
  const push = () => {
    if (inWord) segments[segments.length - 1].push(word);
    word = '';
    inWord = false;
  };
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (c === "'" && !windows) {
      const end = command.indexOf("'", i + 1);
      word += command.slice(i + 1, end < 0 ? command.length : end);
      inWord = true;
      i = end < 0 ? command.length : end;
    } else if (c === '"') {
      inWord = true;
      for (i++; i < command.length && command[i] !== '"'; i++) {
        if (command[i] === '\\' && !windows && /["\\$`]/.test(command[i + 1] ?? '')) i++;
        word += command[i];
      }
    } else if (c === '\\' && !windows) {
      if (i + 1 < command.length) word += command[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      push();
    } else if (c === ';' || c === '|' || (c === '&' && (command[i + 1] === '&' || !inWord))) {
      // `&&`, `||`, `|`, `;`, a background `&`; the `&` of `2>&1` belongs to its word
      push();
      if ((c === '|' || c === '&') && command[i + 1] === c) i++;
      segments.push([]);
    } else {
      word += c;
      inWord = true;
    }
  }
  push();
  return segments.filter((s) => s.length > 0);
}

function basename(word: string): string {
  const b = word.replace(/[\\/]+$/, '');
  const k = Math.max(b.lastIndexOf('/'), b.lastIndexOf('\\'));
  return k >= 0 ? b.slice(k + 1) : b;
}

function isRedirect(word: string): boolean {
  return /^\d*[<>]/.test(word);
}

type Found = { kind: 'script' | 'notebook'; file: string } | { kind: 'module'; module: string };

/** The program a shell segment runs: index of the first word that is not an assignment. */
function firstProgram(words: string[], from = 0): number {
  let k = from;
  while (k < words.length && ENV_ASSIGN.test(words[k])) k++;
  return k;
}

function looksRunnable(word: string): boolean {
  const b = basename(word);
  return (
    PYTHON.test(b) ||
    LAUNCHERS.has(b.replace(/\.exe$/i, '').toLowerCase()) ||
    SCRIPT_FILE.test(word) ||
    NOTEBOOK_FILE.test(word)
  );
}

/** What a command (as words) runs, if it is Python. */
function resolveWords(words: string[], depth = 0): Found | undefined {
  if (depth > 8) return undefined;
  const k = firstProgram(words);
  if (k >= words.length) return undefined;
  const prog = words[k];
  const name = basename(prog).replace(/\.exe$/i, '');
  const lower = name.toLowerCase();
  const rest = words.slice(k + 1);

  if (SCRIPT_FILE.test(prog)) return { kind: 'script', file: prog };
  if (NOTEBOOK_FILE.test(prog)) return { kind: 'notebook', file: prog };
  if (PYTHON.test(name)) return pythonArgs(rest, depth);
  if (lower === 'jupyter' || lower === 'papermill' || lower.startsWith('jupyter-')) return firstNotebook(rest);
  if (LAUNCHERS.has(lower)) {
    if (lower === 'accelerate' && rest[0] !== 'launch') return undefined;
    return launcherArgs(rest, depth);
  }
  if (WRAPPERS.has(lower)) {
    // the wrapped command: after "--", or the first word that runs Python
    const dd = rest.indexOf('--');
    const start = dd >= 0 ? dd + 1 : rest.findIndex((w) => looksRunnable(w));
    if (start < 0 || start >= rest.length) return undefined;
    return resolveWords(rest.slice(start), depth + 1);
  }
  return undefined;
}

function firstNotebook(words: string[]): Found | undefined {
  const nb = words.find((w) => NOTEBOOK_FILE.test(w));
  return nb ? { kind: 'notebook', file: nb } : undefined;
}

/** The interpreter's arguments: options, then `-m module`, `-c code` or the script. */
function pythonArgs(args: string[], depth: number): Found | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (isRedirect(a)) return undefined;
    if (a === '--') return args[i + 1] ? fileOf(args[i + 1]) : undefined;
    if (a === '-' || a === '--version' || a === '--help' || a === '-V' || a === '-h') return undefined;
    if (a.startsWith('--')) {
      if (a === '--check-hash-based-pycs') i++;
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      if (/^-\d/.test(a) || /^-V:/.test(a)) continue; // py launcher: -3, -3.11, -V:3.11
      for (let j = 1; j < a.length; j++) {
        const f = a[j];
        if (f === 'c') return undefined;
        if (f === 'm') {
          const mod = a.slice(j + 1) || args[++i];
          return mod ? moduleRun(mod, args.slice(i + 1), depth) : undefined;
        }
        if (f === 'W' || f === 'X') {
          if (j === a.length - 1) i++;
          break;
        }
      }
      continue;
    }
    return fileOf(a);
  }
  return undefined;
}

function fileOf(word: string): Found {
  return NOTEBOOK_FILE.test(word) ? { kind: 'notebook', file: word } : { kind: 'script', file: word };
}

function moduleRun(mod: string, rest: string[], depth: number): Found | undefined {
  if (LAUNCHER_MODULES.has(mod)) return launcherArgs(rest, depth);
  if (NOTEBOOK_MODULES.has(mod) || mod.startsWith('jupyter')) return firstNotebook(rest);
  if (mod === 'accelerate' || mod === 'accelerate.commands.accelerate_cli')
    return rest[0] === 'launch' ? launcherArgs(rest.slice(1), depth) : undefined;
  return DOTTED_MODULE.test(mod) ? { kind: 'module', module: mod } : undefined;
}

/** torchrun / accelerate launch / deepspeed …: options, then the script (or `-m module`, or `--no_python cmd`). */
function launcherArgs(args: string[], depth: number): Found | undefined {
  let moduleMode = false;
  let noPython = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (isRedirect(a)) return undefined;
    if (a === 'launch' || a === 'run' || a === 'model') {
      if (i === 0 || (i === 1 && args[0] === 'run')) continue; // accelerate launch, lightning run model, fabric run
    }
    if (a === '-m' || a === '--module') {
      moduleMode = true;
      continue;
    }
    if (a === '--no_python' || a === '--no-python') {
      noPython = true;
      continue;
    }
    if (a === '--') {
      const next = args.slice(i + 1);
      return noPython
        ? resolveWords(next, depth + 1)
        : next[0]
          ? moduleMode
            ? moduleRun(next[0], next.slice(1), depth)
            : fileOf(next[0])
          : undefined;
    }
    if (a.startsWith('-')) continue;
    if (SCRIPT_FILE.test(a) || NOTEBOOK_FILE.test(a)) return fileOf(a);
    if (noPython && looksRunnable(a)) return resolveWords(args.slice(i), depth + 1);
    if (moduleMode && DOTTED_MODULE.test(a) && a.includes('.') && !/^\d/.test(a))
      return moduleRun(a, args.slice(i + 1), depth);
  }
  return undefined;
}

/**
 * The file a run's command line runs, resolved against its cwd, or undefined when it runs no Python script,
 * module or notebook (`python -c …`, `ls`, a REPL).
 */
export function resolveRunTarget(command: string, cwd: string, opts: ResolveOptions = {}): RunTarget | undefined {
  const windows = isWindowsPath(cwd);
  const p = pathApi(cwd);
  let dir = cwd;
  const home = opts.home;
  const abs = (file: string) => {
    if (file === '~' || file.startsWith('~/')) {
      if (!home) return undefined;
      return p.normalize(p.join(home, file.slice(1)));
    }
    return p.normalize(p.isAbsolute(file) ? file : p.join(dir, file));
  };
  const segments = shellSegments(command, windows);
  for (const words of segments) {
    const k = firstProgram(words);
    const prog = words[k];
    if (prog === undefined) continue;
    if ((prog === 'cd' || prog === 'pushd') && words[k + 1]) {
      const to = abs(words[k + 1]);
      if (to) dir = to;
      continue;
    }
    if (prog === 'export' || prog === 'source' || prog === '.' || prog === 'set') continue;
    let found = resolveWords(words);
    if (!found && opts.debug && k === 0 && DOTTED_MODULE.test(prog) && !SCRIPT_FILE.test(prog)) {
      found = { kind: 'module', module: prog };
    }
    if (!found) continue;
    if (found.kind === 'module') {
      const rel = found.module.split('.').join('/');
      const file = abs(rel + '.py');
      if (!file) return undefined;
      return {
        kind: 'module',
        path: file,
        alternatives: [p.join(dir, rel, '__main__.py')],
        moduleFile: rel + '.py',
        cwd: dir,
      };
    }
    const file = abs(found.file);
    return file ? { kind: found.kind, path: file, cwd: dir } : undefined;
  }
  return undefined;
}

/**
 * Runs by the file they ran, built once per history version. `runsFor(file)` is a map look-up (plus a scan of the
 * module runs, for src layouts), cached per file.
 */
export class RunFileIndex {
  private readonly byPath = new Map<string, Run[]>();
  private readonly modules: { cwd: string; suffix: string; run: Run; windows: boolean }[] = [];
  private readonly cache = new Map<string, Run[]>();
  /** Runs whose command names no Python file. */
  readonly unmatched: number;

  constructor(runs: readonly Run[], opts: { home?: string } = {}) {
    let unmatched = 0;
    const add = (key: string, run: Run) => {
      const k = normaliseFilePath(key);
      const list = this.byPath.get(k);
      if (list) list.push(run);
      else this.byPath.set(k, [run]);
    };
    for (const run of runs) {
      const target = resolveRunTarget(run.command ?? '', run.cwd ?? '', {
        debug: run.source === 'debug',
        home: opts.home,
      });
      if (!target) {
        unmatched++;
        continue;
      }
      add(target.path, run);
      for (const alt of target.alternatives ?? []) add(alt, run);
      if (target.moduleFile) {
        const windows = isWindowsPath(target.cwd);
        const sep = windows ? '\\' : '/';
        this.modules.push({
          cwd: normaliseFilePath(target.cwd),
          suffix: normaliseFilePath(sep + target.moduleFile.split('/').join(sep)),
          run,
          windows,
        });
      }
    }
    this.unmatched = unmatched;
  }

  /** The runs of a file, newest first. */
  runsFor(file: string): Run[] {
    const key = normaliseFilePath(file);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const found = new Set<Run>(this.byPath.get(key) ?? []);
    for (const m of this.modules) {
      const sep = m.windows ? '\\' : '/';
      if (key.startsWith(m.cwd.endsWith(sep) ? m.cwd : m.cwd + sep) && key.endsWith(m.suffix)) found.add(m.run);
    }
    const list = [...found].sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
    this.cache.set(key, list);
    return list;
  }
}
