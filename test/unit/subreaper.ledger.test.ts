/**
 * The CPU ledger of the CLI's helper children (src/core/sampling/subreaper.ts): what a GPU tool adds to the CLI's
 * cutime when Node reaps it is the meter's, never the run's, and the run's CPU is never taken for a helper's, even
 * when Node reaps the command and a helper in one go. Real processes, in a Node process of their own (it becomes a
 * child subreaper): test/fixtures/subreaper/ledger.js.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');
const SCRIPT = path.join(ROOT, 'test', 'fixtures', 'subreaper', 'ledger.js');
const SUBREAPER = path.join(__dirname, '..', '..', 'src', 'core', 'sampling', 'subreaper.js');

describe('sampling/subreaper: the ledger of helper children', function () {
  this.timeout(120_000);

  it("counts a helper's CPU as the meter's, and a command's never, whichever Node reports first", function () {
    if (process.platform !== 'linux') this.skip();
    const r = spawnSync(process.execPath, [SCRIPT, SUBREAPER], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    type Case = { helper: number; total: number };
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { skip?: string } & Record<string, Case>;
    if (out.skip) this.skip();
    // a helper alone: all that its reaping added is the helper's
    assert.ok(out.alone.total >= 10, JSON.stringify(out));
    assert.ok(out.alone.helper >= out.alone.total - 1, `a helper alone: ${JSON.stringify(out.alone)}`);
    // a command and a helper (the same work each): the helper's own share at most (reaped apart), nothing when
    // reaped together, and never the command's
    for (const c of ['commandFirst', 'helperFirst']) {
      const { helper, total } = out[c];
      assert.ok(helper <= total / 2 + 2, `${c}: ${helper} of ${total} ticks taken as the helper's`);
    }
  });
});
