/** util/fs.ts makeDirs: `mkdir -p` that ends where Node's recursive mkdirSync loops (a folder refusing entries); inDir. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HistoryStore } from '../../src/core/history/store';
import { inDir, makeDirs } from '../../src/core/util/fs';
import { makeRun } from '../helpers/history-runs';

describe('makeDirs', () => {
  it('makes the missing folders with their mode, takes an existing folder, refuses a file in the way', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-makedirs-'));
    try {
      const deep = path.join(root, 'a', 'b', 'c');
      makeDirs(deep, 0o700);
      assert.ok(fs.statSync(deep).isDirectory());
      assert.equal(fs.statSync(path.join(root, 'a')).mode & 0o777, 0o700 & ~process.umask());
      makeDirs(deep, 0o700); // already there
      fs.writeFileSync(path.join(root, 'file'), '');
      assert.throws(() => makeDirs(path.join(root, 'file')), { code: 'EEXIST' });
      assert.throws(() => makeDirs(path.join(root, 'file', 'x')), { code: 'ENOTDIR' });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('throws ENOENT where a folder exists but takes no new entries (/proc), instead of looping', function () {
    if (!fs.existsSync('/proc/self')) this.skip();
    assert.throws(() => makeDirs('/proc/carbon-meter-test/x/y'), { code: 'ENOENT' });
  });
});

describe('inDir', () => {
  it('writes without making the folder when it is there, makes it when it is gone, passes other errors on', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-indir-'));
    try {
      const dir = path.join(root, 'running');
      let tries = 0;
      const write = () => {
        tries++;
        fs.writeFileSync(path.join(dir, 'x.json'), '{}');
      };
      inDir(dir, 0o700, write);
      assert.equal(tries, 2); // missing: made, then written
      assert.ok(fs.statSync(dir).isDirectory());
      tries = 0;
      inDir(dir, 0o700, write);
      assert.equal(tries, 1);
      fs.rmSync(dir, { recursive: true });
      fs.writeFileSync(dir, 'a file in the way');
      assert.throws(() => inDir(dir, 0o700, write), { code: 'ENOTDIR' });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("a store's checkpoint and samples make their folders again when they were removed during the run", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-indir-store-'));
    try {
      const store = new HistoryStore(home, { durable: false });
      const run = makeRun({ status: 'running' });
      assert.deepEqual(store.checkpoint(run, [{ t: Date.parse(run.startedAt), cpuW: 1, gpuW: 0, ramW: 0.1 }]), []);
      fs.rmSync(path.join(home, 'running'), { recursive: true });
      fs.rmSync(path.join(home, 'samples'), { recursive: true });
      assert.deepEqual(
        store.checkpoint(run, [{ t: Date.parse(run.startedAt) + 1000, cpuW: 2, gpuW: 0, ramW: 0.1 }]),
        [],
      );
      assert.ok(fs.existsSync(path.join(home, 'running', `${run.id}.json`)));
      assert.ok(fs.existsSync(path.join(home, 'samples', `${run.id}.jsonl`)));
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
