/**
 * The history's change events: a store tells its own appends at once (with the records) and its watcher skips its
 * own writes, so a window's checkpoints every 10 s cause no reload at all; other writers' appends and checkpoints are
 * reported, and told apart. Real files in a temporary folder; a real process metered through /proc where it exists.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TodayRuns, periodTotals } from '../../src/core/view/totals';
import { OwnWrites, type ExternalChange, type HistoryAppend } from '../../src/core/history/changes';
import { HistoryStore } from '../../src/core/history/store';
import { StaticIntensityProvider } from '../../src/core/intensity/provider';
import { resolveRegion } from '../../src/core/intensity/regions';
import { LiveRuns } from '../../src/core/meter/live';
import { MeterHub } from '../../src/core/meter/hub';
import type { MeterEnvironment } from '../../src/core/meter/meter';
import type { Run } from '../../src/core/types';
import { makeRun } from '../helpers/history-runs';

const DEADLINE_MS = 60_000;

/** Resolves with the next value `subscribe` delivers; fails clearly after the safety deadline. */
function next<T>(queue: T[], wake: { fn?: () => void }, what: string): Promise<T> {
  if (queue.length) return Promise.resolve(queue.shift()!);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${DEADLINE_MS / 1000} s`)), DEADLINE_MS);
    wake.fn = () => {
      clearTimeout(timer);
      wake.fn = undefined;
      resolve(queue.shift()!);
    };
  });
}

describe('history: change events', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-changes-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('OwnWrites', () => {
    const st = (size: number, ino = 7, dev = 1) => ({ size, ino, dev }) as fs.Stats;

    it('accounts for an own append only when nobody else wrote around it', () => {
      const own = new OwnWrites();
      own.startFrom(st(100));
      own.appended(1, 7, 100, 50, 150);
      assert.equal(own.historyChanged(st(150)), false, 'exactly our bytes: no change');
      // another writer came in between our fstat and our write: the file grew by more than we wrote
      own.appended(1, 7, 150, 50, 260);
      assert.equal(own.historyChanged(st(260)), true);
      // another writer appended before us: the file was not the size we accounted for
      own.appended(1, 7, 300, 20, 320);
      assert.equal(own.historyChanged(st(320)), true);
      assert.equal(own.historyChanged(st(320)), false, 'reported once');
    });

    it('a replaced or removed file is a change', () => {
      const own = new OwnWrites();
      own.startFrom(st(100));
      assert.equal(own.historyChanged(st(100, 8)), true, 'another inode');
      assert.equal(own.historyChanged(undefined), true, 'removed');
      assert.equal(own.historyChanged(undefined), false);
      own.appended(1, 8, 0, 10, 10); // nothing accounted (no file): not ours to claim
      assert.equal(own.historyChanged(st(10, 8)), true);
    });

    it('knows its own checkpoint names', () => {
      const own = new OwnWrites();
      own.checkpointed('20261126T040000Z-abc-000001', 1000);
      assert.ok(own.isOwnCheckpointName('20261126T040000Z-abc-000001.json'));
      assert.ok(!own.isOwnCheckpointName('20261126T040000Z-abc-000002.json'));
      assert.ok(
        !own.isOwnCheckpointName('20261126T040000Z-abc-000001.json.recovering-12-0a0b0c0d'),
        'a claim is someone else recovering',
      );
      assert.ok(own.isOwnRunningDirMtime(1000));
      assert.ok(!own.isOwnRunningDirMtime(1001));
    });
  });

  describe('store and watcher, real files', () => {
    it('own appends, checkpoints and deletes are told at once and never echoed; other writers are reported by kind', async () => {
      const store = new HistoryStore(dir, { durable: false });
      const other = new HistoryStore(dir, { durable: false });
      const appended: HistoryAppend[] = [];
      const external: ExternalChange[] = [];
      const wake: { fn?: () => void } = {};
      const subs = [
        store.onAppended((a) => appended.push(a)),
        store.watch((c) => {
          external.push(c);
          wake.fn?.();
        }, 50),
      ];
      try {
        const live = makeRun({ name: 'live', status: 'running' });
        for (let i = 0; i < 5; i++) store.checkpoint(live, [{ t: Date.now() + i, cpuW: 1, gpuW: 0, ramW: 1 }]);
        const done = makeRun({ name: 'done' });
        store.append(done);
        store.delete(done.id);
        store.finish({ ...live, status: 'completed' });
        assert.deepEqual(
          appended.map((a) => [a.runs.map((r) => r.name), a.deletedIds]),
          [
            [['done'], []],
            [[], [done.id]],
            [['live'], []],
          ],
        );
        // another writer appends: the one report says "appended", not "checkpoints" (ours were skipped)
        other.append(makeRun({ name: 'from another window' }));
        assert.deepEqual(await next(external, wake, 'report of the other append'), {
          appended: true,
          checkpoints: false,
        });
        // another writer checkpoints while we append: "checkpoints" only
        store.append(makeRun({ name: 'ours again' }));
        other.checkpoint(makeRun({ name: 'their live run', status: 'running' }));
        assert.deepEqual(await next(external, wake, 'report of the other checkpoint'), {
          appended: false,
          checkpoints: true,
        });
        assert.equal(external.length, 0, JSON.stringify(external));
        assert.ok(store.load().runs.some((r) => r.name === 'from another window'));
      } finally {
        for (const s of subs) s.dispose();
      }
    });

    it('a metered run checkpoints every 10 s without a single history change; its end is told once', async function () {
      if (!fs.existsSync('/proc/self/stat')) this.skip();
      const store = new HistoryStore(dir, { durable: false });
      const env: MeterEnvironment = {
        hardware: { cpuModel: 'Test CPU', logicalCpus: 2, ramGB: 16, gpus: [] },
        cpu: { kind: 'tdp', tdp: { tdpW: 100, method: 'modelled', source: 'test', detail: 'TDP 100 W (test)' } },
        gpu: { unavailable: 'no GPU in this test' },
        ramWPerGB: 0.375,
        intensity: new StaticIntensityProvider(),
        procRoot: '/proc',
        clkTck: 100,
        pageSize: 4096,
      };
      const hub = new MeterHub(env, store, { intervalMs: 3_600_000 }); // the test drives the ticks
      const child: ChildProcess = spawn('sleep', ['120'], { stdio: 'ignore' });
      const appended: HistoryAppend[] = [];
      const external: ExternalChange[] = [];
      const wake: { fn?: () => void } = {};
      const subs = [
        store.onAppended((a) => appended.push(a)),
        store.watch((c) => {
          external.push(c);
          wake.fn?.();
        }, 50),
      ];
      // an independent observer proves that the checkpoint file really is rewritten
      const writes: string[] = [];
      const observer = fs.watch(
        path.join(dir, 'running'),
        (_e, name) => name && !String(name).includes('.tmp-') && writes.push(String(name)),
      );
      try {
        const place = { region: resolveRegion('DE'), reason: 'test', guessed: false, pue: 1, pueSource: 'test' };
        const meter = hub.start({ pid: child.pid!, command: 'sleep 120', cwd: dir, source: 'terminal', place });
        const t0 = Date.now();
        for (let k = 1; k <= 6; k++) await hub.tickAll(t0 + k * 10_000);
        const file = `${meter.run.id}.json`;
        const deadline = Date.now() + DEADLINE_MS;
        while (writes.filter((n) => n === file).length < 6 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        assert.ok(writes.filter((n) => n === file).length >= 6, `checkpoint writes seen: ${writes.length}`);
        const finished: Run[] = [];
        hub.onRunFinished((r) => finished.push(r));
        await hub.stop(meter.run.id);
        assert.equal(finished.length, 1);
        assert.equal(appended.length, 1, 'the end of the run: one record, told at once');
        assert.equal(appended[0].runs[0].id, meter.run.id);
        // the sentinel: another writer's append is the first and only report
        new HistoryStore(dir, { durable: false }).append(makeRun({ name: 'sentinel' }));
        assert.deepEqual(await next(external, wake, 'report of the sentinel'), { appended: true, checkpoints: false });
        assert.equal(external.length, 0, 'history reloads caused by own checkpoints: 0');
      } finally {
        observer.close();
        for (const s of subs) s.dispose();
        hub.dispose();
        child.kill('SIGKILL');
      }
    });
  });

  describe('consumers keep what events carry', () => {
    it('TodayRuns: the panel\'s "today" (running runs included), from a full read and from appends', () => {
      const now = Date.now();
      const midnight = new Date(now);
      midnight.setHours(0, 0, 0, 0);
      const y = makeRun({ name: 'yesterday' }, { startedAt: new Date(midnight.getTime() - 3600_000) });
      const a = makeRun({ name: 'a' }, { startedAt: new Date(Math.max(midnight.getTime(), now - 60_000)) });
      const running = makeRun(
        { name: 'running', status: 'running' },
        { startedAt: new Date(Math.max(midnight.getTime(), now - 30_000)) },
      );
      const today = new TodayRuns();
      today.reset([y, a, running], now);
      const expected = periodTotals([y, a, running], now)[0];
      assert.equal(today.totals(now).runs, 2);
      assert.equal(today.totals(now).running, 1);
      assert.equal(today.totals(now).emissionsKg, expected.emissionsKg);
      today.upsert({ ...running, status: 'completed', emissionsKg: running.emissionsKg * 2 }, now);
      today.delete(a.id);
      assert.equal(today.totals(now).runs, 1);
      assert.equal(today.totals(now).emissionsKg, running.emissionsKg * 2);
      // tomorrow: nothing of today is left
      assert.equal(today.totals(midnight.getTime() + 36 * 3600_000).runs, 0);
    });

    it('LiveRuns: sums the readings; a reading after the end is ignored', () => {
      const r1 = makeRun({ name: 'one', status: 'running' });
      const r2 = makeRun({ name: 'two', status: 'running' });
      const live = new LiveRuns();
      live.started(r1);
      live.reading({ runId: r1.id, t: 1, elapsedS: 1, run: r1, powerW: { cpu: 10, gpu: 0, ram: 2, total: 12 } });
      live.reading({ runId: r2.id, t: 1, elapsedS: 1, run: r2, powerW: { cpu: 30, gpu: 100, ram: 2, total: 132 } });
      assert.deepEqual(live.totals(), { emissionsKg: r1.emissionsKg + r2.emissionsKg, powerW: 144 });
      live.finished(r1);
      const ended = { ...r1, status: 'completed' as const };
      live.reading({ runId: r1.id, t: 2, elapsedS: 2, run: ended, powerW: { cpu: 10, gpu: 0, ram: 2, total: 12 } });
      assert.deepEqual(
        live.list().map((r) => r.name),
        ['two'],
      );
      assert.equal(live.get(r2.id), r2);
    });
  });
});
