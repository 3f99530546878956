import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HistoryStore, INTERRUPTED_NOTE, newRunId } from '../../src/core/history/store';
import type { Run, Sample } from '../../src/core/types';
import { deadPid } from '../helpers/proc';
import { makeRun } from '../helpers/history-runs';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/history');

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cm-history-'));
}

function at(iso: string): Date {
  return new Date(iso);
}

describe('HistoryStore', () => {
  let dir: string;
  let store: HistoryStore;

  beforeEach(() => {
    dir = tmpDir();
    store = new HistoryStore(dir, { durable: false });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('append and load', () => {
    it('round-trips runs, newest first, with every field', () => {
      const older = makeRun({ name: 'older' }, { startedAt: at('2025-11-01T10:00:00Z') });
      const newer = makeRun({ name: 'newer' }, { startedAt: at('2025-11-02T10:00:00Z') });
      store.append(older);
      store.append(newer);
      const { runs, corrupt } = new HistoryStore(dir).load();
      assert.deepEqual(corrupt, []);
      assert.deepEqual(
        runs.map((r) => r.name),
        ['newer', 'older'],
      );
      assert.deepEqual(runs[1], older);
      assert.deepEqual(runs[0], newer);
    });

    it('writes one JSON object per line, in the documented shape', () => {
      const run = makeRun();
      store.append(run);
      const lines = fs.readFileSync(store.historyPath, 'utf8').split('\n');
      assert.equal(lines.length, 2);
      assert.equal(lines[1], '');
      const rec = JSON.parse(lines[0]);
      assert.equal(rec.v, 1);
      assert.equal(rec.kind, 'run');
      assert.ok(Number.isFinite(Date.parse(rec.at)));
      assert.deepEqual(rec.run, run);
    });

    it('keeps the latest record of an id', () => {
      const run = makeRun({ name: 'first' });
      store.append(run);
      store.append({ ...run, name: 'second', emissionsKg: 0.5 });
      store.append(makeRun({ name: 'other' }));
      const { runs } = new HistoryStore(dir).load();
      assert.equal(runs.length, 2);
      const got = runs.find((r) => r.id === run.id)!;
      assert.equal(got.name, 'second');
      assert.equal(got.emissionsKg, 0.5);
    });

    it('applies deletes, and a later record of the id brings it back', () => {
      const a = makeRun({ name: 'a' });
      const b = makeRun({ name: 'b' });
      store.append(a);
      store.append(b);
      store.delete(a.id);
      assert.deepEqual(
        new HistoryStore(dir).load().runs.map((r) => r.name),
        ['b'],
      );
      assert.equal(store.get(a.id), undefined);
      store.append({ ...a, name: 'a again' });
      assert.equal(new HistoryStore(dir).get(a.id)?.name, 'a again');
    });

    it('delete removes the sample file', () => {
      const run = makeRun({ status: 'running' });
      store.checkpoint(run, [{ t: 1, cpuW: 1, gpuW: 2, ramW: 3 }]);
      store.finish({ ...run, status: 'completed' });
      assert.equal(store.samples(run.id).length, 1);
      store.delete(run.id);
      assert.deepEqual(store.samples(run.id), []);
    });

    it('refuses to write a record it could not read back', () => {
      const bad = makeRun();
      (bad as Partial<Run>).energyKWh = undefined;
      assert.throws(() => store.append(bad), /energyKWh/);
      const nan = makeRun({ emissionsKg: NaN });
      assert.throws(() => store.append(nan), /emissionsKg/);
      assert.throws(() => store.append(makeRun({ id: '../escape' })), /invalid id/);
      assert.equal(fs.existsSync(store.historyPath), false);
    });

    it('creates its folder on the first write', () => {
      const nested = path.join(dir, 'a', 'b');
      const s = new HistoryStore(nested);
      assert.deepEqual(s.load(), { runs: [], corrupt: [] });
      s.append(makeRun());
      assert.equal(s.load().runs.length, 1);
      assert.equal(s.historyPath, path.join(nested, 'history.jsonl'));
    });
  });

  describe('damaged files', () => {
    it('skips a corrupt line in the middle, reports its line number, keeps the rest', () => {
      const a = makeRun({ name: 'a' });
      const b = makeRun({ name: 'b' });
      store.append(a);
      fs.appendFileSync(store.historyPath, '{"v":1,"kind":"run","run":{"id":"x"\n');
      fs.appendFileSync(store.historyPath, 'garbage that is not JSON\n');
      store.append(b);
      const { runs, corrupt } = new HistoryStore(dir).load();
      assert.deepEqual(runs.map((r) => r.name).sort(), ['a', 'b']);
      assert.equal(corrupt.length, 2);
      assert.equal(corrupt[0].line, 2);
      assert.match(corrupt[0].reason, /not JSON/);
      assert.equal(corrupt[1].line, 3);
    });

    it('reports a run line that misses required fields', () => {
      const ok = makeRun();
      const { energyKWh: _omit, ...noEnergy } = makeRun();
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(
        store.historyPath,
        [
          JSON.stringify({ v: 1, kind: 'run', run: ok }),
          JSON.stringify({ v: 1, kind: 'run', run: noEnergy }),
          JSON.stringify({ v: 1, kind: 'run', run: { ...ok, id: 'other', status: 'exploded' } }),
          JSON.stringify({ v: 1, kind: 'delete' }),
          JSON.stringify([1, 2, 3]),
        ].join('\n') + '\n',
      );
      const { runs, corrupt } = store.load();
      assert.deepEqual(
        runs.map((r) => r.id),
        [ok.id],
      );
      assert.deepEqual(
        corrupt.map((c) => c.line),
        [2, 3, 4, 5],
      );
      assert.match(corrupt[0].reason, /energyKWh/);
      assert.match(corrupt[1].reason, /status/);
      assert.match(corrupt[2].reason, /delete record/);
      assert.match(corrupt[3].reason, /not a JSON object/);
    });

    it('reports a truncated last line; the next append starts on a fresh line and both later records are intact', () => {
      const a = makeRun({ name: 'a' });
      store.append(a);
      const torn = JSON.stringify({ v: 1, kind: 'run', run: makeRun({ name: 'torn' }) });
      fs.appendFileSync(store.historyPath, torn.slice(0, Math.floor(torn.length / 2))); // a writer killed mid-line

      const reader = new HistoryStore(dir);
      let loaded = reader.load();
      assert.deepEqual(
        loaded.runs.map((r) => r.name),
        ['a'],
      );
      assert.equal(loaded.corrupt.length, 1);
      assert.equal(loaded.corrupt[0].line, 2);
      assert.match(loaded.corrupt[0].reason, /incomplete last line/);

      const b = makeRun({ name: 'b' });
      const c = makeRun({ name: 'c' });
      store.append(b);
      new HistoryStore(dir).append(c);
      const text = fs.readFileSync(store.historyPath, 'utf8');
      const lines = text.split('\n');
      assert.equal(JSON.parse(lines[2]).run.id, b.id, 'b starts on its own line');
      assert.equal(JSON.parse(lines[3]).run.id, c.id);

      for (const s of [reader, new HistoryStore(dir)]) {
        // the incremental reader and a fresh one agree
        loaded = s.load();
        assert.deepEqual(loaded.runs.map((r) => r.name).sort(), ['a', 'b', 'c']);
        assert.deepEqual(
          loaded.runs.find((r) => r.name === 'b'),
          b,
        );
        assert.deepEqual(
          loaded.runs.find((r) => r.name === 'c'),
          c,
        );
        assert.equal(loaded.corrupt.length, 1);
        assert.equal(loaded.corrupt[0].line, 2);
        assert.match(loaded.corrupt[0].reason, /not JSON/);
      }
    });

    it('reads the v1 fixture: latest wins, deletes, unknown kinds, newer versions, damage reported', () => {
      fs.copyFileSync(path.join(FIXTURES, 'v1-history.jsonl'), path.join(dir, 'history.jsonl'));
      const { runs, corrupt } = store.load();
      assert.deepEqual(
        runs.map((r) => [r.id, r.name]),
        [
          ['20251106T120000Z-k3b1-j0k1l2', 'from-the-future'],
          ['20251103T091241Z-k2x1-a1b2c3', 'resnet50 (renamed)'],
          ['cc-0123456789abcdef01234567', 'imported'],
        ],
      );
      assert.deepEqual(
        corrupt.map((c) => c.line),
        [4, 6],
      );
      assert.match(corrupt[1].reason, /energyKWh/);
    });

    it('tolerates CRLF line ends and blank lines', () => {
      const a = makeRun({ name: 'a' });
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(store.historyPath, `\r\n${JSON.stringify({ v: 1, kind: 'run', run: a })}\r\n\r\n`);
      assert.deepEqual(store.load(), { runs: [a], corrupt: [] });
    });

    it('reads the file again when it was replaced or truncated by hand', () => {
      store.append(makeRun({ name: 'a' }));
      store.append(makeRun({ name: 'b' }));
      assert.equal(store.load().runs.length, 2);
      const c = makeRun({ name: 'c' });
      const replacement = path.join(dir, 'replacement');
      fs.writeFileSync(replacement, JSON.stringify({ v: 1, kind: 'run', run: c }) + '\n');
      fs.renameSync(replacement, store.historyPath);
      assert.deepEqual(
        store.load().runs.map((r) => r.name),
        ['c'],
      );
      fs.rmSync(store.historyPath);
      assert.deepEqual(store.load(), { runs: [], corrupt: [] });
    });
  });

  describe('incremental reading', () => {
    it('load() only parses what was appended, and agrees with a fresh store', () => {
      const reader = new HistoryStore(dir);
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 20; i++) store.append(makeRun({ name: `r${round}-${i}` }));
        if (round === 2) fs.appendFileSync(store.historyPath, 'not json\n');
        const inc = reader.load();
        const fresh = new HistoryStore(dir).load();
        assert.deepEqual(inc, fresh);
      }
      assert.equal(reader.load().runs.length, 100);
    });

    it('loadSince(offset) returns the records after an offset, for watchers with their own index', () => {
      const a = makeRun({ name: 'a' });
      store.append(a);
      const first = store.loadSince(0);
      assert.equal(first.records.length, 1);
      assert.equal(first.nextOffset, fs.statSync(store.historyPath).size);
      assert.equal(first.nextLine, 2);
      store.delete(a.id);
      const b = makeRun({ name: 'b' });
      store.append(b);
      const next = store.loadSince(first.nextOffset, first.nextLine);
      assert.deepEqual(
        next.records.map((r) => [r.line, r.record.kind]),
        [
          [2, 'delete'],
          [3, 'run'],
        ],
      );
      assert.equal(next.partial, undefined);
      fs.appendFileSync(store.historyPath, '{"v":1,');
      const torn = store.loadSince(next.nextOffset, next.nextLine);
      assert.equal(torn.records.length, 0);
      assert.equal(torn.partial?.line, 4);
      assert.equal(torn.nextOffset, next.nextOffset, 'a torn line is not consumed');
    });
  });

  describe('checkpoints', () => {
    it('a checkpointed run loads as running, with its latest figures', () => {
      const run = makeRun({ status: 'running', endedAt: undefined, name: 'live' });
      store.checkpoint(run, []);
      run.energyKWh.total = 0.123;
      run.durationS = 42;
      store.checkpoint(run, []);
      const reader = new HistoryStore(dir);
      const { runs, corrupt } = reader.load();
      assert.deepEqual(corrupt, []);
      assert.equal(runs.length, 1);
      assert.equal(runs[0].status, 'running');
      assert.equal(runs[0].energyKWh.total, 0.123);
      assert.equal(reader.get(run.id)?.durationS, 42);
      const cp = JSON.parse(fs.readFileSync(path.join(dir, 'running', `${run.id}.json`), 'utf8'));
      assert.equal(cp.owner.pid, process.pid);
      assert.equal(cp.owner.host, os.hostname());
      assert.ok(Number.isFinite(Date.parse(cp.owner.heartbeatAt)));
      if (process.platform === 'linux') assert.equal(typeof cp.owner.startTicks, 'number');
      assert.deepEqual(fs.readdirSync(path.join(dir, 'running')), [`${run.id}.json`], 'no temporary file left behind');
    });

    it('running runs are merged into the history in start order', () => {
      store.append(makeRun({ name: 'old' }, { startedAt: at('2025-01-01T00:00:00Z') }));
      store.append(makeRun({ name: 'new' }, { startedAt: at('2025-03-01T00:00:00Z') }));
      store.checkpoint(makeRun({ name: 'live', status: 'running' }, { startedAt: at('2025-02-01T00:00:00Z') }));
      assert.deepEqual(
        store.load().runs.map((r) => [r.name, r.status]),
        [
          ['new', 'completed'],
          ['live', 'running'],
          ['old', 'completed'],
        ],
      );
    });

    it('finish() appends the final record, keeps the samples decimated, sets sampleCount, removes the checkpoint', () => {
      const s = new HistoryStore(dir, { durable: false, maxSamples: 100 });
      const run = makeRun({ status: 'running', endedAt: undefined });
      const t0 = Date.parse(run.startedAt);
      let t = t0;
      const all: Sample[] = [];
      for (let cp = 0; cp < 10; cp++) {
        const batch: Sample[] = [];
        for (let i = 0; i < 50; i++) {
          t += 1000;
          batch.push({ t, cpuW: 30 + (i % 5), gpuW: 200 + cp, ramW: 4, gPerKWh: 56 });
        }
        all.push(...batch);
        s.checkpoint(run, batch);
      }
      assert.ok(s.samples(run.id).length >= 100, 'samples accumulate while running');
      const final = { ...run, status: 'completed' as const, endedAt: new Date(t).toISOString() };
      s.finish(final);
      assert.equal(final.sampleCount, 100);
      const kept = s.samples(run.id);
      assert.equal(kept.length, 100);
      assert.equal(kept[0].t, all[0].t);
      assert.equal(kept[99].t, all[all.length - 1].t);
      assert.equal(fs.existsSync(path.join(dir, 'running', `${run.id}.json`)), false);
      const loaded = new HistoryStore(dir).load();
      assert.equal(loaded.runs.length, 1);
      assert.equal(loaded.runs[0].status, 'completed');
      assert.equal(loaded.runs[0].sampleCount, 100);
      assert.deepEqual(fs.readdirSync(path.join(dir, 'samples')), [`${run.id}.jsonl`]);
    });

    it("keeps a long running run's sample file bounded while it runs", () => {
      const s = new HistoryStore(dir, { durable: false, maxSamples: 50 });
      const run = makeRun({ status: 'running' });
      let t = 0;
      for (let cp = 0; cp < 100; cp++) {
        const batch: Sample[] = [];
        for (let i = 0; i < 10; i++) batch.push({ t: (t += 1000), cpuW: 10, gpuW: 0, ramW: 1 });
        s.checkpoint(run, batch);
        assert.ok(s.samples(run.id).length <= 50 * 4 + 10);
      }
      const kept = s.samples(run.id);
      assert.equal(kept[kept.length - 1].t, t);
      assert.equal(s.samples(run.id, 20).length, 20);
    });

    it('a final record wins over a checkpoint left by a crash between the two', () => {
      const run = makeRun({ status: 'running' });
      store.checkpoint(run);
      store.append({ ...run, status: 'completed' }); // finish() died before removing the checkpoint
      const { runs } = store.load();
      assert.equal(runs.length, 1);
      assert.equal(runs[0].status, 'completed');
    });

    it('a checkpoint whose owner is dead shows as interrupted until it is recovered', async () => {
      const run = makeRun({ status: 'running', notes: ['GPU not metered: nvidia-smi not found'] });
      store.checkpoint(run);
      const file = path.join(dir, 'running', `${run.id}.json`);
      const cp = JSON.parse(fs.readFileSync(file, 'utf8'));
      cp.owner.pid = await deadPid();
      delete cp.owner.startTicks;
      fs.writeFileSync(file, JSON.stringify(cp));
      const shown = store.load().runs[0];
      assert.equal(shown.status, 'interrupted');
      assert.equal(shown.endedAt, cp.owner.heartbeatAt);
      assert.deepEqual(shown.notes, ['GPU not metered: nvidia-smi not found', INTERRUPTED_NOTE]);
    });

    it('reports a damaged checkpoint file and keeps the rest', () => {
      store.append(makeRun({ name: 'kept' }));
      fs.mkdirSync(path.join(dir, 'running'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'running', 'broken-1.json'), '{"run":');
      const { runs, corrupt } = store.load();
      assert.deepEqual(
        runs.map((r) => r.name),
        ['kept'],
      );
      assert.equal(corrupt.length, 1);
      assert.equal(corrupt[0].file, 'running/broken-1.json');
    });
  });

  describe('samples', () => {
    it('round-trips samples, with and without intensity; skips a torn line', () => {
      const run = makeRun({ status: 'running' });
      const samples: Sample[] = [
        { t: 1732398852000, cpuW: 12.5, gpuW: 0, ramW: 3.125, gPerKWh: 56 },
        { t: 1732398853000, cpuW: 13.25, gpuW: 101.5, ramW: 3.125 },
      ];
      store.checkpoint(run, samples);
      fs.appendFileSync(path.join(dir, 'samples', `${run.id}.jsonl`), '[1732398854000,1');
      store.checkpoint(run, [{ t: 1732398855000, cpuW: 1, gpuW: 2, ramW: 3 }]);
      assert.deepEqual(store.samples(run.id), [...samples, { t: 1732398855000, cpuW: 1, gpuW: 2, ramW: 3 }]);
      assert.deepEqual(store.samples('no-such-run'), []);
      assert.deepEqual(store.samples('../../etc/passwd'), []);
    });
  });

  describe('watch', () => {
    it('calls back when another process appends or checkpoints', async () => {
      store.append(makeRun({ name: 'first' }));
      let calls = 0;
      let wake: () => void = () => undefined;
      const watcher = store.watch(() => {
        calls++;
        wake();
      }, 50);
      try {
        const changed = () => new Promise<void>((resolve) => (wake = resolve));
        let next = changed();
        new HistoryStore(dir).append(makeRun({ name: 'second' }));
        await next;
        assert.equal(store.load().runs.length, 2);
        next = changed();
        new HistoryStore(dir).checkpoint(makeRun({ name: 'live', status: 'running' }));
        await next;
        assert.ok(store.load().runs.some((r) => r.status === 'running'));
        assert.ok(calls >= 2);
      } finally {
        watcher.dispose();
      }
    });
  });

  describe('defaultDir', () => {
    it('prefers $CARBON_METER_HOME', () => {
      assert.equal(HistoryStore.defaultDir({ CARBON_METER_HOME: '/data/cm' }, 'linux', '/home/ada'), '/data/cm');
      assert.equal(HistoryStore.defaultDir({ CARBON_METER_HOME: 'D:\\cm' }, 'win32', 'C:\\Users\\ada'), 'D:\\cm');
    });

    it('Linux: $XDG_DATA_HOME or ~/.local/share', () => {
      assert.equal(HistoryStore.defaultDir({}, 'linux', '/home/ada'), '/home/ada/.local/share/carbon-meter');
      assert.equal(HistoryStore.defaultDir({ XDG_DATA_HOME: '/xdg' }, 'linux', '/home/ada'), '/xdg/carbon-meter');
      // relative XDG paths are invalid per the spec
      assert.equal(
        HistoryStore.defaultDir({ XDG_DATA_HOME: 'rel' }, 'linux', '/home/ada'),
        '/home/ada/.local/share/carbon-meter',
      );
    });

    it('macOS: ~/Library/Application Support', () => {
      assert.equal(
        HistoryStore.defaultDir({}, 'darwin', '/Users/ada'),
        '/Users/ada/Library/Application Support/carbon-meter',
      );
    });

    it('Windows: %LOCALAPPDATA%', () => {
      assert.equal(
        HistoryStore.defaultDir({ LOCALAPPDATA: 'C:\\Users\\ada\\AppData\\Local' }, 'win32', 'C:\\Users\\ada'),
        'C:\\Users\\ada\\AppData\\Local\\carbon-meter',
      );
      assert.equal(
        HistoryStore.defaultDir({}, 'win32', 'C:\\Users\\ada'),
        'C:\\Users\\ada\\AppData\\Local\\carbon-meter',
      );
    });
  });

  describe('newRunId', () => {
    it('is sortable by start time, file-name safe and unique', () => {
      const a = newRunId(at('2026-11-23T21:54:12.345Z'));
      assert.match(a, /^20261123T215412Z-[0-9a-z]+-[0-9a-z]{6}$/);
      assert.ok(a.includes(`-${process.pid.toString(36)}-`));
      const b = newRunId(at('2026-11-23T21:54:13.000Z'));
      assert.ok(a < b);
      const ids = new Set(Array.from({ length: 10000 }, () => newRunId(at('2026-11-23T21:54:12Z'))));
      assert.equal(ids.size, 10000);
    });
  });
});
