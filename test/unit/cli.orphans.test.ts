/**
 * Work that leaves the process tree is still the run's: the CLI is the child subreaper of what it starts (Linux),
 * so processes that setsid, nohup or double-fork away are metered until they exit, and the run ends with the last.
 * Each orphan writes what the kernel accounted to it (os.times, or the shell's `times`), and the run record must
 * hold at least that, and not twice that. Real processes only.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { becomeSubreaper, notAdoptedNote } from '../../src/core/sampling/subreaper';
import type { Run } from '../../src/core/types';
import { runCli } from '../helpers/cli';

const ROOT = path.join(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const ORPHAN = path.join(ROOT, 'test', 'fixtures', 'workloads', 'orphan.py');
const PYTHON = process.env.PYTHON ?? 'python3';

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Sum of the CPU seconds the orphans reported for themselves (one "pid seconds" line each). */
function reported(file: string): { n: number; cpuS: number } {
  const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
  return { n: lines.length, cpuS: lines.reduce((s, l) => s + Number(l.split(' ')[1]), 0) };
}

async function meter(script: string): Promise<{ run: Run; stderr: string }> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-orphans-'));
  const r = await runCli(CLI, ['run', '--json', '--region', 'FR', '--interval', '0.5', '--', 'sh', '-c', script], {
    CARBON_METER_HOME: home,
  });
  assert.equal(r.code, 0, r.stderr);
  return { run: JSON.parse(r.stdout) as Run, stderr: r.stderr };
}

describe('carbon-meter run: processes that leave the tree', function () {
  this.timeout(300_000);
  before(function () {
    if (process.platform !== 'linux') this.skip(); // child subreapers are Linux only; elsewhere see the fallback test
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`);
  });

  const cases: [string, (out: string) => string][] = [
    ['setsid', (out) => `setsid ${PYTHON} ${quote(ORPHAN)} 1.0 ${quote(out)} &`],
    ['a double fork', (out) => `( ${PYTHON} ${quote(ORPHAN)} 1.0 ${quote(out)} & )`],
    ['nohup', (out) => `nohup ${PYTHON} ${quote(ORPHAN)} 1.0 ${quote(out)} >/dev/null 2>&1 &`],
  ];
  for (const [name, script] of cases) {
    it(`meters a process started with ${name} until it exits, after the command has ended`, async () => {
      const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-orphan-')), 'cpu.txt');
      const { run } = await meter(script(out));
      // the run ended with the orphan: it has written its line before exiting
      const k = reported(out);
      assert.equal(k.n, 1, 'the orphan finished before the run was closed');
      assert.ok(run.cpuSeconds >= k.cpuS - 0.02, `run ${run.cpuSeconds} CPU s, the orphan alone ${k.cpuS}`);
      // the shell and the Python start-up are on top; twice the orphan would be a double count
      assert.ok(run.cpuSeconds <= k.cpuS * 1.3 + 0.5, `run ${run.cpuSeconds} CPU s, the orphan alone ${k.cpuS}`);
      assert.equal(run.status, 'completed');
      assert.ok(
        run.notes?.some((n) => /outlived the command/.test(n)),
        `notes: ${JSON.stringify(run.notes)}`,
      );
    });
  }

  it('meters 150 orphans that each exit on their own, each exactly once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-orphans-'));
    const out = path.join(dir, 'times.txt');
    const release = path.join(dir, 'release');
    // each orphan is a shell that counts (about 50 ms of CPU: the orphans' own work must outweigh the start-ups,
    // which a loaded machine makes dearer), then appends its own user and system time: the `times` builtin run by
    // the shell itself (in `$(times)` or a pipeline a subshell would give its own times, zero)
    const own = `${quote(out)}.$$`;
    const orphan = `i=0; while [ $i -lt 60000 ]; do i=$((i+1)); done; times > ${own}; read t < ${own}; echo "$$ $t" >> ${quote(out)}`;
    // one more waits until the CLI has said that processes outlived the command: on a loaded machine all 150 may be
    // gone before the CLI looks, and then there is nothing that outlived it to say (no timing in this test)
    const waiter = `while [ ! -e ${quote(release)} ]; do sleep 0.05; done`;
    // the orphans' output goes to /dev/null, so they do not hold the CLI's output pipe
    const script = `for i in $(seq 150); do ( sh -c ${quote(orphan)} >/dev/null 2>&1 & ) ; done; ( sh -c ${quote(waiter)} >/dev/null 2>&1 & )`;
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-orphans-home-'));
    const record = path.join(dir, 'run.json');
    const args = ['run', '--json-out', record, '--region', 'FR', '--interval', '0.5', '--', 'sh', '-c', script];
    const r = await runCli(
      CLI,
      args,
      { CARBON_METER_HOME: home },
      {
        onStderr: (text) =>
          /outlived the command/.test(text) && !fs.existsSync(release) && fs.writeFileSync(release, ''),
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.existsSync(release), `the CLI said nothing outlived the command: ${r.stderr}`);
    const run = JSON.parse(fs.readFileSync(record, 'utf8')) as Run;
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines.length, 150, 'every orphan finished before the run was closed');
    const seconds = (v: string) => {
      const m = /^(\d+)m([\d.]+)s$/.exec(v);
      assert.ok(m, `times output ${v}`);
      return Number(m[1]) * 60 + Number(m[2]);
    };
    const kernelS = lines.reduce((s, l) => {
      const [, user, system] = l.split(' ');
      return s + seconds(user) + seconds(system);
    }, 0);
    console.log(`      run ${run.cpuSeconds} CPU s; the 150 orphans' own times ${kernelS.toFixed(2)} s`);
    assert.ok(run.cpuSeconds >= kernelS - 0.02, `run ${run.cpuSeconds} CPU s, orphans alone ${kernelS}`);
    // on top: 150 subshells and shell start-ups (a few ms each); a double count would be 2×
    assert.ok(
      run.cpuSeconds <= kernelS * 1.3 + 150 * 0.02 + 0.5,
      `run ${run.cpuSeconds} CPU s, orphans alone ${kernelS}`,
    );
    assert.ok(
      run.notes?.some((n) => /outlived the command/.test(n)),
      `notes: ${JSON.stringify(run.notes)}`,
    );
  });

  it('ends at once when nothing outlives the command', async () => {
    const { run, stderr } = await meter('true');
    assert.equal(run.status, 'completed');
    assert.ok(!run.notes?.some((n) => /outlived/.test(n)), JSON.stringify(run.notes));
    assert.doesNotMatch(stderr, /outlived/);
  });
});

describe('child subreaper fallback', () => {
  it('says why orphans cannot be kept where prctl does not exist, and the record says it too', () => {
    const r = becomeSubreaper('darwin');
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /Linux only \(this is darwin\)/);
    assert.match(notAdoptedNote('x'), /not metered after they leave it: x$/);
  });
});
