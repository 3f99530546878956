/**
 * The accountant completes a job record slurmdbd has only half heard of (the batch step before the job's start)
 * from the controller, with the recorded outputs of this project's test cluster and small executables in place of
 * sacct and scontrol that log their arguments.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SlurmAccountant } from '../../src/core/slurm/accountant';
import { SlurmCommands } from '../../src/core/slurm/commands';

const FIX = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'slurm');
const BEFORE_START = path.join(FIX, 'local-22.05-before-job-start.parsable2.txt');
const SHOW_JOB = path.join(FIX, 'local-22.05-scontrol-show-job.txt');
const COMPLETE = path.join(FIX, 'local-22.05-steps-array.parsable2.txt');

/** sacct prints `sacctOut`; `scontrol show job` prints `showJob` or, without it, fails as for a purged job. */
function fakeSlurm(dir: string, sacctOut: string, showJob?: string): { bin: string; calls: () => string[] } {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const log = path.join(dir, 'calls.log');
  fs.writeFileSync(path.join(bin, 'sacct'), `#!/bin/sh\necho "sacct $*" >> "${log}"\ncat "${sacctOut}"\n`, {
    mode: 0o755,
  });
  const job = showJob ? `cat "${showJob}"` : 'echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1';
  fs.writeFileSync(
    path.join(bin, 'scontrol'),
    `#!/bin/sh\necho "scontrol $*" >> "${log}"\nif [ "$2" = job ]; then ${job}; fi\n`,
    { mode: 0o755 },
  );
  return { bin, calls: () => fs.readFileSync(log, 'utf8').trim().split('\n') };
}

describe('SLURM accountant: a record slurmdbd has only half heard of', () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-slurm-acct-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const account = async (fake: { bin: string }, jobId: string, logs: string[] = []) => {
    const commands = new SlurmCommands({ binDir: fake.bin });
    const accountant = new SlurmAccountant(commands, {
      clusters: () => ({ testcluster: { region: 'FR', pue: 1.2 } }),
      log: (_l, m) => logs.push(m),
    });
    const runs = await accountant.runs(await commands.sacct([jobId]));
    return runs.find((r) => r.id.endsWith(jobId))!;
  };

  it('takes the name and folder from scontrol show job when sacct has the placeholder "allocation" and no WorkDir', async () => {
    const fake = fakeSlurm(tmp, BEFORE_START, SHOW_JOB);
    const run = await account(fake, '523');
    assert.equal(run.cwd, '/tmp/cm-slurm-work-fixture');
    assert.equal(run.name, 'burn1 (SLURM 523)');
    assert.equal(run.status, 'completed');
    assert.ok(Math.abs(run.cpuSeconds - 1.109) < 1e-9, 'the accounting figures are still sacct’s');
    assert.equal(fake.calls().filter((c) => c === 'scontrol show job 523').length, 1);
  });

  it('keeps the record as it is, without a warning, once the controller no longer knows the job', async () => {
    const fake = fakeSlurm(tmp, BEFORE_START);
    const logs: string[] = [];
    const run = await account(fake, '523', logs);
    assert.equal(run.cwd, '');
    assert.equal(run.name, 'allocation (SLURM 523)');
    assert.deepEqual(
      logs.filter((l) => /show job/.test(l)),
      [],
    );
  });

  it('asks the controller nothing when the record is complete', async () => {
    const fake = fakeSlurm(tmp, COMPLETE, SHOW_JOB);
    const run = await account(fake, '3');
    assert.ok(run.cwd.length > 0);
    assert.deepEqual(
      fake.calls().filter((c) => c.startsWith('scontrol show job')),
      [],
    );
  });
});
