/** Resolves when the parent writes "go" on stdin: lets several helper processes start their work together. */
import * as readline from 'node:readline';

export function waitForGo(): Promise<void> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin });
    rl.on('line', (line) => {
      if (line.trim() === 'go') {
        rl.close();
        process.stdin.destroy(); // nothing more to read: let the process exit when its work is done
        resolve();
      }
    });
  });
}
