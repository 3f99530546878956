/** How the CLI starts the metered command: what it reads, and when it leaves the command's stdio alone. */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { shQuote, spawnWithOutput } from '../../src/cli/childIo';

const CLI = path.join(__dirname, '..', '..', '..', 'dist', 'cli.js');

function exitOf(io: ReturnType<typeof spawnWithOutput>): Promise<number | null> {
  return new Promise((resolve) => io.child.once('exit', (code) => resolve(code)));
}

describe('CLI child stdio', () => {
  it('leaves a terminal alone, and says why there is no forecast, without util-linux script or with a redirected input', async () => {
    const none = spawnWithOutput(['true'], { isTTY: { stdout: true, stderr: true, stdin: true }, scriptCommand: '' });
    assert.match(none.progressUnavailable ?? '', /util-linux script .* is not available/);
    assert.equal(none.child.stdout, null, 'inherited');
    assert.equal(await exitOf(none), 0);
    const redirected = spawnWithOutput(['true'], {
      isTTY: { stdout: true, stderr: true, stdin: false },
      scriptCommand: 'script',
    });
    assert.match(redirected.progressUnavailable ?? '', /input does not come from one/);
    assert.equal(await exitOf(redirected), 0);
  });

  it('reads and passes through what goes to a pipe, leaving a terminal stream to the command', async () => {
    const seen: string[] = [];
    const io = spawnWithOutput([process.execPath, '-e', 'process.stderr.write("")'], {
      isTTY: { stdout: true, stderr: false },
      onOutput: (s, t) => seen.push(`${s}:${t}`),
    });
    assert.equal(io.child.stdout, null);
    assert.ok(io.child.stderr);
    assert.match(io.reading ?? '', /^stderr/);
    assert.equal(await exitOf(io), 0);
    await io.drained;
    assert.equal(io.progressUnavailable, undefined);
  });

  it('quotes words for the shell', () => {
    assert.equal(shQuote('train.py'), 'train.py');
    assert.equal(shQuote("it's a b"), `'it'\\''s a b'`);
  });

  it('a reader that goes away (| head) closes the output of the command too: the CLI ends and records the run', async function () {
    this.timeout(120_000);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-head-'));
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CARBON_METER_')));
    // `seq` writes far more than any pipe holds; the reader takes the first chunk and closes its end, as head does
    const cli = spawn(process.execPath, [CLI, 'run', '--quiet', '--region', 'FR', '--', 'seq', '1', '100000000'], {
      env: { ...clean, CARBON_METER_HOME: home, CARBON_METER_NVIDIA_SMI: '/nonexistent/nvidia-smi' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    cli.stderr.on('data', (d) => (stderr += d));
    const first = await new Promise<string>((resolve) => cli.stdout.once('data', (d: Buffer) => resolve(String(d))));
    cli.stdout.destroy();
    assert.match(first, /^1\n2\n/);
    const code = await new Promise<number | null>((resolve) => cli.once('close', (c) => resolve(c)));
    assert.notEqual(code, null, `the CLI ended by itself: ${stderr}`);
    assert.notEqual(code, 0, 'seq could not write all its lines');
    const history = fs.readFileSync(path.join(home, 'history.jsonl'), 'utf8');
    assert.match(history, /"name":"seq 1 100000000"/);
  });
});
