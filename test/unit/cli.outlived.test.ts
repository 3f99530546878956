/**
 * How many processes outlived the command, as `carbon-meter run` says it (stderr) and records it (the run's note):
 * exactly the processes still running when the command exited, each once; of them, the orphans adopted by the CLI
 * (the child subreaper) and the processes these had started; and the orphans adopted over the whole run when some
 * ended before the command. Real processes: the orphans are `sleep`s that cannot end on their own during the test;
 * the test ends them once the CLI has said that they outlived the command (no timing).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Run } from '../../src/core/types';
import { runCli } from '../helpers/cli';

const ROOT = path.join(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function pidsIn(file: string): number[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split(/\s+/).filter(Boolean).map(Number);
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

/**
 * Meters `sh -c script`; once the CLI says that processes outlived the command, the pids listed in `pidsFile` are
 * ended (SIGTERM). A safety deadline ends them too, and the test then fails on the missing message.
 */
async function meterUntilTold(
  script: string,
  pidsFile: string,
  sampling = ['--interval', '0.5'],
): Promise<{ run: Run; stderr: string }> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-outlived-home-'));
  const record = path.join(path.dirname(pidsFile), 'run.json');
  let told = false;
  const safety = setTimeout(() => killAll(pidsIn(pidsFile)), 90_000);
  try {
    const args = ['run', '--json-out', record, '--region', 'FR', ...sampling, '--', 'sh', '-c', script];
    const r = await runCli(
      CLI,
      args,
      { CARBON_METER_HOME: home },
      {
        onStderr: (text) => {
          if (told || !/outlived the command/.test(text)) return;
          told = true;
          killAll(pidsIn(pidsFile));
        },
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.ok(told, `the CLI never said that processes outlived the command: ${r.stderr}`);
    return { run: JSON.parse(fs.readFileSync(record, 'utf8')) as Run, stderr: r.stderr };
  } finally {
    clearTimeout(safety);
    killAll(pidsIn(pidsFile));
  }
}

function outlivedNote(run: Run): string {
  const notes = (run.notes ?? []).filter((n) => /outlived the command/.test(n));
  assert.equal(notes.length, 1, `notes: ${JSON.stringify(run.notes)}`);
  return notes[0];
}

describe('carbon-meter run: how many processes outlived the command', function () {
  this.timeout(180_000);
  before(function () {
    if (process.platform !== 'linux') this.skip(); // child subreapers are Linux only
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`);
  });

  it('counts K detached orphans as K, each adopted once, however long the run is metered', async () => {
    const K = 12;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-outlived-'));
    const pids = path.join(dir, 'pids');
    // each subshell starts a sleep that outlives it (a double fork), writes its pid, and exits
    const script = `for i in $(seq ${K}); do ( sleep 300 >/dev/null 2>&1 & echo $! >> ${quote(pids)} ); done`;
    const { run, stderr } = await meterUntilTold(script, pids);
    assert.equal(pidsIn(pids).length, K);
    assert.match(stderr, new RegExp(`\\b${K} process\\(es\\) outlived the command`));
    const note = outlivedNote(run);
    assert.match(
      note,
      new RegExp(`^${K} process\\(es\\) outlived the command \\(still running at the first look after it exited: `),
    );
    assert.match(note, new RegExp(`: ${K} orphan\\(s\\) adopted by the meter`));
    // the sleeps start nothing, and no orphan ended before the command
    assert.doesNotMatch(note, /these had started|over the whole run/);
    assert.equal(run.status, 'completed');
  });

  it('counts the processes the orphans had started apart, and not the orphans that ended before the command', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-outlived-'));
    const pids = path.join(dir, 'pids');
    const early = path.join(dir, 'early');
    // one orphan ends before the command does (it says so, then the command goes on)
    const gone = `( sh -c ${quote(`echo $$ > ${quote(early)}`)} & ); while [ ! -s ${quote(early)} ]; do sleep 0.05; done`;
    // one orphan shell starts two sleeps; the command ends once the three are running
    // (the sleeps are ended by the test, the shell then exits by itself: it is never orphaned, they never are)
    const shPid = path.join(dir, 'sh-pid');
    const inner = `sleep 300 & echo $! >> ${quote(pids)}; sleep 300 & echo $! >> ${quote(pids)}; echo $$ > ${quote(shPid)}; wait`;
    const family = `( sh -c ${quote(inner)} >/dev/null 2>&1 & ); while [ ! -s ${quote(shPid)} ]; do sleep 0.05; done`;
    // and two plain orphans
    const plain = `for i in 1 2; do ( sleep 300 >/dev/null 2>&1 & echo $! >> ${quote(pids)} ); done`;
    const { run } = await meterUntilTold(`${gone}; ${family}; ${plain}`, pids);
    assert.equal(pidsIn(pids).length, 4);
    const note = outlivedNote(run);
    // the orphan shell and its two sleeps, the two plain sleeps: 5, of which 3 orphans (the shell, the plain sleeps);
    // over the whole run, the early one too
    assert.match(
      note,
      /^5 process\(es\) outlived the command \(still running at the first look after it exited: 3 orphan\(s\) adopted by the meter \(background, setsid, nohup or daemon\) and 2 process\(es\) these had started; 4 orphan\(s\) adopted over the whole run, counting those that ended before the command or started after it\)/,
    );
  });

  // The run ends when its last process exits: its record ends after the orphan's last act. That no tick is needed
  // for it (the end is seen on the adopter's SIGCHLD) is shown without a clock in meter.hub.test.ts, where the ticks
  // never run; here the real subreaper and real orphans, each writing the time it exits at (its last act).
  const PYTHON = process.env.PYTHON ?? 'python3';
  const cases: [string, (pids: string, exitFile: string) => string][] = [
    [
      // the adopted shell's child is quiet (read only every few ticks); the shell reaps it, then exits itself
      'a setsid shell whose quiet child ends first',
      (pids, exitFile) =>
        `setsid sh -c ${quote(`sleep 300 & echo $! > ${quote(pids)}; wait; date +%s%N > ${quote(exitFile)}`)} >/dev/null 2>&1 &`,
    ],
    [
      'a nohup process',
      (pids, exitFile) =>
        `nohup ${PYTHON} -c ${quote(
          'import os, signal, sys, time\n' +
            'def bye(*_):\n' +
            `    open(${JSON.stringify(exitFile)}, "w").write(str(time.time_ns()))\n` +
            '    os._exit(0)\n' +
            'signal.signal(signal.SIGTERM, bye)\n' +
            `open(${JSON.stringify(pids)}, "w").write(str(os.getpid()))\n` +
            'while True: time.sleep(60)\n',
        )} >/dev/null 2>&1 &`,
    ],
  ];
  for (const [name, orphan] of cases) {
    it(`ends the run when its last process exits (${name})`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-outlived-'));
      const pids = path.join(dir, 'pids');
      const exitFile = path.join(dir, 'exit');
      // the command ends once the orphan has said which pid to end
      const script = `${orphan(pids, exitFile)} while [ ! -s ${quote(pids)} ]; do sleep 0.02; done`;
      const { run } = await meterUntilTold(script, pids, ['--interval', '3600', '--checkpoint', '10']);
      assert.ok(fs.existsSync(exitFile), 'the orphan did not write its exit time');
      const exitedMs = Number(fs.readFileSync(exitFile, 'utf8').trim()) / 1e6;
      const endedMs = Date.parse(run.endedAt!);
      assert.ok(Number.isFinite(exitedMs) && Number.isFinite(endedMs), `${exitedMs} ${run.endedAt}`);
      // the record ends after the orphan's last act (the clock's millisecond included)
      assert.ok(endedMs >= Math.floor(exitedMs) - 1, `ended ${run.endedAt}, the orphan exited at ${exitedMs}`);
      assert.equal(run.durationS, (endedMs - Date.parse(run.startedAt)) / 1000);
      assert.match(outlivedNote(run), /metered until the last exited/);
      assert.equal(run.status, 'completed');
    });
  }
});
