/** How the CLI starts the metered command: what it reads, and when it leaves the command's stdio alone. */
import * as assert from 'node:assert/strict';
import { shQuote, spawnWithOutput } from '../../src/cli/childIo';

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
});
