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
 * is not a shell (bash forks before it execs: the first look may show "bash"). Undefined when the command ended or
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
    // a shell's child that has not exec'd yet still shows the shell's command line ("bash -c sleep 30; true"),
    // which contains the command: it matches by its program only
    const match = children.find(
      (c) => programName(c.command) === wanted || (!isShell(c.command) && c.command.includes(wanted)),
    );
    if (match) return match;
    fallback = children.find((c) => c.command && !isShell(c.command));
    if (fallback && Date.now() > until - boundMs / 2) return fallback;
    await new Promise((r) => setTimeout(r, LOOK_EVERY_MS));
  }
  return fallback;
}

function isShell(command: string): boolean {
  return /(^|\/)(ba|z|fi|da)?sh( |$)/.test(command);
}
