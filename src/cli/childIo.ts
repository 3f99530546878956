/**
 * Starting the metered command so that its output can be read (progress for the forecast) without changing what
 * the command sees.
 *
 * - stdout and stderr are pipes or files: the child gets pipes; every chunk is written through to ours at once
 *   (the child's stream is paused while ours is full, so nothing piles up in memory) and handed to `onOutput`.
 *   - They are real pipes (pipe(2), made through koffi), not what Node's `'pipe'` stdio makes: libuv gives a child a
 *     UNIX socketpair, and when the reader of ours goes away (`| head`) and we close our end with data still unread
 *     in it, Linux makes the command's next write fail with ECONNRESET ("Connection reset by peer", Python's
 *     ConnectionResetError) instead of the SIGPIPE/EPIPE it meets in a plain pipeline; a writer blocked on a full
 *     socket gets no SIGPIPE either, even after shutdown(). Closing the read end of a real pipe is exactly what
 *     `head` does to the command without the meter: SIGPIPE (exit 141), or EPIPE where it is ignored. The ends are
 *     close-on-exec (the command inherits only its stdout/stderr, never our read end, which would keep the pipe
 *     "read"); our copy of the write end is closed once the child has it, so the read end ends when the command's
 *     tree lets it go. Where koffi or libc cannot be loaded (not glibc Linux), Node's socketpairs are the fallback.
 *   - When our stdout and stderr are the same file (`> log 2>&1`, `2>&1 | cat`: same device and inode; `2>&1`
 *     shares even the open file description), the order in which the command wrote to the two is what the file
 *     shows without the meter. Two pipes read apart cannot keep it, so the command gets ONE pipe as both its
 *     stdout and its stderr, as `2>&1` would give it, read in order and written through to our stdout (the same
 *     file). Its progress (tqdm on stderr) is read from that one stream, as from a terminal below, and whether it
 *     ends a line is that of the merged output: the last line `run --json` writes to the file must start a line
 *     whichever stream the command wrote last. Same device and inode is the test rather than the same open file
 *     description: what matters is that writes to both land in one object in the order made (a pipe, a terminal,
 *     an O_APPEND file opened twice); only `> f 2> f` (two descriptions of one file, each overwriting the other at
 *     its own offset) comes out differently, and there the command's output is garbled without the meter anyway.
 *     The command is still spawned directly (no shell in between: its process tree, exit status, signals and
 *     "command not found" are unchanged); without real pipes (the fallback) the streams stay apart.
 * - both are a terminal: the child must see a terminal too (a tqdm bar renders as on a terminal, Python
 *   line-buffers). That takes a pseudo-terminal. Node has none built in, and python3's `pty` module is not on every
 *   machine; util-linux `script` is (every Linux distribution ships it), so the command runs as
 *   `script -q -e -c '<command>' /dev/null` and script's output (the terminal's) is written through and read.
 *   Where there is no util-linux script (macOS' BSD script takes other options), the child's stdio is left
 *   untouched and the forecast is said to be unavailable.
 *   So does a terminal output with a redirected input (script would stand between the command and its input).
 * - one is a terminal and the other is not: the terminal one is left to the child, the other is piped and read.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import * as fs from 'node:fs';
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { posixQuote } from '../core/shell';
import { loadKoffi } from '../core/util/ffi';

export interface ChildIo {
  child: ChildProcess;
  /** pid of the `script` wrapper, when there is one: it is not signalled with the workload */
  wrapperPid?: number;
  /** why progress cannot be read from the output, when it cannot (else undefined) */
  progressUnavailable?: string;
  /** what is read: "stdout and stderr (pipes)", "the terminal (util-linux script)" */
  reading?: string;
  /** resolves when the piped streams have ended (or at once when nothing is piped) */
  drained: Promise<void>;
  /**
   * Whether what the command wrote to our stdout ends a line (true too when it wrote nothing); undefined when its
   * stdout is not read (left to the command).
   */
  stdoutAtLineStart?: () => boolean;
  /**
   * Where the command left the file our stderr writes to (its stderr, or both streams when they share that file);
   * undefined when that output is not read. The plain readout lines and the summary never fall inside one of the
   * command's lines.
   */
  stderrFile?: LineEnd;
  /** which of our streams lost its reader (`| head` exited: EPIPE) while the command's output went through it */
  readerGone: () => 'stdout' | 'stderr' | undefined;
}

/** Where a command's output through a pipe left its last line. */
export interface LineEnd {
  /** the last byte written ends a line (true too when nothing was written) */
  atLineStart: () => boolean;
  /** ...or is a carriage return (a progress bar redrawn in a log) */
  atLineBreak: () => boolean;
  /** we wrote a whole line of our own into the same file: it is at the start of a line again */
  lineWritten: () => void;
}

export interface SpawnIoOptions {
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
  /** called before a chunk of the command's output is written through (the live readout clears its line) */
  beforeOutput?: () => void;
  /** for tests: whether our stdout and stderr count as terminals (default: process.stdout.isTTY…) */
  isTTY?: { stdout: boolean; stderr: boolean; stdin?: boolean };
  /** for tests: whether our stdout and stderr are the same file (default: fstat of fds 1 and 2) */
  sameOutput?: boolean;
  /** for tests: false gives the child Node's socketpairs instead of real pipes (the fallback) */
  realPipes?: boolean;
  /** the util-linux script executable ('' = none) */
  scriptCommand?: string;
  env?: NodeJS.ProcessEnv;
}

let scriptProbe: string | undefined | null = null;

/** The util-linux `script` command, probed once per process; undefined when there is none. */
export function utilLinuxScript(): string | undefined {
  if (scriptProbe !== null) return scriptProbe;
  scriptProbe = undefined;
  if (process.platform === 'linux' || process.platform === 'freebsd') {
    const r = spawnSync('script', ['--version'], { encoding: 'utf8', timeout: 5000 });
    if (r.status === 0 && /util-linux/.test(`${r.stdout}${r.stderr}`)) scriptProbe = 'script';
  }
  return scriptProbe;
}

/** POSIX shell quoting of one word (core/shell.ts). */
export const shQuote = posixQuote;

/** Spawns `command` as described above. The caller listens for 'spawn', 'error' and 'exit' on `child`. */
export function spawnWithOutput(command: string[], opts: SpawnIoOptions = {}): ChildIo {
  const tty = opts.isTTY ?? { stdout: !!process.stdout.isTTY, stderr: !!process.stderr.isTTY };
  const base: SpawnOptions = { env: opts.env ?? process.env };
  if (tty.stdout && tty.stderr) {
    const script = opts.scriptCommand ?? utilLinuxScript();
    // script would put its pseudo-terminal between the command and a redirected input: only with a terminal's input
    const stdinTTY = opts.isTTY?.stdin ?? !!process.stdin.isTTY;
    if (!script || !stdinTTY) {
      const child = spawn(command[0], command.slice(1), { ...base, stdio: 'inherit' });
      return {
        child,
        drained: Promise.resolve(),
        readerGone: () => undefined,
        progressUnavailable: !script
          ? 'the output goes to a terminal and util-linux script (to give the command a terminal of its own) is not available'
          : 'the output goes to a terminal but the input does not come from one: the command keeps its own stdio',
      };
    }
    // `exec` replaces the shell, so the tree is script → command; the user's SHELL is kept for the command
    const shell = base.env?.SHELL;
    const line = `${shell ? `SHELL=${shQuote(shell)} ` : ''}exec ${command.map(shQuote).join(' ')}`;
    const child = spawn(script, ['-q', '-e', '-c', line, '/dev/null'], {
      ...base,
      env: { ...base.env, SHELL: '/bin/sh' },
      stdio: ['inherit', 'pipe', 'inherit'],
    });
    const out = pipeThrough(child.stdout!, process.stdout, 'stdout', opts);
    return {
      child,
      wrapperPid: child.pid,
      drained: out.done,
      readerGone: () => (out.readerGone() ? 'stdout' : undefined),
      stdoutAtLineStart: out.atLineStart,
      reading: 'the terminal (through util-linux script)',
    };
  }
  const pipeOut = !tty.stdout;
  const pipeErr = !tty.stderr;
  const merged = pipeOut && pipeErr && (opts.sameOutput ?? sameFile(1, 2));
  const real = opts.realPipes === false ? undefined : realPipes(merged ? 1 : Number(pipeOut) + Number(pipeErr));
  if (real) {
    const [outPipe, errPipe = outPipe] = real;
    let child: ChildProcess;
    try {
      child = spawn(command[0], command.slice(1), {
        ...base,
        stdio: [
          'inherit',
          pipeOut ? outPipe.write : 'inherit',
          pipeErr ? (merged ? outPipe : errPipe).write : 'inherit',
        ],
      });
    } catch (err) {
      for (const p of real) closeFds(p.read, p.write);
      throw err;
    }
    // the child has its copies (or failed to start): ours would keep the pipes from ending
    for (const p of real) closeFds(p.write);
    const out = pipeOut ? pipeThrough(readEnd(outPipe.read), process.stdout, 'stdout', opts) : undefined;
    const err = pipeErr && !merged ? pipeThrough(readEnd(errPipe.read), process.stderr, 'stderr', opts) : undefined;
    return {
      child,
      drained: Promise.all([out?.done, err?.done]).then(() => undefined),
      readerGone: () => goneOf(out, err),
      stdoutAtLineStart: out?.atLineStart,
      stderrFile: merged ? out : err,
      reading: merged ? 'stdout and stderr (one pipe: they go to the same file)' : describe(tty),
    };
  }
  const child = spawn(command[0], command.slice(1), {
    ...base,
    stdio: ['inherit', pipeOut ? 'pipe' : 'inherit', pipeErr ? 'pipe' : 'inherit'],
  });
  const out = child.stdout ? pipeThrough(child.stdout, process.stdout, 'stdout', opts) : undefined;
  const err = child.stderr ? pipeThrough(child.stderr, process.stderr, 'stderr', opts) : undefined;
  return {
    child,
    drained: Promise.all([out?.done, err?.done]).then(() => undefined),
    readerGone: () => goneOf(out, err),
    stdoutAtLineStart: out?.atLineStart,
    stderrFile: err,
    reading: describe(tty),
  };
}

function goneOf(out?: { readerGone: () => boolean }, err?: { readerGone: () => boolean }) {
  return out?.readerGone() ? 'stdout' : err?.readerGone() ? 'stderr' : undefined;
}

function describe(tty: { stdout: boolean; stderr: boolean }): string {
  return tty.stdout
    ? 'stderr (stdout is a terminal, left to the command)'
    : tty.stderr
      ? 'stdout (stderr is a terminal, left to the command)'
      : 'stdout and stderr';
}

/** Whether two of our fds are the same file (device and inode); false when either cannot be read. */
function sameFile(a: number, b: number): boolean {
  try {
    const x = fs.fstatSync(a, { bigint: true });
    const y = fs.fstatSync(b, { bigint: true });
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

interface OsPipe {
  read: number;
  write: number;
}

const O_CLOEXEC = 0o2000000; // Linux, every architecture Node runs on
let pipe2: ((fds: Int32Array, flags: number) => number) | null | undefined;

/**
 * `n` real pipes, both ends close-on-exec; undefined when they cannot be made (not Linux, koffi or libc not loaded,
 * no fds left), and the child then gets Node's socketpairs. An end among fds 0-2 (ours closed) would be taken for
 * our stdio by the spawn: that too falls back.
 */
function realPipes(n: number): OsPipe[] | undefined {
  if (n === 0) return undefined;
  if (pipe2 === undefined) {
    pipe2 = null;
    if (process.platform === 'linux') {
      try {
        const libc = loadKoffi().load('libc.so.6');
        pipe2 = libc.func('int pipe2(_Out_ int *fds, int flags)') as (fds: Int32Array, flags: number) => number;
      } catch {
        // the socketpairs below
      }
    }
  }
  if (!pipe2) return undefined;
  const made: OsPipe[] = [];
  for (let i = 0; i < n; i++) {
    const fds = new Int32Array(2);
    let ok = false;
    try {
      ok = pipe2(fds, O_CLOEXEC) === 0;
    } catch {
      // as a failed call
    }
    if (ok) made.push({ read: fds[0], write: fds[1] });
    if (!ok || fds[0] < 3 || fds[1] < 3) {
      for (const p of made) closeFds(p.read, p.write);
      return undefined;
    }
  }
  return made;
}

function closeFds(...fds: number[]): void {
  for (const fd of fds) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/** Our read end as a stream (libuv reads it non-blocking on the event loop; destroying the stream closes the fd). */
function readEnd(fd: number): Readable {
  return new Socket({ fd, readable: true, writable: false });
}

/**
 * Writes every chunk through at once; pauses the source while the destination is full. When the destination's reader
 * goes away (`| head`: EPIPE), the source is closed too, so the command meets a closed pipe as it would without the
 * meter (SIGPIPE or EPIPE: a real pipe's read end is closed, see above) instead of blocking on a pipe that nobody
 * reads.
 */
function pipeThrough(
  from: Readable,
  to: Writable,
  name: 'stdout' | 'stderr',
  { onOutput, beforeOutput }: SpawnIoOptions,
): LineEnd & { done: Promise<void>; readerGone: () => boolean } {
  const decoder = new StringDecoder('utf8');
  let last = 0x0a; // nothing written yet: at the start of a line
  let gone = false;
  const done = new Promise<void>((resolve) => {
    to.once('error', () => {
      gone = true;
      from.destroy();
      resolve();
    });
    from.on('data', (chunk: Buffer) => {
      if (chunk.length) last = chunk[chunk.length - 1];
      beforeOutput?.();
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
      if (onOutput) {
        try {
          onOutput(name, decoder.write(chunk));
        } catch {
          // reading progress must never disturb the run's output
        }
      }
    });
    from.once('end', resolve);
    from.once('close', resolve);
    from.once('error', () => resolve());
  });
  return {
    done,
    atLineStart: () => last === 0x0a,
    atLineBreak: () => last === 0x0a || last === 0x0d,
    lineWritten: () => (last = 0x0a),
    readerGone: () => gone,
  };
}
