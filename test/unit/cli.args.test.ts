/** The pure parts of the CLI's trust fixes: escaping for terminals, terminal-safe JSON, where `run`'s command starts. */
import * as assert from 'node:assert/strict';
import { durationSeconds, numberOption } from '../../src/cli/common';
import { splitRunArgs } from '../../src/cli/runArgs';
import { parseDurationH } from '../../src/cli/schedule';
import { parseSince } from '../../src/cli/slurm';
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

describe('CLI: numbers and durations as a person writes them', () => {
  it('takes decimal notation only: no hexadecimal, no spaces, no Infinity; a huge number says it is too large', () => {
    assert.equal(numberOption('1.5', 'pue', 1), 1.5);
    assert.equal(numberOption('2e-1', 'interval', 0.1), 0.2);
    assert.equal(numberOption('.5', 'interval', 0.1), 0.5);
    for (const bad of ['0x10', ' 1.5', '1.5 ', '', 'Infinity', '1_000', '0b1', '1,5'])
      assert.throws(
        () => numberOption(bad, 'interval', 0.5, 3600),
        /--interval must be a number from 0\.5 to 3600/,
        bad,
      );
    assert.throws(
      () => numberOption('1e400', 'energy-kwh', 0, Infinity, { positive: true }),
      /^Error: --energy-kwh must be a number above 0, not "1e400" \(too large\)$/,
    );
  });

  it('reads durations in w, d, h, m (min) and s, alone or together; a bare number only where a unit is implied', () => {
    assert.equal(durationSeconds('90m'), 5400);
    assert.equal(durationSeconds('1h30m'), 5400);
    assert.equal(durationSeconds('1h 30min'), 5400);
    assert.equal(durationSeconds('2d'), 172_800);
    assert.equal(durationSeconds('1w'), 604_800);
    assert.equal(durationSeconds('1.5h'), 5400);
    assert.equal(durationSeconds('45s'), 45);
    assert.equal(durationSeconds('1.5'), undefined);
    assert.equal(durationSeconds('1.5', 'h'), 5400);
    for (const bad of ['', 'h', '1x', '1h30', '-1h', '1h-30m', 'soon'])
      assert.equal(durationSeconds(bad, 'h'), undefined, bad);
    assert.equal(parseDurationH('3d', 'start-within'), 72);
    assert.throws(
      () => parseDurationH('3 days', 'start-within'),
      /--start-within must be a duration such as 12h, 90m, 1h30m or 2d/,
    );
    const now = Date.UTC(2026, 0, 31, 12);
    assert.equal(parseSince('1h30m', now), now - 5400_000);
    assert.equal(parseSince('2w', now), now - 14 * 86_400_000);
  });
});
