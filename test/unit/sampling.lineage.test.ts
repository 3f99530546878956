/** meteredAncestor (core/sampling/lineage.ts): is a process inside a metered tree, with real processes. */
import * as assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { meteredAncestor } from '../../src/core/sampling/lineage';

/** A shell running `sleep` in the background (a task's shell and its command); the sleep's pid from a file. */
async function shellWithChild(): Promise<{ sh: cp.ChildProcess; leaf: number; done: () => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-lineage-'));
  const pidFile = path.join(dir, 'leaf');
  const sh = cp.spawn('/bin/sh', ['-c', `sleep 30 & echo $! > ${pidFile}; wait`], { stdio: 'ignore' });
  const until = Date.now() + 60_000;
  while (!fs.existsSync(pidFile) || !fs.readFileSync(pidFile, 'utf8').trim()) {
    if (Date.now() > until) throw new Error('the shell did not report its child within 60 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  const leaf = Number(fs.readFileSync(pidFile, 'utf8').trim());
  return {
    sh,
    leaf,
    done: () => {
      process.kill(leaf, 'SIGKILL');
      sh.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('meteredAncestor (core/sampling/lineage)', () => {
  it("finds the metered root above a real shell's child, and nothing for an unrelated tree", async function () {
    if (process.platform !== 'linux') this.skip();
    const a = await shellWithChild();
    const b = await shellWithChild();
    try {
      // the run of shell A is metered: A's child is inside it, B's child is not
      assert.equal(meteredAncestor(a.leaf, new Set([a.sh.pid!])), a.sh.pid);
      assert.equal(meteredAncestor(b.leaf, new Set([a.sh.pid!])), undefined);
      // the process itself counts, and the nearest root wins over a farther one
      assert.equal(meteredAncestor(a.leaf, new Set([a.leaf])), a.leaf);
      assert.equal(meteredAncestor(a.leaf, new Set([process.pid, a.sh.pid!])), a.sh.pid);
      assert.equal(meteredAncestor(b.leaf, new Set([process.pid])), process.pid);
      // a root below the asked process (the reverse relation) is not an ancestor
      assert.equal(meteredAncestor(a.sh.pid!, new Set([a.leaf])), undefined);
      assert.equal(meteredAncestor(a.leaf, new Set()), undefined);
    } finally {
      a.done();
      b.done();
    }
  });

  it('is undefined for a pid that does not exist; reads a fixture /proc, bounded and loop-safe', () => {
    assert.equal(meteredAncestor(2 ** 22 + 17, new Set([process.pid])), undefined);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-proc-'));
    try {
      const stat = (pid: number, ppid: number) => {
        fs.mkdirSync(path.join(root, String(pid)));
        fs.writeFileSync(
          path.join(root, String(pid), 'stat'),
          `${pid} (py (thon)) S ${ppid} ${pid} ${pid} 0 -1 0 0 0 0 0 5 6 7 8 20 0 1 0 100 0 0`,
        );
      };
      stat(30, 20);
      stat(20, 10);
      stat(10, 1);
      assert.equal(meteredAncestor(30, new Set([10]), root), 10);
      assert.equal(meteredAncestor(30, new Set([1]), root), undefined, 'init is never a metered root');
      assert.equal(meteredAncestor(30, new Set([10]), root, 1), undefined, 'beyond the bound');
      stat(40, 41);
      stat(41, 40);
      assert.equal(meteredAncestor(40, new Set([99]), root), undefined);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
