import * as assert from 'node:assert/strict';
import { StaticIntensityProvider, type IntensityProvider } from '../../src/core/intensity/provider';
import { resolveRegion } from '../../src/core/intensity/regions';

describe('intensity/provider: StaticIntensityProvider', () => {
  const provider: IntensityProvider = new StaticIntensityProvider();

  it('is the static provider with no refresh and an infinite granularity', () => {
    assert.equal(provider.id, 'static');
    assert.equal(provider.granularityMs, Number.POSITIVE_INFINITY);
    assert.equal(provider.refresh, undefined);
  });

  it('returns a country’s annual average, labelled as an average factor', () => {
    const fr = resolveRegion('FR');
    assert.deepEqual(provider.at(fr, Date.UTC(2025, 0, 1)), {
      gPerKWh: fr.intensityGPerKWh,
      method: 'annual-average',
      source: fr.source,
      factorType: 'average',
    });
  });

  it('returns a cloud region’s figure with its year', () => {
    const r = resolveRegion('gcp:europe-west9');
    const reading = provider.at(r, 0);
    assert.equal(reading.gPerKWh, 16.3);
    assert.equal(reading.year, 2024);
    assert.equal(reading.method, 'annual-average');
    assert.equal(reading.factorType, 'average');
    assert.match(reading.source, /Google Cloud/);
    assert.equal(reading.fallback, undefined);
    assert.equal(reading.validFrom, undefined);
    assert.equal(reading.validTo, undefined);
  });

  it('gives the same value at any time', () => {
    const de = resolveRegion('DE');
    const times = [0, Date.UTC(2020, 5, 1, 3), Date.UTC(2031, 11, 31, 23, 59)];
    const values = times.map((t) => provider.at(de, t).gPerKWh);
    assert.deepEqual(values, [de.intensityGPerKWh, de.intensityGPerKWh, de.intensityGPerKWh]);
  });
});
