/**
 * What the CLI prints is whole and clean, signals reach the command once, arguments mean what they say (issue 9).
 * The built dist/cli.js as users run it: real pipes (through sh), a real pseudo-terminal (python3's pty module),
 * real signals, a fresh history with 1,500 runs. No assertion depends on timing.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runsToCodeCarbonCsv } from '../../src/core/history/codecarbon';
import { HistoryStore } from '../../src/core/history/store';
import type { Run } from '../../src/core/types';
import { runCli, type CliResult } from '../helpers/cli';
import { makeRun } from '../helpers/history-runs';
import { spawnLines } from '../helpers/lines';

const ROOT = path.join(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const SIGNALS = path.join(ROOT, 'test', 'fixtures', 'signals');
const SIGCOUNT = path.join(SIGNALS, 'sigcount.py');
const PTYRUN = path.join(SIGNALS, 'ptyrun.py');
const PYTHON = process.env.PYTHON ?? 'python3';
const RUNS = 1500;
/** Raw terminal controls: ESC, BEL, C1 (CSI 0x9b, OSC 0x9d), bidi override. */
// eslint-disable-next-line no-control-regex -- the test looks for raw control characters
const RAW_CONTROL = /[\x07\x1b\x9b\x9d\u202e]/;

function tmpHome(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cm-trust-'));
}

function cli(args: string[], home: string): Promise<CliResult> {
  return runCli(CLI, args, { CARBON_METER_HOME: home });
}

/** The CLI's stdout through a real pipe (sh's `|`) into `cat`, and the CLI's own exit status. */
function throughPipe(
  args: string[],
  home: string,
  reader = 'cat',
): Promise<{ out: Buffer; rc: number; stderr: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-pipe-'));
  const outFile = path.join(dir, 'out');
  const rcFile = path.join(dir, 'rc');
  return new Promise((resolve, reject) => {
    const sh = spawn('sh', ['-c', `{ "$NODE" "$CLI" "$@"; echo $? >"$RC"; } | ${reader} >"$OUT"`, 'sh', ...args], {
      env: {
        ...process.env,
        NODE: process.execPath,
        CLI,
        RC: rcFile,
        OUT: outFile,
        CARBON_METER_HOME: home,
        CARBON_METER_NVIDIA_SMI: '/nonexistent',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    sh.stderr.on('data', (d) => (stderr += d));
    sh.on('error', reject);
    sh.on('close', () =>
      resolve({ out: fs.readFileSync(outFile), rc: Number(fs.readFileSync(rcFile, 'utf8')), stderr }),
    );
  });
}

function oneLineError(r: CliResult, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, stderr ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: one line, got:\n${r.stderr}`);
  assert.match(lines[0], /^carbon-meter: \S/, what);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
}

describe('carbon-meter CLI: whole and clean output', function () {
  this.timeout(240_000);
  let home: string;
  let ids: string[];

  before(function () {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
    home = tmpHome();
    const t0 = Date.UTC(2026, 0, 1);
    const runs = Array.from({ length: RUNS }, (_, i) =>
      makeRun({ name: `train-${i}.py` }, { startedAt: new Date(t0 + i * 60_000) }),
    );
    new HistoryStore(home, { durable: false }).appendMany(runs);
    ids = runs.map((r) => r.id);
  });

  it(`history --json through a pipe carries all ${RUNS} runs (well past 64 KiB)`, async () => {
    const { out, rc, stderr } = await throughPipe(['history', '--json'], home);
    assert.equal(rc, 0, stderr);
    assert.ok(out.length > 1_000_000, `${out.length} bytes`);
    const list: Run[] = JSON.parse(out.toString('utf8'));
    assert.equal(list.length, RUNS);
    assert.deepEqual(new Set(list.map((r) => r.id)), new Set(ids));
  });

  it('export (CSV and JSON) and the history table through a pipe are whole', async () => {
    const csv = await throughPipe(['export'], home);
    assert.equal(csv.rc, 0, csv.stderr);
    assert.equal(csv.out.toString('utf8').trimEnd().split('\n').length, RUNS + 1);
    const json = await throughPipe(['export', '--format', 'json'], home);
    assert.equal(JSON.parse(json.out.toString('utf8')).length, RUNS);
    const table = await throughPipe(['history', '--limit', String(RUNS)], home);
    assert.equal(table.out.toString('utf8').trimEnd().split('\n').length, RUNS + 1);
  });

  it('a reader that stops early (head) gets no stack trace', async () => {
    const { out, stderr } = await throughPipe(['history', '--json'], home, 'head -c 100');
    assert.equal(out.length, 100);
    assert.equal(stderr, '');
  });

  it('run --json: the record is the whole last line after a chatty command; --json-out has it alone', async () => {
    const h = tmpHome();
    const file = path.join(h, 'record.json');
    const r = await cli(
      [
        'run',
        '--json',
        '--json-out',
        file,
        '--region',
        'FR',
        '--',
        'sh',
        '-c',
        'echo epoch 1; echo "{not json"; printf "progress 99%%"',
      ],
      h,
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.equal(lines[lines.length - 2], 'progress 99%', 'the unfinished line stays the command’s');
    const last: Run = JSON.parse(lines[lines.length - 1]);
    const saved: Run = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepEqual(saved, last);
    if (process.platform !== 'win32') assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'private, like exports');
    assert.equal(saved.status, 'completed');
    assert.equal(saved.intensity.region, 'FR');
  });

  it('--json-out into a missing folder fails before the command runs', async () => {
    const h = tmpHome();
    const marker = path.join(h, 'ran');
    const r = await cli(['run', '--json-out', path.join(h, 'no', 'such', 'r.json'), '--', 'touch', marker], h);
    oneLineError(r, 2, '--json-out missing folder');
    assert.equal(fs.existsSync(marker), false);
  });

  it('escapes terminal controls in names (flag and imported project_name); a newline never splits a row', async () => {
    const h = tmpHome();
    const evil = 'x\x1b]0;pwned\x07\x1b[2J\ny';
    const r = await cli(['run', '--quiet', '--region', 'FR', '--name', evil, '--', 'true'], h);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, RAW_CONTROL);
    assert.ok(r.stderr.includes('x\\e]0;pwned\\x07\\e[2J\\ny'), r.stderr);
    // OSC 52 (clipboard write), an 8-bit CSI and a bidi override in a CodeCarbon project_name
    const csv = path.join(h, 'emissions.csv');
    const imported = makeRun({ name: 'p\x1b]52;c;cm0gLXJmIH4=\x07\x9b2J\u202e\nq' });
    fs.writeFileSync(
      csv,
      runsToCodeCarbonCsv([imported], () => 'FRA'),
    );
    const imp = await cli(['import', csv], h);
    assert.equal(imp.code, 0, imp.stderr);
    const table = await cli(['history'], h);
    assert.doesNotMatch(table.stdout, RAW_CONTROL);
    assert.equal(table.stdout.trimEnd().split('\n').length, 3, table.stdout);
    assert.match(table.stdout, /\n\S+ \S+ {2}p\\e\]52;c;cm0gLXJmIH4=\\x07\\x/, 'shown escaped (and cut to the column)');
    const json = await cli(['history', '--json'], h);
    assert.doesNotMatch(json.stdout, RAW_CONTROL);
    const names = (JSON.parse(json.stdout) as Run[]).map((x) => x.name);
    assert.ok(names.includes(evil), 'JSON keeps the name exactly');
  });

  it('the history table keeps its columns under names in CJK, emoji and combining accents', async () => {
    const h = tmpHome();
    const names = ['训练 ResNet-50 长时间实验 第二轮 final', '🚀 finetune 👨‍👩‍👧 🇫🇷', 'cafe\u0301 run', 'plain'];
    for (const name of names) {
      const r = await cli(['run', '--quiet', '--region', 'FR', '--name', name, '--', 'true'], h);
      assert.equal(r.code, 0, r.stderr);
    }
    const table = await cli(['history'], h);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 1 + names.length, table.stdout);
    // columns counted by hand: a CJK character or an emoji 2, a joiner or a combining accent 0; the longest name is
    // cut at 28 columns between two words ("训练 ResNet-50 长时间实验…": 4+1+9+1+10+1 = 26), so the column is 26 wide
    const cells: [string, number][] = [
      ['训练 ResNet-50 长时间实验…', 0],
      ['🚀 finetune 👨‍👩‍👧 🇫🇷', 9], // 2+1+8+1+2+1+2 = 17
      ['cafe\u0301 run', 18], // 8
      ['plain', 21], // 5
    ];
    for (const [cell, spaces] of cells)
      assert.ok(
        lines.some((l) => l.includes(`  ${cell}${' '.repeat(spaces)}  cli  `)),
        `${JSON.stringify(cell)} padded with ${spaces} spaces:\n${table.stdout}`,
      );
    assert.ok(lines[0].includes(`  name${' '.repeat(22)}  source  `), lines[0]);
  });
});

describe('carbon-meter CLI: arguments and errors', function () {
  this.timeout(240_000);

  it('after the command starts, every argument is the command’s', async () => {
    const h = tmpHome();
    const file = path.join(h, 'r.json');
    const r = await cli(['run', '--quiet', '--json-out', file, 'echo', 'hello', '--name=X', '--json'], h);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello --name=X --json\n');
    const run: Run = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(run.command, 'echo hello --name=X --json');
    assert.notEqual(run.name, 'X');
  });

  it('exits 126 for a folder or a file without execute permission, 127 for a missing command', async () => {
    const h = tmpHome();
    const noexec = path.join(h, 'script.sh');
    fs.writeFileSync(noexec, 'echo hi\n', { mode: 0o644 });
    for (const [cmd, code, why] of [
      [h, 126, /folder/],
      [noexec, 126, /permission/],
      ['no-such-command-xyz', 127, /not found/],
    ] as const) {
      const r = await cli(['run', '--quiet', '--', cmd], h);
      oneLineError(r, code, cmd);
      assert.match(r.stderr, why);
    }
  });

  it('a wrong flag or value in any subcommand gives one line and a non-zero exit', async () => {
    const h = tmpHome();
    const cases: [string[], number][] = [
      [['bogus'], 2],
      [['run', '--bogus', 'true'], 2],
      [['run', '--interval', 'fast', 'true'], 2],
      [['run', '--pue', '0.5', 'true'], 2],
      [['run', '--kill-after', '-1', 'true'], 2],
      [['run', '--region', 'aws:eu-west3', 'true'], 2],
      [['run', '--name'], 2],
      [['run'], 2],
      [['history', '--limit', '0'], 2],
      [['history', '--limit', '2.5'], 2],
      [['history', '--json=yes'], 2],
      [['export', '--format', 'xml'], 2],
      [['export', '--out', path.join(h, 'no', 'such', 'x.csv')], 2], // a missing folder: a mistake in the line
      [['export', '--out', h], 2], // a folder where the file should be
      [['run', '--json-out', h, '--', 'true'], 2],
      [['import'], 2],
      [['import', 'a.csv', 'b.csv'], 2],
      [['import', path.join(h, 'missing.csv')], 1],
      [['regions', '--limit', 'ten'], 2],
      [['regions', '--energy-kwh', ''], 2],
      [['regions', 'FR'], 2],
      [['doctor', '--verbose'], 2],
      [['version', 'x'], 2],
      [['import', path.join(h, 'other.csv')], 1],
    ];
    fs.writeFileSync(path.join(h, 'other.csv'), 'a,b\n1,2\n'); // not a CodeCarbon file: its reason alone, no summary
    for (const [args, code] of cases) oneLineError(await cli(args, h), code, args.join(' '));
    const other = await cli(['import', path.join(h, 'other.csv')], h);
    assert.match(other.stderr, /other\.csv: not a CodeCarbon emissions\.csv/, 'the file is named');
  });

  it('regions leaves out zero intensities and documents --limit', async () => {
    const h = tmpHome();
    const r = await cli(['regions', '--json'], h);
    const list: { code: string; intensityGPerKWh: number }[] = JSON.parse(r.stdout);
    assert.ok(list.length > 100);
    assert.ok(list.every((x) => x.intensityGPerKWh > 0));
    assert.equal(
      list.some((x) => x.code === 'CF'),
      false,
      'Central African Republic (0 in CO2.js) is not listed',
    );
    const top = await cli(['regions', '--limit', '3'], h);
    assert.equal(top.stdout.trimEnd().split('\n').length, 4);
    assert.match((await cli(['regions', '--help'], h)).stdout, /--limit N/);
    assert.match((await cli(['--help'], h)).stdout, /regions .*--limit N/);
  });
});

describe('carbon-meter CLI: signals', function () {
  this.timeout(240_000);

  /** The CLI on a new pseudo-terminal (session leader, foreground group), metering sigcount.py. */
  function onTerminal(extra: string[] = []) {
    const h = tmpHome();
    const p = spawnLines(
      PYTHON,
      [PTYRUN, process.execPath, CLI, 'run', '--quiet', '--region', 'FR', ...extra, '--', PYTHON, SIGCOUNT],
      {
        env: { ...process.env, CARBON_METER_HOME: h, CARBON_METER_NVIDIA_SMI: '/nonexistent' },
      },
    );
    return p;
  }

  it('kill -INT <cli> with a terminal on stdin is passed on once', async () => {
    const p = onTerminal();
    const cliPid = Number((await p.waitForLine(/^CLI \d+/)).split(' ')[1]);
    const childPid = Number((await p.waitForLine(/^READY \d+/)).split(' ')[1]);
    p.send(`kill SIGINT ${cliPid}`);
    await p.waitForLine(/SIGINT passed on to/);
    process.kill(childPid, 'SIGUSR1');
    await p.waitForLine(/^EXIT/);
    assert.equal(p.lines.filter((l) => l === 'GOT SIGINT').length, 1);
    assert.ok(p.lines.includes('EXIT 11'), p.lines.join('\n'));
  });

  it('Ctrl-C at the terminal reaches the command once (not repeated by the CLI)', async () => {
    const p = onTerminal();
    await p.waitForLine(/^CLI \d+/);
    const childPid = Number((await p.waitForLine(/^READY \d+/)).split(' ')[1]);
    p.send('ctrl-c');
    // The command runs under util-linux script (a terminal of its own, so that its progress can be read): the Ctrl-C
    // travels through script's pseudo-terminal as a keystroke and reaches the command there; the CLI, whose terminal
    // script keeps raw, gets no signal. Without script, the CLI sees it and says it reached the command directly.
    await p.waitForLine(/GOT SIGINT$/);
    process.kill(childPid, 'SIGUSR1');
    await p.waitForLine(/^EXIT/);
    assert.equal(p.lines.filter((l) => /GOT SIGINT$/.test(l)).length, 1);
    assert.ok(p.lines.includes('EXIT 11'), p.lines.join('\n'));
  });

  /** The CLI in a process group of its own, without a terminal. */
  function grouped(extra: string[], sigcountArgs: string[] = []) {
    const h = tmpHome();
    const file = path.join(h, 'record.json');
    const p = spawnLines(
      process.execPath,
      [CLI, 'run', '--quiet', '--json-out', file, ...extra, '--', PYTHON, SIGCOUNT, ...sigcountArgs],
      {
        env: { ...process.env, CARBON_METER_HOME: h, CARBON_METER_NVIDIA_SMI: '/nonexistent' },
        detached: true,
      },
    );
    return { p, file };
  }

  it('without a terminal: a signal to the CLI is passed on, one to its process group is not repeated', async () => {
    for (const target of ['cli', 'group'] as const) {
      const { p } = grouped([]);
      const childPid = Number((await p.waitForLine(/^READY \d+/)).split(' ')[1]);
      process.kill(target === 'cli' ? p.child.pid! : -p.child.pid!, 'SIGINT');
      await waitFor(() => /SIGINT (passed on|reached)/.test(p.stderr()));
      assert.match(p.stderr(), target === 'cli' ? /passed on/ : /reached .* directly/);
      process.kill(childPid, 'SIGUSR1');
      const { code } = await p.closed;
      assert.equal(code, 11, `${target}: ${p.lines.join('\n')}\n${p.stderr()}`);
    }
  });

  it('a command in a session of its own gets a signal sent to the CLI’s group passed on', async function () {
    const setsid = ['/usr/bin/setsid', '/bin/setsid'].find((p) => fs.existsSync(p));
    if (!setsid) this.skip(); // util-linux's setsid is not installed
    const h = tmpHome();
    const p = spawnLines(process.execPath, [CLI, 'run', '--quiet', '--', setsid!, PYTHON, SIGCOUNT], {
      env: { ...process.env, CARBON_METER_HOME: h, CARBON_METER_NVIDIA_SMI: '/nonexistent' },
      detached: true,
    });
    const childPid = Number((await p.waitForLine(/^READY \d+/)).split(' ')[1]);
    process.kill(-p.child.pid!, 'SIGINT');
    await waitFor(() => /SIGINT passed on/.test(p.stderr()));
    process.kill(childPid, 'SIGUSR1');
    assert.equal((await p.closed).code, 11, p.stderr());
  });

  it('a command that ignores SIGTERM is stopped with SIGKILL after --kill-after, and the run says so', async () => {
    const { p, file } = grouped(['--kill-after', '1'], ['ignore', 'TERM']);
    await p.waitForLine(/^READY \d+/);
    process.kill(p.child.pid!, 'SIGTERM');
    const { code } = await p.closed;
    assert.equal(code, 137, p.stderr());
    assert.match(p.stderr(), /SIGKILL: it did not stop within 1 s of SIGTERM/);
    const run: Run = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(run.status, 'stopped', 'stopped on purpose, not failed');
    assert.ok(
      run.notes?.some((n) => /SIGKILL/.test(n)),
      JSON.stringify(run.notes),
    );
  });

  it('a second signal stops a command that ignores the first with SIGKILL', async () => {
    const { p } = grouped(['--kill-after', '0'], ['ignore', 'INT', 'TERM']);
    await p.waitForLine(/^READY \d+/);
    process.kill(p.child.pid!, 'SIGTERM');
    await waitFor(() => /SIGTERM passed on/.test(p.stderr()));
    process.kill(p.child.pid!, 'SIGINT');
    const { code } = await p.closed;
    assert.equal(code, 137, p.stderr());
    assert.match(p.stderr(), /a second signal \(SIGINT\)/);
  });
});

async function waitFor(cond: () => boolean, boundMs = 60_000): Promise<void> {
  const until = Date.now() + boundMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not reached within the safety deadline');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('carbon-meter CLI: where the output goes', function () {
  this.timeout(240_000);

  /** A history with one run, and its export as the CLI writes it to a regular file. */
  async function oneRun(): Promise<{ h: string; csv: string }> {
    const h = tmpHome();
    const r = await cli(['run', '--quiet', '--region', 'FR', '--', 'true'], h);
    assert.equal(r.code, 0, r.stderr);
    const plain = path.join(h, 'plain.csv');
    assert.equal((await cli(['export', '--out', plain], h)).code, 0);
    return { h, csv: fs.readFileSync(plain, 'utf8') };
  }

  it('export --out through a link replaces the link target and keeps the link; a dangling link gets its target', async () => {
    const { h, csv } = await oneRun();
    const target = path.join(h, 'target.csv');
    fs.writeFileSync(target, 'old\n');
    const link = path.join(h, 'link.csv');
    fs.symlinkSync(target, link);
    const r = await cli(['export', '--out', link], h);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.lstatSync(link).isSymbolicLink(), 'the link is still a link');
    assert.equal(fs.readFileSync(target, 'utf8'), csv);
    assert.equal(fs.statSync(target).mode & 0o777, 0o600);
    const dangling = path.join(h, 'dangling.csv');
    const later = path.join(h, 'later.csv');
    fs.symlinkSync(later, dangling);
    assert.equal((await cli(['export', '--out', dangling], h)).code, 0);
    assert.ok(fs.lstatSync(dangling).isSymbolicLink());
    assert.equal(fs.readFileSync(later, 'utf8'), csv);
  });

  it('export --out and run --json-out write through a FIFO instead of replacing it', async function () {
    if (process.platform === 'win32') this.skip();
    const { h, csv } = await oneRun();
    const fifo = path.join(h, 'fifo');
    const mk = spawn('mkfifo', [fifo]);
    assert.equal(await new Promise((r) => mk.on('close', r)), 0);
    const read = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const cat = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        cat.stdout.on('data', (d) => (out += d));
        cat.on('error', reject);
        cat.on('close', () => resolve(out));
      });
    const [got, r] = await Promise.all([read(), cli(['export', '--out', fifo], h)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(got, csv);
    assert.ok(fs.statSync(fifo).isFIFO(), 'still a FIFO');
    const [record, run] = await Promise.all([
      read(),
      cli(['run', '--quiet', '--region', 'FR', '--json-out', fifo, '--', 'true'], h),
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(record) as Run).status, 'completed');
    assert.ok(fs.statSync(fifo).isFIFO(), 'still a FIFO');
  });

  it('a write to stdout that fails (/dev/full) is said in one line, with exit code 1', async function () {
    if (!fs.existsSync('/dev/full')) this.skip();
    const { h } = await oneRun();
    for (const args of [['export'], ['history', '--json'], ['run', '--json', '--region', 'FR', '--', 'true']]) {
      const full = fs.openSync('/dev/full', 'w');
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [CLI, ...args], {
          env: { ...process.env, CARBON_METER_HOME: h, CARBON_METER_NVIDIA_SMI: '/nonexistent' },
          stdio: ['ignore', full, 'pipe'],
        });
        let stderr = '';
        child.stderr!.on('data', (d) => (stderr += d));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stderr }));
      });
      fs.closeSync(full);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.match(lines[lines.length - 1], /^carbon-meter: the output could not be written: ENOSPC/, r.stderr);
    }
  });

  it('run --json: no blank line before the record when the command ended its last line', async () => {
    const h = tmpHome();
    const r = await cli(['run', '--json', '--region', 'FR', '--', 'echo', 'hi'], h);
    assert.equal(r.code, 0, r.stderr);
    const [first, second, ...rest] = r.stdout.split('\n');
    assert.equal(first, 'hi');
    assert.equal((JSON.parse(second) as Run).status, 'completed');
    assert.deepEqual(rest, ['']);
    const quiet = await cli(['run', '--json', '--region', 'FR', '--', 'true'], h);
    assert.equal(quiet.stdout.split('\n').length, 2, 'the record alone, on the first line');
  });

  it('on a terminal, the live readout is cleared before the command writes: its output never joins the readout line', async function () {
    // the command's terminal output passes through the CLI only through util-linux script (childIo.ts)
    const probe = spawnSync('script', ['--version'], { encoding: 'utf8' });
    if (probe.status !== 0 || !/util-linux/.test(probe.stdout + probe.stderr)) this.skip();
    const h = tmpHome();
    const go = path.join(h, 'go');
    // the command prints a line, waits (untimed) until the test has seen the readout, then prints another
    const script = `import os, time\nprint("line one", flush=True)\nwhile not os.path.exists(${JSON.stringify(go)}): time.sleep(0.05)\nprint("line two", flush=True)\n`;
    const child = spawn(PYTHON, [PTYRUN, process.execPath, CLI, 'run', '--region', 'FR', '--', PYTHON, '-c', script], {
      env: { ...process.env, CARBON_METER_HOME: h, CARBON_METER_NVIDIA_SMI: '/nonexistent' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const closed = new Promise((r) => child.on('close', r));
    await waitFor(() => /line one[\s\S]*\[carbon-meter\]/.test(out));
    fs.writeFileSync(go, '');
    await closed;
    assert.match(out, /line two/);
    const joined = /\[carbon-meter\][^\r\n]*line two/.exec(out);
    assert.equal(joined, null, `the command's line was written after the readout on its line: ${JSON.stringify(out)}`);
    // eslint-disable-next-line no-control-regex -- the terminal's own bytes: the readout, its clearing, the line
    assert.match(out, /CO₂eq\r\x1b\[K(\r\n)?line two/);
  });
});
