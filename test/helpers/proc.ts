/** Spawning the helper scripts of the multi-process tests and talking to them line by line. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

export interface Helper {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first line (seen or to come) that matches. Rejects if the process exits first. */
  waitForLine(match: (line: string) => boolean): Promise<string>;
  /** Resolves when the process has exited (and was reaped). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  send(line: string): void;
  stderr(): string;
}

/** Runs out/test/helpers/<name>.js with the current Node. */
export function spawnHelper(name: string, args: string[]): Helper {
  const script = path.join(__dirname, `${name}.js`);
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  const waiters: { match: (l: string) => boolean; resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  const rl = readline.createInterface({ input: child.stdout! });
  rl.on('line', (line) => {
    lines.push(line);
    for (const w of [...waiters]) {
      if (w.match(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close': the process has exited and its output has been read to the end
    child.on('close', (code, signal) => {
      for (const w of waiters.splice(0))
        w.reject(new Error(`${name} exited (${code ?? signal}) first; stderr: ${err}`));
      resolve({ code, signal });
    });
  });
  return {
    child,
    lines,
    exited,
    waitForLine(match) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => waiters.push({ match, resolve, reject }));
    },
    send(line) {
      child.stdin!.write(line + '\n');
    },
    stderr: () => err,
  };
}

/** A pid that certainly belonged to a process that has exited and been reaped. */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise((resolve) => child.on('exit', resolve));
  return pid;
}
