/**
 * The helpers that have one home now: the process of a command typed into a shell (core/sampling), shell quoting
 * (core/shell.ts), ISO alpha-3 codes (core/intensity/regions.ts) and the JSON object check (core/util/isObject.ts).
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { shQuote } from '../../src/cli/childIo';
import { fromAlpha3, toAlpha3 } from '../../src/core/intensity/regions';
import { findCommandProcess } from '../../src/core/sampling/commandProcess';
import { posixQuote, shellQuote } from '../../src/core/shell';
import { isObject } from '../../src/core/util/isObject';

describe('shared helpers', () => {
  it('findCommandProcess: the process a real shell started for the command line', async function () {
    if (!fs.existsSync('/proc/self/stat')) this.skip();
    // the shell forks sleep and waits for it (a second command keeps bash from exec'ing sleep in its place)
    const shell = spawn('bash', ['-c', 'sleep 30; true'], { stdio: 'ignore' });
    try {
      const found = await findCommandProcess(shell.pid!, 'sleep 30', 30_000);
      assert.ok(found, 'found');
      assert.equal(found.ppid, shell.pid);
      assert.match(found.command, /^sleep 30/);
      assert.match(fs.readFileSync(`/proc/${found.pid}/cmdline`, 'latin1'), /^sleep\0/);
    } finally {
      shell.kill('SIGKILL');
    }
  });

  it('findCommandProcess: undefined once the bound passes without a child', async function () {
    if (!fs.existsSync('/proc/self/stat')) this.skip();
    const shell = spawn('bash', ['-c', 'read x'], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      assert.equal(await findCommandProcess(shell.pid!, 'python train.py', 300), undefined);
    } finally {
      shell.kill('SIGKILL');
    }
  });

  it('one shell quoting: POSIX for the CLI, the platform for terminals', () => {
    assert.equal(shQuote, posixQuote, 'the CLI uses the one copy');
    assert.equal(posixQuote('train.py'), 'train.py');
    assert.equal(posixQuote("it's here"), `'it'\\''s here'`);
    assert.equal(shellQuote('/my dir/x.py', 'linux'), `'/my dir/x.py'`);
    assert.equal(shellQuote('C:\\my dir\\x.py', 'win32'), '"C:\\my dir\\x.py"');
    assert.equal(shellQuote('plain', 'win32'), 'plain');
  });

  it('alpha-3 codes both ways; unknown gives undefined', () => {
    assert.equal(toAlpha3('DE'), 'DEU');
    assert.equal(fromAlpha3('FRA'), 'FR');
    assert.equal(toAlpha3('not a region'), undefined);
  });

  it('isObject: objects only', () => {
    assert.ok(isObject({}));
    for (const x of [null, [], 'x', 1, undefined]) assert.ok(!isObject(x), String(x));
  });
});
