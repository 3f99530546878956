/** Default run names from command lines (issue 9: a quoted word was cut in half). */
import * as assert from 'node:assert/strict';
import { defaultRunName, splitShellWords } from '../../src/core/runName';

describe('default run names', () => {
  it('splits a command line as a POSIX shell does', () => {
    assert.deepEqual(splitShellWords(`sh -c 'echo "a b"' x\\ y "q\\"z" ''`), [
      'sh',
      '-c',
      'echo "a b"',
      'x y',
      'q"z',
      '',
    ]);
    assert.deepEqual(splitShellWords(`echo 'it'\\''s'`), ['echo', "it's"]);
    assert.deepEqual(splitShellWords(`echo 'open`), ['echo', 'open'], 'an unclosed quote runs to the end');
  });

  it('names a run after its script or module, even inside a quoted word', () => {
    assert.equal(defaultRunName('python train.py --epochs 3'), 'train.py');
    assert.equal(defaultRunName('torchrun --nproc 2 src/train.py'), 'train.py');
    assert.equal(defaultRunName(`bash -lc 'python -m pkg.train --x'`), 'pkg.train');
    assert.equal(defaultRunName(`sh -c 'cd /w && python fit.py'`), 'fit.py');
  });

  it('otherwise keeps whole words, quoted as typed, and cuts between words within 60 characters', () => {
    assert.equal(defaultRunName(`sh -c 'echo "hello world" && sleep 1'`), `sh -c 'echo "hello world" && sleep 1'`);
    const long = `sh -c 'for i in $(seq 1 100); do echo step $i of a long loop; sleep 1; done'`;
    const name = defaultRunName(long);
    assert.ok(name.length <= 60, name);
    assert.match(name, /^sh -c 'for i in .*…'$/, 'the quote is closed');
    assert.deepEqual(splitShellWords(name).slice(0, 2), ['sh', '-c'], 'it reads back as whole words');
    assert.ok(long.includes(splitShellWords(name)[2].replace(/…$/, '')), 'cut between two of its words');
    assert.equal(defaultRunName('sleep 5 extra words beyond three'), 'sleep 5 extra');
    assert.equal(defaultRunName(`/opt/${'x'.repeat(80)}/bin/trainer`), 'trainer');
    assert.equal(defaultRunName('   '), 'run');
  });
});
