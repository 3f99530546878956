import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CO2JS_VERSION,
  COUNTRY_INTENSITY_SOURCE,
  RegionDataUnavailableError,
  STATIC_DATA_VERSION,
  UnknownRegionError,
  editDistance,
  emissionsKgIn,
  findRegion,
  greenerRegions,
  listRegions,
  resolveRegion,
  suggestRegions,
  worldRegion,
  type RegionInfo,
} from '../../src/core/intensity/regions';
import { COUNTRIES } from '../../src/core/intensity/countries.generated';

// The installed package's own data, read independently of the module under test.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const installed = require('@tgwf/co2') as { averageIntensity: { data: Record<string, number> } };
const co2Data = installed.averageIntensity.data;

function installedCo2jsPackageJson(): { name: string; version: string } {
  let dir = path.dirname(require.resolve('@tgwf/co2'));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@tgwf/co2' && pkg.version) return { name: pkg.name, version: pkg.version };
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json of @tgwf/co2 not found');
    dir = up;
  }
}

function unknown(input: string): UnknownRegionError {
  try {
    resolveRegion(input);
  } catch (e) {
    assert.ok(e instanceof UnknownRegionError, `expected UnknownRegionError for ${input}, got ${String(e)}`);
    return e;
  }
  assert.fail(`resolveRegion(${JSON.stringify(input)}) should have thrown`);
}

describe('intensity/regions: countries (CO2.js)', () => {
  it('CO2JS_VERSION is the installed @tgwf/co2 version', () => {
    assert.equal(CO2JS_VERSION, installedCo2jsPackageJson().version);
    assert.equal(STATIC_DATA_VERSION, CO2JS_VERSION);
    assert.equal(COUNTRY_INTENSITY_SOURCE, `CO2.js ${CO2JS_VERSION} averageIntensity (Ember)`);
  });

  it('FR, FRA, fr, fra and " Fr " resolve to the same region with CO2.js FRA value', () => {
    const fr = resolveRegion('FR');
    for (const input of ['FRA', 'fr', 'fra', ' Fr ']) assert.deepEqual(resolveRegion(input), fr);
    assert.equal(fr.code, 'FR');
    assert.equal(fr.kind, 'country');
    assert.equal(fr.name, 'France');
    assert.equal(fr.countryAlpha3, 'FRA');
    assert.equal(fr.countryAlpha2, 'FR');
    assert.equal(fr.intensityGPerKWh, co2Data.FRA);
    assert.equal(fr.source, COUNTRY_INTENSITY_SOURCE);
    assert.equal(fr.pue, undefined);
    assert.equal(fr.provider, undefined);
  });

  it('matches the anchors of methodology.md for CO2.js 0.19.0', () => {
    // Literal anchors: they hold for 0.19.0 only, so they are checked only against that version.
    assert.equal(CO2JS_VERSION, '0.19.0');
    assert.equal(resolveRegion('FRA').intensityGPerKWh, 44.18);
    assert.equal(resolveRegion('DEU').intensityGPerKWh, 342.06);
    assert.equal(resolveRegion('NO').intensityGPerKWh, 30.75);
    assert.equal(resolveRegion('US').intensityGPerKWh, 383.55);
    assert.equal(resolveRegion('GB').intensityGPerKWh, 215.79);
    assert.equal(resolveRegion('WORLD').intensityGPerKWh, 472.94);
  });

  it('every country in CO2.js resolves by alpha-3 to the package value, with an alpha-2 code', () => {
    const alpha3Keys = Object.keys(co2Data).filter((k) => /^[A-Z]{3}$/.test(k));
    assert.ok(alpha3Keys.length > 200, `only ${alpha3Keys.length} alpha-3 keys`);
    for (const k of alpha3Keys) {
      const r = resolveRegion(k);
      assert.equal(r.intensityGPerKWh, co2Data[k], k);
      assert.match(r.code, /^[A-Z]{2}$/, k);
      assert.equal(r.countryAlpha3, k);
      assert.deepEqual(resolveRegion(r.code), r);
    }
  });

  it('WORLD resolves (any case) to the CO2.js world average', () => {
    const w = resolveRegion('world');
    assert.equal(w.code, 'WORLD');
    assert.equal(w.name, 'World');
    assert.equal(w.intensityGPerKWh, co2Data.WORLD);
    assert.equal(w.countryAlpha3, undefined);
    assert.deepEqual(worldRegion(), w);
  });

  it('accepts UK for the United Kingdom (GB) and the user-assigned Kosovo code', () => {
    assert.equal(resolveRegion('uk').code, 'GB');
    assert.equal(resolveRegion('UK').name, 'United Kingdom');
    assert.equal(resolveRegion('XKX').code, 'XK');
    assert.equal(resolveRegion('XK').intensityGPerKWh, co2Data.XKX);
  });

  it('a country without CO2.js data gives RegionDataUnavailableError naming the country', () => {
    for (const input of ['AQ', 'ata', 'IM']) {
      const e = unknown(input);
      assert.ok(e instanceof RegionDataUnavailableError, input);
      assert.deepEqual(e.suggestions, ['WORLD']);
    }
    const e = unknown('AQ') as RegionDataUnavailableError;
    assert.equal(e.country, 'AQ');
    assert.equal(e.countryName, 'Antarctica');
    assert.match(e.message, /No grid carbon-intensity data for Antarctica \(AQ\) in CO2\.js 0\.19\.0/);
    assert.match(e.message, /WORLD/);
  });

  it('the country table has unique ISO codes and every row has a name', () => {
    const a2 = new Set(COUNTRIES.map((c) => c[0]));
    const a3 = new Set(COUNTRIES.map((c) => c[1]));
    assert.equal(a2.size, COUNTRIES.length);
    assert.equal(a3.size, COUNTRIES.length);
    assert.ok(COUNTRIES.length >= 249);
    for (const [alpha2, alpha3, name] of COUNTRIES) {
      assert.match(alpha2, /^[A-Z]{2}$/);
      assert.match(alpha3, /^[A-Z]{3}$/);
      assert.ok(name.length > 1, alpha2);
    }
  });

  it('the country module equals data/iso3166-alpha3.tab (generated, no drift)', () => {
    const file = path.resolve(__dirname, '../../../data/iso3166-alpha3.tab');
    const pairs = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map((l) => l.split('\t'))
      .sort(([a], [b]) => (a < b ? -1 : 1));
    assert.deepEqual(
      COUNTRIES.map((c) => [c[0], c[1]]),
      pairs,
    );
  });
});

describe('intensity/regions: cloud regions', () => {
  it('aws:eu-west-3 is 51.1 g/kWh with AWS PUE 1.135', () => {
    const r = resolveRegion('aws:eu-west-3');
    assert.equal(r.code, 'aws:eu-west-3');
    assert.equal(r.kind, 'cloud');
    assert.equal(r.name, 'AWS eu-west-3 (Paris)');
    assert.equal(r.intensityGPerKWh, 51.1);
    assert.equal(r.pue, 1.135);
    assert.equal(r.provider, 'aws');
    assert.equal(r.year, 2022);
    assert.equal(r.countryAlpha3, 'FRA');
    assert.equal(r.cfe, undefined);
    assert.match(r.source, /Cloud Carbon Footprint/);
    assert.match(r.pueSource ?? '', /AWS PUE 1\.135/);
  });

  it('gcp:europe-west9 is 16.30 g/kWh with PUE 1.10 and Google CFE 0.96', () => {
    const r = resolveRegion('gcp:europe-west9');
    assert.equal(r.intensityGPerKWh, 16.3);
    assert.equal(r.pue, 1.1);
    assert.equal(r.cfe, 0.96);
    assert.equal(r.year, 2024);
    assert.equal(r.name, 'GCP europe-west9 (Paris)');
    assert.match(r.source, /Google Cloud/);
    assert.match(r.source, /2024/);
    assert.match(r.pueSource ?? '', /Google/);
  });

  it('provider and region are case-insensitive and trimmed', () => {
    assert.deepEqual(resolveRegion(' GCP:Europe-West9 '), resolveRegion('gcp:europe-west9'));
    assert.deepEqual(resolveRegion('Azure:FranceCentral'), resolveRegion('azure:francecentral'));
    assert.equal(resolveRegion('azure:francecentral').pue, 1.185);
  });

  it('every cloud row names its source and PUE source in words', () => {
    const cloud = listRegions().filter((r) => r.kind === 'cloud');
    assert.ok(cloud.length >= 60);
    for (const r of cloud) {
      assert.ok(r.source.includes(' '), `${r.code}: source "${r.source}" is an id, not words`);
      assert.ok(r.pueSource && r.pueSource.includes(String(r.pue)), r.code);
      assert.ok(r.countryAlpha3, `${r.code} has no country`);
      assert.ok(r.year && r.year >= 2020, r.code);
    }
  });
});

describe('intensity/regions: unknown regions and suggestions', () => {
  it("'frr' suggests FR first", () => {
    const e = unknown('frr');
    assert.equal(e.input, 'frr');
    assert.equal(e.suggestions[0], 'FR');
  });

  it("'aws:eu-west3' suggests aws:eu-west-3 first", () => {
    assert.equal(unknown('aws:eu-west3').suggestions[0], 'aws:eu-west-3');
  });

  it("'gcp:europe-west99' suggests gcp:europe-west9 first", () => {
    assert.equal(unknown('gcp:europe-west99').suggestions[0], 'gcp:europe-west9');
  });

  it("'fr-paris' suggests France and the Paris cloud regions, in a message that says what to write", () => {
    const e = unknown('fr-paris');
    assert.deepEqual(e.suggestions, ['FR', 'gcp:europe-west9', 'aws:eu-west-3']);
    assert.equal(
      e.message,
      'Unknown region "fr-paris". Did you mean FR, gcp:europe-west9, aws:eu-west-3? Use an ISO 3166 country code (FR, FRA) ' +
        "or provider:region (aws:eu-west-3, gcp:europe-west9, azure:francecentral); run 'carbon-meter regions' for the list.",
    );
  });

  it('country names and cloud locations are matched as words', () => {
    assert.equal(suggestRegions('Germany')[0], 'DE');
    assert.equal(suggestRegions('france')[0], 'FR');
    assert.deepEqual(suggestRegions('paris'), ['gcp:europe-west9', 'aws:eu-west-3', 'azure:francecentral']);
    assert.equal(suggestRegions('gce:europe-west9')[0], 'gcp:europe-west9');
    assert.equal(suggestRegions('eu-west-3')[0], 'aws:eu-west-3');
  });

  it('a provider alone lists its regions; in provider:region form its regions come before countries', () => {
    const aws = suggestRegions('aws', 5);
    assert.equal(aws.length, 5);
    assert.ok(
      aws.every((c) => c.startsWith('aws:')),
      aws.join(),
    );
    assert.deepEqual(suggestRegions('azure:france'), ['azure:francecentral', 'FR']);
    assert.deepEqual(suggestRegions('aws:us-east'), ['aws:us-east-1', 'aws:us-east-2']);
    assert.deepEqual(suggestRegions('uk-london'), ['GB', 'gcp:europe-west2', 'aws:eu-west-2']);
  });

  it('every suggestion resolves, and nonsense gets none', () => {
    for (const input of [
      'frr',
      'aws:eu-west3',
      'gcp:europe-west99',
      'fr-paris',
      'germany',
      'azure:france',
      'us-east1',
    ]) {
      const s = suggestRegions(input);
      assert.ok(s.length > 0, input);
      for (const code of s) assert.ok(findRegion(code), `${input} → ${code} does not resolve`);
    }
    const e = unknown('qqqqqqqqqqqqqqqqqqqq');
    assert.deepEqual(e.suggestions, []);
    assert.doesNotMatch(e.message, /Did you mean/);
  });

  it('an empty input says that no region was given', () => {
    const e = unknown('   ');
    assert.match(e.message, /^No region given\./);
  });

  it('findRegion returns undefined instead of throwing', () => {
    assert.equal(findRegion('nowhere'), undefined);
    assert.equal(findRegion('AQ'), undefined);
    assert.equal(findRegion('fr')?.code, 'FR');
  });

  it('editDistance counts insertions, deletions, substitutions and transpositions', () => {
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('fr', 'frr'), 1);
    assert.equal(editDistance('fra', 'fro'), 1);
    assert.equal(editDistance('eu-west-3', 'eu-wset-3'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });
});

describe('intensity/regions: listRegions', () => {
  it('lists countries with data (sorted), then WORLD, then cloud regions, codes unique', () => {
    const all = listRegions();
    const codes = all.map((r) => r.code);
    assert.equal(new Set(codes).size, codes.length);
    const worldAt = codes.indexOf('WORLD');
    const countries = all.slice(0, worldAt);
    assert.ok(countries.every((r) => r.kind === 'country' && /^[A-Z]{2}$/.test(r.code)));
    assert.deepEqual(
      countries.map((r) => r.code),
      [...countries.map((r) => r.code)].sort(),
    );
    assert.ok(all.slice(worldAt + 1).every((r) => r.kind === 'cloud'));
    const countriesInCo2js = Object.keys(co2Data).filter((k) => /^[A-Z]{3}$/.test(k)).length;
    assert.equal(countries.length, countriesInCo2js);
    for (const r of all) assert.ok(r.intensityGPerKWh >= 0 && Number.isFinite(r.intensityGPerKWh), r.code);
  });

  it('returns a fresh array whose rows cannot be changed', () => {
    const a = listRegions();
    a.pop();
    assert.equal(listRegions().length, a.length + 1);
    const fr = resolveRegion('FR');
    assert.throws(() => {
      (fr as { intensityGPerKWh: number }).intensityGPerKWh = 0;
    }, TypeError);
  });
});

describe('intensity/regions: greenerRegions', () => {
  it('computes energy × PUE × intensity / 1000 for every region except WORLD, greenest first', () => {
    const energyKWh = 12.5;
    const list = greenerRegions(energyKWh);
    assert.equal(list.length, listRegions().length - 1);
    assert.ok(!list.some((x) => x.region.code === 'WORLD'));
    for (let i = 1; i < list.length; i++) {
      assert.ok(list[i - 1].emissionsKg <= list[i].emissionsKg, `not sorted at ${i}`);
    }
    const byCode = new Map(list.map((x) => [x.region.code, x.emissionsKg]));
    assert.equal(byCode.get('FR'), (12.5 * 1 * co2Data.FRA) / 1000);
    assert.ok(Math.abs((byCode.get('aws:eu-west-3') ?? NaN) - (12.5 * 1.135 * 51.1) / 1000) < 1e-12);
    assert.ok(Math.abs((byCode.get('gcp:europe-west9') ?? NaN) - (12.5 * 1.1 * 16.3) / 1000) < 1e-12);
  });

  it('orders a chosen set and applies the limit', () => {
    const list = greenerRegions(100, { include: ['DE', 'fr', 'aws:eu-west-3', 'gcp:europe-west9', 'PL'] });
    assert.deepEqual(
      list.map((x) => x.region.code),
      ['gcp:europe-west9', 'FR', 'aws:eu-west-3', 'DE', 'PL'],
    );
    // 100 kWh × 1.10 × 16.30 g/kWh = 1.793 kg
    assert.ok(Math.abs(list[0].emissionsKg - 1.793) < 1e-9);
    // 100 kWh × 44.18 g/kWh = 4.418 kg (0.19.0)
    assert.ok(Math.abs(list[1].emissionsKg - 4.418) < 1e-9);
    // 100 kWh × 1.135 × 51.1 g/kWh = 5.79985 kg
    assert.ok(Math.abs(list[2].emissionsKg - 5.79985) < 1e-9);
    assert.deepEqual(
      greenerRegions(100, { include: ['DE', 'fr', 'aws:eu-west-3'], limit: 2 }).map((x) => x.region.code),
      ['FR', 'aws:eu-west-3'],
    );
  });

  it('accepts groups: a provider, all cloud regions, all countries', () => {
    const aws = greenerRegions(1, { include: ['aws:*'] });
    assert.ok(aws.length >= 10 && aws.every((x) => x.region.provider === 'aws'));
    assert.equal(aws[0].region.code, 'aws:eu-north-1');
    const cloud = greenerRegions(1, { include: ['cloud:*'] });
    assert.equal(cloud.length, listRegions().filter((r) => r.kind === 'cloud').length);
    const countries = greenerRegions(1, { include: ['country:*', 'FR'] });
    assert.ok(countries.every((x) => x.region.kind === 'country' && x.region.code !== 'WORLD'));
    assert.equal(new Set(countries.map((x) => x.region.code)).size, countries.length);
  });

  it('uses emissionsKgIn for each row and keeps zero energy ordered by intensity × PUE', () => {
    const list = greenerRegions(0, { include: ['DE', 'FR', 'gcp:europe-west9'] });
    assert.ok(list.every((x) => x.emissionsKg === 0));
    assert.deepEqual(
      list.map((x) => x.region.code),
      ['gcp:europe-west9', 'FR', 'DE'],
    );
    const de: RegionInfo = resolveRegion('DE');
    assert.equal(emissionsKgIn(de, 2), (2 * co2Data.DEU) / 1000);
  });

  it('rejects bad energy, bad limits and unknown regions', () => {
    assert.throws(() => greenerRegions(-1), RangeError);
    assert.throws(() => greenerRegions(Number.NaN), RangeError);
    assert.throws(() => greenerRegions(1, { limit: 1.5 }), RangeError);
    assert.throws(() => greenerRegions(1, { include: ['atlantis'] }), UnknownRegionError);
  });
});
