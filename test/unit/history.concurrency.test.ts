import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HistoryStore } from '../../src/core/history/store';
import { padFor } from '../helpers/history-pad';
import { spawnHelper } from '../helpers/proc';

describe('HistoryStore with concurrent writers (real processes)', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-concurrency-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('4 processes appending 500 large runs each at once: 2,000 runs, none lost or torn', async function () {
    const writers = [0, 1, 2, 3].map((w) => spawnHelper('history-appender', [dir, '500', String(w)]));
    await Promise.all(writers.map((h) => h.waitForLine((l) => l === 'ready')));
    for (const w of writers) w.send('go');

    // a reader in this process keeps loading incrementally while they write
    const reader = new HistoryStore(dir);
    let running = true;
    const done = Promise.all(writers.map((h) => h.exited)).then((exits) => {
      running = false;
      return exits;
    });
    let loads = 0;
    // (stops with the test if mocha gives up on it)
    while (running && !this.test?.timedOut) {
      const { corrupt } = reader.load();
      loads++;
      // a line being written may be seen half-done: reported as incomplete, never consumed, never anything else
      for (const c of corrupt) assert.match(c.reason, /incomplete last line/);
      await new Promise((r) => setImmediate(r));
    }
    const exits = await done;
    for (const [i, e] of exits.entries()) assert.equal(e.code, 0, `writer ${i}: ${writers[i].stderr()}`);

    const fresh = new HistoryStore(dir).load();
    assert.deepEqual(fresh.corrupt, []);
    assert.equal(fresh.runs.length, 2000);
    for (const run of fresh.runs) {
      assert.deepEqual(run.notes, [padFor(run.id)], `run ${run.id} arrived whole`);
    }
    const perWriter = new Map<string, number>();
    for (const run of fresh.runs) {
      const w = run.name.split(' ')[0];
      perWriter.set(w, (perWriter.get(w) ?? 0) + 1);
    }
    assert.deepEqual([...perWriter].sort(), [
      ['writer-0', 500],
      ['writer-1', 500],
      ['writer-2', 500],
      ['writer-3', 500],
    ]);
    // every record is one whole line. A writer that looks at the end of the file while another one's line is
    // being copied in may take it for a torn line and start on a fresh line: that leaves a blank line, which
    // readers skip, never a broken record.
    const lines = fs
      .readFileSync(path.join(dir, 'history.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    assert.equal(lines.length, 2000);
    assert.ok(lines.every((l) => l.length > 2000 && l.length < 8000));

    // the incremental reader ends up with exactly what a fresh reader sees
    const inc = reader.load();
    assert.ok(loads > 1);
    assert.deepEqual(inc, fresh);
  });
});
