/**
 * The process of a command typed into a shell: the terminal watcher, CodeLens's "Run" and the debug watcher know a
 * shell's pid and a command line, and meter the process that the shell started for it.
 */
import { stripCommandPrefixes } from '../classify';
import { childProcesses, programName, type ProcessInfo } from './processes';

/** How long to wait for the command's process to appear under the shell. */
export const FIND_COMMAND_BOUND_MS = 5000;
/** Between two looks at the shell's children (a few reads of /proc while a command starts, never per tick). */
const LOOK_EVERY_MS = 100;

/**
 * Waits (at most `boundMs`) for the command's process to appear under the shell and returns it: the child whose
 * program is the command's (prefixes such as `env X=1` or `time` left out), else, after half the bound, a child that
 * is not a shell, or a subshell (bash forks before it execs: until then the child shows bash's own command line,
 * which contains the command's text, so a shell child is never taken early). Undefined when the command ended or
 * never appeared.
 */
export async function findCommandProcess(
  shellPid: number,
  commandLine: string,
  boundMs = FIND_COMMAND_BOUND_MS,
  procRoot = '/proc',
): Promise<ProcessInfo | undefined> {
  const wanted = programName(stripCommandPrefixes(commandLine));
  const until = Date.now() + boundMs;
  let fallback: ProcessInfo | undefined;
  while (Date.now() < until) {
    const children = await childProcesses(shellPid, procRoot);
    const match = children.find(
      (c) => programName(c.command) === wanted || (!isShell(c.command) && c.command.includes(wanted)),
    );
    if (match) return match;
    const lateEnough = Date.now() > until - boundMs / 2;
    // a shell child whose text names the command: a subshell (`(cd x && python train.py)`), or bash between fork and
    // exec, which still shows the parent's command line; only a child that stays a shell is taken, and only late
    const subshell = children.find((c) => isShell(c.command) && c.command.includes(wanted));
    fallback = children.find((c) => c.command && !isShell(c.command)) ?? subshell;
    if (fallback && lateEnough) return fallback;
    await new Promise((r) => setTimeout(r, LOOK_EVERY_MS));
  }
  return fallback;
}

/** A shell's command line (bash, sh, zsh, fish, dash). */
function isShell(command: string): boolean {
  return /(^|\/)(ba|z|fi|da)?sh( |$)/.test(command);
}
