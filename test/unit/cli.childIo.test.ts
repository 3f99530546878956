/** How the CLI starts the metered command: what it reads, and when it leaves the command's stdio alone. */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { shQuote, spawnWithOutput } from '../../src/cli/childIo';

const CLI = path.join(__dirname, '..', '..', '..', 'dist', 'cli.js');
const CHILD_IO = path.join(__dirname, '..', '..', 'src', 'cli', 'childIo.js');
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CARBON_METER_')));

/** The CLI's environment: a fresh history, no GPU tool. */
function cliEnv(home: string): NodeJS.ProcessEnv {
  return { ...cleanEnv, CARBON_METER_HOME: home, CARBON_METER_NVIDIA_SMI: '/nonexistent/nvidia-smi' };
}

/** Writes out1, err1, out2, err2 … one write each, alternating between stdout and stderr. */
const ALTERNATE = ['sh', '-c', 'for i in 1 2 3 4; do echo out$i; echo err$i >&2; done'];
const ALTERNATED = 'out1\nerr1\nout2\nerr2\nout3\nerr3\nout4\nerr4\n';

interface HelperResult {
  code: number | null;
  signal: string | null;
  error?: string;
  reading?: string;
  seen: string[];
  atLineStart?: boolean;
  fdsBefore: number;
  fdsAfter: number;
}

/**
 * spawnWithOutput in a process of its own whose stdout and stderr are `stdio` (a test cannot give mocha's own to
 * the command); what it saw comes back on fd 3.
 */
async function inHelper(
  command: string[],
  opts: Record<string, unknown>,
  stdio: [number | 'ignore' | 'pipe', number | 'ignore' | 'pipe'],
): Promise<HelperResult> {
  const script = `
    const fs = require('node:fs');
    const { spawnWithOutput } = require(${JSON.stringify(CHILD_IO)});
    // the pipes this process holds (Node opens a /dev/null of its own on a first failed spawn)
    const fds = () => fs.readdirSync('/proc/self/fd').filter((f) => { try { return fs.readlinkSync('/proc/self/fd/' + f).startsWith('pipe:'); } catch { return false; } }).length;
    const fdsBefore = fds();
    const seen = [];
    const io = spawnWithOutput(${JSON.stringify(command)}, { ...${JSON.stringify(opts)}, onOutput: (s, t) => seen.push(s + ':' + t) });
    let error;
    io.child.once('error', (e) => (error = e.code));
    io.child.once('close', async (code, signal) => {
      await io.drained;
      const r = { code, signal, error, reading: io.reading, seen, atLineStart: io.stdoutAtLineStart?.(), fdsBefore, fdsAfter: fds() };
      fs.writeSync(3, JSON.stringify(r));
    });`;
  const helper = spawn(process.execPath, ['-e', script], { stdio: ['ignore', stdio[0], stdio[1], 'pipe'] });
  let result = '';
  helper.stdio[3]!.on('data', (d) => (result += d));
  const code = await new Promise<number | null>((resolve) => helper.once('close', resolve));
  assert.equal(code, 0, 'the helper ran');
  return JSON.parse(result) as HelperResult;
}

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
    assert.match(io.reading ?? '', /^stderr/);
    assert.equal(await exitOf(io), 0);
    await io.drained;
    assert.equal(io.progressUnavailable, undefined);
  });

  it('quotes words for the shell', () => {
    assert.equal(shQuote('train.py'), 'train.py');
    assert.equal(shQuote("it's a b"), `'it'\\''s a b'`);
  });

  it('gives the command one pipe for stdout and stderr when ours are the same file: its order is kept, its progress read', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-merge-'));
    const log = fs.openSync(path.join(dir, 'log'), 'w');
    // tqdm-like: a bar redrawn on stderr between lines on stdout, its last chunk leaves a line unfinished
    const cmd = ['sh', '-c', 'echo start; printf "\\r 50%%|#  | 1/2" >&2; echo middle; printf "\\r100%%|##| 2/2" >&2'];
    const r = await inHelper(cmd, { isTTY: { stdout: false, stderr: false } }, [log, log]);
    fs.closeSync(log);
    assert.equal(fs.readFileSync(path.join(dir, 'log'), 'utf8'), 'start\n\r 50%|#  | 1/2middle\n\r100%|##| 2/2');
    assert.match(r.reading ?? '', /one pipe/);
    assert.equal(r.seen.join('').replace(/stdout:/g, ''), 'start\n\r 50%|#  | 1/2middle\n\r100%|##| 2/2');
    assert.equal(r.atLineStart, false, 'the merged output ends inside a line (the last write was to stderr)');
    assert.equal(r.code, 0);
    assert.equal(r.fdsAfter, r.fdsBefore, 'no end of the pipe is left open');
  });

  it('keeps the exit status and signal, says when the command is not found, and leaks no pipe, through one pipe', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-merge-'));
    const log = fs.openSync(path.join(dir, 'log'), 'w');
    const tty = { isTTY: { stdout: false, stderr: false } };
    const exit3 = await inHelper(['sh', '-c', 'echo x; exit 3'], tty, [log, log]);
    assert.deepEqual([exit3.code, exit3.signal, exit3.atLineStart], [3, null, true]);
    const killed = await inHelper(['sh', '-c', 'kill -TERM $$'], tty, [log, log]);
    assert.deepEqual([killed.code, killed.signal], [null, 'SIGTERM']);
    const missing = await inHelper(['/nonexistent/command'], tty, [log, log]);
    assert.equal(missing.error, 'ENOENT');
    assert.equal(missing.fdsAfter, missing.fdsBefore);
    fs.closeSync(log);
  });

  it('keeps stdout and stderr apart when they go to different files, and without real pipes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-apart-'));
    for (const realPipes of [true, false]) {
      const out = fs.openSync(path.join(dir, 'out'), 'w');
      const err = fs.openSync(path.join(dir, 'err'), 'w');
      const r = await inHelper(ALTERNATE, { isTTY: { stdout: false, stderr: false }, realPipes }, [out, err]);
      fs.closeSync(out);
      fs.closeSync(err);
      assert.equal(r.reading, 'stdout and stderr');
      assert.equal(fs.readFileSync(path.join(dir, 'out'), 'utf8'), 'out1\nout2\nout3\nout4\n');
      assert.equal(fs.readFileSync(path.join(dir, 'err'), 'utf8'), 'err1\nerr2\nerr3\nerr4\n');
      assert.equal(
        r.seen
          .filter((s) => s.startsWith('stderr:'))
          .join('')
          .replace(/stderr:/g, ''),
        'err1\nerr2\nerr3\nerr4\n',
      );
    }
  });

  it("run > log 2>&1 and run 2>&1 | cat keep the order of the command's stdout and stderr", async function () {
    this.timeout(120_000);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-order-'));
    const log = path.join(home, 'log.txt');
    const fd = fs.openSync(log, 'w');
    // the same fd as both: `> log 2>&1`
    const cli = spawn(process.execPath, [CLI, 'run', '--quiet', '--region', 'FR', '--', ...ALTERNATE], {
      env: cliEnv(home),
      stdio: ['ignore', fd, fd],
    });
    assert.equal(await new Promise((resolve) => cli.once('close', resolve)), 0);
    fs.closeSync(fd);
    const text = fs.readFileSync(log, 'utf8');
    assert.ok(text.startsWith(ALTERNATED), text);
    assert.match(text.slice(ALTERNATED.length), /^Carbon Meter · .* completed \(exit 0\)/);
    // a real pipe as both (`2>&1 | cat`), as a shell makes it
    const piped = spawnSync(
      'sh',
      ['-c', 'exec "$@" 2>&1 | cat', 'sh', process.execPath, CLI, 'run', '--quiet', '--', ...ALTERNATE],
      {
        env: cliEnv(home),
        encoding: 'utf8',
      },
    );
    assert.equal(piped.status, 0);
    assert.ok(piped.stdout.startsWith(ALTERNATED), piped.stdout);
    // and --json's record is still the whole last line
    const json = spawnSync(
      'sh',
      [
        '-c',
        'exec "$@" 2>&1 | cat',
        'sh',
        process.execPath,
        CLI,
        'run',
        '--json',
        '--',
        'sh',
        '-c',
        'echo out; printf err >&2',
      ],
      {
        env: cliEnv(home),
        encoding: 'utf8',
      },
    );
    const lines = json.stdout.trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, 2), ['out', 'err']);
    assert.equal((JSON.parse(lines[lines.length - 1]) as { exitCode: number }).exitCode, 0);
  });

  it('a reader that goes away (| head) closes the output of the command too: it dies of SIGPIPE as without the meter, and the run is recorded', async function () {
    this.timeout(120_000);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-head-'));
    // `seq` writes far more than any pipe holds; the reader takes the first chunk and closes its end, as head does
    const cli = spawn(process.execPath, [CLI, 'run', '--quiet', '--region', 'FR', '--', 'seq', '1', '100000000'], {
      env: cliEnv(home),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    cli.stderr.on('data', (d) => (stderr += d));
    const first = await new Promise<string>((resolve) => cli.stdout.once('data', (d: Buffer) => resolve(String(d))));
    cli.stdout.destroy();
    assert.match(first, /^1\n2\n/);
    const code = await new Promise<number | null>((resolve) => cli.once('close', (c) => resolve(c)));
    assert.notEqual(code, null, `the CLI ended by itself: ${stderr}`);
    assert.equal(code, 141, `seq was killed by SIGPIPE (128 + 13), not told "connection reset": ${stderr}`);
    assert.doesNotMatch(stderr, /seq: write error/);
    const history = fs.readFileSync(path.join(home, 'history.jsonl'), 'utf8');
    assert.match(history, /"name":"seq 1 100000000"/);
    assert.match(history, /"exitCode":141/);
  });

  it('| head gives the command the broken pipe a shell pipeline gives it (seq: SIGPIPE, Python: BrokenPipeError), with 2>&1 too', async function () {
    this.timeout(120_000);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-head-'));
    const python = spawnSync('python3', ['-c', 'pass']).status === 0;
    const pipeline = (command: string[], merge: boolean, metered: boolean) => {
      // bash: the status of the first command of the pipeline, and its stderr apart
      const run = metered ? `"$@"` : `"\${@:6}"`;
      const line = `${run} ${merge ? '2>&1 ' : '2>"$HOME_DIR/err" '}| head -1 >/dev/null; echo "\${PIPESTATUS[0]}"`;
      const args = [process.execPath, CLI, 'run', '--quiet', '--', ...command];
      const r = spawnSync('bash', ['-c', line, 'bash', ...args], {
        env: { ...cliEnv(home), HOME_DIR: home },
        encoding: 'utf8',
      });
      const err = merge ? '' : fs.readFileSync(path.join(home, 'err'), 'utf8');
      return { status: Number(r.stdout.trim()), err };
    };
    for (const merge of [false, true]) {
      const seq = pipeline(['seq', '1', '200000'], merge, true);
      assert.equal(seq.status, 141, seq.err);
      assert.doesNotMatch(seq.err, /write error|reset/i);
      assert.equal(pipeline(['seq', '1', '200000'], merge, false).status, 141);
      if (!python) continue;
      const program = ['python3', '-c', 'import sys\nfor i in range(10**6): print(i)'];
      const py = pipeline(program, merge, true);
      const plain = pipeline(program, merge, false);
      assert.equal(py.status, plain.status, `${py.err}\n---\n${plain.err}`);
      if (!merge) {
        assert.match(py.err, /BrokenPipeError/);
        assert.doesNotMatch(py.err, /ConnectionResetError/);
      }
    }
  });
});
