/** util/fs.ts makeDirs: `mkdir -p` that ends where Node's recursive mkdirSync loops (a folder refusing entries). */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeDirs } from '../../src/core/util/fs';

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
