/**
 * Starting the metered command so that its output can be read (progress for the forecast) without changing what
 * the command sees.
 *
 * - stdout and stderr are pipes or files: the child gets pipes; every chunk is written through to ours at once
 *   (the child's stream is paused while ours is full, so nothing piles up in memory) and handed to `onOutput`.
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
import type { Readable, Writable } from 'node:stream';
import { posixQuote } from '../core/shell';

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
}

export interface SpawnIoOptions {
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
  /** called before a chunk of the command's output is written through (the live readout clears its line) */
  beforeOutput?: () => void;
  /** for tests: whether our stdout and stderr count as terminals (default: process.stdout.isTTY…) */
  isTTY?: { stdout: boolean; stderr: boolean; stdin?: boolean };
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
      stdoutAtLineStart: out.atLineStart,
      reading: 'the terminal (through util-linux script)',
    };
  }
  const child = spawn(command[0], command.slice(1), {
    ...base,
    stdio: ['inherit', tty.stdout ? 'inherit' : 'pipe', tty.stderr ? 'inherit' : 'pipe'],
  });
  const out = child.stdout ? pipeThrough(child.stdout, process.stdout, 'stdout', opts) : undefined;
  const err = child.stderr ? pipeThrough(child.stderr, process.stderr, 'stderr', opts) : undefined;
  return {
    child,
    drained: Promise.all([out?.done, err?.done]).then(() => undefined),
    stdoutAtLineStart: out?.atLineStart,
    reading: tty.stdout
      ? 'stderr (stdout is a terminal, left to the command)'
      : tty.stderr
        ? 'stdout (stderr is a terminal, left to the command)'
        : 'stdout and stderr',
  };
}

/**
 * Writes every chunk through at once; pauses the source while the destination is full. When the destination's reader
 * goes away (`| head`: EPIPE), the source is closed too, so the command meets a closed pipe as it would without the
 * meter (SIGPIPE or EPIPE) instead of blocking on a pipe that nobody reads.
 */
function pipeThrough(
  from: Readable,
  to: Writable,
  name: 'stdout' | 'stderr',
  { onOutput, beforeOutput }: SpawnIoOptions,
): { done: Promise<void>; atLineStart: () => boolean } {
  const decoder = new StringDecoder('utf8');
  let atLineStart = true;
  const done = new Promise<void>((resolve) => {
    to.once('error', () => {
      from.destroy();
      resolve();
    });
    from.on('data', (chunk: Buffer) => {
      if (chunk.length) atLineStart = chunk[chunk.length - 1] === 0x0a;
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
  return { done, atLineStart: () => atLineStart };
}
