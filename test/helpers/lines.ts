/** Any process driven line by line: its stdout lines (carriage returns dropped, for pseudo-terminals) and stdin. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as readline from 'node:readline';

export interface LineProcess {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first stdout line (seen or to come) that matches; rejects if the process ends first. */
  waitForLine(match: RegExp): Promise<string>;
  /** The process has exited and its output was read to the end. */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  send(line: string): void;
  stderr(): string;
}

export function spawnLines(command: string, args: string[], opts: SpawnOptions = {}): LineProcess {
  const child = spawn(command, args, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  const waiters: { match: RegExp; resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  readline.createInterface({ input: child.stdout! }).on('line', (raw) => {
    const line = raw.replace(/\r/g, '');
    lines.push(line);
    for (const w of [...waiters]) {
      if (w.match.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      for (const w of waiters.splice(0)) {
        w.reject(
          new Error(
            `${command} ended (${code ?? signal}) before a line matched ${w.match}; stdout:\n${lines.join('\n')}\nstderr:\n${err}`,
          ),
        );
      }
      resolve({ code, signal });
    });
  });
  return {
    child,
    lines,
    closed,
    waitForLine(match) {
      const seen = lines.find((l) => match.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => waiters.push({ match, resolve, reject }));
    },
    send(line) {
      child.stdin!.write(line + '\n');
    },
    stderr: () => err,
  };
}
