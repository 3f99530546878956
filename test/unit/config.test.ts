/**
 * The one configuration module's pure side: the checks every `carbonMeter.*` reader shares (core/config/validate.ts)
 * and the readers built on them give the same one-line message for the same mistake, and a safe default.
 */
import * as assert from 'node:assert/strict';
import { readCodeLensSettings } from '../../src/core/codelens/settings';
import { readSettings } from '../../src/core/config/settings';
import { SettingsReader } from '../../src/core/config/validate';
import { readIntensitySettings } from '../../src/core/intensity/live/config';

describe('config: shared checks', () => {
  it('SettingsReader: each kind of value, its fallback and one line per problem', () => {
    const values: Record<string, unknown> = {
      s: '  padded ',
      sBad: 42,
      n: 5,
      nLow: -1,
      nEmpty: '',
      b: false,
      bBad: 'yes',
      e: 'b',
      eBad: 'z',
      u: 'https://example.org/api',
      uBad: 'ftp://example.org',
      l: ['a', 'b'],
      lBad: ['a', 3],
    };
    const r = new SettingsReader((k) => values[k]);
    assert.equal(r.str('s'), 'padded');
    assert.equal(r.str('sBad', 'dflt'), 'dflt');
    assert.equal(r.str('missing', 'dflt'), 'dflt');
    assert.equal(r.num('n', 1, 0, 10), 5);
    assert.equal(r.num('nLow', 1, 0, 10), 1);
    assert.equal(r.num('nEmpty', undefined, 0, 10), undefined);
    assert.equal(r.bool('b', true), false);
    assert.equal(r.bool('bBad', true), true);
    assert.equal(r.oneOf('e', ['a', 'b'] as const, 'a'), 'b');
    assert.equal(r.oneOf('eBad', ['a', 'b'] as const, 'a'), 'a');
    assert.equal(r.url('u', 'https://default'), 'https://example.org/api');
    assert.equal(r.url('uBad', 'https://default'), 'https://default');
    assert.deepEqual(r.stringList('l', 'a list', []), ['a', 'b']);
    assert.equal(r.stringList('lBad', 'a list', []), undefined);
    assert.deepEqual(
      r.problems.map((p) => p.key),
      [
        'carbonMeter.sBad',
        'carbonMeter.nLow',
        'carbonMeter.bBad',
        'carbonMeter.eBad',
        'carbonMeter.uBad',
        'carbonMeter.lBad',
      ],
    );
    assert.equal(r.problems[1].message, 'carbonMeter.nLow is -1; expected a number from 0 to 10. Using 1.');
    assert.equal(r.problems[3].message, 'carbonMeter.eBad is "z"; expected one of "a", "b". Using "a".');
    for (const p of r.problems) assert.ok(!p.message.includes('\n'), p.message);
  });

  it('the three readers say the same for the same mistake', () => {
    const core = readSettings((k) => (k === 'gpu.enabled' ? 'yes' : undefined)).problems;
    const lens = readCodeLensSettings((k) => (k === 'codeLens.enabled' ? 'yes' : undefined)).problems;
    const intensity = readIntensitySettings((k) =>
      k === 'intensity.notifyHighIntensity' ? 'yes' : undefined,
    ).problems;
    assert.deepEqual(
      core.map((p) => p.message),
      ['carbonMeter.gpu.enabled is "yes"; expected true or false. Using true.'],
    );
    assert.deepEqual(
      lens.map((p) => p.message),
      ['carbonMeter.codeLens.enabled is "yes"; expected true or false. Using true.'],
    );
    assert.deepEqual(
      intensity.map((p) => p.message),
      ['carbonMeter.intensity.notifyHighIntensity is "yes"; expected true or false. Using false.'],
    );
  });

  it('advice.regions is read once, checked, and [] when unset or wrong', () => {
    assert.deepEqual(readSettings(() => undefined).settings.adviceRegions, []);
    assert.deepEqual(
      readSettings((k) => (k === 'advice.regions' ? ['FR', 'gcp:*'] : undefined)).settings.adviceRegions,
      ['FR', 'gcp:*'],
    );
    const bad = readSettings((k) => (k === 'advice.regions' ? 'FR' : undefined));
    assert.deepEqual(bad.settings.adviceRegions, []);
    assert.deepEqual(bad.problems, [
      {
        key: 'carbonMeter.advice.regions',
        message: 'carbonMeter.advice.regions is "FR"; expected a list of region codes. Using [].',
      },
    ]);
  });
});
