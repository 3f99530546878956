/**
 * `carbon-meter slurm` against a real SLURM: the single-node cluster with accounting of
 * scripts/slurm/local-cluster.sh (started here when it is not running and we are root). Jobs with known CPU work, a
 * job that fails, one cancelled while running, an array job, and --since. Every wait is on a job state, with a
 * generous deadline; nothing is timed. Skipped, with the reason printed, only when the cluster cannot be started.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Run } from '../../src/core/types';
import { runCli } from '../helpers/cli';

const ROOT = path.join(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const SCRIPT = path.join(ROOT, 'scripts', 'slurm', 'local-cluster.sh');
// a safety deadline, not a speed goal: on a loaded machine slurmctld schedules and slurmdbd records slowly
const DEADLINE_MS = 600_000;
const TERMINAL = /^(COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL|BOOT_FAIL|DEADLINE|PREEMPTED)/;

function sh(
  cmd: string,
  args: string[],
  opts: { cwd?: string } = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, timeout: 60_000 });
  return {
    status: r.error ? -1 : r.status,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + (r.error ? String(r.error) : ''),
  };
}

function clusterReady(): boolean {
  const r = sh('sinfo', ['-h', '-o', '%t']);
  return (
    r.status === 0 && /^(idle|mix|alloc)/m.test(r.stdout) && sh('sacctmgr', ['-n', 'list', 'cluster']).status === 0
  );
}

/** Why the cluster cannot be used, or undefined once it runs (started here if need be). */
function ensureCluster(): string | undefined {
  if (clusterReady()) return undefined;
  if (process.platform !== 'linux') return `SLURM tests need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0)
    return 'the local SLURM cluster is not running and starting it needs root (run scripts/slurm/local-cluster.sh start as root)';
  const r = spawnSync('bash', [SCRIPT, 'start'], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0)
    return `scripts/slurm/local-cluster.sh start failed (exit ${r.status}): ${(r.stderr || String(r.error ?? '')).trim().split('\n').slice(-3).join(' | ')}`;
  return clusterReady() ? undefined : 'the local SLURM cluster started but its node is not idle (sinfo)';
}

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  const end = Date.now() + DEADLINE_MS;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${DEADLINE_MS / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * sacct's own view of a job (its State and TotalCPU), once it matches `want`. Without -X: the job line's TotalCPU
 * is then sacct's sum over the steps (with -X it is 0 for a batch job).
 */
async function waitState(jobId: string, want: RegExp): Promise<{ state: string; totalCpu: string }> {
  return until(`job ${jobId} to reach ${want}`, () => {
    const r = sh('sacct', ['-n', '-P', '-j', jobId, '-o', 'JobID,State,TotalCPU']);
    const line = r.stdout.split('\n').find((l) => l.startsWith(`${jobId}|`));
    if (!line) return undefined;
    const [, state, totalCpu] = line.split('|');
    return want.test(state) ? { state, totalCpu } : undefined;
  });
}

/** TotalCPU as sacct prints it ([DD-][HH:]MM:SS[.mmm]) in seconds; independent of the code under test. */
function seconds(t: string): number {
  const [d, rest] = t.includes('-') ? t.split('-') : ['0', t];
  return rest.split(':').reduce((acc, p) => acc * 60 + Number(p), 0) + Number(d) * 86400;
}

function sbatch(dir: string, args: string[]): string {
  const r = sh('sbatch', ['--parsable', '-D', dir, ...args]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split(';')[0];
}

const BURN = (s: number) => `python3 -c "import time\nt=time.process_time()\nwhile time.process_time()-t<${s}: pass"`;

describe('carbon-meter slurm on a real SLURM cluster', function () {
  this.timeout(DEADLINE_MS * 2);
  let home: string;
  let work: string;

  before(function () {
    this.timeout(660_000);
    const why = ensureCluster();
    if (why) {
      console.log(`    SKIPPED (SLURM tests): ${why}`);
      this.skip();
    }
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is built (npm run build)');
  });
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-slurm-home-'));
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-slurm-work-'));
  });
  afterEach(() => {
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  const cli = (args: string[]) =>
    runCli(CLI, ['slurm', ...args], { CARBON_METER_HOME: home, CARBON_METER_REGION: 'FR' });
  const historyLines = () => fs.readFileSync(path.join(home, 'history.jsonl'), 'utf8').trim().split('\n');

  it('accounts a job with known CPU work: cpuSeconds within 5 % of sacct TotalCPU, recorded once', async () => {
    const id = sbatch(work, ['-J', 'burn3', '--wrap', BURN(3)]);
    const done = await waitState(id, TERMINAL);
    assert.equal(done.state, 'COMPLETED');
    const totalCpu = seconds(done.totalCpu);
    assert.ok(totalCpu >= 3, `sacct TotalCPU ${done.totalCpu} covers the 3 s of work`);
    const r = await cli([id, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const run = JSON.parse(r.stdout) as Run;
    assert.equal(run.source, 'slurm');
    assert.equal(run.status, 'completed');
    assert.equal(run.exitCode, 0);
    assert.ok(
      Math.abs(run.cpuSeconds - totalCpu) <= 0.05 * totalCpu,
      `cpuSeconds ${run.cpuSeconds} vs TotalCPU ${totalCpu}`,
    );
    assert.ok(run.cpuSeconds >= 3);
    assert.equal(run.intensity.region, 'FR');
    assert.ok(
      run.energyKWh.cpu > 0 && run.power.cpu.method !== 'measured',
      'modelled: the test cluster has no energy plugin',
    );
    assert.ok(run.notes?.some((n) => /SLURM recorded no energy/.test(n)));
    assert.equal(run.cwd, work);
    // asked again: not recorded twice
    const again = await cli([id]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already in the history/);
    // one line per part, each escaped alone: the layout's line breaks are not written as \n
    const lines = again.stdout.trimEnd().split('\n');
    assert.ok(lines.length >= 5, again.stdout);
    assert.match(lines[1], /^ {2}CPU /);
    assert.doesNotMatch(again.stdout, /\\n/);
    assert.equal(historyLines().length, 1);
  });

  it('records a failing job as failed with its exit code', async () => {
    const id = sbatch(work, ['-J', 'fails', '--wrap', 'echo going; exit 3']);
    assert.equal((await waitState(id, TERMINAL)).state, 'FAILED');
    const r = await cli([id, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const run = JSON.parse(r.stdout) as Run;
    assert.equal(run.status, 'failed');
    assert.equal(run.exitCode, 3);
    assert.ok(run.notes?.some((n) => /SLURM state FAILED, exit code 3:0/.test(n)));
  });

  it('shows a running job live and tracks it; once cancelled it is recorded as failed', async () => {
    const id = sbatch(work, ['-J', 'cancelme', '--wrap', 'exec sleep 600']);
    await until(`job ${id} to run`, () =>
      /RUNNING/.test(sh('squeue', ['-h', '-j', id, '-o', '%T']).stdout) ? true : undefined,
    );
    const live = await cli([id, '--json']);
    assert.equal(live.code, 0, live.stderr);
    const liveRun = JSON.parse(live.stdout) as Run;
    assert.equal(liveRun.status, 'running');
    assert.equal(liveRun.endedAt, undefined);
    assert.ok(
      !fs.existsSync(path.join(home, 'history.jsonl')) ||
        !fs.readFileSync(path.join(home, 'history.jsonl'), 'utf8').includes(liveRun.id),
      'a running job is not recorded',
    );
    assert.ok(
      fs.readdirSync(path.join(home, 'slurm', 'tracked')).some((f) => f.endsWith(`-${id}.json`)),
      'and it is tracked',
    );
    assert.equal(sh('scancel', [id]).status, 0);
    assert.match((await waitState(id, TERMINAL)).state, /^CANCELLED/);
    const r = await cli([id, '--json']);
    const run = JSON.parse(r.stdout) as Run;
    assert.equal(run.status, 'failed');
    assert.ok(
      run.notes?.some((n) => /SLURM state CANCELLED/.test(n)),
      JSON.stringify(run.notes),
    );
    assert.ok(run.endedAt);
    assert.ok(
      !fs.readdirSync(path.join(home, 'slurm', 'tracked')).some((f) => f.endsWith(`-${id}.json`)),
      'no longer tracked',
    );
  });

  it('accounts each task of an array job as a run of its own', async () => {
    const id = sbatch(work, ['-J', 'arr', '--array=1-3', '--wrap', BURN(1)]);
    const tasks = await until(`array ${id} to end`, () => {
      const out = sh('sacct', ['-n', '-P', '-j', id, '-o', 'JobID,State,TotalCPU'])
        .stdout.trim()
        .split('\n')
        .filter(Boolean);
      const rows = out.map((l) => l.split('|')).filter((x) => !x[0].includes('.'));
      return rows.length === 3 && rows.every((x) => TERMINAL.test(x[1])) ? rows : undefined;
    });
    const r = await cli([id, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const runs = JSON.parse(r.stdout) as Run[];
    assert.deepEqual(runs.map((x) => x.id).sort(), tasks.map((t) => `slurm-testcluster-${t[0]}`).sort());
    for (const t of tasks) {
      const run = runs.find((x) => x.id === `slurm-testcluster-${t[0]}`)!;
      assert.equal(run.status, 'completed');
      const total = seconds(t[2]);
      assert.ok(Math.abs(run.cpuSeconds - total) <= 0.05 * total, `${t[0]}: ${run.cpuSeconds} vs ${total}`);
    }
    assert.equal(historyLines().length, 3);
  });

  it('--since brings in recent jobs once', async () => {
    const id = sbatch(work, ['-J', 'since', '--wrap', 'true']);
    await waitState(id, TERMINAL);
    // sacct's time-window query (what --since reads) lists a job a moment after `sacct -j` shows it ended
    const since = new Date(Date.now() - 86_400_000);
    const p = (n: number) => String(n).padStart(2, '0');
    const s = `${since.getFullYear()}-${p(since.getMonth() + 1)}-${p(since.getDate())}T${p(since.getHours())}:${p(since.getMinutes())}:${p(since.getSeconds())}`;
    await until(`sacct -S to list job ${id}`, () =>
      sh('sacct', ['-n', '-P', '-S', s, '-o', 'JobID']).stdout.split('\n').includes(id) ? true : undefined,
    );
    const first = await cli(['--since', '1d', '--json']);
    assert.equal(first.code, 0, first.stderr);
    const runs = JSON.parse(first.stdout) as Run[];
    assert.ok(runs.some((x) => x.id === `slurm-testcluster-${id}`));
    assert.ok(runs.every((x) => x.source === 'slurm' && x.status !== 'running'));
    const second = await cli(['--since', '1d', '--json']);
    assert.equal(second.code, 0, second.stderr);
    // nothing is brought in twice; a job that ended between the two calls is new (on a cluster shared with other
    // users, or with a second test suite, one can)
    const again = JSON.parse(second.stdout) as Run[];
    const firstIds = new Set(runs.map((x) => x.id));
    assert.deepEqual(
      again.filter((x) => firstIds.has(x.id)).map((x) => x.id),
      [],
      'nothing brought in twice',
    );
    assert.ok(!again.some((x) => x.id === `slurm-testcluster-${id}`));
    assert.equal(historyLines().length, runs.length + again.length);
  });

  it('bad input: a clear message, no stack trace', async () => {
    const r = await cli(['12abc']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /"12abc" is not a SLURM job id/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    const gone = await cli(['999999']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /job 999999 is unknown to sacct and squeue/);
    const missing = await runCli(CLI, ['slurm', '1'], {
      CARBON_METER_HOME: home,
      CARBON_METER_SLURM_BIN: path.join(work, 'nothing-here'),
    });
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /sacct not found in .*nothing-here/);
  });
});
