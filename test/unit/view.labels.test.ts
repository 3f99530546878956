/** The panel's and status bar's wording that follows the record (core/view): how a run's region was chosen. */
import * as assert from 'node:assert/strict';
import { chooseRegion } from '../../src/core/meter/environment';
import { regionBasis, toRow } from '../../src/core/view';
import { makeRun } from '../helpers/history-runs';

describe('regionBasis (core/view/region)', () => {
  it('says set, guessed or default from what chooseRegion recorded', () => {
    const set = chooseRegion({ region: 'DE', regionFrom: 'setting carbonMeter.region', timeZone: 'Etc/UTC' });
    assert.equal(regionBasis({ region: set.region.code, guessed: set.guessed, regionReason: set.reason }), 'set');
    const guess = chooseRegion({ timeZone: 'Europe/Paris' });
    assert.equal(
      regionBasis({ region: guess.region.code, guessed: guess.guessed, regionReason: guess.reason }),
      'guessed',
    );
    const none = chooseRegion({ timeZone: 'Etc/UTC' });
    assert.equal(none.region.code, 'WORLD');
    assert.equal(
      regionBasis({ region: none.region.code, guessed: none.guessed, regionReason: none.reason }),
      'default',
    );
  });

  it('reads old records (world average stored as guessed) and the new ones (not guessed) as the default', () => {
    const reason = 'no region set and none could be guessed from the time zone: world average';
    assert.equal(regionBasis({ region: 'WORLD', guessed: true, regionReason: reason }), 'default');
    const now = 'not set, and the time zone names no country: world average (default)';
    assert.equal(regionBasis({ region: 'WORLD', guessed: false, regionReason: now }), 'default');
    assert.equal(regionBasis({ region: 'WORLD', regionReason: 'set by setting carbonMeter.region' }), 'set');
    // an imported run without a reason was not chosen by us: nothing to say
    assert.equal(regionBasis({ region: 'WORLD' }), 'set');
    assert.equal(regionBasis({ region: 'FR', guessed: true, regionReason: 'time zone Europe/Paris' }), 'guessed');
  });

  it("marks the table row: '~' only for a guess, the default flagged as such", () => {
    const base = makeRun();
    const row = (intensity: Partial<typeof base.intensity>) =>
      toRow({ ...base, intensity: { ...base.intensity, ...intensity } });
    const world = row({ region: 'WORLD', guessed: true, regionReason: 'no region set and none could be guessed' });
    assert.equal(world.guessed, undefined);
    assert.equal(world.regionDefault, true);
    const fr = row({ region: 'FR', guessed: true, regionReason: 'time zone Europe/Paris' });
    assert.equal(fr.guessed, true);
    assert.equal(fr.regionDefault, undefined);
    const de = row({ region: 'DE', guessed: undefined, regionReason: 'set by setting carbonMeter.region' });
    assert.deepEqual([de.guessed, de.regionDefault], [undefined, undefined]);
  });
});
