import { spawn } from 'node:child_process';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a carbon-meter CLI script (dist/cli.js or the compiled out/src/cli/main.js) with Node, as a user would.
 * The CARBON_METER_* variables of this process are left out, so the test says everything it depends on; nvidia-smi
 * is absent unless `env` names one.
 */
export function runCli(
  script: string,
  args: string[],
  env: Record<string, string>,
  opts: { onStderr?: (stderrSoFar: string) => void } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CARBON_METER_')));
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...clean, CARBON_METER_NVIDIA_SMI: '/nonexistent/nvidia-smi', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      opts.onStderr?.(stderr);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
