/**
 * A new user's tryout of the CLI (issue 9): signals sent twice by GNU timeout, values and flags that make no sense,
 * help and usage, where the region came from, default names, the budget stop. The built dist/cli.js with real
 * processes, pipes and signals; no assertion depends on timing.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Run } from '../../src/core/types';
import { outlivedNote } from '../../src/core/meter/meter';
import { runCli, type CliResult } from '../helpers/cli';
import { spawnLines } from '../helpers/lines';

const ROOT = path.join(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const SIGCOUNT = path.join(ROOT, 'test', 'fixtures', 'signals', 'sigcount.py');
const PYTHON = process.env.PYTHON ?? 'python3';

function tmpHome(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cm-tryout-'));
}

function cli(args: string[], home = tmpHome(), env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(CLI, args, { CARBON_METER_HOME: home, ...env });
}

async function waitFor(cond: () => boolean, what: string, boundMs = 60_000): Promise<void> {
  const until = Date.now() + boundMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`${what}: not reached within the safety deadline`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function oneLineError(r: CliResult, what: string, match?: RegExp): void {
  assert.equal(r.code, 2, `${what}: exit ${r.code}, stderr ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: one line, got:\n${r.stderr}`);
  assert.match(lines[0], /^carbon-meter: \S/, what);
  if (match) assert.match(lines[0], match, what);
}

before(function () {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
});

describe('carbon-meter CLI tryout: a signal sent twice is one signal', function () {
  this.timeout(240_000);
  const timeoutBin = ['/usr/bin/timeout', '/bin/timeout'].find((p) => fs.existsSync(p));

  /** The CLI metering sigcount.py, in a process group of its own (detached), with the record in a file. */
  function grouped(prefix: string[] = []) {
    const h = tmpHome();
    const file = path.join(h, 'record.json');
    const argv = [process.execPath, CLI, 'run', '--quiet', '--json-out', file, '--', PYTHON, SIGCOUNT];
    const [cmd, ...rest] = [...prefix, ...argv];
    const p = spawnLines(cmd, rest, {
      env: { ...process.env, CARBON_METER_HOME: h, CARBON_METER_NVIDIA_SMI: '/nonexistent' },
      detached: true,
    });
    return { p, file };
  }

  it('GNU timeout relaying SIGINT (to the CLI, then to its group) never escalates to SIGKILL', async function () {
    if (!timeoutBin) this.skip(); // coreutils' timeout is not installed
    // timeout relays a signal it gets exactly as it sends its own at expiry: to its child, then to its group; the
    // two copies reach the CLI in any order and interleaving, so several tries meet several of them
    for (let i = 0; i < 4; i++) {
      const { p, file } = grouped([timeoutBin!, '-s', 'INT', '3600']);
      const childPid = Number((await p.waitForLine(/^READY \d+/)).split(' ')[1]);
      process.kill(p.child.pid!, 'SIGINT');
      await p.waitForLine(/^GOT SIGINT/);
      await waitFor(() => /SIGINT (passed on|reached)/.test(p.stderr()), 'the CLI judged the signal');
      process.kill(childPid, 'SIGUSR1');
      const { code } = await p.closed;
      assert.doesNotMatch(p.stderr(), /SIGKILL:/, p.stderr());
      assert.ok(code === 11 || code === 12, `try ${i}: exit ${code}\n${p.stderr()}`);
      const run: Run = JSON.parse(fs.readFileSync(file, 'utf8'));
      assert.equal(run.exitCode, code);
      assert.ok(!run.notes?.some((n) => /SIGKILL/.test(n)), JSON.stringify(run.notes));
    }
  });

  it('a group-wide copy after a signal passed on to the command is not a second signal', async () => {
    const { p } = grouped();
    const childPid = Number((await p.waitForLine(/^READY \d+/)).split(' ')[1]);
    process.kill(p.child.pid!, 'SIGINT'); // to the CLI alone: passed on
    await waitFor(() => /SIGINT passed on/.test(p.stderr()), 'passed on');
    // the command has counted it before the copy comes: two SIGINTs pending at once are one for the kernel (a
    // loaded machine gave exit 11, one signal counted, where the command was sent two)
    await p.waitForLine(/^GOT SIGINT/);
    process.kill(-p.child.pid!, 'SIGINT'); // then to the whole group, as timeout's second copy
    await waitFor(() => /not escalated/.test(p.stderr()), 'the group copy judged');
    process.kill(childPid, 'SIGUSR1');
    const { code } = await p.closed;
    assert.equal(code, 12, p.stderr());
    assert.doesNotMatch(p.stderr(), /SIGKILL:/);
  });

  it('a signal sent to the CLI alone twice still stops the command with SIGKILL', async () => {
    const { p, file } = grouped();
    await p.waitForLine(/^READY \d+/);
    process.kill(p.child.pid!, 'SIGINT');
    await waitFor(() => /SIGINT passed on/.test(p.stderr()), 'passed on');
    await p.waitForLine(/^GOT SIGINT/);
    process.kill(p.child.pid!, 'SIGINT');
    const { code } = await p.closed;
    // sigcount counts the signal and goes on: only SIGKILL ends it here
    assert.equal(code, 137, p.stderr());
    assert.match(p.stderr(), /a second signal \(SIGINT\)/);
    const run: Run = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.ok(run.notes?.some((n) => /SIGKILL/.test(n)));
  });
});

describe('carbon-meter CLI tryout: arguments', function () {
  this.timeout(120_000);

  it('a negative or zero value says what the value must be (one line, exit 2), not "needs a value"', async () => {
    const cases: [string[], RegExp][] = [
      [['run', '--budget-g', '-5', '--', 'true'], /--budget-g must be a number above 0, not "-5"/],
      [['run', '--budget-g', '0', '--', 'true'], /--budget-g must be a number above 0, not "0"/],
      [['run', '--interval', '-1', '--', 'true'], /--interval must be a number from 0\.5 to 3600, not "-1"/],
      [['run', '--pue', '-.5', '--', 'true'], /--pue must be a number from 1 to 3, not "-\.5"/],
      [['history', '--limit', '-3'], /--limit must be a whole number from 1 up, not "-3"/],
      [['regions', '--energy-kwh', '-1e3'], /--energy-kwh must be a number above 0, not "-1e3"/],
      [['run', '--name', '-x', '--', 'true'], /--name needs a value; one that starts with "-" is written --name=-…/],
    ];
    for (const [args, message] of cases) oneLineError(await cli(args), args.join(' '), message);
  });

  it('an option that means nothing without another is refused (one line, exit 2), running nothing', async () => {
    const h = tmpHome();
    const marker = path.join(h, 'ran');
    const cases: [string[], RegExp][] = [
      [['--max-delay', '2h'], /--max-delay only applies with --pause-above/],
      [['--on-budget', 'stop'], /--on-budget only applies with --budget-g or --budget-month-kg/],
      [['--budget-g', '5', '--stop-grace', '10'], /--stop-grace only applies with --on-budget stop/],
    ];
    for (const [options, message] of cases)
      oneLineError(await cli(['run', ...options, '--', 'touch', marker], h), options.join(' '), message);
    assert.equal(fs.existsSync(marker), false);
    oneLineError(await cli(['slurm', '--all-users', '123'], h), 'slurm --all-users', /--all-users only applies/);
  });

  it('no arguments: a usage error naming the commands on stderr, exit 2; --help and help: the help on stdout, 0', async () => {
    const none = await cli([]);
    oneLineError(none, 'no arguments', /a command is needed: run, history, export, import, regions, doctor, slurm/);
    assert.equal(none.stdout, '');
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = await cli(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /^carbon-meter \S+: energy and CO₂eq of a training run/);
    }
  });

  it('a bad value from the environment names its variable; a history folder that is a file is one line', async () => {
    oneLineError(
      await cli(['run', '--', 'true'], tmpHome(), { CARBON_METER_PUE: 'abc' }),
      'PUE',
      /CARBON_METER_PUE must/,
    );
    const region = await cli(['run', '--', 'true'], tmpHome(), { CARBON_METER_REGION: 'nowhere' });
    oneLineError(region, 'region', /CARBON_METER_REGION: unknown region "nowhere"/);
    const file = path.join(tmpHome(), 'not-a-folder');
    fs.writeFileSync(file, '');
    for (const command of ['history', 'export']) {
      const r = await cli([command], file);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(
        r.stderr,
        `carbon-meter: cannot read the history in ${file}: it is not a folder (CARBON_METER_HOME)\n`,
      );
    }
  });

  it('help COMMAND is COMMAND --help; an unknown one is a usage error', async () => {
    for (const command of ['run', 'history', 'export', 'import', 'regions', 'doctor', 'slurm']) {
      const viaHelp = await cli(['help', command]);
      const viaFlag = await cli([command, '--help']);
      assert.equal(viaHelp.code, 0, command);
      assert.equal(viaHelp.stdout, viaFlag.stdout, command);
      assert.match(viaHelp.stdout, new RegExp(`^Usage: carbon-meter ${command}`), command);
    }
    oneLineError(await cli(['help', 'nope']), 'help nope', /unknown command "nope"/);
    oneLineError(await cli(['--foo']), '--foo', /unknown option "--foo"/);
    // the two commands the help lists that have no options of their own
    const top = await cli(['--help']);
    const help = await cli(['help', 'help']);
    assert.equal(help.code, 0, help.stderr);
    assert.equal(help.stdout, top.stdout);
    const version = await cli(['help', 'version']);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^Usage: carbon-meter version\n/);
  });

  it('a history or code-cache folder that cannot be made (under /proc) is one line, never a hang', async function () {
    // Node's own mkdirSync({ recursive: true }) loops forever there, at 100 % CPU and deaf to signals
    if (!fs.existsSync('/proc/self')) this.skip();
    const home = '/proc/carbon-meter-test/home';
    const run = await cli(['run', '--', 'true'], home);
    assert.equal(run.code, 0, 'the command ran and its exit code is kept');
    assert.match(run.stderr, /NOT saved {2}could not write the history in \/proc\/carbon-meter-test\/home: ENOENT/);
    const history = await cli(['history'], home);
    assert.equal(history.code, 0, history.stderr);
    const cached = await cli(['version'], tmpHome(), { CARBON_METER_CODE_CACHE: '/proc/carbon-meter-test/cache' });
    assert.equal(cached.code, 0, cached.stderr);
    assert.equal(cached.stdout.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('version, --version and -v print the version alone on stdout', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    for (const spelling of ['version', '--version', '-v']) {
      const r = await cli([spelling]);
      assert.equal(r.code, 0, spelling);
      assert.equal(r.stdout, `${pkg.version}\n`, spelling);
      assert.equal(r.stderr, '', spelling);
    }
  });
});

describe('carbon-meter CLI tryout: what a run says about itself', function () {
  this.timeout(120_000);

  async function region(env: Record<string, string>, args: string[] = []): Promise<{ run: Run; summary: string }> {
    const h = tmpHome();
    const file = path.join(h, 'r.json');
    const r = await cli(['run', '--quiet', '--json-out', file, ...args, '--', 'true'], h, env);
    assert.equal(r.code, 0, r.stderr);
    return { run: JSON.parse(fs.readFileSync(file, 'utf8')) as Run, summary: r.stderr };
  }

  it('says where the region came from: flag, environment, time zone guess, or the default (never "guessed" then)', async () => {
    const flag = await region({ TZ: 'Europe/Paris' }, ['--region', 'DE']);
    assert.match(flag.summary, /region set by --region/);
    assert.equal(flag.run.intensity.guessed, undefined);
    const env = await region({ TZ: 'Europe/Paris', CARBON_METER_REGION: 'PL' });
    assert.match(env.summary, /region set by CARBON_METER_REGION/);
    const guess = await region({ TZ: 'Europe/Paris' });
    assert.match(guess.summary, /region guessed from the time zone Europe\/Paris/);
    assert.equal(guess.run.intensity.guessed, true);
    const fallback = await region({ TZ: 'UTC' });
    assert.equal(fallback.run.intensity.region, 'WORLD');
    assert.equal(fallback.run.intensity.guessed, undefined, 'a default is not a guess');
    assert.match(fallback.summary, /region not set, and the time zone names no country: world average \(default\)/);
    for (const s of [flag, env, guess, fallback]) assert.doesNotMatch(s.summary, /GUESSED/);
  });

  it('a default name keeps a quoted word whole', async () => {
    const h = tmpHome();
    const file = path.join(h, 'r.json');
    const r = await cli(['run', '--quiet', '--region', 'FR', '--json-out', file, '--', 'sh', '-c', 'echo "a b"'], h);
    assert.equal(r.code, 0, r.stderr);
    const run = JSON.parse(fs.readFileSync(file, 'utf8')) as Run;
    assert.equal(run.name, `sh -c 'echo "a b"'`);
  });
});

describe('carbon-meter CLI tryout: help is complete', function () {
  this.timeout(120_000);

  /** Every CARBON_METER_* variable the Node code reads (the extension reads settings instead). */
  function variablesInSource(dir = path.join(ROOT, 'src')): Set<string> {
    const found = new Set<string>();
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'webview' && entry.name !== 'extension')
        for (const v of variablesInSource(p)) found.add(v);
      else if (entry.name.endsWith('.ts'))
        for (const m of fs.readFileSync(p, 'utf8').matchAll(/CARBON_METER_[A-Z_]*[A-Z]/g)) found.add(m[0]);
    }
    return found;
  }

  it('names every environment variable the CLI reads, GPU tools and --json-out / --keep-secrets included', async () => {
    const texts = await Promise.all(
      [['--help'], ['help', 'run'], ['help', 'slurm'], ['help', 'export'], ['help', 'doctor']].map((a) => cli(a)),
    );
    const all = texts.map((t) => t.stdout).join('\n');
    // "_LONGITUDE" after its full sibling counts: the help names pairs as "…_LATITUDE and _LONGITUDE"
    const missing = [...variablesInSource()].filter(
      (v) => !all.includes(v) && !all.includes(`and ${v.slice(v.lastIndexOf('_'))}`),
    );
    assert.deepEqual(missing, [], 'variables the code reads but no help names');
    for (const tool of ['NVML', 'nvidia-smi', 'amd-smi', 'rocm-smi']) assert.ok(texts[4].stdout.includes(tool), tool);
    assert.match(texts[1].stdout, /--json-out FILE/);
    assert.match(texts[3].stdout, /--keep-secrets/);
    assert.match(texts[0].stdout, /carbon-meter help \[COMMAND\]/);
  });

  it('shows the default history folder, not the one CARBON_METER_HOME points to now', async () => {
    const h = tmpHome();
    const r = await cli(['--help'], h);
    assert.doesNotMatch(r.stdout, new RegExp(h.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });
});

describe('carbon-meter CLI tryout: the readout and summary in a log never split a line of the command', function () {
  this.timeout(240_000);

  /**
   * The CLI metering a command that leaves a line unfinished ('abc'), ends it ('def') and waits, writing `toStderr`
   * or to stdout; our stdout and stderr go to files (`merged`: one file). Once a readout line follows the finished
   * line, the command is told to end with another unfinished line ('tail'). Returns what our stderr's file holds.
   */
  async function meterIntoLog(merged: boolean, toStderr: boolean): Promise<string> {
    const dir = tmpHome();
    const flag = path.join(dir, 'go');
    const errFile = path.join(dir, 'err.log');
    const outFile = merged ? errFile : path.join(dir, 'out.log');
    const to = toStderr ? ' >&2' : '';
    const script =
      `printf abc${to}; sleep 3; echo def${to}; ` +
      `while [ ! -e ${JSON.stringify(flag)} ]; do sleep 0.1; done; printf tail${to}`;
    const errFd = fs.openSync(errFile, 'w');
    const outFd = merged ? errFd : fs.openSync(outFile, 'w');
    const { spawn } = await import('node:child_process');
    const p = spawn(process.execPath, [CLI, 'run', '--interval', '1', '--', 'sh', '-c', script], {
      env: { ...process.env, CARBON_METER_HOME: dir, CARBON_METER_NVIDIA_SMI: '/nonexistent' },
      stdio: ['ignore', outFd, errFd],
    });
    fs.closeSync(errFd);
    if (!merged) fs.closeSync(outFd);
    const exited = new Promise<number | null>((resolve) => p.once('exit', resolve));
    // a readout after the command's finished line: the readout goes on while the command waits
    await waitFor(
      () => /def\n(.*\n)*\[carbon-meter\] ⏱/.test(fs.readFileSync(errFile, 'utf8')),
      'a readout line',
      120_000,
    );
    fs.writeFileSync(flag, '');
    assert.equal(await exited, 0);
    return fs.readFileSync(errFile, 'utf8');
  }

  it('a budget warning said while the command has left a line unfinished is a line of its own', async () => {
    const dir = tmpHome();
    const log = path.join(dir, 'err.log');
    const fd = fs.openSync(log, 'w');
    const { spawn } = await import('node:child_process');
    // the budget is reached at the first reading, which comes while 'abc' waits for its end
    const p = spawn(
      process.execPath,
      [CLI, 'run', '--interval', '1', '--budget-g', '1e-12', '--', 'sh', '-c', 'printf abc >&2; sleep 3; echo def >&2'],
      {
        env: { ...process.env, CARBON_METER_HOME: dir, CARBON_METER_NVIDIA_SMI: '/nonexistent' },
        stdio: ['ignore', 'ignore', fd],
      },
    );
    fs.closeSync(fd);
    assert.equal(await new Promise((resolve) => p.once('exit', resolve)), 0);
    const text = fs.readFileSync(log, 'utf8');
    assert.match(text, /has emitted .* its budget is/);
    for (const l of text.split('\n'))
      if (l.includes('carbon-meter:')) assert.ok(l.startsWith('carbon-meter: '), `a warning inside a line: ${l}`);
    assert.match(text, /^abc/m);
    assert.match(text, /^(abc)?def$/m, "the command's lines are whole");
  });

  for (const [name, merged, toStderr] of [
    ['stdout and stderr into one file, the command writing to stdout', true, false],
    ['stderr into a file of its own, the command writing to stderr', false, true],
  ] as const) {
    it(name, async () => {
      const log = await meterIntoLog(merged, toStderr);
      const lines = log.split('\n');
      assert.ok(lines.includes('abcdef'), `the command's line was split:\n${log}`);
      for (const l of lines)
        if (l.includes('[carbon-meter]')) assert.ok(l.startsWith('[carbon-meter] ⏱'), `a readout inside a line: ${l}`);
      const tail = lines.indexOf('tail');
      assert.ok(tail > 0, `the command's last unfinished line was joined to the summary:\n${log}`);
      assert.match(lines[tail + 1], /^Carbon Meter · /);
    });
  }
});

describe('carbon-meter CLI tryout: small faults of the third tryout', function () {
  this.timeout(120_000);

  it('version --help is help (exit 0), like every other command', async () => {
    const r = await cli(['version', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Usage: carbon-meter version/);
  });

  it('an empty --region= is a usage error, not a silent world average', async () => {
    oneLineError(await cli(['run', '--region=', '--', 'true']), '--region=', /--region needs a region code/);
  });

  it('doctor names a TZ that Node does not know instead of printing "undefined"', async () => {
    const r = await cli(['doctor'], tmpHome(), { TZ: 'Bogus/Zone' });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /undefined/);
    assert.match(r.stdout, /Time zone +unknown: TZ=Bogus\/Zone is not a time zone Node knows/);
  });

  it('a command ended by Ctrl-C reads "interrupted" in the summary and history, as in the panel; --json keeps failed', async () => {
    const h = tmpHome();
    const r = await cli(['run', '--name', 'ctrl-c', '--', 'sh', '-c', 'kill -INT $$'], h);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /^Carbon Meter · ctrl-c · interrupted \(exit 130\)/m);
    const table = await cli(['history'], h);
    assert.match(table.stdout, /ctrl-c +cli +interrupted /);
    const [run] = JSON.parse((await cli(['history', '--json'], h)).stdout) as Run[];
    assert.equal(run.status, 'failed');
    assert.equal(run.exitCode, 130);
  });

  it('no "0 process(es) outlived" note when nothing was running after the command', () => {
    const tree = { t: 0, cpuSeconds: 0, rssBytes: 0, pids: [], alive: false, outlived: 0, adopted: 1 };
    assert.equal(outlivedNote(tree, 0, 0), undefined);
    assert.match(outlivedNote(tree, 0, 1.5) ?? '', /^processes of the run were still running .* 1.5 s after/);
    assert.match(outlivedNote({ ...tree, outlived: 2 }, 0, 3) ?? '', /^2 process\(es\) outlived the command/);
  });
});

describe('carbon-meter CLI tryout: a run cut off by `| head`', function () {
  this.timeout(120_000);
  const cliLine = (file: string) => `"${process.execPath}" "${CLI}" run --quiet --json-out "${file}"`;
  /** A shell pipeline, the CLI in it as a user types it; what the pipeline printed on stdout. */
  const shell = (line: string, home: string) => {
    const r = spawnSync('/bin/sh', ['-c', line], {
      encoding: 'utf8',
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CARBON_METER_'))),
        CARBON_METER_HOME: home,
        CARBON_METER_NVIDIA_SMI: '/nonexistent',
      },
    });
    return { stdout: r.stdout, stderr: r.stderr };
  };

  for (const [name, command, exitCode] of [
    ['seq (killed by SIGPIPE)', 'seq 1 2000000', 141],
    ['Python (BrokenPipeError, exit 1)', `${PYTHON} -c 'for i in range(10**7): print(i)'`, 1],
  ] as const) {
    it(`is recorded as stopped with a note, not as failed: ${name}`, () => {
      const h = tmpHome();
      const file = path.join(h, 'record.json');
      const r = shell(`${cliLine(file)} -- ${command} | head -1`, h);
      assert.equal(r.stdout, exitCode === 141 ? '1\n' : '0\n', r.stderr);
      const run: Run = JSON.parse(fs.readFileSync(file, 'utf8'));
      assert.equal(run.exitCode, exitCode);
      assert.equal(run.status, 'stopped');
      assert.match(run.notes?.join('\n') ?? '', /the reader of its stdout went away .* closed pipe \(exit \d+\)/);
    });
  }

  it('a command failing on its own with its reader still there stays failed', () => {
    const h = tmpHome();
    const file = path.join(h, 'record.json');
    const r = shell(`${cliLine(file)} -- sh -c 'echo a; exit 3' | cat`, h);
    assert.equal(r.stdout, 'a\n');
    const run: Run = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(run.status, 'failed');
    assert.equal(run.exitCode, 3);
  });
});
