import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hostTag, readStartTicks } from '../../src/core/history/owner';
import { HistoryStore, INTERRUPTED_NOTE } from '../../src/core/history/store';
import type { Run } from '../../src/core/types';
import { makeRun } from '../helpers/history-runs';
import { deadPid, spawnHelper } from '../helpers/proc';

interface Checkpoint {
  run: Run;
  owner: { pid: number; host: string; heartbeatAt: string; startTicks?: number };
}

function readCheckpoints(dir: string): Map<string, Checkpoint> {
  const out = new Map<string, Checkpoint>();
  const running = path.join(dir, 'running');
  for (const name of fs.readdirSync(running)) {
    if (name.endsWith('.json'))
      out.set(name.slice(0, -5), JSON.parse(fs.readFileSync(path.join(running, name), 'utf8')));
  }
  return out;
}

function historyRunLines(dir: string): { run: Run }[] {
  return fs
    .readFileSync(path.join(dir, 'history.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((r) => r.kind === 'run');
}

/** Starts a meter process that checkpoints `n` runs every 100 ms, lets it write `rounds` rounds, then kill -9. */
async function killedMeter(dir: string, n: number, rounds: number): Promise<{ ids: string[]; pid: number }> {
  const meter = spawnHelper('history-checkpointer', [dir, String(n)]);
  const idsLine = await meter.waitForLine((l) => l.startsWith('ids '));
  await meter.waitForLine((l) => l === `round ${rounds}`);
  meter.child.kill('SIGKILL');
  const exit = await meter.exited;
  assert.equal(exit.signal, 'SIGKILL');
  return { ids: JSON.parse(idsLine.slice(4)), pid: meter.child.pid! };
}

describe('HistoryStore recovery (real processes)', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-recovery-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("recovers a run whose meter was killed with SIGKILL as interrupted, with its last checkpoint's energy", async function () {
    if (process.platform === 'win32') this.skip(); // no SIGKILL semantics to test there
    const { ids, pid } = await killedMeter(dir, 1, 5);
    const [id] = ids;
    const last = readCheckpoints(dir).get(id)!;
    assert.equal(last.owner.pid, pid);
    assert.ok(last.run.energyKWh.total > 0, 'the meter had metered something');

    const store = new HistoryStore(dir);
    // before recovery, the panel already shows it as interrupted, not running
    assert.equal(store.load().runs[0].status, 'interrupted');

    const recovered = store.recoverInterrupted();
    assert.equal(recovered.length, 1);
    const run = recovered[0];
    assert.equal(run.id, id);
    assert.equal(run.status, 'interrupted');
    assert.deepEqual(run.energyKWh, last.run.energyKWh);
    assert.equal(run.emissionsKg, last.run.emissionsKg);
    assert.equal(run.endedAt, last.owner.heartbeatAt);
    assert.equal(run.exitCode, null);
    assert.ok(run.notes?.includes(INTERRUPTED_NOTE));
    assert.ok(run.sampleCount! >= 5, `samples kept (${run.sampleCount})`);
    assert.equal(store.samples(id).length, run.sampleCount);

    const { runs, corrupt } = new HistoryStore(dir).load();
    assert.deepEqual(corrupt, []);
    assert.deepEqual(runs, [run]);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'running')), [], 'checkpoint and claim removed');
    assert.deepEqual(store.recoverInterrupted(), [], 'nothing left to recover');
    assert.equal(historyRunLines(dir).length, 1);
  });

  it('two concurrent recoverers in two processes recover each run exactly once', async function () {
    if (process.platform === 'win32') this.skip();
    for (let round = 0; round < 3; round++) {
      const roundDir = path.join(dir, `round-${round}`);
      const { ids } = await killedMeter(roundDir, 8, 3);
      const checkpoints = readCheckpoints(roundDir);
      assert.equal(checkpoints.size, 8);

      const a = spawnHelper('history-recoverer', [roundDir]);
      const b = spawnHelper('history-recoverer', [roundDir]);
      await Promise.all([a.waitForLine((l) => l === 'ready'), b.waitForLine((l) => l === 'ready')]);
      a.send('go');
      b.send('go');
      const [ra, rb] = await Promise.all(
        [a, b].map(
          async (h) => JSON.parse((await h.waitForLine((l) => l.startsWith('recovered '))).slice(10)) as string[],
        ),
      );
      await Promise.all([a.exited, b.exited]);
      assert.equal(a.stderr() + b.stderr(), '');

      assert.equal(ra.length + rb.length, 8, `recovered ${ra.length} + ${rb.length}`);
      assert.deepEqual([...ra, ...rb].sort(), [...ids].sort());
      const lines = historyRunLines(roundDir);
      assert.equal(lines.length, 8, 'one history line per run');
      for (const { run } of lines) {
        assert.equal(run.status, 'interrupted');
        assert.deepEqual(run.energyKWh, checkpoints.get(run.id)!.run.energyKWh);
      }
      assert.deepEqual(fs.readdirSync(path.join(roundDir, 'running')), []);
    }
  });

  it('leaves alone a checkpoint whose owner is alive: this process, or another host with a fresh heartbeat', () => {
    const store = new HistoryStore(dir);
    const mine = makeRun({ status: 'running', name: 'mine' });
    store.checkpoint(mine);
    const foreign = makeRun({ status: 'running', name: 'foreign' });
    writeCheckpoint(dir, foreign, { pid: 1, host: 'another-host', heartbeatAt: new Date().toISOString() });
    assert.deepEqual(store.recoverInterrupted(), []);
    assert.deepEqual(
      store
        .load()
        .runs.map((r) => r.status)
        .sort(),
      ['running', 'running'],
    );
  });

  it('recovers a checkpoint from another host once its heartbeat is older than a day', () => {
    const store = new HistoryStore(dir);
    const run = makeRun({ status: 'running' });
    const heartbeatAt = new Date(Date.now() - 25 * 3600 * 1000).toISOString();
    writeCheckpoint(dir, run, { pid: 1, host: 'another-host', heartbeatAt });
    const [rec] = store.recoverInterrupted();
    assert.equal(rec.id, run.id);
    assert.equal(rec.endedAt, heartbeatAt);
  });

  it('recovers a checkpoint whose pid was reused by another process (start time differs)', function () {
    if (readStartTicks(process.pid) === undefined) this.skip(); // Linux only
    const store = new HistoryStore(dir);
    const run = makeRun({ status: 'running' });
    // the parent of this process is alive, but it is not the process that wrote the checkpoint
    writeCheckpoint(dir, run, {
      pid: process.ppid,
      host: os.hostname(),
      heartbeatAt: new Date().toISOString(),
      startTicks: readStartTicks(process.ppid)! + 1,
    });
    assert.deepEqual(
      store.recoverInterrupted().map((r) => r.id),
      [run.id],
    );
  });

  it('takes over the claim of a recoverer that died mid-recovery, without duplicating an append', async () => {
    const store = new HistoryStore(dir);
    const dead = await deadPid();
    // A died after claiming, before appending
    const a = makeRun({ status: 'running', name: 'a' });
    writeCheckpoint(
      dir,
      a,
      { pid: dead, host: os.hostname(), heartbeatAt: new Date().toISOString() },
      `.recovering-${dead}-${hostTag()}`,
    );
    // B died after appending, before removing its claim
    const b = makeRun({ status: 'running', name: 'b' });
    const bOwner = { pid: dead, host: os.hostname(), heartbeatAt: new Date().toISOString() };
    writeCheckpoint(dir, b, bOwner, `.recovering-${dead}-${hostTag()}`);
    store.append({ ...b, status: 'interrupted', endedAt: bOwner.heartbeatAt, notes: [INTERRUPTED_NOTE] });

    // while claimed, load() shows both as interrupted rather than losing them
    assert.deepEqual(
      store
        .load()
        .runs.map((r) => [r.name, r.status])
        .sort(),
      [
        ['a', 'interrupted'],
        ['b', 'interrupted'],
      ],
    );
    assert.deepEqual(
      store.recoverInterrupted().map((r) => r.name),
      ['a'],
    );
    assert.deepEqual(fs.readdirSync(path.join(dir, 'running')), []);
    assert.equal(historyRunLines(dir).length, 2);
  });

  it('does not turn a finished run into an interrupted one when finish() died before removing the checkpoint', async () => {
    const store = new HistoryStore(dir);
    const run = makeRun({ status: 'running' });
    writeCheckpoint(dir, run, { pid: await deadPid(), host: os.hostname(), heartbeatAt: new Date().toISOString() });
    store.append({ ...run, status: 'completed' });
    assert.deepEqual(store.recoverInterrupted(), []);
    assert.equal(store.get(run.id)?.status, 'completed');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'running')), []);
  });

  it('a deleted run is not brought back by recovery', async () => {
    const store = new HistoryStore(dir);
    const run = makeRun({ status: 'running' });
    writeCheckpoint(dir, run, { pid: await deadPid(), host: os.hostname(), heartbeatAt: new Date().toISOString() });
    store.delete(run.id);
    assert.deepEqual(store.load().runs, []);
    assert.deepEqual(store.recoverInterrupted(), []);
    assert.deepEqual(store.load().runs, []);
  });
});

function writeCheckpoint(
  dir: string,
  run: Run,
  owner: { pid: number; host: string; heartbeatAt: string; startTicks?: number },
  suffix = '',
): void {
  fs.mkdirSync(path.join(dir, 'running'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'running', `${run.id}.json${suffix}`), JSON.stringify({ v: 1, run, owner }));
}
