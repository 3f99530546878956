/**
 * Signals for `carbon-meter run`: pass each one to the command exactly once, and stop a command that will not stop.
 *
 * Where a signal came from decides whether to pass it on. A Ctrl-C (or Ctrl-\, or a hang-up) at a terminal goes to
 * the whole foreground process group: the command, which runs in the CLI's own process group, already has it, and a
 * second copy would make a Python script's cleanup raise KeyboardInterrupt again. `kill -INT <cli-pid>` reaches the
 * CLI only, and must be passed on or the command never stops. Whether stdin is a terminal says nothing about which
 * of the two happened, and Node cannot see the sender (si_pid). Reading the command's pending signals in /proc is no
 * better: a command that catches SIGINT (Python does) leaves no trace once its handler has run.
 *
 * So the CLI keeps a witness in its process group: a `cat` reading a pipe from the CLI (it exits on its own when the
 * CLI dies, whatever kills it), with every signal at its default action. When the CLI gets a terminating
 * signal it sends a witness SIGPROF, a signal nobody else sends, and waits for the witness to die. The kernel
 * settles a process's exit signal when the first fatal signal is sent to it, so the witness dies of the CLI's
 * signal if that signal was sent to the group (terminal, `kill -INT -PGID`, `timeout`), and of SIGPROF if it was sent
 * to the CLI alone. Only in the second case is the signal passed on, and also when the command has left the CLI's
 * process group (setsid; Linux /proc tells), since nothing sent to the group reaches it. No timing is involved; the command is spawned
 * before the witness, so a signal sent in the instant between the two spawns is passed on (twice rather than never).
 * Without a witness (no `cat`, Windows) the CLI falls back to the old rule: SIGINT and SIGQUIT with a terminal on
 * stdin came from it, everything else is passed on.
 *
 * A command that ignores the signal is not left running: a second signal sent to the CLI alone, or `killAfterS`
 * seconds after a SIGTERM or SIGHUP (SIGINT asks a program to interrupt itself, which may rightly take long), ends
 * the command and every process under it with SIGKILL, and says so on stderr and in the run's notes. A second
 * signal sent to the whole group never escalates: the command got it itself, and GNU `timeout` sends each signal
 * twice (to the CLI, then to its group), so the CLI often sees two where the user sent one. Each signal is judged
 * by a witness of its own (see Witnesses below), so a late copy of the first is not taken for a second.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { readChildPids } from '../core/sampling/procfs';

const RELAYED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
/** Signals a terminal sends to its foreground process group. */
const TERMINAL_SIGNALS = new Set<NodeJS.Signals>(['SIGINT', 'SIGQUIT', 'SIGHUP']);
/** Signals after which the command gets `killAfterS` seconds before SIGKILL. */
const GRACED = new Set<NodeJS.Signals>(['SIGTERM', 'SIGHUP']);
/** Sent to the witness only; its number (27) is above every relayed one's. */
const PROBE: NodeJS.Signals = 'SIGPROF';

export interface SignalRelayOptions {
  /** Seconds between a SIGTERM or SIGHUP and SIGKILL. */
  killAfterS: number;
  /** One line for the user (stderr). */
  say: (message: string) => void;
}

export class SignalRelay {
  private child?: ChildProcess;
  private witnesses?: Witnesses;
  private readonly early: NodeJS.Signals[] = [];
  /** Signals are judged one at a time, in the order they came (a judgement waits for a witness). */
  private queue: Promise<void> = Promise.resolve();
  /** The first signal the command was given (passed on, or got from the group): a later one may escalate. */
  private given?: NodeJS.Signals;
  private afterExit = 0;
  private graceTimer?: NodeJS.Timeout;
  private killNote?: string;
  private label = 'the command';
  private readonly handlers = RELAYED.map((s) => [s, () => this.onSignal(s)] as const);

  /** Handlers go in before the command exists, so a signal at any moment reaches it. */
  constructor(private readonly opts: SignalRelayOptions) {
    for (const [s, h] of this.handlers) process.on(s, h);
  }

  /** The command has started: the witnesses join it, and a signal that came before it is passed on now. */
  attach(child: ChildProcess, label: string, wrapperPid?: number): void {
    this.child = child;
    this.label = label;
    this.wrapperPid = wrapperPid;
    this.witnesses = Witnesses.start();
    for (const s of this.early.splice(0)) {
      this.given ??= s;
      this.deliver(s, true);
    }
  }

  /** Why the command was killed, for the run's notes; undefined when it was not. */
  get note(): string | undefined {
    return this.killNote;
  }

  /**
   * When the command runs under a wrapper that gives it a terminal of its own (util-linux script, childIo.ts), the
   * signal is for the command, not the wrapper (script would turn SIGINT into SIGTERM): the wrapper's child. A Ctrl-C
   * at the user's terminal goes through the wrapper's pseudo-terminal as a keystroke and reaches the command there.
   */
  private wrapperPid?: number;

  /** The process a signal is meant for: the command itself, under the wrapper if there is one. */
  private target(): number | undefined {
    const pid = this.child?.pid;
    if (pid === undefined || this.wrapperPid !== pid) return pid;
    return readChildPids(pid)[0] ?? pid;
  }

  /** Called at the first signal after the command ended (the CLI may be waiting for processes that outlived it). */
  onAfterExit?: () => void;

  dispose(): void {
    for (const [s, h] of this.handlers) process.off(s, h);
    clearTimeout(this.graceTimer);
    this.witnesses?.stop();
  }

  private onSignal(sig: NodeJS.Signals): void {
    if (!this.child || this.child.pid === undefined) {
      this.early.push(sig);
      return;
    }
    this.queue = this.queue.then(() => this.handle(sig)).catch(() => undefined);
  }

  private async handle(sig: NodeJS.Signals): Promise<void> {
    const verdict = await this.judge(sig);
    const child = this.child!;
    if (child.exitCode !== null || child.signalCode !== null) {
      this.afterCommand(sig, verdict);
      return;
    }
    const outside = this.outsideGroup();
    if (this.given === undefined) {
      this.given = sig;
      const reached =
        verdict === undefined
          ? TERMINAL_SIGNALS.has(sig) && sig !== 'SIGHUP' && process.stdin.isTTY === true
          : verdict === 'group';
      this.deliver(sig, outside || !reached);
      return;
    }
    // a repeat: the user's own (sent to the CLI again) escalates; a copy sent to the whole process group (GNU timeout
    // signals the CLI, then its group) reached the command itself and is the command's to handle
    if (verdict === 'group') {
      this.opts.say(
        `${sig} sent to the whole process group again${outside ? '' : ` (${this.label} got it too)`}; not escalated: ` +
          `a signal to the CLI alone (kill -${sig.slice(3)} ${process.pid}) stops it with SIGKILL`,
      );
      return;
    }
    this.kill(`a second signal (${sig}) came while it was still running`);
  }

  /**
   * Whether `sig` was sent to the CLI's whole process group ('group') or to the CLI alone ('direct'), by the next
   * witness; undefined without one. The witness was in the group before the previous signal was judged, so a copy
   * of an earlier group-wide signal that reaches the CLI late (Node takes a signal on any of its threads, and a
   * thread may run long after the witness died) is still judged 'group', never a second signal of the user's.
   */
  private async judge(sig: NodeJS.Signals): Promise<'group' | 'direct' | undefined> {
    const died = await this.witnesses?.probe();
    if (died === undefined) return undefined;
    return died === sig ? 'group' : 'direct';
  }

  /** A signal after the command ended, while the record is written or processes that outlived it are metered. */
  private afterCommand(sig: NodeJS.Signals, verdict: 'group' | 'direct' | undefined): void {
    if (++this.afterExit === 1) {
      this.opts.say(`${sig}: finishing the run's record; a second signal quits without it`);
      // processes that outlived the command are no longer waited for (the run closes with a note)
      this.onAfterExit?.();
      return;
    }
    // a copy sent to the group is not the user asking twice
    if (verdict === 'group') return;
    // the checkpoint of the running run is recovered as interrupted by the next CLI or window
    process.exit(128 + (os.constants.signals[sig] ?? 0));
  }

  /** A command that left the CLI's process group (setsid, its own job control) gets nothing sent to the group. */
  private outsideGroup(): boolean {
    const mine = processGroup('self');
    const its = processGroup(this.target());
    return mine !== undefined && its !== undefined && mine !== its;
  }

  private deliver(sig: NodeJS.Signals, forward: boolean): void {
    const child = this.child;
    if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    if (forward) {
      try {
        process.kill(this.target() ?? child.pid, sig);
      } catch {
        // gone meanwhile
      }
    }
    const graced = GRACED.has(sig) && this.opts.killAfterS < Infinity;
    this.opts.say(
      `${sig} ${forward ? `passed on to ${this.label} (pid ${child.pid})` : `reached ${this.label} (pid ${child.pid}) directly`}; ` +
        `waiting for it to stop${graced ? ` (SIGKILL in ${this.opts.killAfterS} s)` : ''}; a second signal to the CLI (pid ${process.pid}) stops it with SIGKILL`,
    );
    if (graced) {
      this.graceTimer = setTimeout(
        () => this.kill(`it did not stop within ${this.opts.killAfterS} s of ${sig}`),
        this.opts.killAfterS * 1000,
      );
      this.graceTimer.unref();
    }
  }

  private kill(why: string): void {
    const child = this.child;
    if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    clearTimeout(this.graceTimer);
    this.killNote = `stopped with SIGKILL: ${why}`;
    this.opts.say(`stopping ${this.label} (pid ${child.pid}) and the processes under it with SIGKILL: ${why}`);
    // the whole tree, listed before the first kill (a killed parent's children move to another parent)
    const pids = [...descendants(child.pid), child.pid];
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** Field 5 of /proc/PID/stat (Linux); undefined elsewhere or when the process is gone. */
function processGroup(pid: number | 'self' | undefined): number | undefined {
  if (pid === undefined || process.platform !== 'linux') return undefined;
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const pgrp = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[2]);
    return Number.isInteger(pgrp) ? pgrp : undefined;
  } catch {
    return undefined;
  }
}

/** Every process under `pid` (Linux /proc; elsewhere none, and SIGKILL reaches the command alone). */
function descendants(pid: number): number[] {
  if (process.platform !== 'linux') return [];
  const out: number[] = [];
  const todo = [pid];
  while (todo.length && out.length < 10_000) {
    for (const c of readChildPids(todo.pop()!)) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

/**
 * The witnesses in the CLI's process group, oldest first. Each signal is judged by the oldest, and a new one starts
 * before that probe: the next signal's witness has been in the group since before this one was judged, so any
 * group-wide signal sent since then, or a little before, killed it. The price, on the safe side: right after a
 * signal sent to the whole group, one signal sent to the CLI alone is taken for its late copy (the CLI says so and
 * kills nothing); the next one escalates.
 */
class Witnesses {
  private readonly queue = [Witness.start(), Witness.start()];

  static start(): Witnesses | undefined {
    return process.platform === 'win32' ? undefined : new Witnesses();
  }

  /** The signal the oldest witness died of after the probe (PROBE: sent to the CLI alone); undefined: no witness. */
  async probe(): Promise<NodeJS.Signals | undefined> {
    const w = this.queue.shift();
    this.queue.push(Witness.start());
    return w?.diedOf();
  }

  stop(): void {
    for (const w of this.queue.splice(0)) w.stop();
  }
}

/** The witness process of the file's comment. */
class Witness {
  private readonly exited: Promise<NodeJS.Signals | null | undefined>;

  private constructor(private readonly proc: ChildProcess) {
    this.exited = new Promise((resolve) => {
      proc.once('error', () => resolve(undefined));
      proc.once('exit', (_code, signal) => resolve(signal));
    });
  }

  static start(): Witness {
    // stdin is a pipe whose other end only the CLI holds: when the CLI dies, cat reads EOF and exits
    const proc = spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore'] });
    proc.stdin?.on('error', () => undefined);
    return new Witness(proc);
  }

  /** The signal the witness died of after the probe; undefined when there was no usable witness. */
  async diedOf(): Promise<NodeJS.Signals | undefined> {
    if (this.proc.pid === undefined) return undefined;
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      try {
        process.kill(this.proc.pid, PROBE);
      } catch {
        // already dead: its exit says of what
      }
    }
    // null: it exited by itself (its pipe closed), so it says nothing about this signal
    return (await this.exited) ?? undefined;
  }

  stop(): void {
    this.proc.stdin?.destroy();
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}
