/**
 * The SLURM job tracker: one sacct call per 30 s for every tracked job together (an injected clock, no waiting),
 * recording each finished job once, reconciling jobs tracked by an earlier session, and SLURM commands that are
 * missing, failing or hanging. The SLURM commands are small executables that log their arguments and print
 * recorded sacct output (like the fake nvidia-smi of the power tests); test/unit/slurm.cluster.test.ts runs the
 * real ones.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HistoryStore } from '../../src/core/history/store';
import { SlurmAccountant } from '../../src/core/slurm/accountant';
import { SlurmCommandError, SlurmCommands } from '../../src/core/slurm/commands';
import { SlurmJobStore } from '../../src/core/slurm/jobStore';
import { MIN_POLL_INTERVAL_MS, SlurmTracker, type Clock } from '../../src/core/slurm/tracker';
import type { Run } from '../../src/core/types';

const FIX = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'slurm');
const FINAL = fs.readFileSync(path.join(FIX, 'local-22.05-steps-array.parsable2.txt'), 'utf8');
/** the same jobs while they ran: job 3 RUNNING, array 4 with one task running and one pending */
const RUNNING = [
  'JobID|JobIDRaw|JobName|State|ExitCode|Cluster|User|WorkDir|Submit|Start|End|ElapsedRaw|TotalCPU|AllocCPUS|NNodes|NodeList|AllocTRES|ConsumedEnergyRaw',
  '3|3|steps|RUNNING|0:0|testcluster|root|/tmp/slurmrec|1795655792|1795655793|Unknown|5|00:00:00|2|1|vm|billing=2,cpu=2,mem=512M,node=1|',
  '4_1|5|arr|RUNNING|0:0|testcluster|root|/tmp/slurmrec|1795655792|1795655808|Unknown|1|00:00:00|1|1|vm|billing=1,cpu=1,mem=256M,node=1|',
  '4_[2]|4|arr|PENDING|0:0|testcluster|root|/tmp/slurmrec|1795655792|Unknown|Unknown|0|00:00:00|1|1|None assigned||',
  '',
].join('\n');

class ManualClock implements Clock {
  t = 1_000_000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  /** Moves time forward, firing the timers that fall due, and waits for the tracker's poll to finish. */
  async advance(ms: number, tracker: SlurmTracker): Promise<void> {
    const until = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
      await tracker.idle();
    }
    this.t = until;
  }
}

function fakeSlurm(dir: string): { bin: string; log: string; out: string; calls: () => string[] } {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const log = path.join(dir, 'calls.log');
  const out = path.join(dir, 'sacct.out');
  for (const cmd of ['sacct', 'squeue']) {
    fs.writeFileSync(path.join(bin, cmd), `#!/bin/sh\necho "${cmd} $*" >> "${log}"\ncat "${out}"\n`, { mode: 0o755 });
  }
  return {
    bin,
    log,
    out,
    calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []),
  };
}

function setup(binDir: string, clock: ManualClock, home: string, onCall?: (c: string) => void) {
  const history = new HistoryStore(home);
  const jobs = new SlurmJobStore(history.dir);
  const commands = new SlurmCommands({ binDir, onCall });
  const accountant = new SlurmAccountant(commands, { clusters: () => ({ testcluster: { region: 'FR', pue: 1.2 } }) });
  const logs: string[] = [];
  const tracker = new SlurmTracker({ commands, accountant, jobs, history, clock, log: (_l, m) => logs.push(m) });
  return { history, jobs, tracker, logs };
}

describe('SLURM job tracker', () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-slurm-tracker-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('asks sacct at most once per 30 s for all jobs together, and records each finished job once', async () => {
    const fake = fakeSlurm(tmp);
    fs.writeFileSync(fake.out, RUNNING);
    const clock = new ManualClock();
    const home = path.join(tmp, 'home');
    const { history, jobs, tracker } = setup(fake.bin, clock, home);
    const recorded: Run[] = [];
    tracker.onRecorded((r) => recorded.push(r));

    tracker.add({
      jobId: '3',
      submittedAt: clock.now(),
      via: 'terminal',
      command: 'sbatch steps.sh',
      cwd: '/tmp/slurmrec',
    });
    await clock.advance(0, tracker);
    assert.deepEqual(fake.calls().length, 1, 'the first job is asked about at once');
    assert.equal(tracker.jobs()[0].state, 'RUNNING');

    // a second job and many requests within the interval: no call until 30 s after the first
    await clock.advance(1000, tracker);
    tracker.add({ jobId: '4', submittedAt: clock.now(), via: 'terminal', command: 'sbatch --array=1-2 …' });
    for (let i = 0; i < 20; i++) {
      tracker.requestPoll();
      await tracker.poll();
      await clock.advance(1000, tracker);
    }
    assert.equal(clock.now() - 1_000_000, 21_000);
    assert.equal(fake.calls().length, 1, 'no call within 30 s of the previous one');
    await clock.advance(MIN_POLL_INTERVAL_MS - 21_000 - 1, tracker);
    assert.equal(fake.calls().length, 1);
    await clock.advance(1, tracker);
    assert.equal(fake.calls().length, 2, 'one call 30 s after the previous');
    assert.match(fake.calls()[1], /^sacct .*-j 3,4 /, 'one call covers every tracked job');
    assert.deepEqual(
      tracker.jobs().map((j) => [j.jobId, j.state]),
      [
        ['3', 'RUNNING'],
        ['4', '1 RUNNING, 1 PENDING'],
      ],
    );
    assert.equal(recorded.length, 0);

    // the jobs end: the next poll (30 s later, not sooner) records job 3 and both array tasks
    fs.writeFileSync(fake.out, FINAL);
    await clock.advance(MIN_POLL_INTERVAL_MS - 1, tracker);
    assert.equal(fake.calls().length, 2);
    await clock.advance(1, tracker);
    assert.equal(fake.calls().length, 3);
    assert.deepEqual(recorded.map((r) => r.id).sort(), [
      'slurm-testcluster-3',
      'slurm-testcluster-4_1',
      'slurm-testcluster-4_2',
    ]);
    const runs = history.load().runs;
    assert.equal(runs.length, 3);
    const r3 = runs.find((r) => r.id === 'slurm-testcluster-3')!;
    assert.equal(r3.source, 'slurm');
    assert.equal(r3.command, 'sbatch steps.sh');
    assert.equal(r3.intensity.region, 'FR');
    assert.equal(r3.pue, 1.2);
    assert.equal(jobs.tracked().length, 0, 'finished jobs are no longer tracked');
    assert.deepEqual(tracker.jobs(), []);

    // nothing tracked: no more calls, however long
    await clock.advance(10 * MIN_POLL_INTERVAL_MS, tracker);
    assert.equal(fake.calls().length, 3);
    tracker.dispose();

    // the same job seen again (another window, the CLI) is not recorded twice
    assert.equal(jobs.record(history, r3), 'already');
    const lines = fs.readFileSync(history.historyPath, 'utf8').trim().split('\n');
    assert.equal(lines.length, 3);
  });

  it('reconciles the jobs an earlier session tracked (the window was closed while they ran)', async () => {
    const fake = fakeSlurm(tmp);
    fs.writeFileSync(fake.out, FINAL);
    const home = path.join(tmp, 'home');
    const earlier = new SlurmJobStore(new HistoryStore(home).dir);
    earlier.track({ jobId: '3', submittedAt: 1, via: 'terminal', command: 'sbatch steps.sh' });
    const clock = new ManualClock();
    const { history, tracker } = setup(fake.bin, clock, home);
    tracker.start();
    assert.deepEqual(
      tracker.jobs().map((j) => [j.jobId, j.state]),
      [['3', 'SUBMITTED']],
    );
    await clock.advance(0, tracker);
    assert.equal(fake.calls().length, 1);
    assert.deepEqual(
      history.load().runs.map((r) => r.id),
      ['slurm-testcluster-3'],
    );
    tracker.dispose();
  });

  it('asks every cluster at once when a job was submitted with -M, and keeps jobs of other clusters apart', async () => {
    const fake = fakeSlurm(tmp);
    fs.writeFileSync(fake.out, FINAL.replace(/\|testcluster\|/g, '|gpu|'));
    const clock = new ManualClock();
    const { tracker, history } = setup(fake.bin, clock, path.join(tmp, 'home'));
    tracker.add({
      jobId: '3',
      cluster: 'gpu',
      submittedAt: clock.now(),
      via: 'terminal',
      command: 'sbatch -M gpu steps.sh',
    });
    tracker.add({
      jobId: '4',
      cluster: 'other',
      submittedAt: clock.now(),
      via: 'terminal',
      command: 'sbatch -M other arr.sh',
    });
    await clock.advance(0, tracker);
    assert.equal(fake.calls().length, 1);
    assert.match(fake.calls()[0], /--clusters=all/);
    assert.deepEqual(
      history.load().runs.map((r) => r.id),
      ['slurm-gpu-3'],
      "job 4 of cluster gpu is not cluster other's job 4",
    );
    assert.deepEqual(
      tracker.jobs().map((j) => j.jobId),
      ['4'],
    );
    tracker.dispose();
  });

  it('says clearly when a SLURM command is missing, and does not retry in a loop', async () => {
    const empty = path.join(tmp, 'nobin');
    fs.mkdirSync(empty);
    const clock = new ManualClock();
    const calls: string[] = [];
    const { tracker, jobs } = setup(empty, clock, path.join(tmp, 'home'), (c) => calls.push(c));
    const problems: string[] = [];
    tracker.onProblem((p) => problems.push(p));
    tracker.add({ jobId: '5', submittedAt: clock.now(), via: 'terminal' });
    await clock.advance(0, tracker);
    await clock.advance(5 * MIN_POLL_INTERVAL_MS, tracker);
    assert.equal(problems.length, 1, 'one message, not one per poll');
    assert.deepEqual(calls, ['sacct'], 'a missing command is not tried again and again');
    assert.match(problems[0], /^sacct not found in .*nobin: SLURM's client commands are needed/);
    assert.equal(jobs.tracked().length, 1, 'the job stays tracked for a later session');
    tracker.dispose();
  });

  it('turns a hanging or failing SLURM command into a one-line error', async () => {
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'sacct'), '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
    fs.writeFileSync(
      path.join(bin, 'squeue'),
      '#!/bin/sh\necho "slurm_load_jobs error: Unable to contact slurm controller (connect failure)" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    const commands = new SlurmCommands({ binDir: bin, timeoutMs: 300 });
    await assert.rejects(
      commands.sacct(['1']),
      (e: unknown) =>
        e instanceof SlurmCommandError && e.kind === 'timeout' && /^sacct did not answer within 0.3 s/.test(e.message),
    );
    await assert.rejects(
      commands.squeue(['1']),
      (e: unknown) =>
        e instanceof SlurmCommandError &&
        e.kind === 'failed' &&
        e.message === 'squeue failed: slurm_load_jobs error: Unable to contact slurm controller (connect failure)',
    );
  });

  it('follows the jobs with squeue when accounting is unavailable, still one call per interval', async () => {
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    const log = path.join(tmp, 'calls.log');
    fs.writeFileSync(
      path.join(bin, 'sacct'),
      `#!/bin/sh\necho "sacct $*" >> "${log}"\necho "sacct: error: Problem talking to the database: Connection refused" >&2\nexit 1\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(
      path.join(bin, 'squeue'),
      `#!/bin/sh\necho "squeue $*" >> "${log}"\necho "8|RUNNING|0:42|1|vm"\n`,
      { mode: 0o755 },
    );
    const clock = new ManualClock();
    const { tracker } = setup(bin, clock, path.join(tmp, 'home'));
    const problems: string[] = [];
    tracker.onProblem((p) => problems.push(p));
    tracker.add({ jobId: '8', submittedAt: clock.now(), via: 'terminal' });
    await clock.advance(0, tracker);
    assert.match(problems[0], /sacct failed: .*Connection refused; following the jobs with squeue instead/);
    await clock.advance(MIN_POLL_INTERVAL_MS, tracker);
    const calls = fs.readFileSync(log, 'utf8').trim().split('\n');
    assert.deepEqual(
      calls.map((c) => c.split(' ')[0]),
      ['sacct', 'squeue'],
    );
    assert.deepEqual(
      tracker.jobs().map((j) => [j.jobId, j.state, j.elapsedS]),
      [['8', 'RUNNING', 42]],
    );
    tracker.dispose();
  });
});
