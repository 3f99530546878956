/** The pure parts of the CLI's trust fixes: escaping for terminals, terminal-safe JSON, where `run`'s command starts. */
import * as assert from 'node:assert/strict';
import { splitRunArgs } from '../../src/cli/runArgs';
import { escapeControl, terminalSafeJson } from '../../src/core/format';

describe('CLI: escaping for terminals', () => {
  it('shows every control character as a visible escape and keeps the rest', () => {
    assert.equal(escapeControl('\x1b]0;pwned\x07\x1b[2J'), '\\e]0;pwned\\x07\\e[2J');
    assert.equal(escapeControl('a\nb\rc\td'), 'a\\nb\\rc\\td');
    assert.equal(escapeControl('\x9b31m\x7f\u202egnp.exe\u2028'), '\\x9b31m\\x7f\\u202egnp.exe\\u2028');
    assert.equal(escapeControl('résumé · CO₂ 日本 C:\\runs'), 'résumé · CO₂ 日本 C:\\runs');
    // eslint-disable-next-line no-control-regex -- the test looks for raw control characters
    for (let c = 0; c < 0x20; c++) assert.doesNotMatch(escapeControl(String.fromCharCode(c)), /[\x00-\x1f]/);
  });

  it('makes JSON terminal-safe without changing its value', () => {
    const value = { name: 'a\x1b[2J\x9b\x9d52;c;x\x07\u202e\u2028b', n: 1 };
    const text = terminalSafeJson(JSON.stringify(value));
    // eslint-disable-next-line no-control-regex -- the test looks for raw control characters
    assert.doesNotMatch(text, /[\x00-\x1f\x7f-\x9f\u2028\u202e]/);
    assert.deepEqual(JSON.parse(text), value);
  });
});

describe('CLI: run arguments', () => {
  it('starts the command at the first word that is not an option or an option value', () => {
    assert.deepEqual(splitRunArgs(['echo', 'hello', '--name=X']), { own: [], command: ['echo', 'hello', '--name=X'] });
    assert.deepEqual(splitRunArgs(['--name', 'n', '--json', 'python', 'train.py', '--json']), {
      own: ['--name', 'n', '--json'],
      command: ['python', 'train.py', '--json'],
    });
    assert.deepEqual(splitRunArgs(['--name=n', '--', '--weird-program', '-x']), {
      own: ['--name=n'],
      command: ['--weird-program', '-x'],
    });
    assert.deepEqual(splitRunArgs(['--region', 'FR']), { own: ['--region', 'FR'], command: [] });
    // an unknown option stays the CLI's, so it is reported instead of run
    assert.deepEqual(splitRunArgs(['--bogus', 'true']), { own: ['--bogus'], command: ['true'] });
  });
});
