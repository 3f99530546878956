/** Greener-region tips a user can act on: grids near theirs, their cloud providers' regions, their setting. */
import * as assert from 'node:assert/strict';
import { regionAdvice } from '../../src/core/advice/tips';
import { countryDistanceKm, nearbyCountries, providersOf, usableRegions } from '../../src/core/advice/usable';
import { listRegions, resolveRegion } from '../../src/core/intensity/regions';

describe('advice: regions the user can use', () => {
  it('for a run in Germany: grids near Germany, not Lesotho, Nepal or Ethiopia', () => {
    const near = nearbyCountries('DE');
    for (const cc of ['FR', 'AT', 'CH', 'PL', 'DK', 'NL', 'BE', 'CZ']) assert.ok(near.includes(cc), cc);
    for (const cc of ['LS', 'NP', 'ET', 'US', 'DE']) assert.ok(!near.includes(cc), cc);
    const a = regionAdvice(10, 3.4, 1, 'DE', { usable: { homeCountry: 'DE', providers: [] } });
    const keys = a.groups.map((g) => g.key);
    assert.deepEqual(keys, ['near', 'cloud']);
    const codes = a.groups[0].tips.map((t) => t.code);
    assert.ok(!codes.some((c) => ['LS', 'NP', 'ET'].includes(c)), codes.join());
    for (const t of a.groups[0].tips) assert.ok(near.includes(t.code) && t.intensityGPerKWh > 0);
    // your region against the best you can use
    assert.ok(a.best);
    assert.equal(a.best.regionGPerKWh, resolveRegion('DE').intensityGPerKWh);
    assert.equal(a.best.tip.code, a.groups[0].tips[0].code);
    assert.ok(a.best.tip.intensityGPerKWh < a.best.regionGPerKWh);
  });

  it("the providers a user runs on give their regions, greenest first; other providers' are not offered", () => {
    assert.deepEqual(providersOf(['aws:eu-west-3', 'FR', 'gcp:*', 'AWS:us-east-1']), ['aws', 'gcp']);
    const a = regionAdvice(10, 3.4, 1, 'aws:eu-central-1', { usable: { homeCountry: 'DE', providers: ['aws'] } });
    const g = a.groups.find((x) => x.key === 'providers')!;
    assert.ok(g.tips.length > 0);
    for (const t of g.tips) assert.match(t.code, /^aws:/);
    for (let i = 1; i < g.tips.length; i++) assert.ok(g.tips[i - 1].emissionsKg <= g.tips[i].emissionsKg);
    assert.equal(
      g.compared,
      listRegions().filter((r) => r.kind === 'cloud' && r.provider === 'aws' && r.intensityGPerKWh > 0).length,
    );
    assert.ok(!a.groups.some((x) => x.key === 'cloud'), 'the world list gives way to the usable one');
  });

  it('never offers a region with a zero or missing intensity; without a context the world lists stay', () => {
    const zero = listRegions().filter((r) => r.intensityGPerKWh === 0 || !Number.isFinite(r.intensityGPerKWh));
    const all = usableRegions({ homeCountry: 'ZA', providers: ['aws', 'gcp', 'azure'] });
    for (const r of [...all.near, ...all.providers]) assert.ok(r.intensityGPerKWh > 0, r.code);
    for (const z of zero) assert.ok(![...all.near, ...all.providers].some((r) => r.code === z.code), z.code);
    const plain = regionAdvice(1, 1, 1, 'DE');
    assert.deepEqual(
      plain.groups.map((g) => g.key),
      ['countries', 'cloud'],
    );
    assert.equal(plain.best, undefined);
    assert.equal(countryDistanceKm('DE', 'ZZ'), undefined);
    assert.deepEqual(usableRegions({ homeCountry: 'ZZ', providers: [] }), { near: [], providers: [] });
  });
});
